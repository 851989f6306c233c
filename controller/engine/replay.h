#pragma once

// Offline replays of a trace through the engine's own code, for `psoctl
// forecast` and `psoctl simulate` (docs/architecture.md section 6). Pure: values in,
// rows out; the caller reads and writes files. `psoctl simulate` runs the
// replay loop below through cycle/replay.h, which adds the store reads of the
// live cycle before each decision.

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "common/result.h"
#include "controller/engine/forecast_model.h"
#include "controller/engine/types.h"

namespace pso::controller::engine {

class DecisionEngine;

/// One rolling-origin forecast value: made after seeing points 0..origin, for
/// point origin + step.
struct ForecastRow {
  int64_t origin = 0;
  int64_t step = 0;  ///< 1..horizon
  double point = 0.0;
  double lo = 0.0;
  double hi = 0.0;
};

struct RollingForecastOptions {
  int horizon = 1;
  int every = 1;          ///< forecast from every N-th origin
  int warmup_points = 1;  ///< first origin index (at least 0; the model needs one value)
  double coverage = 0.9;
  std::string model = "holt";
  ForecastModelParams params;  ///< max_horizon is raised to `horizon`
};

/// Rolling-origin forecasts: the model is fed the series online, one point at
/// a time (nullopt = missing step), and at every origin i >= warmup_points with
/// (i - warmup_points) % every == 0 it forecasts steps 1..horizon from what it
/// has seen of points 0..i only; nothing is ever refit with later data.
/// Origins before the first observed value produce no rows. Errors: an unknown
/// model or bad params (code "invalid").
[[nodiscard]] Result<std::vector<ForecastRow>> rollingForecast(
    const std::vector<std::optional<double>>& values, const RollingForecastOptions& options);

/// rollingForecast() with the default (holt) model; horizon and every below 1
/// are taken as 1, warmup_points below 0 as 0.
std::vector<ForecastRow> rollingForecast(const std::vector<std::optional<double>>& values,
                                         int horizon, int every, int warmup_points,
                                         double coverage);

/// One simulated step.
struct SimulationRow {
  int64_t t = 0;                ///< step index
  int64_t now_ms = 0;           ///< start_ms + t x step
  double demand = 0.0;          ///< NaN for a missing point
  int64_t desired = 0;          ///< decided at t, after observing demand(t)
  int64_t ready = 0;            ///< serving during t: min(desired(t-K) .. desired(t-1))
  int64_t launched = 0;         ///< desired(t-1): what step t is paid for
  bool overloaded = false;      ///< demand(t) > ready(t) x capacity
  double planned_demand = 0.0;  ///< what the decision planned for
};

struct SimulationSummary {
  int64_t steps = 0;
  int64_t overload_steps = 0;
  double overload_pct = 0.0;          ///< of steps
  double replica_hours = 0.0;         ///< sum of desired(t-1) x step / 3600
  int64_t scale_events = 0;           ///< steps where desired(t) != desired(t-1)
  double oracle_replica_hours = 0.0;  ///< sum of ceil(demand(t) / capacity) x step / 3600
};

struct SimulationResult {
  std::vector<SimulationRow> rows;
  SimulationSummary summary;
};

/// Called once per simulated step with the row and the engine's full decision
/// (for `--record`: building scenarios from a trace).
using SimulationObserver = std::function<void(const SimulationRow&, const SystemDecision&)>;

/// The replicas serving during a step (ARCHITECTURE.md section 6): a replica
/// serves only once every one of the last K counts launched included it, K the
/// warm-up in steps and at least 1: ready = min(launched(t-K+1) ... launched(t)).
/// The replay's ReplicaLedger and the live cycle (CycleRunner) both count
/// with it, so a replay sees the ready capacity the controller saw.
class ReadyWindow {
 public:
  /// `steps` counts launched (at least 1), all `initial` at first.
  ReadyWindow(int64_t steps, int64_t initial);
  /// The number of counts the window holds: K.
  std::size_t steps() const { return recent_.size(); }
  /// Serving during the step whose count was launched last.
  int64_t ready() const;
  /// The count launched for the next step.
  void launch(int64_t count);

 private:
  std::vector<int64_t> recent_;  ///< the last K counts launched, a ring from next_
  std::size_t next_ = 0;
};

/// K of ReadyWindow for a system: its warm-up in steps, at least 1.
int64_t readySteps(const SystemSpec& spec, double step_s);

/// The accounting of a replay, one system: what serves and what is paid for
/// at each step, given the counts decided. The replay and the figures of what
/// a fleet actually did (psoctl simulate --db) both count with it, so the two
/// columns mean the same thing. ready(t) = min(desired(t-K) .. desired(t-1)),
/// K = ceil(warmup_s / step_s) taken as at least 1, decisions before the first
/// counting as the initial count; launched(t) = desired(t-1); overloaded when
/// demand(t) > ready(t) x capacity; a non-finite demand is a gap, neither
/// overloaded nor counted by the oracle.
class ReplicaLedger {
 public:
  ReplicaLedger(const SystemSpec& spec, double step_s, int64_t initial_replicas);

  /// Serving during the next step: min of the last K decisions.
  int64_t ready() const;
  /// Launched during the next step: the last decision.
  int64_t launched() const { return previous_; }
  /// Counts the next step: its demand (NaN for a gap) and the count decided
  /// at its end. Fills `row` (all but t, now_ms and planned_demand) when given.
  void record(double demand, int64_t desired, SimulationRow* row = nullptr);
  /// The figures so far (overload_pct computed).
  SimulationSummary summary() const;

 private:
  double capacity_ = 0.0;
  double step_s_ = 0.0;
  ReadyWindow window_;  ///< of the decisions: decision t is launched for step t + 1
  int64_t previous_ = 0;
  SimulationSummary summary_;
};

/// Several summaries as one: steps, overload steps, replica-hours and scale
/// events added up; overload_pct of all the steps.
SimulationSummary addSummaries(const std::vector<SimulationSummary>& parts);

/// One system of a fleet replay.
struct FleetSystem {
  SystemSpec spec;
  /// One value per step of the grid (FleetReplay::start_ms + t x step_s), NaN
  /// for a step without a sample; shorter series count as gaps at the end.
  std::vector<double> demand;
  int64_t initial_replicas = 1;
};

/// A fleet replayed as the live controller decides it: every system in one
/// engine, so pools divide shared capacity and rises pass down depends_on.
struct FleetReplay {
  double step_s = 15.0;
  int64_t start_ms = 0;
  std::vector<FleetSystem> systems;
  std::vector<PoolSpec> pools;
  EngineSettings settings;  ///< step_s is replaced by the replay's
  bool keep_rows = true;    ///< false: summaries only (long replays of many systems)
  /// Called before each step's decide() with the step's input (demand,
  /// current and ready counts filled in): what the live cycle reads from its
  /// store between its snapshot and its decisions, the holds, warm starts and
  /// seasonal profiles (cycle::CycleInputs through cycle/replay.h). An error
  /// stops the replay and is its result. Empty: the engine alone.
  std::function<Status(DecisionEngine&, CycleInput&)> prepare;
};

struct FleetReplayResult {
  /// In the order of FleetReplay::systems; rows empty unless keep_rows.
  std::vector<SimulationResult> systems;
  SimulationSummary total;  ///< addSummaries() of the systems'
};

/// Called once per system per step, with the system's index in the replay.
using FleetObserver =
    std::function<void(std::size_t system, const SimulationRow&, const SystemDecision&)>;

/// Replays every system's demand through one DecisionEngine, one decide() per
/// step holding every system's observation (demand(t), current =
/// desired(t-1), ready = ready(t)) as FleetReplay::prepare completed it,
/// counted by a ReplicaLedger per system. A fleet of one is simulate().
/// Errors: the first prepare() error.
[[nodiscard]] Result<FleetReplayResult> simulateFleet(const FleetReplay& fleet,
                                                      const FleetObserver& observer = {});

/// simulateFleet() of one system: replays `demand` through a real
/// DecisionEngine, one decision per step:
/// observation demand(t) with current = desired(t-1) (initial_replicas before
/// the first decision) and ready = ready(t); desired(t) is the decision.
/// ready(t) = min(desired(t-K) .. desired(t-1)), K = ceil(warmup_s / step_s)
/// taken as at least 1, decisions before the first counting as
/// initial_replicas. Overloaded when demand(t) > ready(t) x capacity. A
/// non-finite demand is a missing sample: the engine sees a gap, the step is
/// neither overloaded nor counted by the oracle. settings.step_s is replaced by
/// step_s; `now_ms` is start_ms + t x step_s x 1000. The engine alone: no
/// holds and no seasonal profile; cycle::replayTrace() replays as the
/// controller decides, with the store reads of its cycle.
SimulationResult simulate(const std::vector<double>& demand, double step_s, const SystemSpec& spec,
                          const EngineSettings& settings, int64_t initial_replicas,
                          const SimulationObserver& observer = {}, int64_t start_ms = 0);

}  // namespace pso::controller::engine
