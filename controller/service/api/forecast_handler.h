#pragma once

// GET /api/v1/systems/{name}/forecast: a system's demand forecast, either the
// decision cycle's own (cycle steps ahead) or the long-horizon one from the
// hourly rollups (up to 168 hours, for capacity planning).

#include <cstdint>

#include "controller/service/api/router.h"
#include "controller/service/cycle_runner.h"
#include "controller/store/store.h"

namespace pso::controller::service {

/// "horizon" is a step count (cycle steps, or hours with resolution=1h) or a
/// duration ("30m", "168h"); a duration longer than an hour, or
/// resolution=1h, asks for the hourly forecast, which also takes "capacity"
/// (default max_replicas x capacity_per_replica) and "model".
class ForecastHandler {
 public:
  ForecastHandler(store::Store& store, CycleRunner& cycles);

  HttpResponse show(const ApiRequest& request);

 private:
  /// The long-horizon forecast of `system`'s demand, `hours` steps ahead.
  HttpResponse showHourly(const store::SystemRecord& system, int64_t hours,
                          const ApiRequest& request);

  store::Store& store_;
  CycleRunner& cycles_;
};

}  // namespace pso::controller::service
