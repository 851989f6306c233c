#include "controller/engine/replay.h"

#include <algorithm>
#include <cmath>
#include <deque>
#include <limits>

#include "controller/engine/allocation.h"
#include "controller/engine/decision_engine.h"
#include "controller/engine/seasonal_profile.h"
#include "controller/engine/wording.h"

namespace pso::controller::engine {

Result<std::vector<ForecastRow>> rollingForecast(const std::vector<std::optional<double>>& values,
                                                 const RollingForecastOptions& options) {
  if (options.horizon < 1 || options.every < 1 || options.warmup_points < 0) {
    return makeError("invalid",
                     "rolling forecast needs horizon >= 1, every >= 1 and "
                     "warm-up >= 0, got " +
                         std::to_string(options.horizon) + ", " + std::to_string(options.every) +
                         ", " + std::to_string(options.warmup_points));
  }
  ForecastModelParams params = options.params;
  params.max_horizon = std::max(params.max_horizon, options.horizon);
  auto made = makeForecastModel(options.model, params);
  if (!made.ok()) return made.error();
  ForecastModel& model = *made.value();

  std::vector<ForecastRow> rows;
  for (std::size_t i = 0; i < values.size(); ++i) {
    const std::optional<double>& value = values[i];
    if (value && std::isfinite(*value)) {
      model.update(*value);
    } else {
      model.observeMissing();
    }
    const auto origin = static_cast<int64_t>(i);
    if (origin < options.warmup_points || (origin - options.warmup_points) % options.every != 0) {
      continue;
    }
    const Forecast f = model.forecast(options.horizon, options.coverage);
    for (std::size_t h = 0; h < f.point.size(); ++h) {
      rows.push_back({origin, static_cast<int64_t>(h) + 1, f.point[h], f.lo[h], f.hi[h]});
    }
  }
  return rows;
}

std::vector<ForecastRow> rollingForecast(const std::vector<std::optional<double>>& values,
                                         int horizon, int every, int warmup_points,
                                         double coverage) {
  RollingForecastOptions options;
  options.horizon = std::max(1, horizon);
  options.every = std::max(1, every);
  options.warmup_points = std::max(0, warmup_points);
  options.coverage = coverage;
  // The default model and these clamped arguments are always valid.
  return std::move(rollingForecast(values, options)).value();
}

SimulationResult simulate(const std::vector<double>& demand, double step_s, const SystemSpec& spec,
                          const EngineSettings& settings, int64_t initial_replicas,
                          const SimulationObserver& observer, int64_t start_ms) {
  EngineSettings engine_settings = settings;
  engine_settings.step_s = step_s;
  DecisionEngine engine(engine_settings);
  engine.upsertSystem(spec);

  const int64_t lead = std::max<int64_t>(1, leadSteps(spec.warmup_s, step_s));
  // The last `lead` decisions, oldest first; before the first, the initial count.
  std::deque<int64_t> recent(static_cast<std::size_t>(lead), initial_replicas);

  // At a step too fine for the season detector, the daily shape comes from
  // the hourly means of the demand replayed so far, as the controller's comes
  // from its hourly rollups, refitted every hour: never from a later value.
  // Only the "auto" model reads a profile.
  const bool learn_profile =
      profileNeeded(step_s) && settings.forecast_model == "auto" && settings.seasonal_profiles;
  const auto step_ms = static_cast<int64_t>(std::llround(step_s * 1000.0));
  BucketMeans hourly(kProfileRefitMs);
  int64_t next_fit_ms = start_ms + kProfileRefitMs;

  SimulationResult result;
  SimulationSummary& summary = result.summary;
  result.rows.reserve(demand.size());
  int64_t previous = initial_replicas;
  for (std::size_t i = 0; i < demand.size(); ++i) {
    SimulationRow row;
    row.t = static_cast<int64_t>(i);
    row.now_ms =
        start_ms + static_cast<int64_t>(std::llround(static_cast<double>(i) * step_s * 1000.0));
    row.demand = demand[i];
    row.launched = previous;
    row.ready = *std::min_element(recent.begin(), recent.end());
    const bool observed = std::isfinite(row.demand);
    if (!observed) row.demand = std::numeric_limits<double>::quiet_NaN();

    if (learn_profile) {
      if (observed) hourly.add(row.now_ms - step_ms / 2, row.demand);
      if (row.now_ms >= next_fit_ms) {
        auto profile = SeasonalProfile::fit(hourly.completed(row.now_ms), kProfileRefitMs);
        if (profile) engine.setSeasonalProfile(spec.name, std::move(profile));
        next_fit_ms = row.now_ms + kProfileRefitMs;
      }
    }

    CycleInput input;
    input.now_ms = row.now_ms;
    SystemObservation obs;
    obs.system = spec.name;
    if (observed) obs.demand = row.demand;
    obs.current_replicas = previous;
    obs.ready_replicas = row.ready;
    input.systems.push_back(obs);
    const CycleDecisions decisions = engine.decide(input);
    const SystemDecision& decision = decisions.systems.front();

    row.desired = decision.desired_replicas;
    row.planned_demand = decision.planned_demand;
    row.overloaded =
        observed && row.demand > static_cast<double>(row.ready) * spec.capacity_per_replica;

    ++summary.steps;
    if (row.overloaded) ++summary.overload_steps;
    summary.replica_hours += static_cast<double>(previous) * step_s / 3600.0;
    if (row.desired != previous) ++summary.scale_events;
    if (observed && spec.capacity_per_replica > 0.0) {
      summary.oracle_replica_hours +=
          static_cast<double>(ceilCount(row.demand / spec.capacity_per_replica)) * step_s / 3600.0;
    }

    if (observer) observer(row, decision);
    result.rows.push_back(row);
    recent.pop_front();
    recent.push_back(row.desired);
    previous = row.desired;
  }
  if (summary.steps > 0) {
    summary.overload_pct =
        100.0 * static_cast<double>(summary.overload_steps) / static_cast<double>(summary.steps);
  }
  return result;
}

}  // namespace pso::controller::engine
