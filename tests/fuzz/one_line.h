#pragma once

// What the fuzz checks require of a refusal's message: one printable line.

#include <string>

namespace pso::fuzz {

/// Not empty, and no control character (below 0x20, or DEL) in it.
inline bool isOneLine(const std::string& text) {
  if (text.empty()) return false;
  for (char ch : text) {
    if (static_cast<unsigned char>(ch) < 0x20 || ch == 0x7f) return false;
  }
  return true;
}

}  // namespace pso::fuzz
