// The typed facts the engine records with each decision: what the scenario
// builder classifies and teaches from, so they must say what happened.

#include <gtest/gtest.h>

#include <algorithm>

#include "controller/engine/decision_engine.h"
#include "controller/engine/reactive_policy.h"
#include "controller/engine/wording.h"

namespace pso::controller::engine {
namespace {

SystemSpec systemSpec(const std::string& name, int64_t max_replicas = 20) {
  SystemSpec s;
  s.name = name;
  s.capacity_per_replica = 100.0;
  s.target_utilization = 0.5;  // 50 per replica at target
  s.min_replicas = 1;
  s.max_replicas = max_replicas;
  s.warmup_s = 30.0;  // 2 steps of 15 s
  return s;
}

EngineSettings factsSettings() {
  EngineSettings s;
  s.step_s = 15.0;
  s.forecast_model = "holt";
  return s;
}

SystemObservation observe(const std::string& name, double demand, int64_t current,
                          int64_t ready = -1) {
  SystemObservation obs;
  obs.system = name;
  obs.demand = demand;
  obs.current_replicas = current;
  obs.ready_replicas = ready;
  return obs;
}

const SystemDecision& decisionFor(const CycleDecisions& c, const std::string& name) {
  for (const auto& d : c.systems) {
    if (d.system == name) return d;
  }
  throw std::runtime_error("no decision for " + name);
}

// Steady demand for `steps` steps at `current` replicas; returns the next time.
int64_t warm(DecisionEngine& engine, const std::vector<std::string>& names, double demand,
             int64_t current, int steps) {
  int64_t now = 0;
  for (int i = 0; i < steps; ++i, now += 15'000) {
    CycleInput input;
    input.now_ms = now;
    for (const auto& n : names) input.systems.push_back(observe(n, demand, current));
    engine.decide(input);
  }
  return now;
}

TEST(DecisionFacts, RecordWhichRuleSetTheRecommendation) {
  DecisionEngine engine(factsSettings());
  engine.upsertSystem(systemSpec("web"));
  CycleInput first{0, {observe("web", 100, 3)}};
  first.systems[0].demand.reset();
  const SystemDecision none = engine.decide(first).systems.at(0);
  EXPECT_EQ(none.facts.rule, DecisionRule::kNoData);
  const SystemDecision warming = engine.decide({15'000, {observe("web", 100, 3)}}).systems.at(0);
  EXPECT_EQ(warming.facts.rule, DecisionRule::kWarmingUp);
  EXPECT_EQ(warming.facts.observations, 1);
  EXPECT_EQ(warming.facts.min_observations, 5);
  const SystemDecision overload = engine.decide({30'000, {observe("web", 900, 3)}}).systems.at(0);
  EXPECT_EQ(overload.facts.rule, DecisionRule::kDemandAtTarget);
  EXPECT_EQ(overload.rule, ruleCode(overload.facts.rule));

  DecisionEngine steady(factsSettings());
  steady.upsertSystem(systemSpec("web"));
  const int64_t now = warm(steady, {"web"}, 100, 3, 10);
  const SystemDecision planned = steady.decide({now, {observe("web", 100, 3)}}).systems.at(0);
  EXPECT_EQ(planned.facts.rule, DecisionRule::kPredictive);
  EXPECT_EQ(planned.rule, "predictive-upper-quantile");
  EXPECT_DOUBLE_EQ(planned.facts.planning_quantile, 1.0 - factsSettings().risk);
  EXPECT_EQ(planned.facts.planned_steps, 4);  // 2 steps of warm-up and 2 of margin
  EXPECT_TRUE(planned.facts.coordination.empty());
}

TEST(DecisionFacts, RecordEachGuardrailWithItsEffect) {
  EngineSettings s = factsSettings();
  s.max_step_up = 1;
  DecisionEngine engine(s);
  engine.upsertSystem(systemSpec("web"));
  int64_t now = warm(engine, {"web"}, 100, 3, 10);
  const SystemDecision limited = engine.decide({now, {observe("web", 600, 3)}}).systems.at(0);
  ASSERT_EQ(limited.facts.guardrails.size(), 1u);
  EXPECT_EQ(limited.facts.guardrails[0].kind, GuardrailKind::kStepLimitUp);
  EXPECT_EQ(limited.facts.guardrails[0].from, limited.recommended_replicas);
  EXPECT_EQ(limited.facts.guardrails[0].to, 4);
  EXPECT_EQ(limited.desired_replicas, 4);

  CycleInput held{now + 15'000, {observe("web", 100, 4)}};
  held.systems[0].hold = OperatorHold{12, now + 60'000, "launch"};
  const SystemDecision hold = engine.decide(held).systems.at(0);
  ASSERT_FALSE(hold.facts.guardrails.empty());
  EXPECT_EQ(hold.facts.guardrails[0].kind, GuardrailKind::kOperatorHold);
  EXPECT_EQ(hold.facts.guardrails[0].to, 12);
  EXPECT_EQ(hold.facts.rule, DecisionRule::kPredictive) << "the plan's rule stays a fact";
  EXPECT_EQ(hold.rule, "hold");

  engine.setForecastOnly(true);
  const SystemDecision recorded =
      engine.decide({now + 30'000, {observe("web", 900, 4)}}).systems.at(0);
  ASSERT_FALSE(recorded.facts.guardrails.empty());
  EXPECT_EQ(recorded.facts.guardrails.back().kind, GuardrailKind::kForecastOnly);
  EXPECT_EQ(recorded.facts.guardrails.back().from, recorded.desired_replicas);
  EXPECT_FALSE(recorded.dispatch);
}

TEST(DecisionFacts, RecordPoolCutsAndDependencyRises) {
  DecisionEngine engine(factsSettings());
  SystemSpec high =
      systemSpec("carpool");  // a name with "pool" in it coordinates nothing by itself
  high.priority = 2;
  engine.upsertSystem(high);
  engine.upsertSystem(systemSpec("low"));
  engine.setPools({{"site-a", 8, {"carpool", "low"}}});
  const int64_t now = warm(engine, {"carpool", "low"}, 300, 6, 10);
  CycleInput input{now, {observe("carpool", 300, 6), observe("low", 300, 6)}};
  const CycleDecisions c = engine.decide(input);
  const SystemDecision& low = decisionFor(c, "low");
  ASSERT_EQ(low.facts.coordination.size(), 1u);
  const CoordinationEffect& cut = low.facts.coordination[0];
  EXPECT_EQ(cut.kind, CoordinationKind::kPool);
  EXPECT_EQ(cut.source, "site-a");
  EXPECT_GT(cut.from, cut.to);
  EXPECT_EQ(cut.pool_capacity, 8);
  EXPECT_EQ(low.facts.pools, std::vector<std::string>{"site-a"});
  EXPECT_TRUE(decisionFor(c, "carpool").facts.coordination.empty());

  DecisionEngine chain(factsSettings());
  SystemSpec front = systemSpec("front");
  front.depends_on = {"back"};
  chain.upsertSystem(front);
  chain.upsertSystem(systemSpec("back"));
  int64_t t = 0;
  // The caller rises steadily; the callee stays flat until it is told.
  for (int i = 0; i < 12; ++i, t += 15'000) {
    chain.decide({t, {observe("front", 100.0 + 40.0 * i, 10), observe("back", 100, 3)}});
  }
  const CycleDecisions d = chain.decide({t, {observe("front", 580, 12), observe("back", 100, 3)}});
  const SystemDecision& back = decisionFor(d, "back");
  ASSERT_FALSE(back.facts.coordination.empty());
  EXPECT_EQ(back.facts.coordination[0].kind, CoordinationKind::kDependency);
  EXPECT_EQ(back.facts.coordination[0].source, "front");
  EXPECT_GT(back.facts.coordination[0].rise, 1.0);
  EXPECT_GT(back.facts.coordination[0].to, back.facts.coordination[0].from);
}

TEST(DecisionFacts, RecordTheHpaRulesReasonAndItsScaleUpLimit) {
  ReactivePolicy policy;
  const SystemSpec s = systemSpec("web");
  const ReactiveRecommendation ratio = policy.recommend(s, {200.0, 2, 2, 0});
  EXPECT_EQ(ratio.facts.reason, ReactiveReason::kRatio);
  EXPECT_EQ(ratio.facts.raw_replicas, 4);
  EXPECT_FALSE(ratio.facts.limited_by_scale_up);

  ReactivePolicy burst;
  const ReactiveRecommendation limited = burst.recommend(s, {1000.0, 1, 1, 0});
  EXPECT_EQ(limited.facts.raw_replicas, 20);
  EXPECT_TRUE(limited.facts.limited_by_scale_up);
  EXPECT_EQ(limited.facts.scale_up_limit, 4);
  EXPECT_EQ(limited.replicas, 4);

  ReactivePolicy warming;
  const ReactiveRecommendation zero = warming.recommend(s, {120.0, 3, 1, 0});
  EXPECT_EQ(zero.facts.reason, ReactiveReason::kWarmingKeep);
  EXPECT_EQ(zero.replicas, 3);

  // The stabilisation window (the guardrails' StabilizationWindow) holds a
  // scale-down at the highest recent recommendation.
  ReactivePolicy window;
  window.recommend(s, {400.0, 8, 8, 0});
  const ReactiveRecommendation held = window.recommend(s, {100.0, 8, 8, 15'000});
  EXPECT_EQ(held.facts.raw_replicas, 2);
  EXPECT_EQ(held.facts.stabilized_replicas, 8);
  EXPECT_EQ(held.replicas, 8);
}

TEST(DecisionFacts, RecordWhichModelProducedTheForecast) {
  EngineSettings s = factsSettings();
  s.forecast_model = "auto";
  DecisionEngine engine(s);
  engine.upsertSystem(systemSpec("web"));
  const int64_t now = warm(engine, {"web"}, 100, 3, 30);
  const SystemDecision d = engine.decide({now, {observe("web", 100, 3)}}).systems.at(0);
  const ForecastProvenance& p = d.facts.provenance;
  EXPECT_EQ(p.configured, "auto");
  EXPECT_TRUE(p.selected_by_backtest);
  ASSERT_FALSE(p.model.empty());
  EXPECT_EQ(d.forecast.model, "auto: " + p.model);

  DecisionEngine fixed(factsSettings());
  fixed.upsertSystem(systemSpec("web"));
  warm(fixed, {"web"}, 100, 3, 6);
  const SystemDecision h = fixed.decide({90'000, {observe("web", 100, 3)}}).systems.at(0);
  EXPECT_EQ(h.facts.provenance.model, "holt");
  EXPECT_EQ(h.facts.provenance.family, "holt");
  EXPECT_FALSE(h.facts.provenance.selected_by_backtest);
}

TEST(DecisionFacts, CodesRoundTrip) {
  for (auto rule : {DecisionRule::kNoData, DecisionRule::kWarmingUp, DecisionRule::kDemandAtTarget,
                    DecisionRule::kPredictive, DecisionRule::kPredictiveMinBound,
                    DecisionRule::kPredictiveMaxBound, DecisionRule::kReactiveHpa}) {
    EXPECT_EQ(parseDecisionRule(ruleCode(rule)), rule);
  }
  for (auto kind :
       {GuardrailKind::kOperatorHold, GuardrailKind::kScaleDownStabilization,
        GuardrailKind::kStepLimitUp, GuardrailKind::kStepLimitDown, GuardrailKind::kCooldown,
        GuardrailKind::kActionsPerHour, GuardrailKind::kForecastOnly}) {
    EXPECT_EQ(parseGuardrailKind(guardrailCode(kind)), kind);
  }
  for (auto reason :
       {ReactiveReason::kNoMetric, ReactiveReason::kNoneRunning, ReactiveReason::kNoneReady,
        ReactiveReason::kWarmingKeep, ReactiveReason::kWarmingScale,
        ReactiveReason::kWithinTolerance, ReactiveReason::kRatio}) {
    EXPECT_EQ(parseReactiveReason(reactiveReasonCode(reason)), reason);
  }
  EXPECT_EQ(parseCoordinationKind("pool"), CoordinationKind::kPool);
  EXPECT_FALSE(parseDecisionRule("hold").has_value());
}

}  // namespace
}  // namespace pso::controller::engine
