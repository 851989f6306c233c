#pragma once

// In-process counters, gauges and histograms rendered as Prometheus text exposition
// (version 0.0.4) for /metrics. Thread-safe. Counting refusals here is how bad
// input becomes visible to operators.

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

namespace pso::common {

using Labels = std::map<std::string, std::string>;

/// Whether `c` may stand in a Prometheus metric name, at its start when
/// `first`: [a-zA-Z_:][a-zA-Z0-9_:]*.
constexpr bool isPrometheusNameChar(char c, bool first) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':' ||
         (!first && c >= '0' && c <= '9');
}

class MetricsRegistry {
 public:
  /// Declares a family: type is "counter" or "gauge". Undeclared families are
  /// rendered as "untyped".
  void describe(const std::string& name, const std::string& type, const std::string& help);
  /// Adds `by` to a counter (created at 0).
  void increment(const std::string& name, const Labels& labels = {}, double by = 1.0);
  /// Sets a gauge.
  void set(const std::string& name, const Labels& labels, double value);
  /// Replaces every value of a gauge family with one label by `rows`
  /// (label value, gauge value): a value per system of a 10,000-system
  /// fleet, published each cycle in one call instead of one set() each.
  /// Label values absent from `rows` are gone from the family afterwards.
  /// value() and renderPrometheus() read the rows as if set() one by one.
  void setGaugeTable(const std::string& name, const std::string& label,
                     std::vector<std::pair<std::string, double>> rows);
  /// Declares a histogram family with these bucket upper bounds (ascending;
  /// the +Inf bucket is implied).
  void describeHistogram(const std::string& name, const std::string& help,
                         std::vector<double> bounds);
  /// Counts `value` into a histogram declared with describeHistogram (an
  /// undeclared name is ignored).
  void observe(const std::string& name, const Labels& labels, double value);
  /// Current value, 0 when absent; for a histogram, its count of observations.
  double value(const std::string& name, const Labels& labels = {}) const;
  /// Sum over every label set of a family.
  double total(const std::string& name) const;
  /// Prometheus text: "# HELP", "# TYPE", then one line per label set, label
  /// values escaped (backslash, quote, newline). The registry's lock is held
  /// only to copy the families (a gauge table by reference), not while the
  /// text is written: at 10,000 systems the text is about 80,000 lines, and
  /// ingest counts every message it reads here.
  std::string renderPrometheus() const;
  /// The same text for the families named in `names` alone (a histogram by
  /// its family name, its _bucket, _sum and _count lines with it), in the
  /// registry's order; names it does not hold are skipped. A client that
  /// reads a few figures of a 10,000-system controller gets them without the
  /// 80,000 lines of per-system gauges.
  std::string renderPrometheus(const std::vector<std::string>& names) const;

 private:
  struct Histogram {
    std::vector<uint64_t> counts;  ///< per bucket, not cumulative; the last is +Inf
    double sum = 0.0;
    uint64_t count = 0;
  };
  struct Family {
    std::string type = "untyped";
    std::string help;
    std::map<Labels, double> values;
    std::vector<double> bounds;  ///< histograms only
    std::map<Labels, Histogram> histograms;
    /// setGaugeTable's rows, sorted by label value, under table_label;
    /// replaced whole, never changed in place, so a render shares them.
    std::string table_label;
    std::shared_ptr<const std::vector<std::pair<std::string, double>>> table;
  };
  /// The text of these families (copies taken under the lock).
  static std::string renderFamilies(const std::vector<std::pair<std::string, Family>>& families);

  mutable std::mutex mutex_;
  std::map<std::string, Family> families_;
};

}  // namespace pso::common
