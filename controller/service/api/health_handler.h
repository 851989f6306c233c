#pragma once

// GET /healthz and /readyz: liveness and readiness for supervisors and load
// balancers (systemd watchdogs, Kubernetes probes). Both are open: they say
// nothing about the fleet.

#include <cstdint>

#include "controller/service/api/router.h"
#include "controller/service/api/status_handler.h"
#include "controller/service/cycle_runner.h"
#include "controller/store/store.h"

namespace pso::controller::service {

class HealthHandler {
 public:
  HealthHandler(ControllerIdentity identity, store::Store& store, CycleRunner& cycles,
                int64_t cycle_interval_ms);

  /// 200 {"status":"ok"} while the process answers HTTP.
  HttpResponse live(const ApiRequest& request);
  /// 200 {"ready":true} when the store answers and the decision cycle runs:
  /// the last cycle is at most three intervals old (or, before the first,
  /// the controller started less than three intervals ago). Else 503
  /// {"ready":false,"reason":"one line"}.
  HttpResponse ready(const ApiRequest& request);

 private:
  ControllerIdentity identity_;
  store::Store& store_;
  CycleRunner& cycles_;
  int64_t cycle_interval_ms_;
};

}  // namespace pso::controller::service
