#pragma once

// The pieces of the telemetry store's sample layout that are not SQL: the
// log record (the durable form of samples not yet in a chunk) and the merge
// rule every read and write of samples follows. Pure code: the standard
// library and common/result.h only.
//
// How the SQLite backend uses them (sqlite_samples.cpp): an ingest
// transaction appends one log record holding every sample it stored, and
// adds them to the series' in-memory heads; a head that is full or old is
// cut into a compressed chunk (sample_chunk.h), and log records no head
// needs any more are deleted. At open, the log is replayed into the heads.
//
// Log record layout (version 1; varint is LEB128, zigzag as in
// sample_chunk.h):
//
//   byte     version (1)
//   varint   entry count
//   per entry:
//     varint         series id (>= 1)
//     varint         sample count n (1 .. kMaxLogEntrySamples)
//     zigzag varint  first timestamp (ms)
//     n - 1 varints  timestamp deltas (> 0: timestamps strictly increase)
//     n words        the values' bits, 8 bytes each, least significant first

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "controller/store/records.h"

namespace pso::controller::store {

inline constexpr uint8_t kSampleLogVersion = 1;
/// Most samples one entry of a log record holds.
inline constexpr std::size_t kMaxLogEntrySamples = 1u << 20;

/// One series' samples in a log record, timestamps strictly increasing.
struct SampleLogEntry {
  int64_t series_id = 0;
  std::vector<Sample> samples;
};

/// Encodes one log record. Precondition (checked): every entry has a series
/// id >= 1 and 1 to kMaxLogEntrySamples samples with strictly increasing
/// timestamps; otherwise error "invalid".
[[nodiscard]] Result<std::string> encodeSampleLog(std::span<const SampleLogEntry> entries);

/// Decodes a blob of encodeSampleLog(). A malformed blob (truncated, unknown
/// version, a count the blob cannot hold, a series id of 0, timestamps not
/// increasing or overflowing, trailing bytes) is refused with code "corrupt"
/// and a one-line message starting with "sample log: ". Reserves at most as
/// many samples as the blob's size can hold.
[[nodiscard]] Result<std::vector<SampleLogEntry>> decodeSampleLog(std::string_view blob);

/// A sample of one series, as an ingest call queues them.
struct SeriesSample {
  int64_t series_id = 0;
  Sample sample;
};

/// Orders `samples` by series, then timestamp, and keeps, of samples with an
/// equal (series, timestamp), the one queued last: the rule every backend
/// applies to what one ingest call wrote before it stores it.
void sortSeriesSamplesLastWins(std::vector<SeriesSample>& samples);

/// Sorts `samples` by timestamp and keeps, of samples with equal timestamps,
/// the one that came last (a re-stored sample replaces the earlier one).
void sortSamplesLastWins(std::vector<Sample>& samples);

/// Merges `newer` into `base`, both sorted with unique timestamps: the result
/// is sorted and unique, and a timestamp in both keeps newer's value. O(1)
/// amortised per sample when newer starts after base ends (the common case:
/// an agent's next samples).
void mergeNewerSamples(std::vector<Sample>& base, std::span<const Sample> newer);

}  // namespace pso::controller::store
