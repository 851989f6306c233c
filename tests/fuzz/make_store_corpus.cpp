// Writes the store's fuzz seed corpora under the directory given as
// argument: sample_chunk/ holds small valid blobs of every value and
// timestamp encoding (the jittered series use step offsets) and broken ones
// of every kind the decoder refuses; sample_log/ the same for log records;
// record_block/ valid blocks of both layouts, broken ones, and uncompressed
// column payloads behind a count byte (what checkRecordBlock() feeds
// decodeDecisionColumns()).
// Usage: store_corpus_gen tests/fuzz/corpus

#include <bit>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <limits>
#include <nlohmann/json.hpp>
#include <string>
#include <utility>
#include <vector>

#include "controller/store/record_block.h"
#include "controller/store/sample_chunk.h"
#include "controller/store/sample_log.h"

namespace {

using pso::controller::store::encodeChunk;
using pso::controller::store::Sample;
using pso::controller::store::SampleLogEntry;

constexpr int64_t kStartMs = 1767225600000;

/// A fixed pseudo-random number for `i` (splitmix64), the same on every platform.
uint64_t mix(uint64_t i) {
  uint64_t z = i * 0x9e3779b97f4a7c15ULL + 0x9e3779b97f4a7c15ULL;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

/// `n` samples at a 1 s step, each 0-4 ms late.
template <typename Value>
std::vector<Sample> series(int n, Value value) {
  std::vector<Sample> samples;
  for (int i = 0; i < n; ++i) {
    samples.push_back({kStartMs + i * 1000 + static_cast<int64_t>(mix(i) % 5), value(i)});
  }
  return samples;
}

std::string encoded(const std::vector<Sample>& samples) {
  auto blob = encodeChunk(samples);
  return blob.ok() ? *blob : std::string();
}

std::vector<std::pair<std::string, std::string>> chunkSeeds() {
  std::vector<std::pair<std::string, std::string>> out;
  const std::string percent =
      encoded(series(40, [](int i) { return (2000 + (i * 7919) % 613) / 100.0; }));
  const std::string counter = encoded(series(40, [](int i) { return 1e6 + 512.0 * i * i; }));
  // Doubles between 1 and 2 with random mantissas.
  const std::string rate = encoded(series(
      40, [](int i) { return std::bit_cast<double>(0x3ff0000000000000ULL | (mix(i) >> 12)); }));
  out.emplace_back("valid_empty.bin", encoded({}));
  out.emplace_back("valid_one_sample.bin", encoded({{kStartMs, 42.0}}));
  out.emplace_back("valid_decimal_delta_percent.bin", percent);
  out.emplace_back("valid_decimal_dod_counter.bin", counter);
  out.emplace_back("valid_decimal_constant.bin", encoded(series(40, [](int) { return 7.0; })));
  out.emplace_back("valid_xor_rate.bin", rate);
  // Three decimals, every third value one unit in the last place above.
  out.emplace_back("valid_decimal_residuals.bin", encoded(series(40, [](int i) {
                     const double v = (40000 + (i * 7919) % 20000) / 1000.0;
                     return i % 3 == 0 ? std::nextafter(v, 100.0) : v;
                   })));
  out.emplace_back("valid_xor_specials.bin",
                   encoded({{-1000, -0.0},
                            {0, std::numeric_limits<double>::denorm_min()},
                            {1, std::numeric_limits<double>::max()},
                            {3600000, 1e-300}}));
  out.emplace_back("valid_gaps.bin",
                   encoded({{0, 1.0}, {1000, 2.0}, {3601000, 3.0}, {3601001, 2.5}}));
  out.emplace_back("valid_int64_range.bin", encoded({{std::numeric_limits<int64_t>::min(), 1.0},
                                                     {0, 2.0},
                                                     {std::numeric_limits<int64_t>::max(), 3.0}}));

  out.emplace_back("broken_truncated_header.bin", percent.substr(0, 6));
  out.emplace_back("broken_truncated_stream.bin", rate.substr(0, rate.size() - 3));
  std::string version = counter;
  version[0] = 9;
  out.emplace_back("broken_version.bin", version);
  std::string encoding = percent;
  encoding[1] = 5;
  out.emplace_back("broken_encoding.bin", encoding);
  out.emplace_back("broken_trailing_byte.bin", percent + std::string(1, '\0'));
  std::string count = counter;
  count[2] = static_cast<char>(0x7f);  // 127 samples in a blob of 40
  out.emplace_back("broken_count_above_samples.bin", count);
  // 200000 samples claimed by a blob of 14 bytes.
  out.emplace_back("broken_count_too_large.bin",
                   std::string("\x01\x00\xc0\x9a\x0c\x00\x02\x00\x01\x00\x00\x00\x00\x00", 14));
  out.emplace_back("broken_timestamps_not_increasing.bin",
                   std::string("\x01\x00\x02\x00\x00\x00\x01\x00", 8));
  return out;
}

std::string logRecord(const std::vector<SampleLogEntry>& entries) {
  auto blob = pso::controller::store::encodeSampleLog(entries);
  return blob.ok() ? *blob : std::string();
}

std::vector<std::pair<std::string, std::string>> logSeeds() {
  std::vector<std::pair<std::string, std::string>> out;
  const std::string fleet = logRecord({
      {1, series(3, [](int i) { return 10.0 + i; })},
      {2, series(1, [](int) { return 0.25; })},
      {70000, series(5, [](int i) { return std::bit_cast<double>(mix(i)); })},
  });
  out.emplace_back("valid_empty.bin", logRecord({}));
  out.emplace_back("valid_one_entry.bin", logRecord({{7, {{kStartMs, 42.0}}}}));
  out.emplace_back("valid_fleet.bin", fleet);
  out.emplace_back("valid_int64_range.bin",
                   logRecord({{1,
                               {{std::numeric_limits<int64_t>::min(), 1.0},
                                {std::numeric_limits<int64_t>::max(), -0.0}}}}));
  out.emplace_back("broken_truncated.bin", fleet.substr(0, fleet.size() - 5));
  out.emplace_back("broken_trailing_byte.bin", fleet + std::string(1, '\0'));
  std::string version = fleet;
  version[0] = 9;
  out.emplace_back("broken_version.bin", version);
  // Series id 0, and a count of samples the blob cannot hold.
  out.emplace_back("broken_series_zero.bin",
                   std::string("\x01\x01\x00\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00", 13));
  out.emplace_back("broken_count_too_large.bin", std::string("\x01\x01\x01\xff\xff\x03\x00", 7));
  // Two samples whose second timestamp delta is 0.
  out.emplace_back("broken_timestamps_not_increasing.bin",
                   std::string("\x01\x01\x01\x02\x00\x00", 6) + std::string(16, '\0'));
  return out;
}

std::string recordBlock(const std::vector<std::string>& texts,
                        pso::controller::store::RecordBlockLayout layout) {
  auto blob = pso::controller::store::encodeRecordBlock(texts, layout);
  return blob.ok() ? *blob : std::string();
}

// Cycle decisions of three systems over `cycles` cycles, as the cycle runner
// writes them (the lower bound mirrors the upper one for two of them).
std::vector<std::string> decisionTexts(int cycles) {
  std::vector<std::string> texts;
  for (int c = 0; c < cycles; ++c) {
    nlohmann::json record = nlohmann::json::array();
    for (int s = 0; s < 3; ++s) {
      const double demand = 100 + static_cast<double>(mix(c * 3 + s) % 10000) / 64.0;
      record.push_back({{"system", "sys-" + std::to_string(s)},
                        {"current", 4},
                        {"demand", demand},
                        {"forecast_point", demand},
                        {"forecast_hi", demand + 10.5},
                        {"forecast_lo", s == 2 ? demand - 9.25 : demand - 10.5},
                        {"rule", c % 4 ? "hold" : "predictive-upper-quantile"},
                        {"bottleneck", nullptr}});
    }
    texts.push_back(record.dump());
  }
  return texts;
}

std::vector<std::pair<std::string, std::string>> recordBlockSeeds() {
  using pso::controller::store::RecordBlockLayout;
  std::vector<std::pair<std::string, std::string>> out;
  const auto decisions = decisionTexts(12);
  const std::string columns = recordBlock(decisions, RecordBlockLayout::kDecisionColumns);
  const std::string texts =
      recordBlock({"{\"id\":\"s-c-1\"}", "", "{\"id\":\"s-c-2\"}"}, RecordBlockLayout::kTexts);
  out.emplace_back("valid_decision_columns.bin", columns);
  out.emplace_back("valid_texts.bin", texts);
  out.emplace_back("valid_empty.bin", recordBlock({}, RecordBlockLayout::kTexts));
  out.emplace_back("valid_fallback_to_texts.bin",
                   recordBlock({"[ {\"system\": \"a\"} ]"}, RecordBlockLayout::kDecisionColumns));
  out.emplace_back("broken_magic.bin", "PSRX" + columns.substr(4));
  std::string version = columns;
  version[4] = 9;
  out.emplace_back("broken_version.bin", version);
  std::string layout = texts;
  layout[5] = 7;
  out.emplace_back("broken_layout.bin", layout);
  std::string dictionary = columns;
  dictionary[6] = 40;
  out.emplace_back("broken_dictionary_size.bin", dictionary);
  out.emplace_back("broken_truncated_header.bin", columns.substr(0, 9));
  out.emplace_back("broken_truncated_stream.bin", columns.substr(0, columns.size() - 5));
  out.emplace_back("broken_trailing_byte.bin", texts + std::string(1, '\0'));
  std::string crc = texts;
  crc[crc.size() - 1] = static_cast<char>(crc[crc.size() - 1] ^ 1);
  out.emplace_back("broken_stream_byte.bin", crc);
  // Uncompressed column payloads behind their count byte.
  auto payload = pso::controller::store::encodeDecisionColumns(decisions);
  if (payload.ok()) {
    out.emplace_back("payload_decision_columns.bin", std::string(1, '\x0c') + *payload);
    out.emplace_back("payload_truncated.bin",
                     std::string(1, '\x0c') + payload->substr(0, payload->size() / 2));
  }
  out.emplace_back("payload_one_number.bin", std::string("\x01\x01\x01"
                                                         "1"
                                                         "\x02\x00"
                                                         "\x01\x00\x00\x02\x00",
                                                         11));
  out.emplace_back("payload_repeat_first.bin", std::string("\x01\x01\x01"
                                                           "1"
                                                           "\x02\x00"
                                                           "\x01\x00\x00\x01",
                                                           10));
  out.emplace_back("payload_unknown_tag.bin", std::string("\x01\x01\x01"
                                                          "1"
                                                          "\x02\x00"
                                                          "\x01\x00\x00\x09",
                                                          10));
  return out;
}

bool writeSeeds(const std::filesystem::path& dir,
                const std::vector<std::pair<std::string, std::string>>& seeds) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) {
    std::cerr << "store_corpus_gen: cannot create " << dir << ": " << ec.message() << "\n";
    return false;
  }
  for (const auto& [name, bytes] : seeds) {
    const std::filesystem::path file = dir / name;
    std::ofstream out(file, std::ios::binary | std::ios::trunc);
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    if (!out) {
      std::cerr << "store_corpus_gen: cannot write " << file << "\n";
      return false;
    }
  }
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::cerr << "usage: store_corpus_gen CORPUS_DIR\n";
    return 2;
  }
  const std::filesystem::path dir(argv[1]);
  if (!writeSeeds(dir / "sample_chunk", chunkSeeds())) return 1;
  if (!writeSeeds(dir / "sample_log", logSeeds())) return 1;
  if (!writeSeeds(dir / "record_block", recordBlockSeeds())) return 1;
  return 0;
}
