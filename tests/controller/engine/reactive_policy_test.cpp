#include "controller/engine/reactive_policy.h"

#include <gtest/gtest.h>

namespace pso::controller::engine {
namespace {

// 100 per replica at a 50% target: each ready replica is meant to carry 50.
SystemSpec reactiveSpec() {
  SystemSpec s;
  s.name = "web";
  s.capacity_per_replica = 100.0;
  s.target_utilization = 0.5;
  s.min_replicas = 1;
  s.max_replicas = 50;
  return s;
}

ReactiveInput reactiveInput(double demand, int64_t current, int64_t ready, int64_t now_ms = 0) {
  return ReactiveInput{demand, current, ready, now_ms};
}

TEST(ReactivePolicy, KeepsTheCountWithinTheTolerance) {
  ReactivePolicy hpa;
  // 4 x 50 = 200 at target; 210 is ratio 1.05, 185 is 0.925: both kept.
  EXPECT_EQ(hpa.recommend(reactiveSpec(), reactiveInput(210, 4, 4)).replicas, 4);
  EXPECT_EQ(hpa.recommend(reactiveSpec(), reactiveInput(185, 4, 4)).replicas, 4);
  const ReactiveRecommendation kept = hpa.recommend(reactiveSpec(), reactiveInput(210, 4, 4));
  EXPECT_NEAR(kept.ratio, 1.05, 1e-12);
  EXPECT_NE(kept.rationale.find("tolerance"), std::string::npos);
  // 225 is ratio 1.125: ceil(4 x 1.125) = 5.
  EXPECT_EQ(hpa.recommend(reactiveSpec(), reactiveInput(225, 4, 4)).replicas, 5);
}

TEST(ReactivePolicy, ToleranceIsConfigurable) {
  ReactiveSettings settings;
  settings.tolerance = 0.01;
  ReactivePolicy hpa(settings);
  EXPECT_EQ(hpa.recommend(reactiveSpec(), reactiveInput(210, 4, 4)).replicas, 5);
}

TEST(ReactivePolicy, ScaleUpIsLimitedToTwiceCurrentOrFour) {
  ReactivePolicy small;
  const ReactiveRecommendation r = small.recommend(reactiveSpec(), reactiveInput(10000, 2, 2));
  EXPECT_EQ(r.raw_replicas, 200);
  EXPECT_EQ(r.replicas, 4);  // max(2 x 2, 4)
  EXPECT_NE(r.rationale.find("scale-up limit"), std::string::npos);
  ReactivePolicy larger;
  EXPECT_EQ(larger.recommend(reactiveSpec(), reactiveInput(10000, 6, 6)).replicas,
            12);  // max(2 x 6, 4)
}

TEST(ReactivePolicy, ScaleDownIsTheHighestRecommendationOfTheWindow) {
  ReactivePolicy hpa;
  EXPECT_EQ(hpa.recommend(reactiveSpec(), reactiveInput(500, 10, 10, 0)).replicas, 10);
  // 100 alone would be ceil(0.2 x 10) = 2, but 10 was recommended 60 s ago.
  const ReactiveRecommendation held =
      hpa.recommend(reactiveSpec(), reactiveInput(100, 10, 10, 60'000));
  EXPECT_EQ(held.raw_replicas, 2);
  EXPECT_EQ(held.replicas, 10);
  EXPECT_NE(held.rationale.find("highest recommendation"), std::string::npos);
  EXPECT_EQ(hpa.recommend(reactiveSpec(), reactiveInput(100, 10, 10, 299'000)).replicas, 10);
  // 301 s after the high one it has left the 300 s window.
  EXPECT_EQ(hpa.recommend(reactiveSpec(), reactiveInput(100, 10, 10, 301'000)).replicas, 2);
}

TEST(ReactivePolicy, StabilisationWindowIsConfigurable) {
  ReactiveSettings settings;
  settings.scale_down_stabilization_s = 30.0;
  ReactivePolicy hpa(settings);
  EXPECT_EQ(hpa.recommend(reactiveSpec(), reactiveInput(500, 10, 10, 0)).replicas, 10);
  EXPECT_EQ(hpa.recommend(reactiveSpec(), reactiveInput(100, 10, 10, 31'000)).replicas, 2);
}

TEST(ReactivePolicy, UnreadyReplicasCountAtZeroOnScaleUp) {
  // 6 launched, 3 ready. Demand 200 is ratio 200 / 150 = 1.33 over the ready
  // ones, but 200 / 300 = 0.67 over all launched: no longer a scale-up, keep 6
  // (the ready-only count would have been ceil(1.33 x 3) = 4).
  ReactivePolicy hpa;
  const ReactiveRecommendation kept = hpa.recommend(reactiveSpec(), reactiveInput(200, 6, 3));
  EXPECT_EQ(kept.replicas, 6);
  EXPECT_NE(kept.rationale.find("warming"), std::string::npos);
  // 315 / 300 = 1.05 over all launched: within tolerance, keep.
  ReactivePolicy within;
  EXPECT_EQ(within.recommend(reactiveSpec(), reactiveInput(315, 6, 3)).replicas, 6);
  // 420 / 300 = 1.4 over all launched: ceil(1.4 x 6) = 9.
  ReactivePolicy up;
  EXPECT_EQ(up.recommend(reactiveSpec(), reactiveInput(420, 6, 3)).replicas, 9);
}

TEST(ReactivePolicy, UnreadyReplicasAreIgnoredOnScaleDown) {
  ReactivePolicy hpa;
  // 30 / 150 = 0.2 over the 3 ready: ceil(0.2 x 3) = 1.
  EXPECT_EQ(hpa.recommend(reactiveSpec(), reactiveInput(30, 6, 3)).replicas, 1);
}

TEST(ReactivePolicy, NoMetricKeepsTheCountAndBoundsClamp) {
  ReactivePolicy hpa;
  const ReactiveRecommendation none =
      hpa.recommend(reactiveSpec(), ReactiveInput{std::nullopt, 7, 7, 0});
  EXPECT_EQ(none.replicas, 7);
  EXPECT_NE(none.rationale.find("no usable demand"), std::string::npos);
  SystemSpec bounded = reactiveSpec();
  bounded.min_replicas = 3;
  bounded.max_replicas = 5;
  ReactivePolicy low;
  EXPECT_EQ(low.recommend(bounded, reactiveInput(10, 4, 4)).replicas, 3);
  ReactivePolicy high;
  EXPECT_EQ(high.recommend(bounded, reactiveInput(1000, 4, 4)).replicas, 5);
}

TEST(ReactivePolicy, NothingReadyCountsAllLaunchedAtZero) {
  ReactivePolicy hpa;
  // 2 launched, none ready: 300 / (2 x 50) = 3 -> ceil(3 x 2) = 6, limited to 4.
  EXPECT_EQ(hpa.recommend(reactiveSpec(), reactiveInput(300, 2, 0)).replicas, 4);
  ReactivePolicy from_zero;
  EXPECT_EQ(from_zero.recommend(reactiveSpec(), reactiveInput(120, 0, 0)).replicas, 3);
}

}  // namespace
}  // namespace pso::controller::engine
