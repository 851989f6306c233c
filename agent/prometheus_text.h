#pragma once

// Reading one metric out of a Prometheus text exposition (format 0.0.4, and
// the OpenMetrics text that is compatible with it), and turning counters into
// rates.

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "common/result.h"

namespace pso::agent {

/// The samples of one metric name whose labels include every given label.
struct MetricSelection {
  double sum = 0.0;         ///< sum over the matching samples
  std::size_t matched = 0;  ///< how many samples matched
  std::string type;         ///< from "# TYPE" (counter, gauge, ...); empty when not declared
};

/// Scans `text` for samples named `name` whose labels contain each of `labels`
/// with an equal value, and sums them. A line of that metric that does not
/// parse is an Error naming `origin` and the line number (code "malformed");
/// lines of other metrics are not examined beyond their name. `# TYPE` lines
/// of `name`, or of its family without the `_total` suffix, give the type.
[[nodiscard]] Result<MetricSelection> selectMetric(std::string_view text, std::string_view name,
                                                   const std::map<std::string, std::string>& labels,
                                                   const std::string& origin);

/// Per-second rate of a counter between successive readings. The first
/// reading, a counter that went backwards (a restart) and a reading no later
/// than the previous one give an Error (code "no_data") and become the new
/// base; the next reading gives a rate again.
class CounterRate {
 public:
  [[nodiscard]] Result<double> update(double value, int64_t now_ms, const std::string& what);

 private:
  std::optional<double> previous_;
  int64_t previous_ms_ = 0;
};

/// Whether a source's value is used as a rate: `mode` "true" or "false", or
/// "auto": when `type` is "counter", or, with no type declared, when `name`
/// ends in "_total".
bool useRate(const std::string& mode, std::string_view type, std::string_view name);

}  // namespace pso::agent
