#include "controller/service/api/metrics_handler.h"

#include <utility>

namespace pso::controller::service {

namespace {
constexpr const char* kPrometheusContentType = "text/plain; version=0.0.4; charset=utf-8";
}  // namespace

MetricsHandler::MetricsHandler(ControllerIdentity identity, common::MetricsRegistry& metrics)
    : identity_(std::move(identity)), metrics_(metrics) {
  metrics_.describe("pso_uptime_seconds", "gauge", "Seconds since the controller started");
}

HttpResponse MetricsHandler::render(const ApiRequest&) {
  metrics_.set("pso_uptime_seconds", {}, identity_.uptimeSeconds());
  return HttpResponse{200, kPrometheusContentType, metrics_.renderPrometheus(), {}};
}

}  // namespace pso::controller::service
