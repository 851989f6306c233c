#pragma once

// POST /api/v1/mode: switches the controller between act and forecast-only
// at run time (a runbook's forecast_only step), without a restart.

#include "controller/service/api/router.h"
#include "controller/service/cycle_runner.h"

namespace pso::controller::service {

/// Turns {"mode": "act" | "forecast-only"} into CycleRunner::setForecastOnly: 200
/// with {"mode", "previous"}, 400 for a malformed body or another mode. The
/// next cycle decides in the new mode; /api/v1/status reports it at once.
class ModeHandler {
 public:
  explicit ModeHandler(CycleRunner& cycles) : cycles_(cycles) {}

  HttpResponse set(const ApiRequest& request);

 private:
  CycleRunner& cycles_;
};

}  // namespace pso::controller::service
