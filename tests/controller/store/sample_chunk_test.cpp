#include "controller/store/sample_chunk.h"

#include <gtest/gtest.h>

#include <bit>
#include <cmath>
#include <cstdint>
#include <initializer_list>
#include <limits>
#include <random>
#include <string>
#include <utility>
#include <vector>

namespace pso::controller::store {
namespace {

constexpr int64_t kStartMs = 1767225600000;  // 2026-01-01T00:00:00Z

/// `n` samples every `step_ms` from kStartMs, values from `value(i)`.
template <typename Value>
std::vector<Sample> series(std::size_t n, int64_t step_ms, Value value) {
  std::vector<Sample> samples;
  for (std::size_t i = 0; i < n; ++i) {
    samples.push_back({kStartMs + static_cast<int64_t>(i) * step_ms, value(i)});
  }
  return samples;
}

std::string encoded(const std::vector<Sample>& samples) {
  auto blob = encodeChunk(samples);
  EXPECT_TRUE(blob.ok()) << blob.error().message;
  return blob.ok() ? *blob : std::string();
}

/// Encodes and decodes `samples`, expecting the same timestamps and the same
/// value bits; returns the blob.
std::string expectRoundTrip(const std::vector<Sample>& samples) {
  const std::string blob = encoded(samples);
  auto decoded = decodeChunk(blob);
  EXPECT_TRUE(decoded.ok()) << decoded.error().message;
  if (!decoded.ok()) return blob;
  EXPECT_EQ(decoded->size(), samples.size());
  for (std::size_t i = 0; i < std::min(decoded->size(), samples.size()); ++i) {
    EXPECT_EQ((*decoded)[i].ts_ms, samples[i].ts_ms) << "sample " << i;
    EXPECT_EQ(std::bit_cast<uint64_t>((*decoded)[i].value),
              std::bit_cast<uint64_t>(samples[i].value))
        << "sample " << i << ": " << samples[i].value << " came back as " << (*decoded)[i].value;
  }
  return blob;
}

ChunkHeader headerOf(const std::string& blob) {
  auto header = readChunkHeader(blob);
  EXPECT_TRUE(header.ok()) << header.error().message;
  return header.ok() ? *header : ChunkHeader{};
}

/// The error decoding `blob` gives; fails the test when it decodes.
Error refusal(std::string_view blob) {
  auto decoded = decodeChunk(blob);
  EXPECT_FALSE(decoded.ok()) << "decoded " << decoded->size() << " samples";
  return decoded.ok() ? Error{} : decoded.error();
}

/// Bytes of (value, bits) fields packed least significant bit first.
std::string packBits(std::initializer_list<std::pair<uint64_t, unsigned>> fields) {
  std::string out;
  unsigned pos = 0;
  for (const auto& [value, bits] : fields) {
    for (unsigned b = 0; b < bits; ++b, ++pos) {
      if (pos % 8 == 0) out.push_back(0);
      if ((value >> b) & 1) out.back() = static_cast<char>(out.back() | (1 << (pos % 8)));
    }
  }
  return out;
}

std::string bytes(std::initializer_list<int> values) {
  std::string out;
  for (int v : values) out.push_back(static_cast<char>(v));
  return out;
}

TEST(SampleChunk, EmptyChunkDecodesToNoSamples) {
  const std::string blob = expectRoundTrip({});
  EXPECT_EQ(blob.size(), 3u);  // version, encoding, count 0
  EXPECT_EQ(headerOf(blob).count, 0u);
}

TEST(SampleChunk, OneSampleRoundTrips) {
  expectRoundTrip({{kStartMs, 42.5}});
  expectRoundTrip({{-5, -0.0}});
}

TEST(SampleChunk, ConstantSeriesAtOneSecondStepTakesUnderAnEighthOfAByte) {
  const auto samples = series(720, 1000, [](std::size_t) { return 42.0; });
  const std::string blob = expectRoundTrip(samples);
  // Header: version, encoding, count (2 bytes), first timestamp (6), first
  // delta (2), scale, step, first value = 15 bytes; then 45 groups of widths
  // 0 for the 718 delta-of-deltas and 45 for the 719 value deltas: 540 bits.
  EXPECT_EQ(blob.size(), 15u + 68u);
  EXPECT_LT(static_cast<double>(blob.size()) / 720.0, 0.125);
  EXPECT_EQ(headerOf(blob).encoding, ChunkValueEncoding::kDecimalDelta);
}

TEST(SampleChunk, CounterAtFixedRateCostsNoMoreThanAConstant) {
  const auto counter =
      series(720, 1000, [](std::size_t i) { return 1e9 + 4096.0 * static_cast<double>(i); });
  const auto constant = series(720, 1000, [](std::size_t) { return 1e9; });
  const std::string blob = expectRoundTrip(counter);
  EXPECT_EQ(headerOf(blob).encoding, ChunkValueEncoding::kDecimalDeltaOfDelta);
  // Two bytes more: the step 4096 takes two bytes, and the first delta over
  // the step (1) one; the packed streams are the same.
  EXPECT_EQ(blob.size(), encoded(constant).size() + 2);
}

TEST(SampleChunk, PercentWithTwoDecimalsIsDecimalAtScaleTwoUnderTwoBytesPerSample) {
  std::mt19937 rng(7);
  std::normal_distribution<double> noise(0.0, 0.5);
  double level = 35.0;
  const auto samples = series(720, 1000, [&](std::size_t) {
    level = std::clamp(level + noise(rng), 0.0, 100.0);
    return std::round(level * 100.0) / 100.0;
  });
  const std::string blob = expectRoundTrip(samples);
  const ChunkHeader header = headerOf(blob);
  EXPECT_EQ(header.encoding, ChunkValueEncoding::kDecimalDelta);
  EXPECT_EQ(header.scale, 2);
  EXPECT_LT(static_cast<double>(blob.size()) / 720.0, 2.0);
}

TEST(SampleChunk, FloatNoiseAroundDecimalsIsDecimalWithResiduals) {
  // A third of the values one or two units in the last place off their
  // three-decimal form, as in series computed in floating point and printed
  // in full (51.846000000000004).
  std::mt19937 rng(17);
  std::uniform_int_distribution<int> milli(40000, 60000);
  const auto samples = series(720, 1000, [&](std::size_t i) {
    double v = milli(rng) / 1000.0;
    if (i % 3 == 0) v = std::nextafter(v, 100.0);
    if (i % 9 == 0) v = std::nextafter(std::nextafter(v, 0.0), 0.0);
    return v;
  });
  const std::string blob = expectRoundTrip(samples);
  const ChunkHeader header = headerOf(blob);
  EXPECT_NE(header.encoding, ChunkValueEncoding::kXor);
  EXPECT_TRUE(header.residuals);
  EXPECT_EQ(header.scale, 3);
  // 15 bits of integer delta and 3 of residual, against about 7 bytes with XOR.
  EXPECT_LT(static_cast<double>(blob.size()) / 720.0, 2.5);
}

TEST(SampleChunk, MostlyArbitraryDoublesAreNotForcedIntoResiduals) {
  std::mt19937_64 rng(19);
  std::uniform_real_distribution<double> ratio(0.0, 1.0);
  const auto samples = series(720, 1000, [&](std::size_t i) {
    return i % 4 == 0 ? static_cast<double>(i % 10) / 10.0 : ratio(rng);
  });
  const std::string blob = expectRoundTrip(samples);
  EXPECT_EQ(headerOf(blob).encoding, ChunkValueEncoding::kXor);
}

TEST(SampleChunk, JitteredTimestampsOnAFixedStepAreStoredAsStepOffsets) {
  std::mt19937 rng(23);
  std::uniform_int_distribution<int> late(0, 4);
  std::vector<Sample> samples;
  for (int64_t i = 0; i < 720; ++i) samples.push_back({kStartMs + i * 1000 + late(rng), 1.0});
  const std::string blob = expectRoundTrip(samples);
  EXPECT_EQ(headerOf(blob).timestamps, ChunkTimestampEncoding::kStepOffsets);
  // Offsets within -4..4 take 4 bits (delta-of-deltas within -8..8 would take 5).
  EXPECT_LT(static_cast<double>(blob.size()) / 720.0, 0.6);
}

TEST(SampleChunk, ValuesOfDifferentDecimalsShareTheWidestScale) {
  const std::string blob = expectRoundTrip({{1000, 1.0}, {2000, 1.5}, {3000, 0.125}, {4000, -7.0}});
  EXPECT_EQ(headerOf(blob).scale, 3);
}

TEST(SampleChunk, IntegerSeriesOfMemoryBytesStoresTheCommonStep) {
  std::mt19937 rng(11);
  std::uniform_int_distribution<int> pages(-64, 64);
  double bytes_used = 512.0 * 1024 * 1024;
  const auto samples = series(720, 1000, [&](std::size_t) {
    bytes_used += 4096.0 * pages(rng);
    return bytes_used;
  });
  const std::string blob = expectRoundTrip(samples);
  EXPECT_EQ(headerOf(blob).scale, 0);
  // Deltas of at most 64 pages: 8 bits each once the page size is factored out.
  EXPECT_LT(static_cast<double>(blob.size()) / 720.0, 1.2);
}

TEST(SampleChunk, RandomDoublesFallBackToXorAndRoundTripBitForBit) {
  std::mt19937_64 rng(3);
  std::uniform_real_distribution<double> rate(0.0, 5000.0);
  const auto samples = series(720, 1000, [&](std::size_t) { return rate(rng); });
  const std::string blob = expectRoundTrip(samples);
  EXPECT_EQ(headerOf(blob).encoding, ChunkValueEncoding::kXor);
}

TEST(SampleChunk, ArbitraryBitPatternsRoundTripBitForBit) {
  std::mt19937_64 rng(5);
  const auto samples = series(1000, 1000, [&](std::size_t) {
    double v = std::bit_cast<double>(rng());
    return std::isfinite(v) ? v : 0.5;
  });
  expectRoundTrip(samples);
}

TEST(SampleChunk, NegativeZeroDenormalsAndExtremesRoundTripBitForBit) {
  using Limits = std::numeric_limits<double>;
  const std::vector<double> values = {0.0,
                                      -0.0,
                                      Limits::denorm_min(),
                                      -Limits::denorm_min(),
                                      Limits::min(),
                                      Limits::max(),
                                      Limits::lowest(),
                                      1e300,
                                      -1e-300,
                                      0x1p60,
                                      -0x1p53,
                                      0x1p53 + 2,
                                      3.0,
                                      -0.0};
  std::vector<Sample> samples;
  for (std::size_t i = 0; i < values.size(); ++i) {
    samples.push_back({static_cast<int64_t>(i) * 1000, values[i]});
  }
  const std::string blob = expectRoundTrip(samples);
  EXPECT_EQ(headerOf(blob).encoding, ChunkValueEncoding::kXor);
  // -0.0 alone is not decimal either: +0.0 would come back.
  EXPECT_EQ(headerOf(expectRoundTrip({{0, 1.0}, {1, -0.0}})).encoding, ChunkValueEncoding::kXor);
}

TEST(SampleChunk, ValuesBeyondTwoToThe53AtTheirScaleFallBackToXor) {
  // 1e15 + 0.5 needs 1000000000000000.5 * 10 = 10^16 + 5 > 2^53.
  const std::string blob = expectRoundTrip({{0, 1e15 + 0.5}, {1, 1.0}});
  EXPECT_EQ(headerOf(blob).encoding, ChunkValueEncoding::kXor);
  // A large integer first, a value with decimals later: widening the scale
  // would pass 2^53.
  const std::string widened = expectRoundTrip({{0, 0x1p52}, {1, 0.25}});
  EXPECT_EQ(headerOf(widened).encoding, ChunkValueEncoding::kXor);
}

TEST(SampleChunk, NonFiniteValuesStillRoundTripThroughXor) {
  const double nan_with_payload = std::bit_cast<double>(uint64_t{0x7ff8000000000123});
  const std::string blob = expectRoundTrip(
      {{0, 1.0}, {1, std::numeric_limits<double>::infinity()}, {2, nan_with_payload}, {3, 2.0}});
  EXPECT_EQ(headerOf(blob).encoding, ChunkValueEncoding::kXor);
}

TEST(SampleChunk, IrregularTimestampsGapsAndJitterRoundTrip) {
  std::mt19937 rng(9);
  std::uniform_int_distribution<int> jitter(-30, 30);
  std::vector<Sample> samples;
  int64_t ts = kStartMs;
  for (std::size_t i = 0; i < 2000; ++i) {
    ts += 1000 + jitter(rng);
    if (i % 97 == 0) ts += 3600 * 1000;  // an agent away for an hour
    if (i % 331 == 0) ts += 1;           // a step of one millisecond
    samples.push_back({ts, static_cast<double>(i % 17)});
  }
  expectRoundTrip(samples);
}

TEST(SampleChunk, TimestampsAcrossTheWholeInt64RangeRoundTrip) {
  constexpr int64_t kMin = std::numeric_limits<int64_t>::min();
  constexpr int64_t kMax = std::numeric_limits<int64_t>::max();
  expectRoundTrip(
      {{kMin, 1.0}, {kMin + 1, 2.0}, {-1, 3.0}, {0, 4.0}, {kMax - 1, 5.0}, {kMax, 6.0}});
  expectRoundTrip({{kMin, 1.0}, {kMax, 2.0}});
}

TEST(SampleChunk, ManySamplesUpToTheLimitRoundTrip) {
  const auto samples = series(kMaxChunkSamples, 1000,
                              [](std::size_t i) { return static_cast<double>(i % 1000) / 10.0; });
  expectRoundTrip(samples);
}

TEST(SampleChunk, EncoderRefusesTimestampsNotStrictlyIncreasing) {
  const std::vector<Sample> equal = {{1000, 1.0}, {1000, 2.0}};
  auto refused = encodeChunk(equal);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code, "unordered");
  EXPECT_EQ(refused.error().message, "sample chunk: timestamp 1000 of sample 1 not after 1000");
  const std::vector<Sample> backwards = {{1000, 1.0}, {2000, 2.0}, {1500, 3.0}};
  EXPECT_EQ(encodeChunk(backwards).error().code, "unordered");
}

TEST(SampleChunk, EncoderRefusesMoreSamplesThanTheLimit) {
  const auto samples = series(kMaxChunkSamples + 1, 1, [](std::size_t) { return 1.0; });
  auto refused = encodeChunk(samples);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code, "oversize");
}

TEST(SampleChunk, DecodeAppendsAndLeavesTheVectorUnchangedOnRefusal) {
  std::vector<Sample> out = {{1, 1.0}};
  const std::string blob = encoded({{10, 2.0}, {20, 3.0}});
  ASSERT_TRUE(decodeChunkInto(blob, out).ok());
  ASSERT_EQ(out.size(), 3u);
  EXPECT_EQ(out[2].ts_ms, 20);
  const Status refused = decodeChunkInto(blob.substr(0, blob.size() - 1), out);
  EXPECT_FALSE(refused.ok());
  EXPECT_EQ(out.size(), 3u);
}

/// A valid blob of each value and timestamp encoding.
std::vector<std::string> blobsOfEveryEncoding() {
  std::mt19937 rng(13);
  std::uniform_real_distribution<double> u(0.0, 100.0);
  std::vector<std::string> blobs;
  blobs.push_back(encoded(series(40, 1000, [&](std::size_t) { return std::round(u(rng)) / 4; })));
  blobs.push_back(
      encoded(series(40, 1000, [](std::size_t i) { return 7.0 * static_cast<double>(i * i); })));
  blobs.push_back(encoded(series(40, 1000, [&](std::size_t) { return u(rng); })));
  blobs.push_back(encoded({{5, 1.0}, {20, -0.0}, {9000, 1e-310}}));
  // Decimal with residuals, timestamps as step offsets.
  std::uniform_int_distribution<int> late(0, 4);
  blobs.push_back(encoded(series(40, 1000, [&](std::size_t i) {
    const double v = std::round(u(rng) * 100) / 100;
    return i % 3 == 0 ? std::nextafter(v, 200.0) : v;
  })));
  std::vector<Sample> jittered;
  for (int64_t i = 0; i < 40; ++i) jittered.push_back({i * 1000 + late(rng), 2.0});
  blobs.push_back(encoded(jittered));
  return blobs;
}

TEST(SampleChunk, EveryTruncatedPrefixIsRefusedAsCorrupt) {
  const auto blobs = blobsOfEveryEncoding();
  EXPECT_TRUE(headerOf(blobs[4]).residuals);
  EXPECT_EQ(headerOf(blobs[5]).timestamps, ChunkTimestampEncoding::kStepOffsets);
  for (const std::string& blob : blobs) {
    for (std::size_t len = 0; len < blob.size(); ++len) {
      const Error error = refusal(std::string_view(blob).substr(0, len));
      EXPECT_EQ(error.code, "corrupt") << "prefix of " << len << " bytes";
      EXPECT_EQ(error.message.rfind("sample chunk: ", 0), 0u) << error.message;
    }
  }
}

TEST(SampleChunk, FlippedBitsAreRefusedOrDecodeToSamplesThatReencode) {
  for (const std::string& blob : blobsOfEveryEncoding()) {
    for (std::size_t at = 0; at < blob.size(); ++at) {
      for (int bit = 0; bit < 8; ++bit) {
        std::string damaged = blob;
        damaged[at] = static_cast<char>(damaged[at] ^ (1 << bit));
        auto decoded = decodeChunk(damaged);
        if (!decoded.ok()) {
          EXPECT_EQ(decoded.error().code, "corrupt");
          EXPECT_EQ(decoded.error().message.find('\n'), std::string::npos);
          continue;
        }
        // Damage that still decodes is a chunk of other samples: they are
        // increasing and encode again.
        auto again = encodeChunk(*decoded);
        ASSERT_TRUE(again.ok()) << again.error().message;
        auto twice = decodeChunk(*again);
        ASSERT_TRUE(twice.ok()) << twice.error().message;
        ASSERT_EQ(twice->size(), decoded->size());
      }
    }
  }
}

TEST(SampleChunk, RefusesAnEmptyBlobAndAnUnknownVersion) {
  EXPECT_EQ(refusal("").message, "sample chunk: empty blob");
  std::string blob = encoded({{1, 1.0}});
  blob[0] = 2;
  EXPECT_EQ(refusal(blob).message, "sample chunk: unknown version 2");
}

TEST(SampleChunk, RefusesAnUnknownEncodingOrFlag) {
  EXPECT_EQ(refusal(bytes({1, 3, 0})).message, "sample chunk: unknown encoding 3");
  EXPECT_EQ(refusal(bytes({1, 0x10, 0})).message, "sample chunk: unknown encoding 16");
  // Residuals correct decimal values only.
  EXPECT_EQ(refusal(bytes({1, 0x06, 0})).message, "sample chunk: residuals with xor values");
}

TEST(SampleChunk, RefusesACountAboveTheLimit) {
  // 2^18 + 1 as a varint.
  EXPECT_EQ(refusal(bytes({1, 0, 0x81, 0x80, 0x10})).message,
            "sample chunk: count 262145 above the limit of 262144");
}

TEST(SampleChunk, RefusesACountTooLargeForTheBlobBeforeReservingForIt) {
  // 200000 samples claimed, four bytes of stream: at least 12 bits per 16
  // samples would be needed.
  const std::string blob = bytes({1, 0, 0xc0, 0x9a, 0x0c, 0, 2, 0, 1, 0}) + bytes({0, 0, 0, 0});
  EXPECT_EQ(refusal(blob).message, "sample chunk: count 200000 too large for a blob of 14 bytes");
}

TEST(SampleChunk, RefusesTrailingBytesAndNonZeroPadding) {
  const std::string blob = encoded(series(3, 1000, [](std::size_t) { return 1.0; }));
  EXPECT_EQ(refusal(blob + bytes({0})).message,
            "sample chunk: trailing bytes after the last sample (1)");
  // Three samples at a fixed step and constant value: 6 + 6 bits, so the last
  // byte's top four bits are padding.
  std::string padded = blob;
  padded.back() = static_cast<char>(padded.back() | 0x80);
  EXPECT_EQ(refusal(padded).message, "sample chunk: non-zero padding bits");
}

TEST(SampleChunk, RefusesTimestampsThatDoNotIncrease) {
  // Count 2, first timestamp 0, first delta 0.
  EXPECT_EQ(refusal(bytes({1, 0, 2, 0, 0, 0, 1, 0})).message,
            "sample chunk: timestamps not increasing at sample 1");
  // Count 3, timestamps 0, 10, then a delta-of-delta of -20 (zigzag 39, width 6).
  const std::string header = bytes({1, 0, 3, 0, 10, 0, 1, 0});
  EXPECT_EQ(refusal(header + packBits({{6, 6}, {39, 6}, {0, 6}})).message,
            "sample chunk: timestamps not increasing at sample 2");
}

TEST(SampleChunk, RefusesADecimalScaleAboveTheLimitAndAZeroStep) {
  EXPECT_EQ(refusal(bytes({1, 0, 1, 0, 16, 1, 0})).message,
            "sample chunk: decimal scale 16 above 15");
  EXPECT_EQ(refusal(bytes({1, 0, 1, 0, 2, 0, 0})).message, "sample chunk: decimal step 0");
}

TEST(SampleChunk, RefusesAnXorRecordReusingAWindowBeforeAnyWasSet) {
  // Count 2, timestamps 0 and 1, first value 0.0, then '1','0'.
  const std::string blob = bytes({1, 2, 2, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0}) + packBits({{1, 2}});
  EXPECT_EQ(refusal(blob).message, "sample chunk: value reuses a window before any at sample 1");
}

TEST(SampleChunk, RefusesAnXorWindowPastSixtyFourBits) {
  // '1','1', 20 leading zeros, 50 bits long.
  const std::string blob =
      bytes({1, 2, 2, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0}) + packBits({{3, 2}, {20, 5}, {50, 6}});
  EXPECT_EQ(refusal(blob).message, "sample chunk: value window past 64 bits at sample 1");
}

TEST(SampleChunk, RefusesAnOverlongVarint) {
  EXPECT_EQ(
      refusal(bytes({1, 0, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0})).message,
      "sample chunk: truncated or overlong sample count");
}

}  // namespace
}  // namespace pso::controller::store
