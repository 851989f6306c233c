// `psoctl simulate --policy reactive` against an independent implementation
// of the Kubernetes Horizontal Pod Autoscaler, written from the Kubernetes
// documentation ("Horizontal Pod Autoscaling", algorithm details) and not
// from ReactivePolicy:
//   desiredReplicas = ceil[currentReplicas * (currentMetricValue / desiredMetricValue)]
// with the metric averaged over ready pods; no change while the ratio is
// within the 0.1 tolerance of 1; on a scale-up, pods not yet ready count as
// using 0% of their request, and if that takes the ratio back within the
// tolerance or reverses its direction the count is kept; scale-down
// stabilisation takes the highest recommendation of the last 300 s; the
// scale-up limit is max(2 x current, 4); the result is clamped to the bounds.

#include <gtest/gtest.h>

#include <cmath>
#include <deque>
#include <random>

#include "controller/engine/replay.h"

namespace pso::controller::engine {
namespace {

class ReferenceHpa {
 public:
  ReferenceHpa(double capacity, double target, int64_t min_replicas, int64_t max_replicas)
      : capacity_(capacity), target_(target), min_(min_replicas), max_(max_replicas) {}

  int64_t decide(double demand, int64_t current, int64_t ready, int64_t now_ms) {
    const int64_t raw = recommend(demand, current, ready);
    // "the highest recommendation within the window": at a trace step as
    // long as the window, the recommendation one step back is still in it
    // (a live HPA syncing every 15 s has the whole previous step in its
    // window), so the age limit is inclusive.
    history_.push_back({now_ms, raw});
    while (now_ms - history_.front().first > kWindowMs) history_.pop_front();
    int64_t stabilized = raw;
    for (const auto& [ms, r] : history_) stabilized = std::max(stabilized, r);
    const int64_t limit = std::max<int64_t>(2 * current, 4);
    return std::clamp(std::min(stabilized, limit), min_, max_);
  }

 private:
  static constexpr int64_t kWindowMs = 300'000;
  static constexpr double kTolerance = 0.1;

  int64_t recommend(double demand, int64_t current, int64_t ready) const {
    if (ready <= 0) return current;  // no ready pod reports a metric: no change
    // Average utilisation of the ready pods, relative to the target.
    const double ratio = demand / (static_cast<double>(ready) * capacity_) / target_;
    const bool unready = ready < current;
    if (!(unready && ratio > 1.0)) {
      if (std::fabs(1.0 - ratio) <= kTolerance) return current;
      return static_cast<int64_t>(std::ceil(ratio * static_cast<double>(ready) - 1e-9));
    }
    // Scale-up with pods still starting: they count as idle.
    const double all = demand / (static_cast<double>(current) * capacity_) / target_;
    if (std::fabs(1.0 - all) <= kTolerance || all < 1.0) return current;
    const auto replicas =
        static_cast<int64_t>(std::ceil(all * static_cast<double>(current) - 1e-9));
    return std::max(replicas, current);
  }

  double capacity_;
  double target_;
  int64_t min_;
  int64_t max_;
  std::deque<std::pair<int64_t, int64_t>> history_;
};

/// A day-shaped load with noise, bursts and a few gaps, at 5-minute steps.
std::vector<double> syntheticTrace(int steps, uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<double> noise(0.0, 40.0);
  std::uniform_real_distribution<double> u(0.0, 1.0);
  std::vector<double> demand;
  double burst = 0.0;
  for (int t = 0; t < steps; ++t) {
    if (u(rng) < 0.02) burst = 600.0 + 800.0 * u(rng);
    burst *= 0.8;
    const double day = 500.0 + 350.0 * std::sin(2.0 * 3.14159265358979 * t / 288.0);
    demand.push_back(u(rng) < 0.005 ? std::nan("") : std::max(0.0, day + burst + noise(rng)));
  }
  return demand;
}

void expectAgreement(int64_t warmup_steps, uint32_t seed) {
  const double step_s = 300.0;
  const std::vector<double> demand = syntheticTrace(4000, seed);
  SystemSpec spec;
  spec.name = "trace";
  spec.capacity_per_replica = 60.0;
  spec.target_utilization = 0.7;
  spec.min_replicas = 1;
  spec.max_replicas = 100000;
  spec.warmup_s = static_cast<double>(warmup_steps) * step_s;
  EngineSettings settings;
  settings.policy = "reactive";
  const SimulationResult result = simulate(demand, step_s, spec, settings, 1);

  ReferenceHpa reference(spec.capacity_per_replica, spec.target_utilization, spec.min_replicas,
                         spec.max_replicas);
  int64_t same = 0;
  int64_t decided = 0;
  int64_t changes = 0;
  for (const SimulationRow& row : result.rows) {
    if (!std::isfinite(row.demand)) continue;  // a missing metric: both keep the count
    const int64_t expected = reference.decide(row.demand, row.launched, row.ready, row.now_ms);
    ++decided;
    if (expected == row.desired) ++same;
    if (row.desired != row.launched) ++changes;
  }
  ASSERT_GT(decided, 3900);
  EXPECT_GT(changes, 200) << "the trace must make the HPA act often";
  EXPECT_GE(static_cast<double>(same), 0.9 * static_cast<double>(decided))
      << same << " of " << decided << " steps agree";
}

TEST(HpaReference, SimulateReactiveMatchesTheKubernetesRuleWithOneStepWarmup) {
  expectAgreement(1, 7);
}

TEST(HpaReference, SimulateReactiveMatchesTheKubernetesRuleWithWarmingReplicas) {
  // K = 2: after each scale-up some launched replicas are not ready yet.
  expectAgreement(2, 11);
  expectAgreement(3, 13);
}

}  // namespace
}  // namespace pso::controller::engine
