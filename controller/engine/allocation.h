#pragma once

// Predictive allocation: how many replicas a system needs for the demand it
// will face by the time new capacity can serve, with the alternatives
// considered and any predicted capacity breach.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "controller/engine/types.h"

namespace pso::controller::engine {

/// K: decisions it takes a launched replica to serve, ceil(warmup_s / step_s)
/// (0 for no warm-up).
int64_t leadSteps(double warmup_s, double step_s);

/// The central interval coverage whose upper bound is the 1 - risk quantile
/// (1 - 2 x risk), clamped to a usable (0.001, 0.999); what the predictive
/// planner asks the forecast model for.
double planningCoverage(double risk);

/// Steps a plan looks beyond the lead time: the plan margin, at most the
/// warm-up, in steps rounded up, and at least one (the next decision's
/// capacity takes over one step after this one's). With a 10-minute warm-up
/// and the default 5-minute margin: one step at 300 s and coarser, twenty
/// at 15 s (EngineSettings::plan_margin_s says why, and why at most the
/// warm-up).
int64_t marginSteps(double plan_margin_s, double warmup_s, double step_s);

/// Steps a decision plans for: K (leadSteps()) plus marginSteps().
int64_t plannedSteps(double warmup_s, double plan_margin_s, double step_s);

/// The forecast horizon a decision needs: its planned steps, more when the
/// caller wants bottlenecks detected further out; at least 1.
int64_t planningHorizon(int64_t planned_steps, int64_t bottleneck_horizon_steps = 0);

/// The predictive recommendation for one system.
struct Allocation {
  int64_t replicas = 0;            ///< recommended, within [min, max]
  int64_t unbounded_replicas = 0;  ///< before the bounds
  /// "predictive-upper-quantile", "min-bound" or "max-bound" (which bound
  /// changed the count), or "no-data" for an empty forecast.
  std::string rule;
  DecisionRule rule_kind = DecisionRule::kNoData;  ///< `rule` as a typed fact
  int64_t lead_steps = 0;                          ///< K
  int64_t planned_steps = 0;    ///< plannedSteps() (fewer if the forecast is shorter)
  int64_t peak_step = 0;        ///< the step whose upper bound is planned_demand
  double planned_demand = 0.0;  ///< max of the upper bound over the planned steps
  std::vector<Candidate> candidates;
  std::optional<Bottleneck> bottleneck;
  /// The reasoning in words, e.g. "upper 90% forecast peaks at 530 ...; at
  /// 120 per replica and 70% target that needs 7 replicas".
  std::string rationale;
};

/// Plans for the highest upper interval bound over the first
/// plannedSteps(spec.warmup_s, plan_margin_s, step_s) steps of `forecast`
/// (the caller asks the model for the interval whose upper bound is the
/// quantile it wants planned for, see planningCoverage()): replicas =
/// ceil(planned / (capacity per replica x target utilisation)), clamped to
/// the bounds. Candidates (current,
/// chosen, reactive, chosen - 1, chosen + 1; merged when equal) carry their
/// utilisation at the planned demand, overload probability and cost over the
/// forecast's horizon. The bottleneck is the earliest step of the whole
/// forecast whose upper bound exceeds current_replicas x capacity per replica.
Allocation allocate(const SystemSpec& spec, const Forecast& forecast, int64_t current_replicas,
                    int64_t reactive_replicas, int64_t now_ms, double step_s, double plan_margin_s);

/// A predictive plan tied to what is known now.
struct SettledPlan {
  int64_t replicas = 0;
  DecisionRule rule = DecisionRule::kNoData;
  /// The floor (within the bounds) when a demand was observed.
  std::optional<int64_t> floor;
  /// The sentence that says why the count differs from the plan's; empty
  /// when the plan stands.
  std::string reason;
};

/// Applies, in order, to a plan made by allocate():
/// - calm: a plan of kind kPredictive whose planned demand lies within
///   `tolerance` of what `current` replicas serve at the target
///   (|planned / (current x capacity x target) - 1| <= tolerance) keeps
///   `current` (rule kPredictiveWithinTolerance): the HPA rule's tolerance,
///   applied to the forecast, so that a plan hovering at a replica boundary
///   does not start and stop a replica every step;
/// - the floor: with a demand observed now, the count is at least
///   ceil(demand / (capacity x target x (1 + tolerance))) within the bounds
///   (rule kObservedDemandFloor): the fewest replicas the HPA rule would not
///   scale up from at that demand. A plan never provides less for the next
///   ready moment than the demand already observed needs, so a step change
///   moves the plan at the first observation, as it moves the HPA rule.
SettledPlan settlePlan(const SystemSpec& spec, const Allocation& plan, int64_t current_replicas,
                       std::optional<double> observed_demand, double tolerance);

/// The candidates of a decision: `chosen`, `current`, `reactive`, the
/// allocation's own plan (`plan.replicas`), and chosen - 1 / chosen + 1 within
/// the bounds; equal counts are merged into one candidate whose note names
/// each role ("chosen, current"). Each carries its utilisation at the planned
/// demand, overload probability over the planned steps and cost over the
/// forecast's horizon. Empty when the forecast is.
std::vector<Candidate> buildCandidates(const SystemSpec& spec, const Forecast& forecast,
                                       const Allocation& plan, int64_t chosen,
                                       int64_t current_replicas, int64_t reactive_replicas,
                                       double step_s);

/// The chance that demand exceeds `capacity` at any of steps 1..steps of
/// `forecast`, each step's demand taken as normal with the interval's centre as
/// mean and its width as a central `forecast.coverage` interval. Reported as
/// the highest per-step chance: forecast errors at neighbouring steps are
/// strongly correlated, so a product over steps would overstate it.
double overloadProbability(const Forecast& forecast, double capacity, std::size_t steps);

/// Earliest step of `forecast` whose upper bound exceeds `capacity`; nullopt
/// when none does. eta_ms = now_ms + steps_ahead x step_s x 1000;
/// predicted_demand is that step's upper bound; probability the highest
/// per-step chance of exceeding capacity from that step to the horizon.
std::optional<Bottleneck> detectBottleneck(const Forecast& forecast, double capacity,
                                           int64_t now_ms, double step_s);

}  // namespace pso::controller::engine
