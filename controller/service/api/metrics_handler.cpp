#include "controller/service/api/metrics_handler.h"

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "common/process_memory.h"
#include "controller/service/api/query.h"
#include "controller/service/api/response.h"

namespace pso::controller::service {

namespace {
constexpr const char* kPrometheusContentType = "text/plain; version=0.0.4; charset=utf-8";

bool isMetricName(const std::string& name) {
  for (std::size_t i = 0; i < name.size(); ++i) {
    if (!common::isPrometheusNameChar(name[i], i == 0)) return false;
  }
  return !name.empty();
}

// The families of "name=a,b,c"; an error naming the first part that is not
// a metric name.
Result<std::vector<std::string>> familyNames(const std::string& list) {
  std::vector<std::string> names;
  std::size_t begin = 0;
  for (;;) {
    const std::size_t comma = list.find(',', begin);
    std::string name = list.substr(begin, comma == std::string::npos ? comma : comma - begin);
    if (!isMetricName(name)) {
      return makeError("invalid", "name: '" + name + "' is not a metric name");
    }
    names.push_back(std::move(name));
    if (comma == std::string::npos) return names;
    begin = comma + 1;
  }
}

}  // namespace

MetricsHandler::MetricsHandler(ControllerIdentity identity, common::MetricsRegistry& metrics)
    : identity_(std::move(identity)), metrics_(metrics) {
  metrics_.describe("pso_uptime_seconds", "gauge", "Seconds since the controller started");
  // The name Prometheus' own client libraries give it, so existing
  // dashboards and alerts on process memory work unchanged.
  metrics_.describe("process_resident_memory_bytes", "gauge", "Resident memory size in bytes");
}

HttpResponse MetricsHandler::render(const ApiRequest& request) {
  std::optional<std::vector<std::string>> only;
  if (auto list = param(request.query, "name")) {
    auto names = familyNames(*list);
    if (!names) return errorResponse(400, names.error().message);
    only = std::move(*names);
  }
  metrics_.set("pso_uptime_seconds", {}, identity_.uptimeSeconds());
  if (const int64_t resident = common::residentBytes(); resident >= 0) {
    metrics_.set("process_resident_memory_bytes", {}, static_cast<double>(resident));
  }
  return HttpResponse{200,
                      kPrometheusContentType,
                      only ? metrics_.renderPrometheus(*only) : metrics_.renderPrometheus(),
                      {}};
}

}  // namespace pso::controller::service
