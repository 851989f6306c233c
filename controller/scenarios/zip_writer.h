#pragma once

// A zip archive writer for export packages (the cmi5 course package): entries
// are stored, not compressed, so the writer is CRC-32 and three header
// layouts (PKWARE APPNOTE 6.3, sections 4.3.7, 4.3.12, 4.3.16). Every entry
// carries the same fixed time (1980-01-01 00:00), so the same content gives
// the same bytes. docs/design-notes.md says why not libzip or minizip.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"

namespace pso::controller::scenarios {

/// CRC-32 (IEEE 802.3, as zip and gzip use it) of `data`.
uint32_t crc32(std::string_view data);

class ZipWriter {
 public:
  /// Adds a file. `name` is a relative path with '/' separators: not empty,
  /// no leading '/', no '..' step, no backslash, no control character, not
  /// added before. Code "invalid" says which rule failed; code "too_large"
  /// when the archive would need zip64 (4 GiB, 65535 entries).
  [[nodiscard]] Status add(const std::string& name, std::string_view data);
  std::size_t entries() const { return entries_.size(); }
  /// The whole archive: local headers and data, central directory, end record.
  std::string finish() const;

 private:
  struct Entry {
    std::string name;
    uint32_t crc = 0;
    uint32_t size = 0;
    uint32_t offset = 0;
  };
  std::vector<Entry> entries_;
  std::string body_;  ///< local headers and data, in order
};

}  // namespace pso::controller::scenarios
