#include "tests/fuzz/store_fuzz_targets.h"

#include <bit>
#include <cstdint>
#include <exception>
#include <string>

#include "controller/store/sample_chunk.h"
#include "controller/store/sample_log.h"
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

bool checkSampleLog(std::string_view input) {
  try {
    auto decoded = decodeSampleLog(input);
    if (!decoded) {
      const Error& error = decoded.error();
      return error.code == "corrupt" && isOneLine(error.message) &&
             error.message.rfind("sample log: ", 0) == 0;
    }
    auto again = encodeSampleLog(*decoded);
    // LEB128 admits padded encodings of a number; what decodes must encode
    // to a record that decodes the same, and a canonical input to itself.
    if (!again) return false;
    auto twice = decodeSampleLog(*again);
    if (!twice || twice->size() != decoded->size()) return false;
    for (std::size_t e = 0; e < decoded->size(); ++e) {
      const auto& a = (*decoded)[e];
      const auto& b = (*twice)[e];
      if (a.series_id != b.series_id || a.samples.size() != b.samples.size()) return false;
      for (std::size_t i = 0; i < a.samples.size(); ++i) {
        if (a.samples[i].ts_ms != b.samples[i].ts_ms) return false;
        if (std::bit_cast<uint64_t>(a.samples[i].value) !=
            std::bit_cast<uint64_t>(b.samples[i].value)) {
          return false;
        }
      }
    }
    return true;
  } catch (const std::exception&) {
    return false;
  }
}

}  // namespace pso::controller::store::fuzz
