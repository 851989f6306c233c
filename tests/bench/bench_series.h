#pragma once

// The series the benchmarks replay: the development traces laid on their
// fixed step (gaps kept as NaN, as psoctl simulate does), and synthetic hard
// cases made with fixed seeds (level alternation with isolated spikes, step
// changes, isolated spikes on a daily season, noisy low counts, a nightly
// spike), so that the forecast and replay benchmarks judge the same cases.

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "common/trace.h"

namespace pso::bench {

/// A series on a regular step; NaN marks a missing value.
struct BenchSeries {
  std::string name;
  int64_t step_s = 300;
  std::vector<double> values;
  int64_t t0_s = 0;  ///< time of the first value (epoch seconds)
};

/// A trace CSV (ARCHITECTURE.md section 6 format) on its own step; nullopt
/// for a file that is not a readable trace of at least two points.
std::optional<BenchSeries> loadTraceSeries(const std::filesystem::path& path);

/// The trace CSVs of `dir`, sorted by name; empty when it has none.
std::vector<std::filesystem::path> traceFiles(const std::filesystem::path& dir);

/// The synthetic hard cases, 14 days at 5-minute steps each, named "syn_*".
std::vector<BenchSeries> syntheticHardCases();

/// `series` on a finer step, as `how` says (common::resample); the name gets
/// "@<step>s". A step that does not divide the series' own step is rounded
/// to one that does.
BenchSeries resample(const BenchSeries& series, int64_t step_s, common::Resampling how);

}  // namespace pso::bench
