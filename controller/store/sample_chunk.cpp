#include "controller/store/sample_chunk.h"

#include "controller/store/byte_codec.h"

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstring>
#include <numeric>

namespace pso::controller::store {
namespace {

// The encoding byte: the value encoding in the low two bits, then flags.
constexpr uint8_t kValueEncodingMask = 0x03;
constexpr uint8_t kResidualsFlag = 0x04;
constexpr uint8_t kStepOffsetsFlag = 0x08;

constexpr unsigned kWidthBits = 6;
constexpr unsigned kWidthFor64 = 63;  // the width code that stands for 64 bits
constexpr double kTwoTo53 = 9007199254740992.0;

// Powers of ten up to 10^22 are exact doubles, so n / 10^k is the correctly
// rounded quotient for |n| <= 2^53: the decoder's division is the encoder's.
constexpr double kPow10[kMaxChunkScale + 1] = {1e0, 1e1, 1e2,  1e3,  1e4,  1e5,  1e6,  1e7,
                                               1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15};

uint64_t bitsOf(double v) {
  return std::bit_cast<uint64_t>(v);
}

unsigned varintBits(uint64_t v) {
  return 8 * std::max<unsigned>(1, static_cast<unsigned>(std::bit_width(v) + 6) / 7);
}

/// Bits appended least significant first; whole 64-bit words go to the string.
class BitWriter {
 public:
  explicit BitWriter(std::string& out) : out_(out) {}

  /// Appends the low `bits` bits of `value` (bits <= 64, no higher bit set).
  void put(uint64_t value, unsigned bits) {
    if (bits == 0) return;
    acc_ |= value << fill_;
    const unsigned total = fill_ + bits;
    if (total < 64) {
      fill_ = total;
      return;
    }
    appendBytes(acc_, 8);
    acc_ = fill_ == 0 ? 0 : value >> (64 - fill_);
    fill_ = total - 64;
  }

  /// Appends the last partial word, zero-padded to a whole byte.
  void finish() {
    appendBytes(acc_, (fill_ + 7) / 8);
    acc_ = 0;
    fill_ = 0;
  }

 private:
  void appendBytes(uint64_t word, unsigned n) {
    char bytes[8];
    for (unsigned i = 0; i < n; ++i) bytes[i] = static_cast<char>(word >> (8 * i));
    out_.append(bytes, n);
  }

  std::string& out_;
  uint64_t acc_ = 0;
  unsigned fill_ = 0;  // always < 64
};

/// Reads bits as BitWriter wrote them; every read is bounds-checked.
class BitReader {
 public:
  explicit BitReader(std::string_view bytes)
      : data_(reinterpret_cast<const unsigned char*>(bytes.data())),
        size_(bytes.size()),
        total_(static_cast<uint64_t>(bytes.size()) * 8) {}

  /// The next `bits` bits (bits <= 64); false when fewer remain.
  bool get(unsigned bits, uint64_t& value) {
    if (bits > total_ - pos_) return false;
    if (bits == 0) {
      value = 0;
      return true;
    }
    const std::size_t byte = pos_ >> 3;
    const unsigned shift = pos_ & 7;
    uint64_t v = load(byte) >> shift;
    if (shift + bits > 64) v |= static_cast<uint64_t>(data_[byte + 8]) << (64 - shift);
    if (bits < 64) v &= (uint64_t{1} << bits) - 1;
    pos_ += bits;
    value = v;
    return true;
  }

  uint64_t remainingBits() const { return total_ - pos_; }

  /// True when what is left is the zero padding of the last byte.
  bool atZeroPadding() const {
    if (total_ - pos_ >= 8) return false;
    if (pos_ == total_) return true;
    return (data_[pos_ >> 3] >> (pos_ & 7)) == 0;
  }

 private:
  // Eight bytes from `byte` on, zero past the end.
  uint64_t load(std::size_t byte) const {
    if (size_ - byte >= 8) {
      uint64_t v = 0;
      std::memcpy(&v, data_ + byte, 8);
      if constexpr (std::endian::native == std::endian::big) v = __builtin_bswap64(v);
      return v;
    }
    uint64_t v = 0;
    for (std::size_t i = size_ - byte; i-- > 0;) v = (v << 8) | data_[byte + i];
    return v;
  }

  const unsigned char* data_;
  std::size_t size_;
  uint64_t total_;
  uint64_t pos_ = 0;
};

unsigned widthCode(uint64_t all) {
  const unsigned width = static_cast<unsigned>(std::bit_width(all));
  return width >= kWidthFor64 ? kWidthFor64 : width;
}

unsigned widthOfCode(unsigned code) {
  return code == kWidthFor64 ? 64 : code;
}

/// Writes `count` numbers from `next()` in packed groups.
template <typename Next>
void putPacked(BitWriter& w, std::size_t count, Next&& next) {
  uint64_t group[kChunkGroupSize];
  for (std::size_t done = 0; done < count;) {
    const std::size_t m = std::min(kChunkGroupSize, count - done);
    uint64_t all = 0;
    for (std::size_t j = 0; j < m; ++j) {
      group[j] = next();
      all |= group[j];
    }
    const unsigned code = widthCode(all);
    const unsigned width = widthOfCode(code);
    w.put(code, kWidthBits);
    for (std::size_t j = 0; j < m; ++j) w.put(group[j], width);
    done += m;
  }
}

/// The bits putPacked() would write for the same numbers.
template <typename Next>
uint64_t packedBits(std::size_t count, Next&& next) {
  uint64_t bits = 0;
  for (std::size_t done = 0; done < count;) {
    const std::size_t m = std::min(kChunkGroupSize, count - done);
    uint64_t all = 0;
    for (std::size_t j = 0; j < m; ++j) all |= next();
    bits += kWidthBits + m * widthOfCode(widthCode(all));
    done += m;
  }
  return bits;
}

/// The fewest bits a packed stream of `count` numbers takes (all widths 0).
uint64_t minPackedBits(std::size_t count) {
  return kWidthBits * ((count + kChunkGroupSize - 1) / kChunkGroupSize);
}

// --- encoding ----------------------------------------------------------------

/// `v` as an integer n times 10^-k with |n| < 2^53, when that converts back
/// to exactly the same bits.
bool scaledAt(double v, int k, int64_t& n) {
  const double s = v * kPow10[k];
  if (!(std::fabs(s) < kTwoTo53)) return false;  // also NaN and infinities
  const auto candidate = static_cast<int64_t>(std::nearbyint(s));
  if (bitsOf(static_cast<double>(candidate) / kPow10[k]) != bitsOf(v)) return false;
  n = candidate;
  return true;
}

/// The values as scaled integers at one scale, with the residual (in units
/// in the last place) of each value that is not exactly its integer.
struct DecimalValues {
  int scale = 0;
  std::vector<int64_t> ints;
  std::vector<uint64_t> residuals;  ///< zigzag; empty when every value is exact
  std::vector<int64_t> deltas;      ///< deltas of the integers over the step (planDecimal)
};

constexpr int kNoScale = kMaxChunkScale + 1;

/// The smallest scale at which `v` is exact, trying `hint` (the scale of the
/// value before) first; kNoScale when there is none.
int exactScale(double v, int hint) {
  int64_t n = 0;
  // Exact at the hint and not one below: the smallest (exactness holds
  // upwards while the integer stays below 2^53).
  if (hint < kNoScale && scaledAt(v, hint, n) && (hint == 0 || !scaledAt(v, hint - 1, n))) {
    return hint;
  }
  for (int k = 0; k <= kMaxChunkScale; ++k) {
    if (scaledAt(v, k, n)) return k;
  }
  return kNoScale;
}

/// The values at scale k: the nearest integers, and residuals when some value
/// is not exact there. False when an integer would reach 2^53 (or a value is
/// not finite).
bool decimalAt(std::span<const Sample> samples, int k, DecimalValues& d) {
  const std::size_t n = samples.size();
  d.scale = k;
  d.ints.resize(n);
  d.residuals.clear();
  for (std::size_t i = 0; i < n; ++i) {
    const double v = samples[i].value;
    const double s = v * kPow10[k];
    if (!(std::fabs(s) < kTwoTo53)) return false;
    d.ints[i] = static_cast<int64_t>(std::nearbyint(s));
    const uint64_t residual = bitsOf(v) - bitsOf(static_cast<double>(d.ints[i]) / kPow10[k]);
    if (residual != 0 && d.residuals.empty()) d.residuals.assign(n, 0);
    if (residual != 0) d.residuals[i] = zigzag(static_cast<int64_t>(residual));
  }
  return true;
}

/// The scales worth trying for the values: the smallest at which at least
/// half of them are exact (the rest get residuals), and the smallest at which
/// all that have an exact form are. Empty when most values have no exact
/// form within kMaxChunkScale (arbitrary doubles: XOR is the encoding).
std::vector<int> candidateScales(std::span<const Sample> samples) {
  const std::size_t n = samples.size();
  std::size_t at_scale[kNoScale + 1] = {};
  int hint = 0;
  for (std::size_t i = 0; i < n; ++i) {
    hint = exactScale(samples[i].value, hint);
    ++at_scale[hint];
    // Give up early: every value without an exact form costs kNoScale tries.
    if (at_scale[kNoScale] > (i + 1 - at_scale[kNoScale]) + 8) return {};
  }
  if (at_scale[kNoScale] * 2 > n) return {};
  std::vector<int> scales;
  std::size_t covered = 0;
  int widest = 0;
  for (int k = 0; k < kNoScale; ++k) {
    covered += at_scale[k];
    if (at_scale[k] > 0) widest = k;
    if (scales.empty() && covered * 2 >= n) scales.push_back(k);
  }
  if (scales.empty()) scales.push_back(0);  // n == 0
  if (widest != scales.front()) scales.push_back(widest);
  return scales;
}

uint64_t timestampDelta(std::span<const Sample> samples, std::size_t i) {
  // Wrapping arithmetic: a delta of two int64 timestamps may not fit an int64,
  // and the decoder wraps the same way.
  return static_cast<uint64_t>(samples[i].ts_ms) - static_cast<uint64_t>(samples[i - 1].ts_ms);
}

/// The packed number of timestamp i >= 2: its delta-of-delta, or with step
/// offsets its delta minus the first delta.
uint64_t timestampNumber(std::span<const Sample> samples, std::size_t i, bool step_offsets) {
  const uint64_t base = step_offsets ? timestampDelta(samples, 1) : timestampDelta(samples, i - 1);
  return zigzag(static_cast<int64_t>(timestampDelta(samples, i) - base));
}

/// Step offsets when they pack smaller than delta-of-deltas: timestamps late
/// by a few milliseconds on a fixed step (the second difference of the
/// lateness spans twice its range).
bool stepOffsetsPackSmaller(std::span<const Sample> samples) {
  const std::size_t n = samples.size();
  if (n < 3) return false;
  std::size_t i = 2;
  const uint64_t dod = packedBits(n - 2, [&] { return timestampNumber(samples, i++, false); });
  std::size_t j = 2;
  const uint64_t offsets = packedBits(n - 2, [&] { return timestampNumber(samples, j++, true); });
  return offsets < dod;
}

void putTimestampHeader(std::span<const Sample> samples, std::string& out) {
  const std::size_t n = samples.size();
  if (n >= 1) putVarint(out, zigzag(samples[0].ts_ms));
  if (n >= 2) putVarint(out, timestampDelta(samples, 1));
}

void putTimestampStream(std::span<const Sample> samples, bool step_offsets, BitWriter& w) {
  const std::size_t n = samples.size();
  if (n < 3) return;
  std::size_t i = 2;
  putPacked(w, n - 2, [&] { return timestampNumber(samples, i++, step_offsets); });
}

/// Counts the bits BitWriter would write.
struct BitCounter {
  uint64_t bits = 0;
  void put(uint64_t, unsigned n) { bits += n; }
};

// Gorilla's value records: '0' for the same bits; '1','0' then the XOR's
// meaningful bits inside the previous window; '1','1', 5 bits of leading
// zeros, 6 bits of length (0 for 64), then the meaningful bits.
template <typename Writer>
void putXorRecords(std::span<const Sample> samples, Writer& w) {
  const std::size_t n = samples.size();
  uint64_t prev = n >= 1 ? bitsOf(samples[0].value) : 0;
  unsigned lead = 0;
  unsigned trail = 0;
  bool window = false;
  for (std::size_t i = 1; i < n; ++i) {
    const uint64_t bits = bitsOf(samples[i].value);
    const uint64_t x = bits ^ prev;
    prev = bits;
    if (x == 0) {
      w.put(0, 1);
      continue;
    }
    const auto lz = static_cast<unsigned>(std::countl_zero(x));
    const auto tz = static_cast<unsigned>(std::countr_zero(x));
    if (window && lz >= lead && tz >= trail) {
      w.put(0b01, 2);
      w.put(x >> trail, 64 - lead - trail);
      continue;
    }
    window = true;
    lead = std::min(lz, 31u);
    trail = tz;
    const unsigned length = 64 - lead - trail;
    w.put(0b11, 2);
    w.put(lead, 5);
    w.put(length & 63, 6);
    w.put(x >> trail, length);
  }
}

/// How the integers of decimal values are packed.
struct DecimalPacking {
  int64_t step = 1;  ///< gcd of the deltas
  bool dod = false;
  uint64_t bits = 0;  ///< header fields and streams of the values, residuals included
};

DecimalPacking planDecimal(DecimalValues& d) {
  const std::size_t n = d.ints.size();
  DecimalPacking p;
  // Integers below 2^53 in magnitude: their deltas and delta-of-deltas fit an int64.
  d.deltas.assign(n, 0);
  uint64_t g = 0;
  for (std::size_t i = 1; i < n; ++i) {
    d.deltas[i] = d.ints[i] - d.ints[i - 1];
    if (g != 1) g = std::gcd(g, static_cast<uint64_t>(std::abs(d.deltas[i])));
  }
  p.step = static_cast<int64_t>(std::max<uint64_t>(g, 1));
  if (p.step > 1) {
    for (std::size_t i = 1; i < n; ++i) d.deltas[i] /= p.step;
  }
  const auto delta = [&](std::size_t i) { return d.deltas[i]; };
  uint64_t delta_bits = 0;
  uint64_t dod_bits = 0;
  if (n >= 2) {
    std::size_t i = 1;
    delta_bits = packedBits(n - 1, [&] { return zigzag(delta(i++)); });
    std::size_t j = 2;
    dod_bits = varintBits(zigzag(delta(1))) + packedBits(n - 2, [&] {
                 const int64_t dod = delta(j) - delta(j - 1);
                 ++j;
                 return zigzag(dod);
               });
  }
  p.dod = n >= 2 && dod_bits < delta_bits;
  p.bits = 8 + varintBits(static_cast<uint64_t>(p.step)) + (p.dod ? dod_bits : delta_bits);
  if (n >= 1) p.bits += varintBits(zigzag(d.ints[0]));
  if (!d.residuals.empty()) {
    std::size_t i = 0;
    p.bits += packedBits(n, [&] { return d.residuals[i++]; });
  }
  return p;
}

void encodeDecimal(std::span<const Sample> samples, const DecimalValues& d, const DecimalPacking& p,
                   bool step_offsets, std::string& out) {
  const std::size_t n = d.ints.size();
  const auto delta = [&](std::size_t i) { return d.deltas[i]; };
  uint8_t encoding = static_cast<uint8_t>(p.dod ? ChunkValueEncoding::kDecimalDeltaOfDelta
                                                : ChunkValueEncoding::kDecimalDelta);
  if (!d.residuals.empty()) encoding |= kResidualsFlag;
  if (step_offsets) encoding |= kStepOffsetsFlag;
  out.push_back(static_cast<char>(encoding));
  putVarint(out, n);
  putTimestampHeader(samples, out);
  if (n >= 1) {
    out.push_back(static_cast<char>(d.scale));
    putVarint(out, static_cast<uint64_t>(p.step));
    putVarint(out, zigzag(d.ints[0]));
  }
  if (p.dod) putVarint(out, zigzag(delta(1)));

  BitWriter w(out);
  putTimestampStream(samples, step_offsets, w);
  if (p.dod) {
    std::size_t j = 2;
    putPacked(w, n - 2, [&] {
      const int64_t dod = delta(j) - delta(j - 1);
      ++j;
      return zigzag(dod);
    });
  } else if (n >= 2) {
    std::size_t i = 1;
    putPacked(w, n - 1, [&] { return zigzag(delta(i++)); });
  }
  if (!d.residuals.empty()) {
    std::size_t i = 0;
    putPacked(w, n, [&] { return d.residuals[i++]; });
  }
  w.finish();
}

void encodeXor(std::span<const Sample> samples, bool step_offsets, std::string& out) {
  const std::size_t n = samples.size();
  uint8_t encoding = static_cast<uint8_t>(ChunkValueEncoding::kXor);
  if (step_offsets) encoding |= kStepOffsetsFlag;
  out.push_back(static_cast<char>(encoding));
  putVarint(out, n);
  putTimestampHeader(samples, out);
  if (n >= 1) {
    putWord(out, bitsOf(samples[0].value));
  }
  BitWriter w(out);
  putTimestampStream(samples, step_offsets, w);
  putXorRecords(samples, w);
  w.finish();
}

// --- decoding ----------------------------------------------------------------

Error corrupt(const std::string& what) {
  return makeError("corrupt", "sample chunk: " + what);
}

/// Everything before the bit stream.
struct ParsedHeader {
  ChunkHeader header;
  int64_t first_ts = 0;
  uint64_t first_delta = 0;
  uint64_t step = 1;
  uint64_t first_int = 0;
  uint64_t first_int_delta = 0;  // already multiplied by step
  uint64_t first_bits = 0;
  std::string_view stream;
};

Result<ParsedHeader> parseHeader(std::string_view blob) {
  ByteReader r(blob);
  ParsedHeader p;
  uint8_t version = 0;
  if (!r.byte(version)) return corrupt("empty blob");
  if (version != kSampleChunkVersion) {
    return corrupt("unknown version " + std::to_string(version));
  }
  uint8_t encoding = 0;
  if (!r.byte(encoding)) return corrupt("truncated before the encoding");
  const uint8_t values = encoding & kValueEncodingMask;
  if (values > static_cast<uint8_t>(ChunkValueEncoding::kXor) ||
      (encoding & ~(kValueEncodingMask | kResidualsFlag | kStepOffsetsFlag)) != 0) {
    return corrupt("unknown encoding " + std::to_string(encoding));
  }
  p.header.encoding = static_cast<ChunkValueEncoding>(values);
  p.header.residuals = (encoding & kResidualsFlag) != 0;
  p.header.timestamps = (encoding & kStepOffsetsFlag) != 0 ? ChunkTimestampEncoding::kStepOffsets
                                                           : ChunkTimestampEncoding::kDeltaOfDelta;
  if (p.header.residuals && p.header.encoding == ChunkValueEncoding::kXor) {
    return corrupt("residuals with xor values");
  }
  uint64_t count = 0;
  if (!r.varint(count)) return corrupt("truncated or overlong sample count");
  if (count > kMaxChunkSamples) {
    return corrupt("count " + std::to_string(count) + " above the limit of " +
                   std::to_string(kMaxChunkSamples));
  }
  p.header.count = static_cast<std::size_t>(count);
  const std::size_t n = p.header.count;
  uint64_t u = 0;
  if (n >= 1) {
    if (!r.varint(u)) return corrupt("truncated in the first timestamp");
    p.first_ts = unzigzag(u);
  }
  if (n >= 2) {
    if (!r.varint(p.first_delta)) return corrupt("truncated in the first timestamp delta");
    if (static_cast<int64_t>(static_cast<uint64_t>(p.first_ts) + p.first_delta) <= p.first_ts) {
      return corrupt("timestamps not increasing at sample 1");
    }
  }
  const bool xor_values = p.header.encoding == ChunkValueEncoding::kXor;
  const bool dod = p.header.encoding == ChunkValueEncoding::kDecimalDeltaOfDelta;
  if (n >= 1 && !xor_values) {
    uint8_t scale = 0;
    if (!r.byte(scale)) return corrupt("truncated before the decimal scale");
    if (scale > kMaxChunkScale)
      return corrupt("decimal scale " + std::to_string(scale) + " above " +
                     std::to_string(kMaxChunkScale));
    p.header.scale = scale;
    if (!r.varint(p.step)) return corrupt("truncated in the decimal step");
    if (p.step == 0) return corrupt("decimal step 0");
    if (!r.varint(p.first_int)) return corrupt("truncated in the first value");
    p.first_int = static_cast<uint64_t>(unzigzag(p.first_int));
    if (dod && n >= 2) {
      if (!r.varint(u)) return corrupt("truncated in the first value delta");
      p.first_int_delta = static_cast<uint64_t>(unzigzag(u)) * p.step;
    }
  }
  if (n >= 1 && xor_values && !r.word(p.first_bits)) {
    return corrupt("truncated in the first value");
  }
  p.stream = r.rest();

  // The fewest bits the streams of n samples take: refuses a lying count
  // before anything is reserved for it.
  uint64_t min_bits = n >= 3 ? minPackedBits(n - 2) : 0;
  if (xor_values) {
    min_bits += n >= 2 ? n - 1 : 0;
  } else if (dod) {
    min_bits += n >= 3 ? minPackedBits(n - 2) : 0;
  } else {
    min_bits += n >= 2 ? minPackedBits(n - 1) : 0;
  }
  if (p.header.residuals) min_bits += minPackedBits(n);
  if (min_bits > static_cast<uint64_t>(p.stream.size()) * 8) {
    return corrupt("count " + std::to_string(n) + " too large for a blob of " +
                   std::to_string(blob.size()) + " bytes");
  }
  return p;
}

/// Reads `count` numbers of a packed stream into `sink(value)`; false when
/// the stream ends early.
template <typename Sink>
bool getPacked(BitReader& r, std::size_t count, Sink&& sink) {
  for (std::size_t done = 0; done < count;) {
    uint64_t code = 0;
    if (!r.get(kWidthBits, code)) return false;
    const unsigned width = widthOfCode(static_cast<unsigned>(code));
    const std::size_t m = std::min(kChunkGroupSize, count - done);
    if (static_cast<uint64_t>(width) * m > r.remainingBits()) return false;
    for (std::size_t j = 0; j < m; ++j) {
      uint64_t v = 0;
      r.get(width, v);
      if (!sink(v)) return false;
    }
    done += m;
  }
  return true;
}

Status decodeTimestamps(const ParsedHeader& p, BitReader& r, Sample* out) {
  const std::size_t n = p.header.count;
  if (n >= 1) out[0].ts_ms = p.first_ts;
  if (n < 2) return {};
  out[1].ts_ms = static_cast<int64_t>(static_cast<uint64_t>(p.first_ts) + p.first_delta);
  const bool step_offsets = p.header.timestamps == ChunkTimestampEncoding::kStepOffsets;
  uint64_t delta = p.first_delta;
  std::size_t i = 2;
  bool increasing = true;
  const bool read = getPacked(r, n - 2, [&](uint64_t zz) {
    delta = (step_offsets ? p.first_delta : delta) + static_cast<uint64_t>(unzigzag(zz));
    const auto ts = static_cast<int64_t>(static_cast<uint64_t>(out[i - 1].ts_ms) + delta);
    if (ts <= out[i - 1].ts_ms) {
      increasing = false;
      return false;
    }
    out[i++].ts_ms = ts;
    return true;
  });
  if (!increasing) return corrupt("timestamps not increasing at sample " + std::to_string(i));
  if (!read) return corrupt("truncated in the timestamps");
  return {};
}

Status decodeDecimal(const ParsedHeader& p, BitReader& r, Sample* out) {
  const std::size_t n = p.header.count;
  if (n == 0) return {};
  const double divisor = kPow10[p.header.scale];
  const auto value = [divisor](uint64_t integer) {
    return static_cast<double>(static_cast<int64_t>(integer)) / divisor;
  };
  uint64_t integer = p.first_int;
  out[0].value = value(integer);
  if (n < 2) return {};
  std::size_t i = 1;
  bool read = true;
  if (p.header.encoding == ChunkValueEncoding::kDecimalDelta) {
    read = getPacked(r, n - 1, [&](uint64_t zz) {
      integer += static_cast<uint64_t>(unzigzag(zz)) * p.step;
      out[i++].value = value(integer);
      return true;
    });
  } else {
    uint64_t delta = p.first_int_delta;
    integer += delta;
    out[i++].value = value(integer);
    read = getPacked(r, n - 2, [&](uint64_t zz) {
      delta += static_cast<uint64_t>(unzigzag(zz)) * p.step;
      integer += delta;
      out[i++].value = value(integer);
      return true;
    });
  }
  if (!read) return corrupt("truncated in the values");
  if (p.header.residuals) {
    std::size_t j = 0;
    if (!getPacked(r, n, [&](uint64_t zz) {
          out[j].value =
              std::bit_cast<double>(bitsOf(out[j].value) + static_cast<uint64_t>(unzigzag(zz)));
          ++j;
          return true;
        })) {
      return corrupt("truncated in the residuals");
    }
  }
  return {};
}

Status decodeXor(const ParsedHeader& p, BitReader& r, Sample* out) {
  const std::size_t n = p.header.count;
  if (n == 0) return {};
  uint64_t prev = p.first_bits;
  out[0].value = std::bit_cast<double>(prev);
  unsigned lead = 0;
  unsigned trail = 0;
  bool window = false;
  for (std::size_t i = 1; i < n; ++i) {
    uint64_t control = 0;
    if (!r.get(1, control)) return corrupt("truncated in the values");
    if (control != 0) {
      uint64_t fresh = 0;
      if (!r.get(1, fresh)) return corrupt("truncated in the values");
      if (fresh != 0) {
        uint64_t lz = 0;
        uint64_t length = 0;
        if (!r.get(5, lz) || !r.get(6, length)) return corrupt("truncated in the values");
        if (length == 0) length = 64;
        if (lz + length > 64) {
          return corrupt("value window past 64 bits at sample " + std::to_string(i));
        }
        window = true;
        lead = static_cast<unsigned>(lz);
        trail = static_cast<unsigned>(64 - lz - length);
      } else if (!window) {
        return corrupt("value reuses a window before any at sample " + std::to_string(i));
      }
      uint64_t meaningful = 0;
      if (!r.get(64 - lead - trail, meaningful)) return corrupt("truncated in the values");
      prev ^= meaningful << trail;
    }
    out[i].value = std::bit_cast<double>(prev);
  }
  return {};
}

}  // namespace

Result<std::string> encodeChunk(std::span<const Sample> samples) {
  if (samples.size() > kMaxChunkSamples) {
    return makeError("oversize", "sample chunk: " + std::to_string(samples.size()) +
                                     " samples above the limit of " +
                                     std::to_string(kMaxChunkSamples));
  }
  for (std::size_t i = 1; i < samples.size(); ++i) {
    if (samples[i].ts_ms <= samples[i - 1].ts_ms) {
      return makeError("unordered", "sample chunk: timestamp " + std::to_string(samples[i].ts_ms) +
                                        " of sample " + std::to_string(i) + " not after " +
                                        std::to_string(samples[i - 1].ts_ms));
    }
  }
  std::string out;
  out.reserve(32 + samples.size() * 2);
  out.push_back(static_cast<char>(kSampleChunkVersion));
  const bool step_offsets = stepOffsetsPackSmaller(samples);
  const std::vector<int> scales = candidateScales(samples);
  DecimalValues best;
  DecimalPacking best_packing;
  bool found = false;
  for (int k : scales) {
    DecimalValues candidate;
    if (!decimalAt(samples, k, candidate)) continue;
    const DecimalPacking packing = planDecimal(candidate);
    if (!found || packing.bits < best_packing.bits) {
      best = std::move(candidate);
      best_packing = packing;
      found = true;
    }
  }
  // With residuals or a choice of scales, decimal can cost more than XOR.
  bool decimal = found;
  if (found && (scales.size() > 1 || !best.residuals.empty())) {
    BitCounter xor_bits{64};
    putXorRecords(samples, xor_bits);
    decimal = best_packing.bits <= xor_bits.bits;
  }
  if (decimal) {
    encodeDecimal(samples, best, best_packing, step_offsets, out);
    return out;
  }
  encodeXor(samples, step_offsets, out);
  return out;
}

Result<ChunkHeader> readChunkHeader(std::string_view blob) {
  auto parsed = parseHeader(blob);
  if (!parsed) return parsed.error();
  return parsed->header;
}

Status decodeChunkInto(std::string_view blob, std::vector<Sample>& out) {
  auto parsed = parseHeader(blob);
  if (!parsed) return parsed.error();
  const std::size_t before = out.size();
  out.resize(before + parsed->header.count);
  Sample* samples = out.data() + before;
  BitReader r(parsed->stream);
  Status status = decodeTimestamps(*parsed, r, samples);
  if (status) {
    status = parsed->header.encoding == ChunkValueEncoding::kXor
                 ? decodeXor(*parsed, r, samples)
                 : decodeDecimal(*parsed, r, samples);
  }
  if (status && !r.atZeroPadding()) {
    status = r.remainingBits() >= 8 ? corrupt("trailing bytes after the last sample (" +
                                              std::to_string(r.remainingBits() / 8) + ")")
                                    : corrupt("non-zero padding bits");
  }
  if (!status) out.resize(before);
  return status;
}

Result<std::vector<Sample>> decodeChunk(std::string_view blob) {
  std::vector<Sample> samples;
  Status status = decodeChunkInto(blob, samples);
  if (!status) return status.error();
  return samples;
}

}  // namespace pso::controller::store
