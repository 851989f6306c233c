#include "controller/scenarios/zip_writer.h"

#include <array>
#include <limits>

namespace pso::controller::scenarios {
namespace {

constexpr uint32_t kLocalHeader = 0x04034b50;
constexpr uint32_t kCentralHeader = 0x02014b50;
constexpr uint32_t kEndRecord = 0x06054b50;
constexpr uint16_t kVersionNeeded = 10;             // 1.0: stored entries
constexpr uint16_t kVersionMadeBy = (3 << 8) | 20;  // Unix, 2.0
constexpr uint16_t kUtf8Names = 1 << 11;
constexpr uint16_t kStored = 0;
constexpr uint16_t kDosTime = 0;                        // 00:00:00
constexpr uint16_t kDosDate = (0 << 9) | (1 << 5) | 1;  // 1980-01-01
constexpr uint32_t kFileMode = 0100644u << 16;          // regular file, rw-r--r--

std::array<uint32_t, 256> crcTable() {
  std::array<uint32_t, 256> table{};
  for (uint32_t i = 0; i < 256; ++i) {
    uint32_t c = i;
    for (int k = 0; k < 8; ++k) c = (c & 1) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
    table[i] = c;
  }
  return table;
}

void put16(std::string& out, uint16_t v) {
  out += static_cast<char>(v & 0xff);
  out += static_cast<char>(v >> 8);
}

void put32(std::string& out, uint32_t v) {
  for (int i = 0; i < 4; ++i) out += static_cast<char>((v >> (8 * i)) & 0xff);
}

Status checkName(const std::string& name) {
  if (name.empty() || name.size() > 0xffff) return makeError("invalid", "zip entry name length");
  if (name.front() == '/') return makeError("invalid", "zip entry '" + name + "' is absolute");
  for (unsigned char ch : name) {
    if (ch < 0x20 || ch == 0x7f || ch == '\\') {
      return makeError("invalid", "zip entry '" + name + "' has a control character or '\\'");
    }
  }
  std::size_t start = 0;
  while (start <= name.size()) {
    std::size_t end = name.find('/', start);
    if (end == std::string::npos) end = name.size();
    const std::string_view step(name.data() + start, end - start);
    if (step == ".." || step == "." || (step.empty() && end != name.size())) {
      return makeError("invalid", "zip entry '" + name + "' has an empty, '.' or '..' step");
    }
    start = end + 1;
  }
  return {};
}

}  // namespace

uint32_t crc32(std::string_view data) {
  static const std::array<uint32_t, 256> kTable = crcTable();
  uint32_t c = 0xffffffffu;
  for (unsigned char ch : data) c = kTable[(c ^ ch) & 0xff] ^ (c >> 8);
  return c ^ 0xffffffffu;
}

Status ZipWriter::add(const std::string& name, std::string_view data) {
  if (Status st = checkName(name); !st.ok()) return st;
  for (const auto& e : entries_) {
    if (e.name == name) return makeError("invalid", "zip entry '" + name + "' added twice");
  }
  constexpr auto kMax = std::numeric_limits<uint32_t>::max();
  const std::size_t directory = 46 * (entries_.size() + 1) + name.size();
  if (entries_.size() + 1 >= 0xffff ||
      body_.size() + 30 + name.size() + data.size() + directory >= kMax) {
    return makeError("too_large", "the package would need zip64 (over 4 GiB or 65535 entries)");
  }
  Entry entry{name, crc32(data), static_cast<uint32_t>(data.size()),
              static_cast<uint32_t>(body_.size())};
  put32(body_, kLocalHeader);
  put16(body_, kVersionNeeded);
  put16(body_, kUtf8Names);
  put16(body_, kStored);
  put16(body_, kDosTime);
  put16(body_, kDosDate);
  put32(body_, entry.crc);
  put32(body_, entry.size);  // compressed size: stored
  put32(body_, entry.size);
  put16(body_, static_cast<uint16_t>(name.size()));
  put16(body_, 0);  // no extra field
  body_ += name;
  body_.append(data.data(), data.size());
  entries_.push_back(std::move(entry));
  return {};
}

std::string ZipWriter::finish() const {
  std::string out = body_;
  const auto directory_offset = static_cast<uint32_t>(out.size());
  for (const auto& e : entries_) {
    put32(out, kCentralHeader);
    put16(out, kVersionMadeBy);
    put16(out, kVersionNeeded);
    put16(out, kUtf8Names);
    put16(out, kStored);
    put16(out, kDosTime);
    put16(out, kDosDate);
    put32(out, e.crc);
    put32(out, e.size);
    put32(out, e.size);
    put16(out, static_cast<uint16_t>(e.name.size()));
    put16(out, 0);  // extra field
    put16(out, 0);  // comment
    put16(out, 0);  // disk number
    put16(out, 0);  // internal attributes
    put32(out, kFileMode);
    put32(out, e.offset);
    out += e.name;
  }
  const auto directory_size = static_cast<uint32_t>(out.size() - directory_offset);
  put32(out, kEndRecord);
  put16(out, 0);  // this disk
  put16(out, 0);  // disk with the directory
  put16(out, static_cast<uint16_t>(entries_.size()));
  put16(out, static_cast<uint16_t>(entries_.size()));
  put32(out, directory_size);
  put32(out, directory_offset);
  put16(out, 0);  // comment length
  return out;
}

}  // namespace pso::controller::scenarios
