#pragma once

// The Prometheus HTTP API's range queries as psoctl import uses them
// (GET /api/v1/query_range): the request plan, split so no request asks for
// more than Prometheus' 11,000 points per series, and the parser of the JSON
// answer, which is outside input (fuzzed by tests/fuzz/prometheus_range_fuzz).

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"

namespace pso::cli {

/// Most points Prometheus returns for one series of one range query.
inline constexpr int64_t kPrometheusMaxPoints = 11000;

/// One query_range request: [start_ms, end_ms] with step_ms, both ends included.
struct RangeChunk {
  int64_t start_ms = 0;
  int64_t end_ms = 0;
};

/// Splits [start_ms, end_ms] into consecutive chunks of at most
/// `max_points` steps each (end - start <= (max_points - 1) * step); the
/// next chunk starts one step after the previous one ends. Empty when
/// step_ms <= 0, max_points <= 0 or end_ms < start_ms.
std::vector<RangeChunk> planRangeChunks(int64_t start_ms, int64_t end_ms, int64_t step_ms,
                                        int64_t max_points = kPrometheusMaxPoints);

/// A time in epoch milliseconds as Prometheus reads a query parameter:
/// seconds, with the fraction only when there is one ("1700000000",
/// "1700000000.25").
std::string prometheusTime(int64_t ms);

/// One series of a matrix answer.
struct RangeSeries {
  std::string labels;  ///< the label set as PromQL shows it: {job="web",instance="a:9100"}
  std::vector<int64_t> ts_ms;
  std::vector<double> values;  ///< finite values only, one per ts_ms
  std::size_t non_finite = 0;  ///< NaN and +-Inf values skipped
};

/// Parses a query_range answer body. A "status":"error" answer is code
/// "prometheus" with "<errorType>: <error>"; anything that is not a success
/// with a matrix result of [<time>, "<value>"] pairs is code "malformed",
/// naming what was wrong. Messages are one line. Never throws.
[[nodiscard]] Result<std::vector<RangeSeries>> parseRangeAnswer(std::string_view body);

}  // namespace pso::cli
