#include "tests/support/loopback_prometheus.h"

#include <cstdio>

namespace pso::testing {

std::string prometheusMatrix(
    const std::vector<std::pair<std::string, std::vector<std::pair<double, std::string>>>>&
        series) {
  std::string out = R"({"status":"success","data":{"resultType":"matrix","result":[)";
  for (std::size_t i = 0; i < series.size(); ++i) {
    if (i > 0) out += ",";
    out += R"({"metric":)" + series[i].first + R"(,"values":[)";
    for (std::size_t j = 0; j < series[i].second.size(); ++j) {
      char time[64];
      std::snprintf(time, sizeof time, "%.3f", series[i].second[j].first);
      out += (j > 0 ? ",[" : "[") + std::string(time) + ",\"" + series[i].second[j].second + "\"]";
    }
    out += "]}";
  }
  return out + "]}}";
}

}  // namespace pso::testing
