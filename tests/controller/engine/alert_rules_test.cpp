// Alert rules: the condition's parser and comparisons, the pending/firing/
// resolved state machine with `for` and hysteresis, and alert requests going
// through the engine's guardrails like any plan.

#include "controller/engine/alert_rules.h"

#include <gtest/gtest.h>

#include <limits>

#include "controller/engine/decision_engine.h"

namespace pso::controller::engine {
namespace {

using Figures = std::vector<std::pair<std::string, std::optional<double>>>;

TEST(AlertCondition, ParsesEveryOperatorAndPrintsItBack) {
  for (const char* text : {"health_score < 95", "demand <= 10.5", "p95_latency_ms > 100",
                           "utilization >= 0.9", "agent_connected == 0", "replica_gap != 0"}) {
    auto parsed = AlertCondition::parse(text);
    ASSERT_TRUE(parsed) << text << ": " << parsed.error().message;
    EXPECT_EQ(parsed->text(), text);
  }
  auto spaced = AlertCondition::parse("  health_score   <   95 ");
  ASSERT_TRUE(spaced);
  EXPECT_EQ(spaced->metric, "health_score");
  EXPECT_EQ(spaced->threshold, 95.0);
}

TEST(AlertCondition, RefusesWhatItCannotEvaluate) {
  for (const char* text : {"", "health_score", "health_score < ", "health_score =< 95",
                           "health_score < 95 extra", "health_score < ninety", "health_score < nan",
                           "health_score < inf", "health score < 95", "a/b > 1"}) {
    auto parsed = AlertCondition::parse(text);
    EXPECT_FALSE(parsed) << "'" << text << "' parsed";
    if (!parsed) {
      EXPECT_NE(parsed.error().message.find(text), std::string::npos);
    }
  }
}

TEST(AlertCondition, ClearsOnlyPastTheHysteresisMargin) {
  const auto below = *AlertCondition::parse("health_score < 95");
  EXPECT_TRUE(below.holds(94.9));
  EXPECT_FALSE(below.holds(95.0));
  EXPECT_FALSE(below.clears(96.0, 2.0));
  EXPECT_TRUE(below.clears(97.0, 2.0));
  EXPECT_TRUE(below.clears(95.0, 0.0));
  const auto above = *AlertCondition::parse("utilization > 0.9");
  EXPECT_FALSE(above.clears(0.85, 0.1));
  EXPECT_TRUE(above.clears(0.8, 0.1));
  const auto equal = *AlertCondition::parse("agent_connected == 0");
  EXPECT_TRUE(equal.clears(1.0, 0.0));
  EXPECT_FALSE(equal.clears(0.0, 0.0));
  // NaN is no figure: it neither holds nor clears.
  const double nan = std::numeric_limits<double>::quiet_NaN();
  EXPECT_FALSE(below.holds(nan));
  EXPECT_FALSE(below.clears(nan, 0.0));
  // An infinite ETA (no breach forecast) clears an ETA rule.
  const auto eta = *AlertCondition::parse("breach_eta_s < 300");
  EXPECT_FALSE(eta.holds(std::numeric_limits<double>::infinity()));
  EXPECT_TRUE(eta.clears(std::numeric_limits<double>::infinity(), 60.0));
}

TEST(AlertRuleState, FiresOnlyAfterTheConditionHeldForItsDuration) {
  AlertRuleState rule({"unhealthy", *AlertCondition::parse("health_score < 95"), 30'000, 0.0});
  auto t = rule.evaluate({{"web", 90.0}}, 0);
  ASSERT_EQ(t.size(), 1u);
  EXPECT_EQ(t[0].status.state, AlertState::kPending);
  EXPECT_TRUE(rule.evaluate({{"web", 91.0}}, 15'000).empty());  // still pending
  t = rule.evaluate({{"web", 92.0}}, 30'000);
  ASSERT_EQ(t.size(), 1u);
  EXPECT_EQ(t[0].from, AlertState::kPending);
  EXPECT_EQ(t[0].status.state, AlertState::kFiring);
  EXPECT_EQ(t[0].status.since_ms, 0);
  EXPECT_EQ(t[0].status.fired_ms, 30'000);
  EXPECT_EQ(t[0].status.value, 92.0);
}

TEST(AlertRuleState, APendingAlertThatStopsHoldingNeverFires) {
  AlertRuleState rule({"unhealthy", *AlertCondition::parse("health_score < 95"), 30'000, 0.0});
  (void)rule.evaluate({{"web", 90.0}}, 0);
  auto t = rule.evaluate({{"web", 99.0}}, 15'000);
  ASSERT_EQ(t.size(), 1u);
  EXPECT_EQ(t[0].status.state, AlertState::kInactive);
  // Holding again starts the duration afresh.
  (void)rule.evaluate({{"web", 90.0}}, 20'000);
  EXPECT_TRUE(rule.evaluate({{"web", 90.0}}, 45'000).empty());
  t = rule.evaluate({{"web", 90.0}}, 50'000);
  ASSERT_EQ(t.size(), 1u);
  EXPECT_EQ(t[0].status.state, AlertState::kFiring);
}

TEST(AlertRuleState, HysteresisKeepsAFiringAlertFromFlapping) {
  AlertRuleState rule({"unhealthy", *AlertCondition::parse("health_score < 95"), 0, 2.0});
  auto t = rule.evaluate({{"web", 94.0}}, 0);
  ASSERT_EQ(t.size(), 1u);
  EXPECT_EQ(t[0].from, AlertState::kInactive);
  EXPECT_EQ(t[0].status.state, AlertState::kFiring);  // for 0: at once
  // Around the threshold, inside the margin: no change either way.
  for (double v : {95.5, 94.5, 96.9, 94.9, 96.0}) {
    EXPECT_TRUE(rule.evaluate({{"web", v}}, 1000).empty()) << v;
  }
  t = rule.evaluate({{"web", 97.0}}, 2000);
  ASSERT_EQ(t.size(), 1u);
  EXPECT_EQ(t[0].status.state, AlertState::kResolved);
  EXPECT_EQ(t[0].status.resolved_ms, 2000);
  // Resolved stays resolved inside the margin; a new breach fires a new episode.
  EXPECT_TRUE(rule.evaluate({{"web", 96.0}}, 3000).empty());
  t = rule.evaluate({{"web", 90.0}}, 4000);
  ASSERT_EQ(t.size(), 1u);
  EXPECT_EQ(t[0].from, AlertState::kResolved);
  EXPECT_EQ(t[0].status.state, AlertState::kFiring);
  EXPECT_EQ(t[0].status.since_ms, 4000);
  EXPECT_EQ(t[0].status.resolved_ms, 0);
}

TEST(AlertRuleState, AnAbsentFigureChangesNothing) {
  AlertRuleState rule({"slow", *AlertCondition::parse("p95_latency_ms > 100"), 0, 0.0});
  (void)rule.evaluate({{"web", 150.0}, {"api", 50.0}}, 0);
  EXPECT_TRUE(rule.evaluate({{"web", std::nullopt}, {"api", std::nullopt}}, 1000).empty());
  EXPECT_EQ(rule.statuses().at("web").state, AlertState::kFiring);
  EXPECT_EQ(rule.statuses().at("api").state, AlertState::kInactive);
  // Subjects are independent.
  auto t = rule.evaluate({{"web", 150.0}, {"api", 120.0}}, 2000);
  ASSERT_EQ(t.size(), 1u);
  EXPECT_EQ(t[0].subject, "api");
}

TEST(AlertRuleState, ARestoredFiringAlertIsNotReported) {
  AlertRuleState rule({"slow", *AlertCondition::parse("p95_latency_ms > 100"), 0, 0.0});
  AlertStatus firing;
  firing.state = AlertState::kFiring;
  firing.since_ms = 100;
  firing.fired_ms = 100;
  rule.restore("web", firing);
  EXPECT_TRUE(rule.evaluate({{"web", 150.0}}, 5000).empty());
  EXPECT_EQ(rule.evaluate({{"web", 50.0}}, 6000).at(0).status.state, AlertState::kResolved);
}

TEST(AlertStateNames, RoundTrip) {
  for (auto state :
       {AlertState::kInactive, AlertState::kPending, AlertState::kFiring, AlertState::kResolved}) {
    EXPECT_EQ(alertStateFromName(alertStateName(state)), state);
  }
  EXPECT_FALSE(alertStateFromName("burning"));
}

// Requests through the engine.

SystemSpec web() {
  SystemSpec s;
  s.name = "web";
  s.capacity_per_replica = 100.0;
  s.target_utilization = 0.5;
  s.min_replicas = 2;
  s.max_replicas = 8;
  return s;
}

SystemDecision decideWith(DecisionEngine& engine, int64_t current, int64_t now_ms,
                          std::vector<AlertRequest> requests) {
  CycleInput input;
  input.now_ms = now_ms;
  SystemObservation obs;
  obs.system = "web";
  obs.demand = 100.0;  // 2 replicas at the target
  obs.current_replicas = current;
  obs.alert_requests = std::move(requests);
  input.systems.push_back(obs);
  return engine.decide(input).systems.at(0);
}

TEST(AlertRequests, AScaleUpRaisesThePlanAndSaysWhy) {
  EngineSettings settings;
  settings.step_s = 15.0;
  DecisionEngine engine(settings);
  engine.upsertSystem(web());
  const SystemDecision d =
      decideWith(engine, 3, 0, {{"slow", "p95_latency_ms > 100", AlertAction::kScaleUp, 2}});
  // Too little history for a forecast: the plan keeps 3, the rule asks for 5.
  EXPECT_EQ(d.recommended_replicas, 3);
  EXPECT_EQ(d.desired_replicas, 5);
  EXPECT_TRUE(d.dispatch);
  ASSERT_EQ(d.facts.alerts.size(), 1u);
  EXPECT_EQ(d.facts.alerts[0].rule, "slow");
  EXPECT_EQ(d.facts.alerts[0].from, 3);
  EXPECT_EQ(d.facts.alerts[0].to, 5);
  EXPECT_NE(d.rationale.find("Alert rule slow (p95_latency_ms > 100) is firing and asks to scale "
                             "up by 2 replicas: 5 replicas instead of"),
            std::string::npos)
      << d.rationale;
}

TEST(AlertRequests, GuardrailsApplyToARequestAsToAnyPlan) {
  EngineSettings settings;
  settings.step_s = 15.0;
  settings.max_step_up = 1;
  DecisionEngine engine(settings);
  engine.upsertSystem(web());
  // Asked for 3 more, limited to one more by the step limit, never past the maximum.
  SystemDecision d =
      decideWith(engine, 3, 0, {{"slow", "p95_latency_ms > 100", AlertAction::kScaleUp, 3}});
  ASSERT_EQ(d.facts.alerts.size(), 1u);
  EXPECT_EQ(d.facts.alerts[0].to, 6);
  EXPECT_EQ(d.desired_replicas, 4);
  ASSERT_EQ(d.facts.guardrails.size(), 1u);
  EXPECT_EQ(d.facts.guardrails[0].kind, GuardrailKind::kStepLimitUp);
  d = decideWith(engine, 8, 15'000, {{"slow", "p95_latency_ms > 100", AlertAction::kScaleUp, 3}});
  EXPECT_EQ(d.desired_replicas, 8);
  EXPECT_TRUE(d.facts.alerts.empty());  // at the maximum the request changes nothing
  // Forecast-only mode records the request's plan without dispatching it.
  engine.setForecastOnly(true);
  d = decideWith(engine, 3, 30'000, {{"slow", "p95_latency_ms > 100", AlertAction::kScaleUp, 1}});
  EXPECT_EQ(d.desired_replicas, 4);
  EXPECT_FALSE(d.dispatch);
}

TEST(AlertRequests, AScaleUpWinsOverAHoldAndAHoldOverAScaleDown) {
  EngineSettings settings;
  settings.step_s = 15.0;
  settings.scale_down_stabilization_s = 0;
  DecisionEngine engine(settings);
  engine.upsertSystem(web());
  SystemDecision d =
      decideWith(engine, 5, 0, {{"quiet", "demand < 10", AlertAction::kScaleDown, 1}});
  EXPECT_EQ(d.desired_replicas, 4);
  ASSERT_EQ(d.facts.alerts.size(), 1u);
  EXPECT_EQ(d.facts.alerts[0].action, AlertAction::kScaleDown);
  // With a hold beside it, the launched count stays (the plan keeps it too,
  // so the winning request changes nothing and is not recorded).
  d = decideWith(engine, 5, 15'000,
                 {{"quiet", "demand < 10", AlertAction::kScaleDown, 1},
                  {"freeze", "replica_gap != 0", AlertAction::kHold, 1}});
  EXPECT_EQ(d.desired_replicas, 5);
  EXPECT_TRUE(d.facts.alerts.empty());
  d = decideWith(engine, 5, 30'000,
                 {{"freeze", "replica_gap != 0", AlertAction::kHold, 1},
                  {"slow", "p95_latency_ms > 100", AlertAction::kScaleUp, 1}});
  EXPECT_EQ(d.desired_replicas, 6);
  ASSERT_EQ(d.facts.alerts.size(), 1u);
  EXPECT_EQ(d.facts.alerts[0].rule, "slow");
  // A scale-down never goes below the minimum.
  d = decideWith(engine, 2, 45'000, {{"quiet", "demand < 10", AlertAction::kScaleDown, 5}});
  EXPECT_EQ(d.desired_replicas, 2);
}

}  // namespace
}  // namespace pso::controller::engine
