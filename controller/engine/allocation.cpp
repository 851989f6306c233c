#include "controller/engine/allocation.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "controller/engine/statistics.h"
#include "controller/engine/wording.h"

namespace pso::controller::engine {

int64_t leadSteps(double warmup_s, double step_s) {
  if (!(warmup_s > 0.0) || !(step_s > 0.0)) return 0;
  return ceilCount(warmup_s / step_s);
}

double planningCoverage(double risk) {
  return std::clamp(1.0 - 2.0 * risk, 0.001, 0.999);
}

int64_t marginSteps(double plan_margin_s, double warmup_s, double step_s) {
  const double margin_s = std::min(plan_margin_s, warmup_s);
  if (!(step_s > 0.0) || !(margin_s > 0.0)) return 1;
  return std::max<int64_t>(1, ceilCount(margin_s / step_s));
}

int64_t plannedSteps(double warmup_s, double plan_margin_s, double step_s) {
  return leadSteps(warmup_s, step_s) + marginSteps(plan_margin_s, warmup_s, step_s);
}

int64_t planningHorizon(int64_t planned_steps, int64_t bottleneck_horizon_steps) {
  return std::max<int64_t>({planned_steps, bottleneck_horizon_steps, 1});
}

namespace {

/// The chance that demand exceeds `capacity` at some step, read as the
/// largest of each step's: the steps' forecasts are normal distributions
/// whose central `coverage` intervals are [lo, hi]. One step's chance is 1
/// when its interval is a point above capacity; otherwise it falls as
/// (capacity - mean) / sigma rises, so only the smallest such score is put
/// through the normal distribution (one erfc, not one a step: at a 1 s cycle
/// a plan covers 900 steps).
class WorstStepExceedance {
 public:
  explicit WorstStepExceedance(double coverage) : z_(centralZ(coverage)) {}

  void add(double lo, double hi, double capacity) {
    const double mean = (lo + hi) / 2.0;
    const double sigma = std::max(0.0, z_ > 0.0 ? (hi - lo) / (2.0 * z_) : 0.0);
    if (!(sigma > 0.0) || !std::isfinite(sigma)) {
      if (mean > capacity) certain_ = true;
      return;
    }
    const double score = (capacity - mean) / sigma;
    if (std::isnan(score)) return;
    if (!scored_ || score < lowest_score_) lowest_score_ = score;
    scored_ = true;
  }

  double probability() const {
    if (certain_) return 1.0;
    return scored_ ? 1.0 - normalCdf(lowest_score_) : 0.0;
  }

 private:
  double z_;
  bool certain_ = false;
  bool scored_ = false;
  double lowest_score_ = 0.0;
};

Candidate evaluate(int64_t replicas, const SystemSpec& spec, const Forecast& forecast,
                   double planned, std::size_t planned_steps, double step_s, std::string note) {
  Candidate c;
  c.replicas = replicas;
  const double capacity = static_cast<double>(replicas) * spec.capacity_per_replica;
  if (capacity > 0.0) {
    c.predicted_utilization = planned / capacity;
  } else {
    c.predicted_utilization = planned > 0.0 ? std::numeric_limits<double>::infinity() : 0.0;
  }
  c.overload_probability = overloadProbability(forecast, capacity, planned_steps);
  c.cost_replica_hours =
      static_cast<double>(replicas) * static_cast<double>(forecast.point.size()) * step_s / 3600.0;
  c.note = std::move(note);
  return c;
}

}  // namespace

std::vector<Candidate> buildCandidates(const SystemSpec& spec, const Forecast& forecast,
                                       const Allocation& plan, int64_t chosen,
                                       int64_t current_replicas, int64_t reactive_replicas,
                                       double step_s) {
  std::vector<Candidate> candidates;
  if (forecast.hi.empty() || forecast.point.empty()) return candidates;
  const auto planned_steps = static_cast<std::size_t>(std::max<int64_t>(plan.planned_steps, 1));
  auto add = [&](int64_t replicas, const std::string& note) {
    if (replicas < 0) return;
    for (Candidate& c : candidates) {
      if (c.replicas == replicas) {
        c.note += ", " + note;
        return;
      }
    }
    candidates.push_back(
        evaluate(replicas, spec, forecast, plan.planned_demand, planned_steps, step_s, note));
  };
  add(chosen, "chosen");
  add(current_replicas, "current");
  add(reactive_replicas, "reactive rule");
  add(plan.replicas, "predictive plan");
  if (chosen - 1 >= spec.min_replicas) add(chosen - 1, "one fewer");
  if (chosen + 1 <= spec.max_replicas) add(chosen + 1, "one more");
  return candidates;
}

double overloadProbability(const Forecast& forecast, double capacity, std::size_t steps) {
  const std::size_t n = std::min({steps, forecast.lo.size(), forecast.hi.size()});
  WorstStepExceedance worst(forecast.coverage);
  for (std::size_t i = 0; i < n; ++i) worst.add(forecast.lo[i], forecast.hi[i], capacity);
  return worst.probability();
}

std::optional<Bottleneck> detectBottleneck(const Forecast& forecast, double capacity,
                                           int64_t now_ms, double step_s) {
  const std::size_t n = std::min(forecast.lo.size(), forecast.hi.size());
  for (std::size_t i = 0; i < n; ++i) {
    if (!(forecast.hi[i] > capacity)) continue;
    Bottleneck b;
    b.kind = "capacity";
    b.steps_ahead = static_cast<int64_t>(i) + 1;
    b.eta_ms = now_ms + static_cast<int64_t>(
                            std::llround(static_cast<double>(b.steps_ahead) * step_s * 1000.0));
    b.predicted_demand = forecast.hi[i];
    b.capacity = capacity;
    WorstStepExceedance worst(forecast.coverage);
    for (std::size_t j = i; j < n; ++j) worst.add(forecast.lo[j], forecast.hi[j], capacity);
    b.probability = std::max(b.probability, worst.probability());
    return b;
  }
  return std::nullopt;
}

SettledPlan settlePlan(const SystemSpec& spec, const Allocation& plan, int64_t current_replicas,
                       std::optional<double> observed_demand, double tolerance) {
  SettledPlan out;
  out.replicas = plan.replicas;
  out.rule = plan.rule_kind;
  const int64_t lower = spec.min_replicas;
  const int64_t upper = std::max(spec.min_replicas, spec.max_replicas);
  const double per_replica = spec.capacity_per_replica * spec.target_utilization;
  if (!(per_replica > 0.0)) return out;
  const bool current_in_bounds = current_replicas >= lower && current_replicas <= upper;
  if (plan.rule_kind == DecisionRule::kPredictive && current_replicas > 0 && current_in_bounds &&
      plan.replicas != current_replicas) {
    const double served = static_cast<double>(current_replicas) * per_replica;
    const double ratio = plan.planned_demand / served;
    if (std::abs(ratio - 1.0) <= tolerance) {
      out.replicas = current_replicas;
      out.rule = DecisionRule::kPredictiveWithinTolerance;
      out.reason = "the planned demand is " + formatPercent(ratio) + " of what " +
                   formatReplicas(current_replicas) + " serve at the target (" +
                   formatQuantity(served) + "), within the " + formatPercent(tolerance) +
                   " tolerance, so keep " + formatReplicas(current_replicas);
    }
  }
  if (observed_demand && std::isfinite(*observed_demand)) {
    const double demand = std::max(0.0, *observed_demand);
    const int64_t floor =
        std::clamp(ceilCount(demand / (per_replica * (1.0 + tolerance))), lower, upper);
    out.floor = floor;
    if (floor > out.replicas) {
      out.reason = "the demand observed now needs at least " + formatReplicas(floor) +
                   " (fewer would run it more than " + formatPercent(tolerance) +
                   " above the target, where the HPA rule scales up), and a plan never provides "
                   "less than the demand already observed needs, so " +
                   formatReplicas(floor);
      out.replicas = floor;
      out.rule = DecisionRule::kObservedDemandFloor;
    }
  }
  return out;
}

Allocation allocate(const SystemSpec& spec, const Forecast& forecast, int64_t current_replicas,
                    int64_t reactive_replicas, int64_t now_ms, double step_s,
                    double plan_margin_s) {
  Allocation out;
  out.lead_steps = leadSteps(spec.warmup_s, step_s);
  const std::size_t available = std::min(forecast.hi.size(), forecast.point.size());
  if (available == 0) {
    out.replicas = current_replicas;
    out.unbounded_replicas = current_replicas;
    out.rule = "no-data";
    out.rule_kind = DecisionRule::kNoData;
    out.rationale = "no forecast yet";
    return out;
  }
  const std::size_t planned_steps = std::min(
      available, static_cast<std::size_t>(plannedSteps(spec.warmup_s, plan_margin_s, step_s)));
  out.planned_steps = static_cast<int64_t>(planned_steps);

  out.planned_demand = forecast.hi[0];
  out.peak_step = 1;
  for (std::size_t i = 1; i < planned_steps; ++i) {
    if (forecast.hi[i] > out.planned_demand) {
      out.planned_demand = forecast.hi[i];
      out.peak_step = static_cast<int64_t>(i) + 1;
    }
  }
  out.planned_demand = std::max(0.0, out.planned_demand);

  const double per_replica = spec.capacity_per_replica * spec.target_utilization;
  out.unbounded_replicas =
      per_replica > 0.0 ? ceilCount(out.planned_demand / per_replica) : spec.max_replicas;
  out.replicas = std::clamp(out.unbounded_replicas, spec.min_replicas,
                            std::max(spec.min_replicas, spec.max_replicas));
  out.rule_kind = DecisionRule::kPredictive;
  std::string bound;
  if (out.replicas > out.unbounded_replicas) {
    out.rule_kind = DecisionRule::kPredictiveMinBound;
    bound = ", raised to the minimum of " + std::to_string(spec.min_replicas);
  } else if (out.replicas < out.unbounded_replicas) {
    out.rule_kind = DecisionRule::kPredictiveMaxBound;
    bound = ", capped at the maximum of " + std::to_string(spec.max_replicas);
  }

  out.rule = std::string(ruleCode(out.rule_kind));

  const int64_t margin = marginSteps(plan_margin_s, spec.warmup_s, step_s);
  const std::string after =
      margin == 1 ? "one " + formatSeconds(step_s) + " step"
                  : "a margin of " + formatSeconds(static_cast<double>(margin) * step_s);
  std::string when;
  if (out.planned_steps == 1) {
    when = "over the next step" + std::string(out.lead_steps == 0 ? " (no warm-up)" : "");
  } else if (out.lead_steps == 0) {
    when = "over the next " + formatSteps(out.planned_steps) + " (no warm-up; " + after + ")";
  } else {
    when = "over the next " + formatSteps(out.planned_steps) + " (" + formatSeconds(spec.warmup_s) +
           " warm-up plus " + after + ")";
  }
  const std::string at_step =
      out.peak_step > 1 ? " in step " + std::to_string(out.peak_step) : std::string();
  out.rationale = formatPercent((1.0 + forecast.coverage) / 2.0) + " quantile of the forecast " +
                  when + " peaks at " + formatQuantity(out.planned_demand) + at_step + "; at " +
                  formatQuantity(spec.capacity_per_replica) + " per replica and " +
                  formatPercent(spec.target_utilization) + " target that needs " +
                  formatReplicas(out.unbounded_replicas) + bound;

  out.candidates = buildCandidates(spec, forecast, out, out.replicas, current_replicas,
                                   reactive_replicas, step_s);
  out.bottleneck = detectBottleneck(
      forecast, static_cast<double>(current_replicas) * spec.capacity_per_replica, now_ms, step_s);
  return out;
}

}  // namespace pso::controller::engine
