#pragma once

// Load traces: CSV with header "timestamp,value"; timestamps "YYYY-MM-DD
// HH:MM:SS", ISO 8601 ("2014-07-01T00:00:00Z", optional fraction and offset) or
// epoch seconds. Used by the agent's replay source and psoctl forecast/simulate.

#include <cstdint>
#include <string>
#include <vector>

#include "common/result.h"

namespace pso::common {

struct TracePoint {
  int64_t ts_s = 0;  ///< epoch seconds, UTC
  double value = 0.0;
};

struct Trace {
  std::vector<TracePoint> points;  ///< in file order (sorted by time)
  int64_t step_s = 0;              ///< the most common positive gap between points
};

/// The timestamps parseTimestamp() takes, in epoch seconds: those the
/// calendar forms can write, 0000-01-01 00:00:00 to 9999-12-31 23:59:59 UTC.
/// In milliseconds they are far from int64's limits.
inline constexpr int64_t kMinTimestampS = -62167219200;
inline constexpr int64_t kMaxTimestampS = 253402300799;

/// Parses one timestamp in any of the accepted forms, epoch seconds within
/// [kMinTimestampS, kMaxTimestampS]; Error code "invalid".
[[nodiscard]] Result<int64_t> parseTimestamp(const std::string& text);

/// Reads a trace. A missing file is code "io"; a bad header, a bad line, or
/// time going backwards is code "invalid" naming the file and line number.
[[nodiscard]] Result<Trace> readTrace(const std::string& path);
[[nodiscard]] Result<Trace> parseTrace(const std::string& csv, const std::string& origin);

/// Values on a regular step (NaN for a gap) on a step `factor` times finer:
/// value i lands on i x factor, the points between two values are linear
/// between them, and those next to a gap are gaps (no value is made up
/// across a missing one). The last value ends the series; a factor below 2
/// returns the values as they are. How `psoctl simulate --step` and the
/// replay benchmark replay a 5-minute trace at a 15 s cycle.
std::vector<double> resampleLinear(const std::vector<double>& values, int64_t factor);

/// Values on a regular step (NaN for a gap) on a step `factor` times finer,
/// each value held for its whole step: value i fills i x factor .. (i + 1) x
/// factor - 1, so every finer step shows the value of the step it lies in
/// and nothing of the next (a gap stays a gap for its step). This is how a
/// trace of 5-minute aggregates reads to a controller cycling every 15 s: no
/// finer step knows where the next aggregate goes. A factor below 2 returns
/// the values as they are.
std::vector<double> resampleHold(const std::vector<double>& values, int64_t factor);

/// How a trace is put on a finer step: linear between its values
/// (resampleLinear) or each value held for its step (resampleHold).
enum class Resampling { kLinear, kHold };

/// resampleLinear() or resampleHold(), as `how` says.
std::vector<double> resample(const std::vector<double>& values, int64_t factor, Resampling how);

}  // namespace pso::common
