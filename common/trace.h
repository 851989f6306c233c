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

/// Parses one timestamp in any of the accepted forms; Error code "invalid".
[[nodiscard]] Result<int64_t> parseTimestamp(const std::string& text);

/// Reads a trace. A missing file is code "io"; a bad header, a bad line, or
/// time going backwards is code "invalid" naming the file and line number.
[[nodiscard]] Result<Trace> readTrace(const std::string& path);
[[nodiscard]] Result<Trace> parseTrace(const std::string& csv, const std::string& origin);

}  // namespace pso::common
