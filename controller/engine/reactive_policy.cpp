#include "controller/engine/reactive_policy.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "controller/engine/wording.h"

namespace pso::controller::engine {

ReactivePolicy::ReactivePolicy(ReactiveSettings settings) : settings_(settings) {}

ReactiveRecommendation ReactivePolicy::recommend(const SystemSpec& spec,
                                                 const ReactiveInput& input) {
  ReactiveRecommendation out;
  out.utilization = std::numeric_limits<double>::quiet_NaN();
  out.ratio = std::numeric_limits<double>::quiet_NaN();
  const int64_t current = std::max<int64_t>(0, input.current_replicas);
  const int64_t ready = std::clamp<int64_t>(input.ready_replicas, 0, current);
  const double capacity = spec.capacity_per_replica;
  const double target = spec.target_utilization;
  const double tolerance = settings_.tolerance;
  ReactiveFacts& facts = out.facts;
  facts.tolerance = tolerance;
  facts.stabilization_s = settings_.scale_down_stabilization_s;

  // Like the HPA when its metric is unavailable: no recommendation, no change.
  if (!input.demand.has_value() || !std::isfinite(*input.demand) || !(capacity > 0.0) ||
      !(target > 0.0)) {
    out.replicas = current;
    out.raw_replicas = current;
    facts.reason = ReactiveReason::kNoMetric;
    facts.raw_replicas = facts.stabilized_replicas = facts.replicas = current;
    out.rationale =
        "HPA rule: no usable demand metric this step, so it keeps " + formatReplicas(current) + ".";
    return out;
  }
  const double demand = std::max(0.0, *input.demand);

  int64_t raw = current;
  std::string why;
  if (ready == 0) {
    if (current == 0) {
      raw = ceilCount(demand / (capacity * target));
      facts.reason = ReactiveReason::kNoneRunning;
      why = "no replicas are running; demand " + formatQuantity(demand) + " at " +
            formatQuantity(capacity) + " per replica and " + formatPercent(target) +
            " target needs " + formatReplicas(raw);
    } else if (demand == 0.0) {
      facts.reason = ReactiveReason::kNoneReady;
      why = "no replica is ready yet and demand is 0, so keep " + formatReplicas(current);
    } else {
      // Every launched replica is still warming: all count at zero utilisation.
      const double all_ratio = demand / (static_cast<double>(current) * capacity * target);
      out.ratio = all_ratio;
      if (all_ratio <= 1.0 + tolerance) {
        facts.reason = ReactiveReason::kWarmingKeep;
        why = "no replica is ready yet; counting the " + formatReplicas(current) +
              " warming at zero, the ratio to target is " + formatQuantity(all_ratio) +
              ", not above 1 + tolerance, so keep " + formatReplicas(current);
      } else {
        raw = ceilCount(all_ratio * static_cast<double>(current));
        facts.reason = ReactiveReason::kWarmingScale;
        why = "no replica is ready yet; counting the " + formatReplicas(current) +
              " warming at zero, the ratio to target is " + formatQuantity(all_ratio) + ", so " +
              formatReplicas(raw);
      }
    }
  } else {
    const double utilization = demand / (static_cast<double>(ready) * capacity);
    const double ratio = utilization / target;
    out.utilization = utilization;
    out.ratio = ratio;
    why = "demand " + formatQuantity(demand) + " on " + formatReplicas(ready) + " ready at " +
          formatQuantity(capacity) + " each is " + formatPercent(utilization) +
          " utilisation, ratio " + formatQuantity(ratio) + " to the " + formatPercent(target) +
          " target";
    const int64_t unready = current - ready;
    if (unready > 0 && ratio > 1.0) {
      // Scale-up with warming replicas: count them at zero utilisation, and
      // keep the count if that takes the ratio back into tolerance or below 1.
      const double all_ratio = demand / (static_cast<double>(current) * capacity * target);
      why += "; counting the " + formatReplicas(unready) + " still warming at zero, it is " +
             formatQuantity(all_ratio) + " over all " + std::to_string(current) + " launched";
      if (std::abs(1.0 - all_ratio) <= tolerance || all_ratio < 1.0) {
        facts.reason = ReactiveReason::kWarmingKeep;
        why += ", which no longer calls for a scale-up, so keep " + formatReplicas(current);
      } else {
        raw = ceilCount(all_ratio * static_cast<double>(current));
        facts.reason = ReactiveReason::kWarmingScale;
        why += ", so " + formatReplicas(raw);
      }
    } else if (std::abs(1.0 - ratio) <= tolerance) {
      facts.reason = ReactiveReason::kWithinTolerance;
      why += ", within the " + formatQuantity(tolerance) + " tolerance, so keep " +
             formatReplicas(current);
    } else {
      raw = ceilCount(ratio * static_cast<double>(ready));
      facts.reason = ReactiveReason::kRatio;
      why += ", so " + formatReplicas(raw);
    }
  }
  out.raw_replicas = raw;
  facts.raw_replicas = raw;
  facts.utilization = out.utilization;
  facts.ratio = out.ratio;

  // Stabilisation: the highest recommendation within the window, this one included.
  const double window_s = settings_.scale_down_stabilization_s;
  recommendations_.record(input.now_ms, raw, window_s);
  const int64_t stabilized =
      std::max(raw, recommendations_.highestSince(input.now_ms, window_s).value_or(raw));
  facts.stabilized_replicas = stabilized;
  if (stabilized != raw) {
    why += "; the highest recommendation in the last " +
           formatSeconds(settings_.scale_down_stabilization_s) + " is " +
           std::to_string(stabilized) + ", so " + std::to_string(stabilized);
  }

  const int64_t scale_up_limit =
      std::max(settings_.scale_up_factor * current, settings_.scale_up_minimum);
  int64_t replicas = stabilized;
  facts.scale_up_limit = scale_up_limit;
  if (replicas > scale_up_limit) {
    replicas = scale_up_limit;
    facts.limited_by_scale_up = true;
    why += "; the scale-up limit max(" + std::to_string(settings_.scale_up_factor) + " x " +
           std::to_string(current) + ", " + std::to_string(settings_.scale_up_minimum) +
           ") caps it at " + std::to_string(replicas);
  }
  if (replicas > spec.max_replicas) {
    replicas = spec.max_replicas;
    facts.capped_at_max = true;
    why += "; capped at the maximum of " + std::to_string(spec.max_replicas);
  }
  if (replicas < spec.min_replicas) {
    replicas = spec.min_replicas;
    facts.raised_to_min = true;
    why += "; raised to the minimum of " + std::to_string(spec.min_replicas);
  }
  out.replicas = replicas;
  facts.replicas = replicas;
  out.rationale = "HPA rule: " + why + ".";
  return out;
}

void ReactivePolicy::save(StateWriter& writer) const {
  recommendations_.save(writer);
}

void ReactivePolicy::load(StateReader& reader) {
  recommendations_.load(reader);
}

}  // namespace pso::controller::engine
