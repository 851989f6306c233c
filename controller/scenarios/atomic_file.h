#pragma once

// Writes a file so readers see either the old content or the whole new one:
// data goes to a temporary file beside the target, is flushed to disk, then
// renamed over it. Exporters use it so an LMS import never picks up half a file.

#include <string>
#include <string_view>

#include "common/result.h"

namespace pso::controller::scenarios {

/// When a committed file's data reaches the disk.
enum class Durability {
  kFlushEach,  ///< fsync before the rename: durable once commit() returns
  /// No fsync per file (still renamed into place whole): for exports of
  /// thousands of lessons, where one syncDirectoryFilesystem() at the end
  /// replaces thousands of flushes.
  kDeferred,
};

class AtomicFileWriter {
 public:
  /// Creates the temporary file beside `path` (the parent directory must exist).
  [[nodiscard]] static Result<AtomicFileWriter> create(
      const std::string& path, Durability durability = Durability::kFlushEach);

  AtomicFileWriter(AtomicFileWriter&& other) noexcept;
  AtomicFileWriter& operator=(AtomicFileWriter&& other) = delete;
  AtomicFileWriter(const AtomicFileWriter&) = delete;
  AtomicFileWriter& operator=(const AtomicFileWriter&) = delete;
  /// Removes the temporary file unless commit() succeeded.
  ~AtomicFileWriter();

  [[nodiscard]] Status append(std::string_view data);
  /// Flushes to disk and renames the temporary file onto the target.
  [[nodiscard]] Status commit();

 private:
  AtomicFileWriter(std::string path, std::string temp_path, int fd, Durability durability)
      : path_(std::move(path)),
        temp_path_(std::move(temp_path)),
        fd_(fd),
        durability_(durability) {}
  void discard();

  std::string path_;
  std::string temp_path_;
  int fd_ = -1;
  Durability durability_ = Durability::kFlushEach;
};

/// Writes `content` to `path` atomically.
[[nodiscard]] Status writeFileAtomic(const std::string& path, std::string_view content,
                                     Durability durability = Durability::kFlushEach);

/// Flushes everything written to the filesystem holding `dir` (syncfs), the
/// end of an export written with Durability::kDeferred.
[[nodiscard]] Status syncDirectoryFilesystem(const std::string& dir);

/// Creates `dir` and its parents if missing; code "io" names the directory.
[[nodiscard]] Status ensureDirectory(const std::string& dir);

}  // namespace pso::controller::scenarios
