#pragma once

// Value types of the decision engine. The engine is pure: these go in, these
// come out; it reads no clock, file or socket, so the live controller and
// `psoctl simulate` run the same decisions on the same inputs.

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <vector>

namespace pso::controller::engine {

/// A system as the engine sees it (from the agent's hello / config).
struct SystemSpec {
  std::string name;
  double capacity_per_replica = 1.0;  ///< demand units one replica serves at 100%
  double target_utilization = 0.7;
  int64_t min_replicas = 1;
  int64_t max_replicas = 10;
  double warmup_s = 30.0;  ///< launch-to-serving time
  int64_t priority = 0;
  std::vector<std::string> depends_on;
};

/// The longest EngineSettings::plan_margin_s: an hour.
inline constexpr double kMaxPlanMarginS = 3600.0;
/// EngineSettings::decide_threads: each planning thread takes at least this
/// many systems (a thread started for fewer costs more than it saves), and
/// at most kMaxDecideThreads threads plan.
inline constexpr std::size_t kMinSystemsPerPlanThread = 256;
inline constexpr int kMaxDecideThreads = 64;

/// Engine-wide settings (guardrails and planning).
struct EngineSettings {
  double step_s = 15.0;               ///< time between decisions (cycle interval, or trace step)
  std::string policy = "predictive";  ///< predictive | reactive
  double scale_down_stabilization_s = 300.0;
  int64_t max_step_up = 0;          ///< 0 = unlimited
  int64_t max_step_down = 0;        ///< 0 = unlimited
  double cooldown_s = 0.0;          ///< per system, between engine-initiated changes
  int64_t actions_per_hour = 1000;  ///< global limit on engine-initiated changes
  double coverage = 0.9;            ///< central prediction interval reported with forecasts
  /// The predictive policy's one cost/risk knob, in (0, 0.5): the chance per
  /// step the planner accepts that demand rises above the target utilisation
  /// of the replicas it plans. It plans for the 1 - risk quantile of the
  /// forecast over the warm-up and plan_margin_s after it, at the target; the
  /// headroom between target and full capacity then absorbs most of those
  /// excursions. Lower: more replicas, fewer overloads; higher: cheaper.
  /// (tests/bench/replay_bench: at 0.2 and target 0.7, with the "auto" model
  /// and the plan's floor and tolerance (allocation.h settlePlan), the
  /// development traces cost 1.5-2.9 times the oracle and, at equal cost,
  /// overload about a quarter as often as the HPA rule, with no trace worse;
  /// docs/design-notes.md has the figures.)
  double risk = 0.2;
  bool forecast_only = false;  ///< decide and record, dispatch nothing
  /// Registry name, see forecast_model.h. "auto" picks per system among
  /// seasonal and non-seasonal models by rolling backtest error.
  std::string forecast_model = "auto";
  /// How far beyond the warm-up the predictive plan looks, in seconds: at
  /// most the warm-up and at least one step whatever the value
  /// (engine.plan_margin). A recurring burst a forecast places at the right
  /// hour may come minutes early; a plan that looks one step past the
  /// warm-up covers that at a 5-minute step but only 15 s of it at a 15 s
  /// cycle, which overloaded the bursts a 5-minute replay of the same trace
  /// served. A burst that comes earlier than that is met by the plan's floor
  /// on observed demand once a warm-up has passed, so a margin beyond the
  /// warm-up buys little for its replica-hours and forecast work
  /// (docs/design-notes.md "The plan's margin in time, not in steps").
  /// Between 0 and kMaxPlanMarginS.
  double plan_margin_s = 300.0;
  int64_t bottleneck_horizon_steps = 0;  ///< bottleneck look-ahead (0: the planned steps)
  double hpa_tolerance = 0.1;            ///< reactive rule: |ratio - 1| within this keeps the count
  /// Calm scale-downs of the predictive policy: a step down that frees this
  /// share of the running replicas or less is held back (guardrails.h), so
  /// the count comes down in fewer, larger steps. In [0, 1); 0 holds none
  /// back. (tests/bench/replay_bench: 0.25 against the HPA tolerance of 0.1
  /// it was before cut scale events by a third to a half on the bursty
  /// traces, and overload at equal cost fell too; docs/design-notes.md
  /// "How much a step down must free".)
  double scale_down_min_share = 0.25;
  int64_t min_observations = 5;  ///< samples a system needs before predictive decisions
  /// Threads that plan a cycle's systems (forecast, allocation, HPA rule):
  /// each system's plan reads and changes only its own state, so a large
  /// fleet's plans are made side by side and come out as they would on one
  /// thread. Fleets under kMinSystemsPerPlanThread systems a thread use
  /// fewer. At least 1.
  int decide_threads = 1;
  /// Whether the "auto" model uses seasonal profiles given to the engine
  /// (DecisionEngine::setSeasonalProfile(); simulate() fits its own).
  bool seasonal_profiles = true;
};

/// An operator's scale that overrides the engine until `until_ms`.
struct OperatorHold {
  int64_t replicas = 0;
  int64_t until_ms = 0;
  std::string reason;
};

/// What a firing alert rule asks of a system (controller config `alerts`:
/// scale_up, scale_down, hold).
enum class AlertAction {
  kScaleUp,    ///< at least `step` replicas more than launched now
  kScaleDown,  ///< at most the launched count less `step`
  kHold,       ///< keep the launched count
};

/// One firing rule's request. The engine applies it after dependencies and
/// pools and before the guardrails, which apply to it as to any plan.
struct AlertRequest {
  std::string rule;       ///< the rule's name, for the rationale
  std::string condition;  ///< the rule's condition, e.g. "p95_latency_ms > 100"
  AlertAction action = AlertAction::kScaleUp;
  int64_t step = 1;  ///< replicas per scale action (>= 1)
};

/// What was observed of one system during the last step.
struct SystemObservation {
  std::string system;
  std::optional<double> demand;  ///< mean demand over the step; nullopt = no sample
  int64_t current_replicas = 0;  ///< replicas launched (running or starting)
  int64_t ready_replicas = -1;   ///< replicas serving; -1 = same as current
  std::optional<OperatorHold> hold;
  /// Requests of the alert rules firing for this system. Several: a scale-up
  /// wins over a hold, a hold over a scale-down (capacity first).
  std::vector<AlertRequest> alert_requests;
};

struct CycleInput {
  int64_t now_ms = 0;
  std::vector<SystemObservation> systems;
};

/// A forecast over steps 1..H after the last observation. The vectors are
/// empty while the model has seen no value.
struct Forecast {
  std::vector<double> point;
  std::vector<double> lo;  ///< lower bound of the central interval
  std::vector<double> hi;  ///< upper bound of the central interval
  double coverage = 0.9;
  std::string model;  ///< provenance: which model produced it
  double backtest_mae = std::numeric_limits<double>::quiet_NaN();  ///< recent one-step MAE
  int64_t observations = 0;                                        ///< samples the model has seen
};

/// A replica count the engine considered, with its predicted effect and cost.
struct Candidate {
  int64_t replicas = 0;
  double predicted_utilization = 0.0;  ///< at the planned demand
  double overload_probability = 0.0;   ///< chance demand exceeds capacity over the lead time
  double cost_replica_hours = 0.0;     ///< cost over the horizon
  std::string note;                    ///< e.g. "chosen", "reactive rule", "current"
};

/// A predicted breach of capacity within the horizon.
struct Bottleneck {
  std::string kind = "capacity";  ///< capacity | pool
  int64_t eta_ms = 0;             ///< earliest time the upper forecast breaches
  int64_t steps_ahead = 0;
  double predicted_demand = 0.0;
  double capacity = 0.0;
  double probability = 0.0;
};

/// Which rule set a system's recommendation (before coordination and guardrails).
/// ruleCode() in wording.h gives each its stable name in documents and the API.
enum class DecisionRule {
  kNoData,              ///< "no-data": no sample yet (or no forecast), the current count is kept
  kWarmingUp,           ///< "warming-up": too few samples for a forecast, the current count is kept
  kDemandAtTarget,      ///< "demand-at-target": warming up but overloaded, sized for the demand now
  kPredictive,          ///< "predictive-upper-quantile": sized for the planning quantile
  kPredictiveMinBound,  ///< "min-bound": the predictive plan, raised to the minimum
  kPredictiveMaxBound,  ///< "max-bound": the predictive plan, capped at the maximum
  /// "within-tolerance": the planned demand is within the HPA tolerance of
  /// what the current count serves at the target, so the count is kept
  kPredictiveWithinTolerance,
  /// "observed-demand-floor": the forecast planned fewer replicas than the
  /// demand observed now needs (fewer than the HPA rule would scale up
  /// from), so the plan is raised to that floor
  kObservedDemandFloor,
  kReactiveHpa,  ///< "reactive-hpa": policy reactive, the HPA rule decides
};

/// True for the rules under which the forecast sized the recommendation (the
/// upper-quantile plan, its bounds, and the tolerance that kept the count).
constexpr bool sizedByForecast(DecisionRule rule) {
  return rule == DecisionRule::kPredictive || rule == DecisionRule::kPredictiveMinBound ||
         rule == DecisionRule::kPredictiveMaxBound ||
         rule == DecisionRule::kPredictiveWithinTolerance;
}

/// A guardrail that changed a decision (guardrails.h, in the order applied).
enum class GuardrailKind {
  kOperatorHold,            ///< an operator's count replaces the engine's
  kScaleDownStabilization,  ///< a decrease held up by recent higher recommendations
  kStepLimitUp,             ///< at most max_step_up added per decision
  kStepLimitDown,           ///< at most max_step_down removed per decision
  kCooldown,                ///< no change within cooldown_s of the last one
  kActionsPerHour,          ///< the global hourly limit on changes was reached
  kForecastOnly,            ///< the change is recorded, not dispatched (from == to == desired)
};

/// One guardrail's effect on the count: it moved the decision from `from` to `to`.
struct GuardrailEffect {
  GuardrailKind kind = GuardrailKind::kOperatorHold;
  int64_t from = 0;
  int64_t to = 0;
};

/// Coordination across systems that changed a recommendation before guardrails.
enum class CoordinationKind {
  kDependency,  ///< a caller's forecast rise passed down depends_on raised the plan
  kPool,        ///< a shared pool's division cut the plan
};

struct CoordinationEffect {
  CoordinationKind kind = CoordinationKind::kDependency;
  /// Dependency: the system whose rise was passed down. Pool: the pool's name.
  std::string source;
  int64_t from = 0;
  int64_t to = 0;
  double rise = 0.0;            ///< dependency: the factor passed down (1.3 = +30%)
  double planned_demand = 0.0;  ///< dependency: the demand planned for after the rise
  int64_t pool_capacity = 0;    ///< pool: replicas it holds
  int64_t pool_wanted = 0;      ///< pool: what its deciding systems wanted in total
  bool below_minimum = false;   ///< pool: cut below the system's minimum (minimums do not fit)
};

/// Why the HPA rule recommends what it does (reactive_policy.h).
enum class ReactiveReason {
  kNoMetric,         ///< no usable demand this step: keeps the count
  kNoneRunning,      ///< no replica launched: sized from the demand at the target
  kNoneReady,        ///< none ready yet and no demand: keeps the count
  kWarmingKeep,      ///< warming replicas counted at zero: no longer a scale-up, keeps
  kWarmingScale,     ///< warming replicas counted at zero: still a scale-up, ceil(current x ratio)
  kWithinTolerance,  ///< the ratio to target is within the tolerance of 1: keeps
  kRatio,            ///< ceil(ready x ratio): sized for the demand observed now
};

/// A firing alert rule's request that changed a recommendation (before guardrails).
struct AlertEffect {
  std::string rule;
  std::string condition;
  AlertAction action = AlertAction::kScaleUp;
  int64_t from = 0;
  int64_t to = 0;
};

/// The HPA rule's recommendation for one step, with every number and limit
/// that shaped it.
struct ReactiveFacts {
  ReactiveReason reason = ReactiveReason::kNoMetric;
  int64_t raw_replicas = 0;                                       ///< from the ratio alone
  double utilization = std::numeric_limits<double>::quiet_NaN();  ///< demand / ready capacity
  double ratio = std::numeric_limits<double>::quiet_NaN();        ///< utilisation / target
  double tolerance = 0.1;
  /// Highest recommendation in the stabilisation window (>= raw_replicas).
  int64_t stabilized_replicas = 0;
  double stabilization_s = 0.0;
  int64_t scale_up_limit = 0;  ///< max(factor x current, minimum)
  bool limited_by_scale_up = false;
  bool capped_at_max = false;
  bool raised_to_min = false;
  int64_t replicas = 0;  ///< final
};

/// Which model produced a forecast, as typed fields rather than its label.
struct ForecastProvenance {
  std::string configured;  ///< the engine's setting: "auto" or a registry name
  /// The model whose forecast was used: the registry name, or for "auto" the
  /// candidate it picked by rolling backtest error ("holt", "holt-winters/288",
  /// "mean(holt+naive)").
  std::string model;
  /// The registry name behind `model` ("holt-winters" for "holt-winters/288");
  /// empty for a combination of models.
  std::string family;
  bool selected_by_backtest = false;  ///< "auto" picked `model`
};

/// The typed record of how a decision came about: what the scenario builder
/// classifies events and levels from, and what lessons are written from.
struct DecisionFacts {
  DecisionRule rule = DecisionRule::kNoData;
  std::vector<CoordinationEffect> coordination;  ///< in the order applied
  std::vector<GuardrailEffect> guardrails;       ///< in the order applied
  /// The alert request that changed the recommendation, if one did (at most
  /// one: the request that won, see SystemObservation::alert_requests).
  std::vector<AlertEffect> alerts;
  std::vector<std::string> pools;  ///< pools the system shares this cycle
  ForecastProvenance provenance;
  ReactiveFacts reactive;
  /// The forecast quantile the predictive plan sizes for (1 - risk), and the
  /// steps it looks at (the warm-up and the plan margin after it, fewer when the forecast is
  /// shorter).
  double planning_quantile = 0.8;
  int64_t planned_steps = 0;
  /// The forecast's own count (the allocation within the bounds), before the
  /// tolerance and the observed-demand floor; 0 when no plan was made.
  int64_t plan_replicas = 0;
  /// The floor under a predictive plan: the fewest replicas, within the
  /// bounds, the HPA rule would not scale up from at the demand observed now
  /// (allocation.h settlePlan); 0 when no demand was observed or no plan was
  /// made.
  int64_t floor_replicas = 0;
  int64_t observations = 0;      ///< samples the forecast model has seen
  int64_t min_observations = 0;  ///< samples a forecast needs before predictive decisions
};

/// The engine's decision for one system in one cycle, with every number it came
/// from, so it can be explained, recorded and taught.
struct SystemDecision {
  std::string system;
  int64_t current_replicas = 0;
  int64_t ready_replicas = 0;
  int64_t recommended_replicas = 0;                          ///< before guardrails
  int64_t desired_replicas = 0;                              ///< after guardrails and holds
  double demand = std::numeric_limits<double>::quiet_NaN();  ///< observed this step
  Forecast forecast;
  int64_t lead_steps = 0;       ///< warm-up in steps: how far ahead new capacity serves
  double planned_demand = 0.0;  ///< the demand the allocation plans for
  double capacity_per_replica = 1.0;
  double target_utilization = 0.7;
  std::string
      rule;  ///< e.g. "predictive-upper-quantile", "reactive-hpa", "hold", "no-data", "min-bound"
  std::vector<std::string> guardrails;  ///< each guardrail that changed the decision, in words
  std::vector<Candidate> candidates;
  std::optional<Bottleneck> bottleneck;
  int64_t reactive_replicas = 0;  ///< what the HPA rule would do now
  std::string reactive_rationale;
  std::string rationale;  ///< plain sentences
  bool dispatch = false;  ///< a directive should be sent (changed, allowed, not forecast-only)
  DecisionFacts facts;    ///< the same decision as typed facts
};

/// Index into a decision's forecast of the step at its lead time (when
/// capacity launched now starts serving); nullopt when there is no forecast.
inline std::optional<std::size_t> leadStepIndex(const SystemDecision& decision) {
  const std::size_t size = decision.forecast.point.size();
  if (size == 0) return std::nullopt;
  const int64_t lead = decision.lead_steps < 1 ? 1 : decision.lead_steps;
  return static_cast<std::size_t>(std::min<int64_t>(lead, static_cast<int64_t>(size)) - 1);
}

/// Shared capacity across systems (controller config `pools`).
struct PoolSpec {
  std::string name;
  int64_t capacity_replicas = 0;
  std::vector<std::string> systems;
};

/// How a pool stood in one cycle.
struct PoolStatus {
  std::string name;
  int64_t capacity_replicas = 0;
  int64_t wanted_replicas = 0;               ///< what its deciding systems' plans asked for
  int64_t minimum_replicas = 0;              ///< the sum of their minimums
  bool shortage = false;                     ///< wanted more than the capacity: divided by priority
  bool minimums_unmet = false;               ///< even the minimums do not fit
  std::string alert;                         ///< a one-line alert when minimums_unmet, else empty
  std::optional<Bottleneck> shortage_ahead;  ///< kind "pool": upper forecasts exceed it
};

struct CycleDecisions {
  int64_t now_ms = 0;
  std::vector<SystemDecision> systems;
  int64_t actions_last_hour = 0;
  std::vector<PoolStatus> pools;  ///< one per configured pool with a deciding system
};

}  // namespace pso::controller::engine
