#include "controller/engine/replay.h"

#include <algorithm>
#include <cmath>
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

ReadyWindow::ReadyWindow(int64_t steps, int64_t initial)
    : recent_(static_cast<std::size_t>(std::max<int64_t>(1, steps)), initial) {}

int64_t ReadyWindow::ready() const {
  return *std::min_element(recent_.begin(), recent_.end());
}

void ReadyWindow::launch(int64_t count) {
  recent_[next_] = count;
  next_ = (next_ + 1) % recent_.size();
}

int64_t readySteps(const SystemSpec& spec, double step_s) {
  return std::max<int64_t>(1, leadSteps(spec.warmup_s, step_s));
}

ReplicaLedger::ReplicaLedger(const SystemSpec& spec, double step_s, int64_t initial_replicas)
    : capacity_(spec.capacity_per_replica),
      step_s_(step_s),
      window_(readySteps(spec, step_s), initial_replicas),
      previous_(initial_replicas) {}

int64_t ReplicaLedger::ready() const {
  return window_.ready();
}

void ReplicaLedger::record(double demand, int64_t desired, SimulationRow* row) {
  const bool observed = std::isfinite(demand);
  const int64_t ready_now = ready();
  const bool overloaded = observed && demand > static_cast<double>(ready_now) * capacity_;
  ++summary_.steps;
  if (overloaded) ++summary_.overload_steps;
  summary_.replica_hours += static_cast<double>(previous_) * step_s_ / 3600.0;
  if (desired != previous_) ++summary_.scale_events;
  if (observed && capacity_ > 0.0) {
    summary_.oracle_replica_hours +=
        static_cast<double>(ceilCount(demand / capacity_)) * step_s_ / 3600.0;
  }
  if (row != nullptr) {
    row->demand = observed ? demand : std::numeric_limits<double>::quiet_NaN();
    row->desired = desired;
    row->ready = ready_now;
    row->launched = previous_;
    row->overloaded = overloaded;
  }
  window_.launch(desired);
  previous_ = desired;
}

SimulationSummary ReplicaLedger::summary() const {
  SimulationSummary out = summary_;
  if (out.steps > 0) {
    out.overload_pct =
        100.0 * static_cast<double>(out.overload_steps) / static_cast<double>(out.steps);
  }
  return out;
}

SimulationSummary addSummaries(const std::vector<SimulationSummary>& parts) {
  SimulationSummary total;
  for (const auto& part : parts) {
    total.steps += part.steps;
    total.overload_steps += part.overload_steps;
    total.replica_hours += part.replica_hours;
    total.scale_events += part.scale_events;
    total.oracle_replica_hours += part.oracle_replica_hours;
  }
  if (total.steps > 0) {
    total.overload_pct =
        100.0 * static_cast<double>(total.overload_steps) / static_cast<double>(total.steps);
  }
  return total;
}

Result<FleetReplayResult> simulateFleet(const FleetReplay& fleet, const FleetObserver& observer) {
  const double step_s = fleet.step_s;
  EngineSettings engine_settings = fleet.settings;
  engine_settings.step_s = step_s;
  DecisionEngine engine(engine_settings);
  for (const auto& system : fleet.systems) engine.upsertSystem(system.spec);
  engine.setPools(fleet.pools);

  const std::size_t count = fleet.systems.size();
  std::size_t steps = 0;
  std::vector<ReplicaLedger> ledgers;
  ledgers.reserve(count);
  for (const auto& system : fleet.systems) {
    steps = std::max(steps, system.demand.size());
    ledgers.emplace_back(system.spec, step_s, system.initial_replicas);
  }

  FleetReplayResult result;
  result.systems.resize(count);
  if (fleet.keep_rows) {
    for (auto& system : result.systems) system.rows.reserve(steps);
  }
  CycleInput input;
  input.systems.resize(count);
  for (std::size_t s = 0; s < count; ++s) input.systems[s].system = fleet.systems[s].spec.name;
  std::vector<double> demand(count);
  for (std::size_t i = 0; i < steps; ++i) {
    const int64_t now_ms =
        fleet.start_ms +
        static_cast<int64_t>(std::llround(static_cast<double>(i) * step_s * 1000.0));
    for (std::size_t s = 0; s < count; ++s) {
      const auto& series = fleet.systems[s].demand;
      demand[s] = i < series.size() ? series[i] : std::numeric_limits<double>::quiet_NaN();
      SystemObservation& obs = input.systems[s];
      obs.demand.reset();
      if (std::isfinite(demand[s])) obs.demand = demand[s];
      obs.current_replicas = ledgers[s].launched();
      obs.ready_replicas = ledgers[s].ready();
    }

    input.now_ms = now_ms;
    if (fleet.prepare) {
      if (Status prepared = fleet.prepare(engine, input); !prepared) return prepared.error();
    }
    const CycleDecisions decisions = engine.decide(input);
    // Every system is known to the engine, so decisions come in input order.
    for (std::size_t s = 0; s < count; ++s) {
      const SystemDecision& decision = decisions.systems[s];
      SimulationRow row;
      row.t = static_cast<int64_t>(i);
      row.now_ms = now_ms;
      row.planned_demand = decision.planned_demand;
      ledgers[s].record(demand[s], decision.desired_replicas, &row);
      if (observer) observer(s, row, decision);
      if (fleet.keep_rows) result.systems[s].rows.push_back(row);
    }
  }
  std::vector<SimulationSummary> summaries;
  summaries.reserve(count);
  for (std::size_t s = 0; s < count; ++s) {
    result.systems[s].summary = ledgers[s].summary();
    summaries.push_back(result.systems[s].summary);
  }
  result.total = addSummaries(summaries);
  return result;
}

SimulationResult simulate(const std::vector<double>& demand, double step_s, const SystemSpec& spec,
                          const EngineSettings& settings, int64_t initial_replicas,
                          const SimulationObserver& observer, int64_t start_ms) {
  FleetReplay fleet;
  fleet.step_s = step_s;
  fleet.start_ms = start_ms;
  fleet.systems.push_back({spec, demand, initial_replicas});
  fleet.settings = settings;
  FleetObserver each;
  if (observer) {
    each = [&observer](std::size_t, const SimulationRow& row, const SystemDecision& decision) {
      observer(row, decision);
    };
  }
  // Without a prepare hook nothing can fail.
  return std::move(simulateFleet(fleet, each).value().systems.front());
}

}  // namespace pso::controller::engine
