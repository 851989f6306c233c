#include "controller/engine/long_horizon.h"

#include <algorithm>
#include <cmath>
#include <memory>

#include "controller/engine/allocation.h"
#include "controller/engine/forecast_model.h"

namespace pso::controller::engine {

namespace {

constexpr int kDailySeasonHours = 24;
constexpr const char* kAutoSelect = "auto-select";

/// The registry model "auto-select" stands for, given the present values.
std::string selectModel(int64_t present_hours) {
  if (present_hours >= kAutoMinHours) return "auto";
  // Holt-Winters starts its state after two full seasons.
  if (present_hours >= 2 * kDailySeasonHours) return "holt-winters";
  return "holt";
}

}  // namespace

Result<LongHorizonForecast> forecastLongHorizon(const LongHorizonRequest& request) {
  if (request.horizon < 1 || request.horizon > kMaxLongHorizonSteps) {
    return makeError("invalid", "long-horizon forecast: horizon " +
                                    std::to_string(request.horizon) + " is outside 1.." +
                                    std::to_string(kMaxLongHorizonSteps) + " hours");
  }
  if (!(request.coverage > 0.0 && request.coverage < 1.0)) {
    return makeError("invalid", "long-horizon forecast: coverage must be in (0, 1)");
  }
  if (request.season_period < 0 || request.season_period == 1) {
    return makeError("invalid", "long-horizon forecast: season " +
                                    std::to_string(request.season_period) +
                                    " must be 0 (default) or at least 2 hours");
  }
  if (request.capacity && !(*request.capacity > 0.0 && std::isfinite(*request.capacity))) {
    return makeError("invalid", "long-horizon forecast: capacity must be a positive number");
  }

  const auto first = std::find_if(request.hourly.begin(), request.hourly.end(),
                                  [](double v) { return std::isfinite(v); });
  if (first == request.hourly.end()) {
    return makeError("no_data", "long-horizon forecast: no hour of the history has a value");
  }
  LongHorizonForecast out;
  out.origin_ms = request.origin_ms;
  out.history_hours = request.hourly.end() - first;
  const int64_t present =
      std::count_if(first, request.hourly.end(), [](double v) { return std::isfinite(v); });
  out.missing_hours = out.history_hours - present;

  const std::string model = request.model == kAutoSelect ? selectModel(present) : request.model;
  ForecastModelParams params;
  // Intervals come from the errors tracked at each horizon step, so track
  // every step asked for instead of widening the last tracked one by sqrt(h).
  params.max_horizon = request.horizon;
  // A one-off replay of a few weeks of hours: every origin is scored, so the
  // longest horizons still see enough errors.
  params.error_stride = 1;
  const bool seasonal_model = model == "holt-winters" || model == "seasonal-naive";
  if (seasonal_model) {
    params.season_period = request.season_period > 0 ? request.season_period : kDailySeasonHours;
  } else if (model == "auto" && request.season_period > 0) {
    params.season_period = request.season_period;
  }
  auto made = makeForecastModel(model, params);
  if (!made.ok()) return made.error();
  ForecastModel& forecaster = **made;

  for (auto it = first; it != request.hourly.end(); ++it) {
    if (std::isfinite(*it)) {
      forecaster.update(*it);
    } else {
      forecaster.observeMissing();
    }
  }
  out.forecast = forecaster.forecast(request.horizon, request.coverage);
  if (seasonal_model) {
    out.forecast.model = model + "/" + std::to_string(params.season_period);
  }
  if (request.non_negative) {
    for (auto* series : {&out.forecast.point, &out.forecast.lo, &out.forecast.hi}) {
      for (double& v : *series) v = std::max(0.0, v);
    }
  }
  if (request.capacity) {
    out.breach =
        detectBottleneck(out.forecast, *request.capacity, request.origin_ms, kLongHorizonStepS);
  }
  return out;
}

}  // namespace pso::controller::engine
