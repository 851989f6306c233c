#pragma once

// Long-horizon forecasts for capacity planning: a series' hourly history (the
// store's 1-hour rollup means) in, up to 168 hourly steps with prediction
// intervals out, separate from the short operational horizon the decision
// cycle forecasts at its own step.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/result.h"
#include "controller/engine/types.h"

namespace pso::controller::engine {

/// The longest long-horizon forecast, in hourly steps (one week).
inline constexpr int kMaxLongHorizonSteps = 168;
/// One long-horizon step in seconds.
inline constexpr double kLongHorizonStepS = 3600.0;

struct LongHorizonRequest {
  /// One value per hour, oldest first, the last one for the hour ending at
  /// origin_ms. NaN marks an hour without data: the model's clock advances
  /// over it but it is never read as a zero. Leading missing hours are skipped.
  std::vector<double> hourly;
  int64_t origin_ms = 0;               ///< end of the last hour of `hourly` (wall-clock epoch ms)
  int horizon = kMaxLongHorizonSteps;  ///< hourly steps to forecast, 1..168
  double coverage = 0.9;               ///< central prediction interval, in (0, 1)
  /// A forecast model registry name (forecast_model.h), or "auto-select":
  /// "auto" (seasons such as 24 and 168 detected from the data) once the
  /// history holds kAutoMinHours present values, "holt-winters" with a daily
  /// season while it holds at least two days, "holt" before.
  std::string model = "auto-select";
  /// Season in hours for "holt-winters" and "seasonal-naive" (0: 24), or a
  /// configured season overriding detection for "auto" (0: detect).
  int season_period = 0;
  /// Demand the system can serve at most; when set, the first hour whose upper
  /// interval bound exceeds it is reported as a breach.
  std::optional<double> capacity;
  /// Clamp point and bounds at zero (demand is never negative).
  bool non_negative = true;
};

/// Present hourly values from which "auto-select" uses the "auto" model: the
/// first season detection of AutoModel runs at 128 values.
inline constexpr int64_t kAutoMinHours = 128;

struct LongHorizonForecast {
  /// Steps 1..horizon after origin_ms, each the mean over the hour ending at
  /// origin_ms + step hours. model names the registry model and its choice,
  /// e.g. "auto: holt-winters/24" or "holt-winters/24".
  Forecast forecast;
  int64_t origin_ms = 0;
  double step_s = kLongHorizonStepS;
  int64_t history_hours = 0;  ///< hours replayed, from the first present one to the origin
  int64_t missing_hours = 0;  ///< of those, hours without a value
  /// The earliest hour whose upper bound exceeds the capacity (allocation.h's
  /// detectBottleneck at an hourly step); nullopt without a capacity or a breach.
  std::optional<Bottleneck> breach;
};

/// Replays `request.hourly` through the chosen model online (O(1) per hour,
/// missing hours through observeMissing()) with its tracked horizon set to the
/// requested one, so every step's interval comes from the errors the model
/// made at that many hours ahead on this history. Errors: code "invalid" for
/// a horizon outside 1..168, a coverage outside (0, 1), a bad season, an
/// unknown model or a non-positive capacity; "no_data" when no hour has a value.
[[nodiscard]] Result<LongHorizonForecast> forecastLongHorizon(const LongHorizonRequest& request);

}  // namespace pso::controller::engine
