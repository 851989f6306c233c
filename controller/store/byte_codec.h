#pragma once

// The byte-level pieces of the store's binary formats (sample chunks,
// sample log records): LEB128 varints, zigzag, little-endian words, and a
// reader that never reads past its input. Pure code, standard library only.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace pso::controller::store {

/// Maps signed to unsigned as 0,-1,1,-2,... -> 0,1,2,3,...
inline uint64_t zigzag(int64_t v) {
  return (static_cast<uint64_t>(v) << 1) ^ static_cast<uint64_t>(v >> 63);
}

inline int64_t unzigzag(uint64_t u) {
  return static_cast<int64_t>((u >> 1) ^ (0 - (u & 1)));
}

/// Appends v as a LEB128 varint (7 bits a byte, low bits first).
inline void putVarint(std::string& out, uint64_t v) {
  while (v >= 0x80) {
    out.push_back(static_cast<char>((v & 0x7f) | 0x80));
    v >>= 7;
  }
  out.push_back(static_cast<char>(v));
}

/// Appends v as 8 bytes, least significant first.
inline void putWord(std::string& out, uint64_t v) {
  for (int i = 0; i < 8; ++i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}

/// Reads byte-aligned fields in order. Each read returns false, and leaves
/// the value unspecified, when the input ends first (or a varint is longer
/// than 64 bits); the caller names the field in its refusal.
class ByteReader {
 public:
  explicit ByteReader(std::string_view bytes) : bytes_(bytes) {}

  bool byte(uint8_t& v) {
    if (pos_ >= bytes_.size()) return false;
    v = static_cast<uint8_t>(bytes_[pos_++]);
    return true;
  }

  bool varint(uint64_t& v) {
    v = 0;
    for (unsigned shift = 0; shift < 64; shift += 7) {
      uint8_t b = 0;
      if (!byte(b)) return false;
      if (shift == 63 && b > 1) return false;
      v |= static_cast<uint64_t>(b & 0x7f) << shift;
      if ((b & 0x80) == 0) return true;
    }
    return false;
  }

  bool word(uint64_t& v) {
    if (bytes_.size() - pos_ < 8) return false;
    v = 0;
    for (int i = 7; i >= 0; --i) v = (v << 8) | static_cast<uint8_t>(bytes_[pos_ + i]);
    pos_ += 8;
    return true;
  }

  /// Bytes not read yet.
  std::size_t remaining() const { return bytes_.size() - pos_; }
  std::string_view rest() const { return bytes_.substr(pos_); }

 private:
  std::string_view bytes_;
  std::size_t pos_ = 0;
};

}  // namespace pso::controller::store
