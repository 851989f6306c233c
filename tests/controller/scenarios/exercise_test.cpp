// The tabletop exercise model on hand-built cycles: the constraints step
// names pools, dependencies and guardrails without their numbers, the debrief
// gives them, the score before and after the outcome is recorded, and the
// refusal of a quiet cycle. (tests/controller/cli/exercise_test.cpp checks
// recorded replays through psoctl.)

#include <gtest/gtest.h>

#include <algorithm>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "controller/scenarios/exercise.h"
#include "controller/scenarios/lesson_text.h"
#include "controller/scenarios/scenario.h"
#include "controller/scenarios/scenario_text.h"

namespace pso::controller::scenarios {
namespace {

using nlohmann::json;

constexpr int64_t kExerciseT0 = 1700000000000;
constexpr double kExerciseStepS = 15.0;
constexpr int64_t kExerciseStepMs = 15000;

engine::SystemSpec systemSpec(const std::string& name, std::vector<std::string> depends_on = {}) {
  engine::SystemSpec s;
  s.name = name;
  s.capacity_per_replica = 120;
  s.target_utilization = 0.7;
  s.min_replicas = 1;
  s.max_replicas = 20;
  s.warmup_s = 30;
  s.depends_on = std::move(depends_on);
  return s;
}

engine::SystemDecision decision(const std::string& name, int64_t current, int64_t desired,
                                double demand) {
  engine::SystemDecision d;
  d.system = name;
  d.current_replicas = current;
  d.ready_replicas = current;
  d.demand = demand;
  d.forecast.point = {demand, demand * 1.1, demand * 1.2};
  d.forecast.lo = {demand * 0.9, demand, demand * 1.05};
  d.forecast.hi = {demand * 1.1, demand * 1.25, demand * 1.4};
  d.forecast.coverage = 0.9;
  d.forecast.model = "holt";
  d.forecast.observations = 240;
  d.lead_steps = 2;
  d.planned_demand = demand * 1.4;
  d.capacity_per_replica = 120;
  d.target_utilization = 0.7;
  d.rule = "predictive-upper-quantile";
  d.recommended_replicas = desired;
  d.desired_replicas = desired;
  d.reactive_replicas = current;
  d.rationale = "test decision";
  d.dispatch = desired != current;
  d.facts.rule = engine::DecisionRule::kPredictive;
  d.facts.planning_quantile = 0.8;
  d.facts.planned_steps = 3;
  d.facts.provenance = {"holt", "holt", "holt", false};
  d.facts.observations = 240;
  d.facts.min_observations = 5;
  d.facts.reactive.reason = engine::ReactiveReason::kWithinTolerance;
  d.facts.reactive.raw_replicas = d.facts.reactive.stabilized_replicas = current;
  d.facts.reactive.scale_up_limit = 2 * current;
  d.facts.reactive.replicas = current;
  return d;
}

std::vector<store::Sample> exerciseHistory(double value) {
  std::vector<store::Sample> out;
  for (int64_t i = 20; i > 0; --i) out.push_back({kExerciseT0 - i * kExerciseStepMs, value});
  return out;
}

// api (in pool site-a, called by web) wants 8 replicas, the pool cuts it to 7
// and the step limit to 6; web and batch keep their counts.
CycleContext coordinatedCycle() {
  CycleContext ctx;
  ctx.cycle_id = "c-9";
  ctx.ts_ms = kExerciseT0;
  ctx.step_s = kExerciseStepS;
  ctx.decisions.now_ms = kExerciseT0;
  engine::SystemDecision api = decision("api", 4, 6, 400);
  api.recommended_replicas = 7;
  api.facts.pools = {"site-a"};
  engine::CoordinationEffect pool;
  pool.kind = engine::CoordinationKind::kPool;
  pool.source = "site-a";
  pool.from = 8;
  pool.to = 7;
  pool.pool_capacity = 10;
  pool.pool_wanted = 11;
  api.facts.coordination = {pool};
  api.facts.guardrails = {{engine::GuardrailKind::kStepLimitUp, 7, 6}};
  api.facts.plan_replicas = 8;
  engine::SystemDecision batch = decision("batch", 3, 3, 150);
  batch.facts.pools = {"site-a"};
  ctx.decisions.systems = {decision("web", 5, 5, 300), api, batch};
  ctx.specs["web"] = systemSpec("web", {"api"});
  ctx.specs["api"] = systemSpec("api");
  ctx.specs["batch"] = systemSpec("batch");
  for (const auto& name : {"web", "api", "batch"}) ctx.history[name] = exerciseHistory(300);
  return ctx;
}

bool has(const std::vector<std::string>& lines, const std::string& line) {
  return std::find(lines.begin(), lines.end(), line) != lines.end();
}

TEST(Exercise, ConstraintsNamePoolsDependenciesAndGuardrailsAndTheDebriefGivesTheNumbers) {
  const json doc = buildScenario(coordinatedCycle());
  auto built = buildExercise(doc);
  ASSERT_TRUE(built.ok()) << built.error().message;
  const Exercise& ex = *built;
  EXPECT_EQ(ex.system, "api");
  ASSERT_EQ(ex.steps.size(), 4u);
  const auto& constraints = ex.steps[3].lines;
  EXPECT_TRUE(has(constraints, "web depends on api.")) << json(constraints).dump(2);
  EXPECT_TRUE(has(constraints, "api shares the replica pool site-a with other systems."));
  EXPECT_TRUE(has(constraints, "Guardrails in force this cycle: the step limit."));
  EXPECT_TRUE(has(constraints,
                  "Also in this cycle: web, demand now 300, replicas (current / "
                  "ready) 5 / 5"));
  // Nothing before the debrief tells the engine's count.
  for (const auto& step : ex.steps) {
    for (const auto& line : step.lines) {
      EXPECT_EQ(line.find("changes 7 to 6"), std::string::npos) << line;
      EXPECT_EQ(line.find("cuts it"), std::string::npos) << line;
    }
  }
  EXPECT_EQ(ex.prompt, "Your decision for api: how many replicas now? (now 4; bounds 1 to 20)");

  const Lesson lesson = buildLesson(doc);
  EXPECT_EQ(ex.debrief.engine_replicas, 6);
  EXPECT_EQ(ex.debrief.engine_reason, engineReasonText(*lesson.system("api")));
  EXPECT_NE(
      ex.debrief.engine_reason.find("pool site-a (10 replicas, 11 wanted) cuts it from 8 to 7"),
      std::string::npos)
      << ex.debrief.engine_reason;
  EXPECT_NE(ex.debrief.engine_reason.find("the step limit changes 7 to 6"), std::string::npos);
  EXPECT_TRUE(has(ex.debrief.lines, kNoOutcomeYet));
  EXPECT_FALSE(ex.needed_at_target.has_value());

  const ExerciseScore before = scoreDecision(ex, 8);
  EXPECT_FALSE(before.serves_at_target.has_value());
  EXPECT_EQ(before.vs_engine, 2);
  EXPECT_TRUE(has(before.lines, "2 replicas more than the engine's 6."));
}

TEST(Exercise, TheScoreComparesTheCountWithTheObservedPeakAtTheTarget) {
  json doc = buildScenario(coordinatedCycle());
  // 500 at 120 per replica and 70% needs ceil(500 / 84) = 6 replicas.
  ObservedOutcome observed;
  for (const auto& name : {"web", "api", "batch"}) {
    for (int64_t t = kExerciseT0 + 5000; t <= kExerciseT0 + 3 * kExerciseStepMs; t += 5000) {
      observed.demand[name].push_back({t, std::string(name) == "api" ? 500.0 : 100.0});
      observed.replicas[name].push_back({t, 6});
    }
  }
  fillOutcome(doc, observed);
  auto built = buildExercise(doc);
  ASSERT_TRUE(built.ok()) << built.error().message;
  const Exercise& ex = *built;
  ASSERT_TRUE(ex.needed_at_target.has_value());
  EXPECT_EQ(*ex.needed_at_target, 6);
  EXPECT_TRUE(has(ex.debrief.lines, "Max demand: 500"));
  EXPECT_TRUE(has(ex.debrief.lines,
                  "At the 70% target, the highest demand (500) needed 6 replicas (500 / (120 x "
                  "70%), rounded up)."));

  const ExerciseScore right = scoreDecision(ex, 6);
  EXPECT_EQ(right.serves_at_target, true);
  EXPECT_EQ(right.serves_peak, true);
  EXPECT_EQ(right.engine_serves_at_target, true);
  EXPECT_EQ(right.hpa_serves_at_target, false);  // the HPA rule keeps 4
  EXPECT_TRUE(has(right.lines, "The same count as the engine."));
  EXPECT_TRUE(has(right.lines, "Right-sized: the fewest replicas that served the peak."));

  const ExerciseScore under = scoreDecision(ex, 5);
  EXPECT_EQ(under.serves_at_target, false);
  EXPECT_EQ(under.serves_peak, true);  // 5 x 120 = 600 >= 500
  EXPECT_TRUE(has(under.lines, "Under-provisioned by 1 replica."));
  // One fewer replica over the observed samples at 15 s each.
  const double hours =
      -1.0 * static_cast<double>(ex.debrief.outcome->samples) * kExerciseStepS / 3600.0;
  EXPECT_DOUBLE_EQ(under.replica_hours_vs_engine, hours);

  EXPECT_FALSE(checkAnswer(ex, 0).ok());
  EXPECT_FALSE(checkAnswer(ex, 21).ok());
  EXPECT_TRUE(checkAnswer(ex, 20).ok());
  const json j = exerciseJson(ex, under);
  EXPECT_EQ(j["scoring"]["needed_at_target"], 6);
  EXPECT_EQ(j["score"]["serves_at_target"], false);
}

TEST(Exercise, AQuietCycleHasNone) {
  CycleContext ctx;
  ctx.cycle_id = "c-quiet";
  ctx.ts_ms = kExerciseT0;
  ctx.step_s = kExerciseStepS;
  ctx.decisions.now_ms = kExerciseT0;
  ctx.decisions.systems = {decision("web", 5, 5, 300)};
  ctx.specs["web"] = systemSpec("web");
  ctx.history["web"] = exerciseHistory(300);
  const json doc = buildScenario(ctx);
  ASSERT_TRUE(doc.value("events", json::array()).empty());
  const Lesson lesson = buildLesson(doc);
  EXPECT_FALSE(isNotable(lesson));
  auto built = buildExercise(lesson);
  ASSERT_FALSE(built.ok());
  EXPECT_EQ(built.error().code, "not_notable");
  EXPECT_EQ(built.error().message.find('\n'), std::string::npos);
  EXPECT_NE(built.error().message.find("s-c-quiet is a quiet cycle"), std::string::npos)
      << built.error().message;
}

}  // namespace
}  // namespace pso::controller::scenarios
