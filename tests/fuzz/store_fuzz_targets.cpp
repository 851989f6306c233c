#include "tests/fuzz/store_fuzz_targets.h"

#include <bit>
#include <cstdint>
#include <exception>
#include <string>

#include "controller/store/sample_chunk.h"
#include "tests/fuzz/one_line.h"

namespace pso::controller::store::fuzz {

using pso::fuzz::isOneLine;

bool checkSampleChunk(std::string_view input) {
  try {
    auto decoded = decodeChunk(input);
    auto header = readChunkHeader(input);
    if (!decoded) {
      const Error& error = decoded.error();
      return error.code == "corrupt" && isOneLine(error.message) &&
             error.message.rfind("sample chunk: ", 0) == 0;
    }
    if (!header || header->count != decoded->size()) return false;
    auto again = encodeChunk(*decoded);
    if (!again) return false;
    auto twice = decodeChunk(*again);
    if (!twice || twice->size() != decoded->size()) return false;
    for (std::size_t i = 0; i < decoded->size(); ++i) {
      const Sample& a = (*decoded)[i];
      const Sample& b = (*twice)[i];
      if (a.ts_ms != b.ts_ms) return false;
      if (std::bit_cast<uint64_t>(a.value) != std::bit_cast<uint64_t>(b.value)) return false;
    }
    return true;
  } catch (const std::exception&) {
    return false;
  }
}

}  // namespace pso::controller::store::fuzz
