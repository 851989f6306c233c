#pragma once

// In-process counters and gauges rendered as Prometheus text exposition
// (version 0.0.4) for /metrics. Thread-safe. Counting refusals here is how bad
// input becomes visible to operators.

#include <map>
#include <mutex>
#include <string>

namespace pso::common {

using Labels = std::map<std::string, std::string>;

class MetricsRegistry {
 public:
  /// Declares a family: type is "counter" or "gauge". Undeclared families are
  /// rendered as "untyped".
  void describe(const std::string& name, const std::string& type, const std::string& help);
  /// Adds `by` to a counter (created at 0).
  void increment(const std::string& name, const Labels& labels = {}, double by = 1.0);
  /// Sets a gauge.
  void set(const std::string& name, const Labels& labels, double value);
  /// Current value, 0 when absent.
  double value(const std::string& name, const Labels& labels = {}) const;
  /// Sum over every label set of a family.
  double total(const std::string& name) const;
  /// Prometheus text: "# HELP", "# TYPE", then one line per label set, label
  /// values escaped (backslash, quote, newline).
  std::string renderPrometheus() const;

 private:
  struct Family {
    std::string type = "untyped";
    std::string help;
    std::map<Labels, double> values;
  };
  mutable std::mutex mutex_;
  std::map<std::string, Family> families_;
};

}  // namespace pso::common
