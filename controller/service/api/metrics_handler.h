#pragma once

// GET /metrics: the controller's metrics registry as Prometheus text.

#include "common/metrics.h"
#include "controller/service/api/router.h"
#include "controller/service/api/status_handler.h"

namespace pso::controller::service {

/// Renders every metric the controller keeps, with pso_uptime_seconds set at
/// the moment of the scrape. With "?name=a,b,c" only those families (a
/// histogram by its family name); a part that is not a metric name is a 400
/// naming it.
class MetricsHandler {
 public:
  MetricsHandler(ControllerIdentity identity, common::MetricsRegistry& metrics);

  HttpResponse render(const ApiRequest& request);

 private:
  ControllerIdentity identity_;
  common::MetricsRegistry& metrics_;
};

}  // namespace pso::controller::service
