#include "controller/store/sample_log.h"

#include <algorithm>
#include <bit>
#include <iterator>
#include <utility>

#include "controller/store/byte_codec.h"

namespace pso::controller::store {
namespace {

// Sorts `items` by key(item), stably, and keeps, of a run of equal keys, the
// item that came last.
template <typename T, typename Key>
void sortKeepingLast(std::vector<T>& items, Key key) {
  std::stable_sort(items.begin(), items.end(),
                   [&](const T& a, const T& b) { return key(a) < key(b); });
  std::size_t kept = 0;
  for (std::size_t i = 0; i < items.size(); ++i) {
    if (i + 1 < items.size() && key(items[i + 1]) == key(items[i])) continue;
    items[kept++] = items[i];
  }
  items.resize(kept);
}

Error corruptLog(const std::string& what) {
  return makeError("corrupt", "sample log: " + what);
}

// The fewest bytes one sample of an entry takes: a one-byte delta and its value.
constexpr std::size_t kMinLogSampleBytes = 9;
// The fewest bytes one entry takes: id, count, first timestamp, one value.
constexpr std::size_t kMinLogEntryBytes = 11;

}  // namespace

Result<std::string> encodeSampleLog(std::span<const SampleLogEntry> entries) {
  std::string out;
  std::size_t total = 0;
  for (const auto& entry : entries) total += entry.samples.size();
  out.reserve(8 + entries.size() * 8 + total * 11);
  out.push_back(static_cast<char>(kSampleLogVersion));
  putVarint(out, entries.size());
  for (const auto& entry : entries) {
    const std::size_t n = entry.samples.size();
    if (entry.series_id < 1) {
      return makeError("invalid", "sample log: series id " + std::to_string(entry.series_id));
    }
    if (n == 0 || n > kMaxLogEntrySamples) {
      return makeError("invalid", "sample log: series " + std::to_string(entry.series_id) +
                                      " has " + std::to_string(n) + " samples");
    }
    putVarint(out, static_cast<uint64_t>(entry.series_id));
    putVarint(out, n);
    putVarint(out, zigzag(entry.samples[0].ts_ms));
    for (std::size_t i = 1; i < n; ++i) {
      if (entry.samples[i].ts_ms <= entry.samples[i - 1].ts_ms) {
        return makeError("invalid", "sample log: series " + std::to_string(entry.series_id) +
                                        ": timestamps not increasing at sample " +
                                        std::to_string(i));
      }
      putVarint(out, static_cast<uint64_t>(entry.samples[i].ts_ms) -
                         static_cast<uint64_t>(entry.samples[i - 1].ts_ms));
    }
    for (const auto& sample : entry.samples) putWord(out, std::bit_cast<uint64_t>(sample.value));
  }
  return out;
}

Result<std::vector<SampleLogEntry>> decodeSampleLog(std::string_view blob) {
  ByteReader r(blob);
  uint8_t version = 0;
  if (!r.byte(version)) return corruptLog("empty blob");
  if (version != kSampleLogVersion) return corruptLog("unknown version " + std::to_string(version));
  uint64_t entries = 0;
  if (!r.varint(entries)) return corruptLog("truncated in the entry count");
  if (entries > r.remaining() / kMinLogEntryBytes) {
    return corruptLog(std::to_string(entries) + " entries in " + std::to_string(r.remaining()) +
                      " bytes");
  }
  std::vector<SampleLogEntry> out;
  out.reserve(static_cast<std::size_t>(entries));
  for (uint64_t e = 0; e < entries; ++e) {
    const std::string where = "entry " + std::to_string(e);
    uint64_t id = 0;
    if (!r.varint(id)) return corruptLog(where + ": truncated in the series id");
    if (id == 0 || id > static_cast<uint64_t>(INT64_MAX)) {
      return corruptLog(where + ": series id " + std::to_string(id));
    }
    uint64_t n = 0;
    if (!r.varint(n)) return corruptLog(where + ": truncated in the sample count");
    if (n == 0 || n > kMaxLogEntrySamples || n > r.remaining() / kMinLogSampleBytes) {
      return corruptLog(where + ": " + std::to_string(n) + " samples in " +
                        std::to_string(r.remaining()) + " bytes");
    }
    SampleLogEntry entry;
    entry.series_id = static_cast<int64_t>(id);
    entry.samples.resize(static_cast<std::size_t>(n));
    uint64_t u = 0;
    if (!r.varint(u)) return corruptLog(where + ": truncated in the first timestamp");
    entry.samples[0].ts_ms = unzigzag(u);
    for (std::size_t i = 1; i < n; ++i) {
      if (!r.varint(u)) return corruptLog(where + ": truncated in timestamp " + std::to_string(i));
      int64_t ts = 0;
      if (u == 0 || u > static_cast<uint64_t>(INT64_MAX) ||
          __builtin_add_overflow(entry.samples[i - 1].ts_ms, static_cast<int64_t>(u), &ts)) {
        return corruptLog(where + ": timestamps not increasing at sample " + std::to_string(i));
      }
      entry.samples[i].ts_ms = ts;
    }
    for (auto& sample : entry.samples) {
      uint64_t bits = 0;
      if (!r.word(bits)) return corruptLog(where + ": truncated in the values");
      sample.value = std::bit_cast<double>(bits);
    }
    out.push_back(std::move(entry));
  }
  if (r.remaining() != 0) {
    return corruptLog(std::to_string(r.remaining()) + " trailing bytes");
  }
  return out;
}

void sortSamplesLastWins(std::vector<Sample>& samples) {
  sortKeepingLast(samples, [](const Sample& s) { return s.ts_ms; });
}

void sortSeriesSamplesLastWins(std::vector<SeriesSample>& samples) {
  sortKeepingLast(samples,
                  [](const SeriesSample& s) { return std::pair(s.series_id, s.sample.ts_ms); });
}

void mergeNewerSamples(std::vector<Sample>& base, std::span<const Sample> newer) {
  if (newer.empty()) return;
  if (base.empty() || newer.front().ts_ms > base.back().ts_ms) {
    base.insert(base.end(), newer.begin(), newer.end());
    return;
  }
  std::vector<Sample> merged;
  merged.reserve(base.size() + newer.size());
  auto b = base.begin();
  auto n = newer.begin();
  while (b != base.end() || n != newer.end()) {
    if (n == newer.end() || (b != base.end() && b->ts_ms < n->ts_ms)) {
      merged.push_back(*b++);
    } else {
      if (b != base.end() && b->ts_ms == n->ts_ms) ++b;
      merged.push_back(*n++);
    }
  }
  base = std::move(merged);
}

}  // namespace pso::controller::store
