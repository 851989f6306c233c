#include "controller/service/api/metrics_handler.h"

#include <utility>

#include "common/process_memory.h"

namespace pso::controller::service {

namespace {
constexpr const char* kPrometheusContentType = "text/plain; version=0.0.4; charset=utf-8";
}  // namespace

MetricsHandler::MetricsHandler(ControllerIdentity identity, common::MetricsRegistry& metrics)
    : identity_(std::move(identity)), metrics_(metrics) {
  metrics_.describe("pso_uptime_seconds", "gauge", "Seconds since the controller started");
  // The name Prometheus' own client libraries give it, so existing
  // dashboards and alerts on process memory work unchanged.
  metrics_.describe("process_resident_memory_bytes", "gauge", "Resident memory size in bytes");
}

HttpResponse MetricsHandler::render(const ApiRequest&) {
  metrics_.set("pso_uptime_seconds", {}, identity_.uptimeSeconds());
  if (const int64_t resident = common::residentBytes(); resident >= 0) {
    metrics_.set("process_resident_memory_bytes", {}, static_cast<double>(resident));
  }
  return HttpResponse{200, kPrometheusContentType, metrics_.renderPrometheus(), {}};
}

}  // namespace pso::controller::service
