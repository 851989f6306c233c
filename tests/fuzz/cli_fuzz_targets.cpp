#include "tests/fuzz/cli_fuzz_targets.h"

#include <cmath>
#include <exception>
#include <string>

#include "controller/cli/prometheus_range.h"

namespace pso::cli::fuzz {

bool checkPrometheusRangeAnswer(std::string_view input) {
  try {
    auto parsed = parseRangeAnswer(input);
    if (!parsed.ok()) {
      const auto& error = parsed.error();
      if (error.code != "malformed" && error.code != "prometheus") return false;
      if (error.message.empty()) return false;
      for (char ch : error.message) {
        if (static_cast<unsigned char>(ch) < 0x20 || ch == 0x7f) return false;
      }
      return true;
    }
    for (const auto& series : *parsed) {
      if (series.labels.size() < 2 || series.labels.front() != '{' || series.labels.back() != '}') {
        return false;
      }
      if (series.ts_ms.size() != series.values.size()) return false;
      for (double value : series.values) {
        if (!std::isfinite(value)) return false;
      }
    }
    return true;
  } catch (const std::exception&) {
    return false;
  }
}

}  // namespace pso::cli::fuzz
