#pragma once

// A compressed chunk of one series' samples: the blob the telemetry store
// keeps for one series and one time block. Pure code: the standard library
// and common/result.h only.
//
// Layout (version 1; integers little-endian, "varint" is LEB128, "zigzag"
// maps signed to unsigned as 0,-1,1,-2,... -> 0,1,2,3,...):
//
//   byte     version (1)
//   byte     encoding: bits 0-1 the value encoding (ChunkValueEncoding), bit 2
//            residuals follow the decimal values, bit 3 timestamps as step
//            offsets (ChunkTimestampEncoding); other bits zero
//   varint   sample count n (at most kMaxChunkSamples)
//   n >= 1:  zigzag varint  first timestamp (ms)
//   n >= 2:  varint         first timestamp delta (ms, > 0)
//   decimal encodings only, n >= 1:
//            byte           scale k (values are integers times 10^-k, k <= kMaxChunkScale)
//            varint         step g (every delta of the scaled integers is a multiple of g, g >= 1)
//            zigzag varint  first scaled integer
//            kDecimalDeltaOfDelta and n >= 2: zigzag varint first delta / g
//   xor, n >= 1: 8 bytes    the first value's bits
//   bit stream (least significant bit first, zero-padded to a whole byte):
//     timestamps: for samples 2.. n-1, the delta-of-delta (or the delta minus
//                 the first delta), zigzag, in packed groups
//     values:     decimal: the n - 1 deltas (or n - 2 delta-of-deltas) / g,
//                 zigzag, in packed groups; xor: n - 1 Gorilla XOR records
//     residuals:  decimal with bit 2 only: for each of the n values, its bits
//                 minus the bits of its scaled integer's double, zigzag, in
//                 packed groups
//
// A packed group holds up to kChunkGroupSize numbers: a 6-bit width w (63
// stands for 64) then each number in w bits, so a run of identical steps or
// values costs 6 bits per group.
//
// The encoder picks per chunk whatever packs smaller: for the timestamps,
// delta-of-deltas or step offsets; for the values, Gorilla XOR (keeps any
// double) or decimal: integers below 2^53 times 10^-k (k <= kMaxChunkScale)
// that convert back to exactly the same bits, packed as deltas or
// delta-of-deltas. A value not exact at the chunk's scale (float noise such
// as 51.846000000000004 among three-decimal values) is kept by its residual.
// Chunks where most values have no decimal form go straight to XOR.

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "controller/store/records.h"

namespace pso::controller::store {

inline constexpr uint8_t kSampleChunkVersion = 1;
/// Most samples one chunk holds (three days at 1 s steps).
inline constexpr std::size_t kMaxChunkSamples = 1u << 18;
/// Largest decimal scale: values with more than this many decimals are XOR-encoded.
inline constexpr int kMaxChunkScale = 15;
/// Numbers per packed group in the bit stream.
inline constexpr std::size_t kChunkGroupSize = 16;

/// How a chunk stores its values (the second byte of the blob).
enum class ChunkValueEncoding : uint8_t {
  kDecimalDelta = 0,         ///< scaled integers, deltas packed
  kDecimalDeltaOfDelta = 1,  ///< scaled integers, delta-of-deltas packed (counters)
  kXor = 2,                  ///< Gorilla XOR of the doubles' bits
};

/// How a chunk stores its timestamps after the first two.
enum class ChunkTimestampEncoding : uint8_t {
  kDeltaOfDelta,  ///< each delta minus the delta before it
  kStepOffsets,   ///< each delta minus the first delta (a fixed step with jitter)
};

/// What the header of a chunk says, read without decoding the samples.
struct ChunkHeader {
  std::size_t count = 0;
  ChunkValueEncoding encoding = ChunkValueEncoding::kDecimalDelta;
  int scale = 0;           ///< decimals k of a decimal encoding; 0 for XOR
  bool residuals = false;  ///< decimal values corrected by residuals
  ChunkTimestampEncoding timestamps = ChunkTimestampEncoding::kDeltaOfDelta;
};

/// Encodes `samples` into one chunk.
///
/// Precondition checked: timestamps strictly increasing (the store merges and
/// deduplicates before it encodes; the codec never reorders). Values are kept
/// bit for bit, -0.0 and denormals included. The store never keeps NaN or
/// infinities (the caller skips non-finite values); were one passed, the
/// chunk falls back to XOR and still keeps its bits.
/// @return the blob; error "unordered" when a timestamp is not greater than
///   the one before it, "oversize" with more than kMaxChunkSamples samples.
[[nodiscard]] Result<std::string> encodeChunk(std::span<const Sample> samples);

/// Decodes a blob of encodeChunk() and appends its samples to `out`.
///
/// Any malformed blob (truncated, unknown version or encoding, a count the
/// blob cannot hold, timestamps not increasing, non-zero padding, trailing
/// bytes) is refused with code "corrupt" and a one-line message starting with
/// "sample chunk: "; `out` is then unchanged. Never reads outside `blob`, and
/// reserves at most as many samples as the blob's size can hold.
[[nodiscard]] Status decodeChunkInto(std::string_view blob, std::vector<Sample>& out);

/// decodeChunkInto() into a new vector.
[[nodiscard]] Result<std::vector<Sample>> decodeChunk(std::string_view blob);

/// The header of a blob (count, value encoding, scale), checked as
/// decodeChunkInto() checks it, without decoding the samples; errors as there.
[[nodiscard]] Result<ChunkHeader> readChunkHeader(std::string_view blob);

}  // namespace pso::controller::store
