#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace pso::controller::engine::testing {

/// The tokens of a binary state (state_codec.h), each with its type byte.
inline std::vector<std::string> binaryStateTokens(const std::string& state) {
  std::vector<std::string> tokens;
  std::size_t pos = 1;
  auto varintEnd = [&](std::size_t p, uint64_t& value) {
    value = 0;
    for (int shift = 0; p < state.size(); shift += 7) {
      const auto byte = static_cast<unsigned char>(state[p++]);
      value |= static_cast<uint64_t>(byte & 0x7F) << shift;
      if ((byte & 0x80) == 0) break;
    }
    return p;
  };
  while (pos < state.size()) {
    const char type = state[pos];
    std::size_t end = pos + 1;
    uint64_t value = 0;
    if (type == 'd') end += 8;
    if (type == 'f') end += 4;
    if (type == 'i') end = varintEnd(end, value);
    if (type == 's') end = varintEnd(end, value) + value;
    tokens.push_back(state.substr(pos, end - pos));
    pos = end;
  }
  return tokens;
}

}  // namespace pso::controller::engine::testing
