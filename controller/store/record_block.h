#pragma once

// A compressed block of stored texts: the blob the cycle and scenario
// aggregates keep for many old records at once (compaction, docs/design-notes.md
// "Compact cycle records and scenarios"). The texts come back byte for byte.
//
// Layout (version 1; "varint" is LEB128):
//
//   4 bytes  magic "PSRB"
//   byte     version (1)
//   byte     layout (RecordBlockLayout)
//   byte     log2 of the LZMA2 dictionary size (12..23: at most 8 MiB, so
//            writing a block takes at most about 100 MB of encoder memory)
//   varint   record count n (at most kMaxBlockRecords)
//   varint   payload size p (at most kMaxBlockPayload)
//   4 bytes  CRC-32 of the payload, little-endian
//   rest     the payload, compressed as one raw LZMA2 stream
//
// Payload of kTexts: n x (varint length, bytes).
//
// Payload of kDecisionColumns (each text a JSON array of objects, each with a
// string "system", as CycleRecord::decisions_json):
//   varint   string count s, then s x (varint length, bytes): the dictionary
//            of system names, keys and JSON texts of values (the encoder
//            writes the names and keys first, then the values in the order
//            the columns below use them; a decoder takes any order)
//   n x varint m: 0 = the same systems in the same order as the record before
//            (not for the first record); else m - 1 string ids follow, the
//            record's systems in order
//   varint   column count c, then per column: varint system id, varint key
//            id, and one cell per record holding the system (in record order):
//              byte 0  the key is absent from this record's object
//              byte 1  the value of this column's cell before (which must exist)
//              byte 2  varint string id: a JSON value (not a double)
//              byte 3  8 bytes: the double's bits XOR the bits of this
//                      column's double before (0 for the first), big-endian
//              byte 4  8 bytes, "forecast_lo" only: the double's bits XOR
//                      the bits of p - (h - p), p and h this object's
//                      "forecast_point" and "forecast_hi" (both doubles)
//              byte 5  8 bytes, "forecast_hi" and "forecast_lo" only: the
//                      double's bits XOR the bits of p + (b - q), p this
//                      object's "forecast_point", b this column's double
//                      before and q the "forecast_point" (a double) of b's
//                      object
//            (XOR operands big-endian)
// Every (system, key) pair is one column; a record's object is rebuilt from
// its system's columns (the other keys first, then "forecast_hi", then
// "forecast_lo") and dumped as nlohmann::json dumps it. The encoder
// keeps this layout only when every text comes back byte for byte, and else
// writes kTexts.

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"

namespace pso::controller::store {

inline constexpr uint8_t kRecordBlockVersion = 1;
/// Most records one block holds.
inline constexpr std::size_t kMaxBlockRecords = 1u << 16;
/// Largest payload (uncompressed) a block may claim.
inline constexpr std::size_t kMaxBlockPayload = 256u << 20;

/// How a block lays out its texts before compression.
enum class RecordBlockLayout : uint8_t {
  kTexts = 0,            ///< the texts one after the other
  kDecisionColumns = 1,  ///< per-system decision summaries as columns (see above)
};

/// Encodes `texts` into one block. With kDecisionColumns, texts that are not
/// arrays of per-system objects, or that would not come back byte for byte
/// from the column layout, make the block use kTexts instead.
/// @return the blob; error "oversize" with more than kMaxBlockRecords texts or
///   a payload above kMaxBlockPayload, "io" when the compressor fails.
[[nodiscard]] Result<std::string> encodeRecordBlock(std::span<const std::string> texts,
                                                    RecordBlockLayout layout);

/// Decodes a blob of encodeRecordBlock(): the texts, in order.
///
/// Any malformed blob (bad magic, version, layout or dictionary size,
/// truncated, a payload that does not decompress to its size or CRC, ids or
/// counts out of range, trailing bytes) is refused with code "corrupt" and a
/// one-line message starting with "record block: ". Never reads outside
/// `blob`; allocates in proportion to what it decompresses.
[[nodiscard]] Result<std::vector<std::string>> decodeRecordBlock(std::string_view blob);

/// The layout a blob of encodeRecordBlock() uses, checked as far as its header.
[[nodiscard]] Result<RecordBlockLayout> readRecordBlockLayout(std::string_view blob);

/// The uncompressed kDecisionColumns payload of `texts` (the part of
/// encodeRecordBlock() before compression; for the fuzz corpus and tests).
/// Error "invalid" when a text is not an array of objects with distinct
/// string "system"s; it is not checked that the texts come back byte for byte.
[[nodiscard]] Result<std::string> encodeDecisionColumns(std::span<const std::string> texts);

/// Decodes an uncompressed kDecisionColumns payload holding `count` records
/// (the part of decodeRecordBlock() after decompression; for the fuzz harness
/// and tests). Errors as decodeRecordBlock().
[[nodiscard]] Result<std::vector<std::string>> decodeDecisionColumns(std::string_view payload,
                                                                     std::size_t count);

}  // namespace pso::controller::store
