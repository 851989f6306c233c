#include "tests/fuzz/store_fuzz_targets.h"

#include <bit>
#include <cstdint>
#include <exception>
#include <string>
#include <vector>

#include "controller/store/record_block.h"
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

namespace {

bool isRecordBlockRefusal(const Error& error) {
  return error.code == "corrupt" && isOneLine(error.message) &&
         error.message.rfind("record block: ", 0) == 0;
}

// Texts that decoded once come back the same from another round.
bool roundTrips(const std::vector<std::string>& texts, RecordBlockLayout layout) {
  auto again = encodeRecordBlock(texts, layout);
  if (!again) return false;
  auto twice = decodeRecordBlock(*again);
  return twice && *twice == texts;
}

}  // namespace

bool checkRecordBlock(std::string_view input) {
  try {
    auto decoded = decodeRecordBlock(input);
    auto layout = readRecordBlockLayout(input);
    if (!decoded) {
      if (!isRecordBlockRefusal(decoded.error())) return false;
    } else if (!layout || !roundTrips(*decoded, *layout)) {
      return false;
    }
    const std::size_t count = input.empty() ? 0 : static_cast<uint8_t>(input[0]) % 16;
    auto columns = decodeDecisionColumns(input.empty() ? input : input.substr(1), count);
    if (!columns) return isRecordBlockRefusal(columns.error());
    return columns->size() == count && roundTrips(*columns, RecordBlockLayout::kDecisionColumns);
  } catch (const std::exception&) {
    return false;
  }
}

}  // namespace pso::controller::store::fuzz
