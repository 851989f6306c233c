#include "tests/fuzz/store_fuzz_targets.h"

#include <bit>
#include <cstdint>
#include <exception>
#include <string>
#include <vector>

#include "controller/store/record_block.h"
#include "controller/store/sample_chunk.h"
#include "controller/store/sample_log.h"
#include "tests/fuzz/one_line.h"

namespace pso::controller::store::fuzz {

using pso::fuzz::isOneLine;

namespace {

// A refusal as the decoders promise it: code "corrupt", one line, the prefix.
bool isCorruptRefusal(const Error& error, const char* prefix) {
  return error.code == "corrupt" && isOneLine(error.message) && error.message.rfind(prefix, 0) == 0;
}

// The same timestamps and the same value bits, in the same order.
bool sameSamples(const std::vector<Sample>& a, const std::vector<Sample>& b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (a[i].ts_ms != b[i].ts_ms) return false;
    if (std::bit_cast<uint64_t>(a[i].value) != std::bit_cast<uint64_t>(b[i].value)) return false;
  }
  return true;
}

}  // namespace

bool checkSampleChunk(std::string_view input) {
  try {
    auto decoded = decodeChunk(input);
    auto header = readChunkHeader(input);
    if (!decoded) return isCorruptRefusal(decoded.error(), "sample chunk: ");
    if (!header || header->count != decoded->size()) return false;
    auto again = encodeChunk(*decoded);
    if (!again) return false;
    auto twice = decodeChunk(*again);
    return twice && sameSamples(*decoded, *twice);
  } catch (const std::exception&) {
    return false;
  }
}

bool checkSampleLog(std::string_view input) {
  try {
    auto decoded = decodeSampleLog(input);
    if (!decoded) return isCorruptRefusal(decoded.error(), "sample log: ");
    // LEB128 admits padded encodings of a number, so the check is that what
    // decodes encodes to a record that decodes the same.
    auto again = encodeSampleLog(*decoded);
    if (!again) return false;
    auto twice = decodeSampleLog(*again);
    if (!twice || twice->size() != decoded->size()) return false;
    for (std::size_t e = 0; e < decoded->size(); ++e) {
      if ((*decoded)[e].series_id != (*twice)[e].series_id) return false;
      if (!sameSamples((*decoded)[e].samples, (*twice)[e].samples)) return false;
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
