#include "controller/engine/allocation.h"

#include <gtest/gtest.h>

#include "controller/engine/statistics.h"
#include "controller/engine/wording.h"

namespace pso::controller::engine {
namespace {

constexpr double kZ90 = 1.6448536269514722;  // central 90% of a standard normal
// A plan margin of one step: the plan looks at steps 1..K+1.
constexpr double kOneStep = 0.0;

SystemSpec spec(int64_t max_replicas) {
  SystemSpec s;
  s.name = "api";
  s.capacity_per_replica = 20.0;
  s.target_utilization = 0.5;  // 10 per replica at target
  s.min_replicas = 1;
  s.max_replicas = max_replicas;
  s.warmup_s = 30.0;
  return s;
}

// Point forecasts 100, 110, 120, 90, each with a standard deviation of 10.
Forecast forecast() {
  Forecast f;
  f.coverage = 0.9;
  f.point = {100, 110, 120, 90};
  for (double p : f.point) {
    f.lo.push_back(p - kZ90 * 10.0);
    f.hi.push_back(p + kZ90 * 10.0);
  }
  return f;
}

TEST(Allocation, LeadStepsAndHorizon) {
  EXPECT_EQ(leadSteps(30.0, 15.0), 2);
  EXPECT_EQ(leadSteps(31.0, 15.0), 3);
  EXPECT_EQ(leadSteps(10.0, 15.0), 1);
  EXPECT_EQ(leadSteps(0.0, 15.0), 0);
  EXPECT_EQ(planningHorizon(3), 3);
  EXPECT_EQ(planningHorizon(0), 1);
  EXPECT_EQ(planningHorizon(3, 10), 10);
}

TEST(Allocation, ThePlanMarginIsATimeOfAtLeastOneStepAndAtMostTheWarmUp) {
  // Five minutes after a 10-minute warm-up: one step at 300 s and coarser,
  // twenty at 15 s, 300 at 1 s.
  EXPECT_EQ(marginSteps(300.0, 600.0, 300.0), 1);
  EXPECT_EQ(marginSteps(300.0, 600.0, 3600.0), 1);
  EXPECT_EQ(marginSteps(300.0, 600.0, 15.0), 20);
  EXPECT_EQ(marginSteps(300.0, 600.0, 1.0), 300);
  EXPECT_EQ(marginSteps(300.0, 600.0, 45.0), 7);  // rounded up
  EXPECT_EQ(marginSteps(0.0, 600.0, 15.0), 1);
  // At most the warm-up: 30 s of it is two steps at 15 s; none is one step.
  EXPECT_EQ(marginSteps(300.0, 30.0, 15.0), 2);
  EXPECT_EQ(marginSteps(300.0, 0.0, 15.0), 1);
  EXPECT_EQ(plannedSteps(600.0, 300.0, 15.0), 60);
  EXPECT_EQ(plannedSteps(30.0, 300.0, 15.0), 4);
  EXPECT_EQ(plannedSteps(30.0, 0.0, 15.0), 3);
  EXPECT_EQ(plannedSteps(0.0, 300.0, 300.0), 1);
}

TEST(Allocation, PlansForAPeakWithinTheMarginAfterTheWarmUp) {
  // A 5-minute warm-up at 15 s (K = 20); the forecast is flat at 100 but for
  // 200 at step 30, 2.5 minutes after new capacity serves.
  SystemSpec slow = spec(40);
  slow.warmup_s = 300.0;
  Forecast f;
  f.coverage = 0.9;
  for (int k = 1; k <= 50; ++k) {
    const double p = k == 30 ? 200.0 : 100.0;
    f.point.push_back(p);
    f.lo.push_back(p);
    f.hi.push_back(p);
  }
  const Allocation margin = allocate(slow, f, 10, 10, 0, 15.0, 300.0);
  EXPECT_EQ(margin.planned_steps, 40);
  EXPECT_EQ(margin.peak_step, 30);
  EXPECT_DOUBLE_EQ(margin.planned_demand, 200.0);
  EXPECT_EQ(margin.replicas, 20);
  EXPECT_NE(margin.rationale.find("over the next 40 steps (300 s warm-up plus a margin of 300 s)"),
            std::string::npos)
      << margin.rationale;
  // A longer margin is cut to the warm-up.
  EXPECT_EQ(allocate(slow, f, 10, 10, 0, 15.0, 900.0).planned_steps, 40);

  const Allocation one_step = allocate(slow, f, 10, 10, 0, 15.0, kOneStep);
  EXPECT_EQ(one_step.planned_steps, 21);
  EXPECT_DOUBLE_EQ(one_step.planned_demand, 100.0);
  EXPECT_EQ(one_step.replicas, 10);
  EXPECT_NE(one_step.rationale.find("(300 s warm-up plus one 15 s step)"), std::string::npos)
      << one_step.rationale;
}

TEST(Allocation, PlansForTheUpperBoundWhenNewCapacityServes) {
  // K = ceil(30 / 15) = 2, so steps 1..3 count; the highest upper bound is
  // step 3's 120 + 16.45 = 136.45 (step 4's is beyond the lead time), and
  // ceil(136.45 / (20 x 0.5)) = 14.
  const Allocation a = allocate(spec(20), forecast(), 5, 6, 1'000'000, 15.0, kOneStep);
  EXPECT_EQ(a.lead_steps, 2);
  EXPECT_EQ(a.planned_steps, 3);
  EXPECT_EQ(a.peak_step, 3);
  EXPECT_NEAR(a.planned_demand, 120 + kZ90 * 10.0, 1e-9);
  EXPECT_EQ(a.replicas, 14);
  EXPECT_EQ(a.unbounded_replicas, 14);
  EXPECT_EQ(a.rule, "predictive-upper-quantile");
  EXPECT_NE(a.rationale.find("peaks at 136 in step 3"), std::string::npos) << a.rationale;
  EXPECT_NE(a.rationale.find("needs 14 replicas"), std::string::npos) << a.rationale;
  EXPECT_NE(a.rationale.find("30 s warm-up"), std::string::npos) << a.rationale;
  // A central 90% interval's upper bound is the 95% quantile.
  EXPECT_NE(a.rationale.find("95% quantile of the forecast"), std::string::npos) << a.rationale;
}

TEST(Allocation, PlanningCoverageTurnsTheRiskIntoAnUpperQuantile) {
  EXPECT_NEAR(planningCoverage(0.05), 0.9, 1e-12);
  EXPECT_NEAR(planningCoverage(0.2), 0.6, 1e-12);
  EXPECT_NEAR(planningCoverage(0.0), 0.999, 1e-12);
  EXPECT_NEAR(planningCoverage(0.5), 0.001, 1e-12);
}

TEST(Allocation, SaysWhichBoundChangedTheCount) {
  const Allocation capped = allocate(spec(12), forecast(), 5, 6, 0, 15.0, kOneStep);
  EXPECT_EQ(capped.replicas, 12);
  EXPECT_EQ(capped.unbounded_replicas, 14);
  EXPECT_EQ(capped.rule, "max-bound");
  EXPECT_NE(capped.rationale.find("maximum of 12"), std::string::npos);

  SystemSpec floor = spec(20);
  floor.min_replicas = 16;
  const Allocation raised = allocate(floor, forecast(), 5, 6, 0, 15.0, kOneStep);
  EXPECT_EQ(raised.replicas, 16);
  EXPECT_EQ(raised.rule, "min-bound");
}

TEST(Allocation, CandidatesCarryUtilisationOverloadChanceAndCost) {
  const Allocation a = allocate(spec(12), forecast(), 5, 6, 0, 15.0, kOneStep);
  const double planned = 120 + kZ90 * 10.0;
  ASSERT_EQ(a.candidates.size(), 4u);  // 13 is above the maximum

  const Candidate& chosen = a.candidates[0];
  EXPECT_EQ(chosen.replicas, 12);
  EXPECT_EQ(chosen.note, "chosen, predictive plan");
  EXPECT_NEAR(chosen.predicted_utilization, planned / 240.0, 1e-12);
  EXPECT_LT(chosen.overload_probability, 1e-6);
  EXPECT_NEAR(chosen.cost_replica_hours, 12 * 4 * 15.0 / 3600.0, 1e-12);  // 4-step horizon

  const Candidate& current = a.candidates[1];
  EXPECT_EQ(current.replicas, 5);
  EXPECT_EQ(current.note, "current");
  EXPECT_NEAR(current.predicted_utilization, planned / 100.0, 1e-12);
  // Capacity 100 against means 100, 110, 120 (sd 10): worst step is 2 sd below the mean.
  EXPECT_NEAR(current.overload_probability, 0.9772498680518208, 1e-9);

  const Candidate& reactive = a.candidates[2];
  EXPECT_EQ(reactive.replicas, 6);
  EXPECT_EQ(reactive.note, "reactive rule");
  EXPECT_NEAR(reactive.overload_probability, 0.5, 1e-9);  // 120 at step 3

  EXPECT_EQ(a.candidates[3].replicas, 11);
  EXPECT_EQ(a.candidates[3].note, "one fewer");
}

TEST(Allocation, BottleneckIsTheEarliestBreachOfCurrentCapacity) {
  const Allocation a = allocate(spec(20), forecast(), 5, 6, 1'000'000, 15.0, kOneStep);
  ASSERT_TRUE(a.bottleneck.has_value());
  EXPECT_EQ(a.bottleneck->steps_ahead, 1);  // 116.45 > 5 x 20
  EXPECT_EQ(a.bottleneck->eta_ms, 1'015'000);
  EXPECT_NEAR(a.bottleneck->predicted_demand, 100 + kZ90 * 10.0, 1e-9);
  EXPECT_DOUBLE_EQ(a.bottleneck->capacity, 100.0);
  EXPECT_NEAR(a.bottleneck->probability, 0.9772498680518208, 1e-9);

  // With 7 running (capacity 140) nothing breaches: the highest bound is 136.45.
  EXPECT_FALSE(allocate(spec(20), forecast(), 7, 6, 0, 15.0, kOneStep).bottleneck.has_value());
  // With 6 running (capacity 120) the first breach is step 2 (126.45).
  const auto later = allocate(spec(20), forecast(), 6, 6, 0, 15.0, kOneStep).bottleneck;
  ASSERT_TRUE(later.has_value());
  EXPECT_EQ(later->steps_ahead, 2);
  EXPECT_EQ(later->eta_ms, 30'000);
}

TEST(Allocation, EmptyForecastKeepsTheCurrentCount) {
  const Allocation a = allocate(spec(20), Forecast{}, 5, 6, 0, 15.0, kOneStep);
  EXPECT_EQ(a.replicas, 5);
  EXPECT_EQ(a.rule, "no-data");
  EXPECT_TRUE(a.candidates.empty());
  EXPECT_FALSE(a.bottleneck.has_value());
}

// A plan of `replicas` for `planned` demand, as allocate() makes it.
Allocation planOf(int64_t replicas, double planned, DecisionRule rule = DecisionRule::kPredictive) {
  Allocation a;
  a.replicas = a.unbounded_replicas = replicas;
  a.planned_demand = planned;
  a.rule_kind = rule;
  return a;
}

TEST(SettlePlan, KeepsTheCountWhenThePlannedDemandIsWithinTheTolerance) {
  // 10 per replica at target: 7 replicas serve 70.
  const SystemSpec s = spec(20);
  for (double planned : {63.5, 70.5, 76.9}) {
    const int64_t wanted = ceilCount(planned / 10.0);
    const SettledPlan kept = settlePlan(s, planOf(wanted, planned), 7, std::nullopt, 0.1);
    EXPECT_EQ(kept.replicas, 7) << planned;
    if (wanted != 7) {
      EXPECT_EQ(kept.rule, DecisionRule::kPredictiveWithinTolerance) << planned;
      EXPECT_NE(kept.reason.find("within the 10% tolerance, so keep 7 replicas"), std::string::npos)
          << kept.reason;
    }
  }
  // Beyond the tolerance on either side the plan stands.
  for (double planned : {62.0, 77.5}) {
    const int64_t wanted = ceilCount(planned / 10.0);
    const SettledPlan moved = settlePlan(s, planOf(wanted, planned), 7, std::nullopt, 0.1);
    EXPECT_EQ(moved.replicas, wanted) << planned;
    EXPECT_EQ(moved.rule, DecisionRule::kPredictive) << planned;
    EXPECT_TRUE(moved.reason.empty());
  }
  // With no tolerance every change the plan wants is made.
  EXPECT_EQ(settlePlan(s, planOf(8, 70.5), 7, std::nullopt, 0.0).replicas, 8);
}

TEST(SettlePlan, LeavesABoundDecisionAndACountOutsideTheBoundsAlone) {
  const SystemSpec s = spec(6);
  // The plan is at its maximum of 6; keeping 7 would break the bound.
  const SettledPlan capped =
      settlePlan(s, planOf(6, 65.0, DecisionRule::kPredictiveMaxBound), 7, std::nullopt, 0.1);
  EXPECT_EQ(capped.replicas, 6);
  EXPECT_EQ(capped.rule, DecisionRule::kPredictiveMaxBound);
  // A current count above the maximum is not kept either.
  const SettledPlan above = settlePlan(s, planOf(6, 59.0), 7, std::nullopt, 0.1);
  EXPECT_EQ(above.replicas, 6);
}

TEST(SettlePlan, NeverPlansBelowWhatTheObservedDemandNeeds) {
  const SystemSpec s = spec(20);
  // The forecast still says 33 (4 replicas); 99 was just observed. Fewer
  // than ceil(99 / (10 x 1.1)) = 9 replicas would run it more than 10%
  // above the target, where the HPA rule scales up.
  const SettledPlan raised = settlePlan(s, planOf(4, 33.0), 4, 99.0, 0.1);
  EXPECT_EQ(raised.replicas, 9);
  EXPECT_EQ(raised.rule, DecisionRule::kObservedDemandFloor);
  ASSERT_TRUE(raised.floor.has_value());
  EXPECT_EQ(*raised.floor, 9);
  EXPECT_NE(raised.reason.find("the demand observed now needs at least 9 replicas"),
            std::string::npos)
      << raised.reason;
  // At the boundary: 8 replicas at 1.1 x target serve exactly 88.
  EXPECT_EQ(settlePlan(s, planOf(4, 33.0), 4, 88.0, 0.1).replicas, 8);
  EXPECT_EQ(settlePlan(s, planOf(4, 33.0), 4, 88.5, 0.1).replicas, 9);
  // The floor also overrides the tolerance's "keep".
  const SettledPlan over_keep = settlePlan(s, planOf(8, 70.5), 7, 99.0, 0.1);
  EXPECT_EQ(over_keep.replicas, 9);
  EXPECT_EQ(over_keep.rule, DecisionRule::kObservedDemandFloor);
  // The floor is held within the bounds.
  EXPECT_EQ(settlePlan(spec(6), planOf(4, 33.0), 4, 99.0, 0.1).replicas, 6);
  // A plan above the floor stands; the floor is still reported.
  const SettledPlan above = settlePlan(s, planOf(12, 115.0), 4, 99.0, 0.1);
  EXPECT_EQ(above.replicas, 12);
  EXPECT_EQ(above.rule, DecisionRule::kPredictive);
  EXPECT_EQ(above.floor.value_or(0), 9);
  // No observation, no floor.
  EXPECT_FALSE(settlePlan(s, planOf(4, 33.0), 4, std::nullopt, 0.1).floor.has_value());
}

TEST(Statistics, NormalQuantileInvertsTheCdf) {
  EXPECT_NEAR(normalQuantile(0.95), kZ90, 1e-12);
  EXPECT_NEAR(centralZ(0.9), kZ90, 1e-12);
  for (double p : {1e-6, 0.01, 0.3, 0.5, 0.77, 0.999}) {
    EXPECT_NEAR(normalCdf(normalQuantile(p)), p, 1e-12);
  }
  std::vector<double> values = {5, 1, 4, 2, 3};
  EXPECT_DOUBLE_EQ(empiricalQuantile(values, 0.5), 3.0);
  EXPECT_DOUBLE_EQ(empiricalQuantile(values, 0.1), 1.4);
  EXPECT_DOUBLE_EQ(empiricalQuantile(values, 1.0), 5.0);
}

}  // namespace
}  // namespace pso::controller::engine
