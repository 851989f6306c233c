#include "controller/scenarios/atomic_file.h"

#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <system_error>
#include <utility>

namespace pso::controller::scenarios {
namespace {

std::string errnoText() {
  return std::strerror(errno);
}

}  // namespace

Result<AtomicFileWriter> AtomicFileWriter::create(const std::string& path, Durability durability) {
  // Unique per process and per call, so concurrent exports into one directory
  // never share a temporary file.
  static std::atomic<uint64_t> counter{0};
  const std::string temp =
      path + ".tmp-" + std::to_string(::getpid()) + "-" + std::to_string(counter.fetch_add(1));
  const int fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return makeError("io", "cannot create " + temp + ": " + errnoText());
  return AtomicFileWriter(path, temp, fd, durability);
}

AtomicFileWriter::AtomicFileWriter(AtomicFileWriter&& other) noexcept
    : path_(std::move(other.path_)),
      temp_path_(std::move(other.temp_path_)),
      fd_(std::exchange(other.fd_, -1)),
      durability_(other.durability_) {
  other.temp_path_.clear();
}

AtomicFileWriter::~AtomicFileWriter() {
  discard();
}

void AtomicFileWriter::discard() {
  if (fd_ >= 0) {
    ::close(fd_);
    fd_ = -1;
  }
  if (!temp_path_.empty()) {
    ::unlink(temp_path_.c_str());
    temp_path_.clear();
  }
}

Status AtomicFileWriter::append(std::string_view data) {
  if (fd_ < 0) return makeError("io", "write to " + path_ + " after it was closed");
  while (!data.empty()) {
    const ssize_t n = ::write(fd_, data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return makeError("io", "cannot write " + temp_path_ + ": " + errnoText());
    }
    data.remove_prefix(static_cast<std::size_t>(n));
  }
  return Status();
}

Status AtomicFileWriter::commit() {
  if (fd_ < 0) return makeError("io", "commit of " + path_ + " after it was closed");
  if (durability_ == Durability::kFlushEach && ::fsync(fd_) != 0) {
    return makeError("io", "cannot flush " + temp_path_ + ": " + errnoText());
  }
  const int fd = std::exchange(fd_, -1);
  if (::close(fd) != 0) return makeError("io", "cannot close " + temp_path_ + ": " + errnoText());
  if (::rename(temp_path_.c_str(), path_.c_str()) != 0) {
    return makeError("io", "cannot rename " + temp_path_ + " to " + path_ + ": " + errnoText());
  }
  temp_path_.clear();
  return Status();
}

Status writeFileAtomic(const std::string& path, std::string_view content, Durability durability) {
  auto writer = AtomicFileWriter::create(path, durability);
  if (!writer.ok()) return writer.error();
  if (auto st = writer->append(content); !st.ok()) return st;
  return writer->commit();
}

Status syncDirectoryFilesystem(const std::string& dir) {
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return makeError("io", "cannot open directory " + dir + ": " + errnoText());
  const int rc = ::syncfs(fd);
  const std::string error = rc != 0 ? errnoText() : "";
  ::close(fd);
  if (rc != 0) return makeError("io", "cannot flush " + dir + " to disk: " + error);
  return Status();
}

Status ensureDirectory(const std::string& dir) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return makeError("io", "cannot create directory " + dir + ": " + ec.message());
  if (!std::filesystem::is_directory(dir, ec)) {
    return makeError("io", dir + " exists and is not a directory");
  }
  return Status();
}

}  // namespace pso::controller::scenarios
