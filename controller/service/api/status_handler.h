#pragma once

// GET /api/v1/status: who this controller is and how its fleet stands.

#include <cstdint>
#include <functional>
#include <string>

#include "common/metrics.h"
#include "controller/service/api/router.h"
#include "controller/store/store.h"

namespace pso::controller::service {

/// What /api/v1/status and /metrics report about the controller itself.
struct ControllerIdentity {
  std::string controller_id;
  std::string version;
  std::string mode;
  int64_t started_steady_ms = 0;  ///< steady-clock ms at start, for uptime

  /// Seconds since the start on the steady clock (unmoved by wall-clock steps).
  double uptimeSeconds() const;
};

/// The controller's identity and mode, uptime, agent and system counts, the
/// last cycle and how many messages were refused.
class StatusHandler {
 public:
  /// `mode`, when set, is the mode in force (it may change at run time,
  /// POST /api/v1/mode); otherwise the identity's.
  StatusHandler(ControllerIdentity identity, store::Store& store, common::MetricsRegistry& metrics,
                std::function<std::string()> mode = {});

  HttpResponse show(const ApiRequest& request);

 private:
  ControllerIdentity identity_;
  store::Store& store_;
  common::MetricsRegistry& metrics_;
  std::function<std::string()> mode_;
};

}  // namespace pso::controller::service
