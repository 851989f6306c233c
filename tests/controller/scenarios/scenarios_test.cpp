#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <string>

#include "controller/scenarios/business_case.h"
#include "controller/scenarios/exporter.h"
#include "controller/scenarios/gift_exporter.h"
#include "controller/scenarios/html_exporter.h"
#include "controller/scenarios/markdown_exporter.h"
#include "controller/scenarios/scenario.h"
#include "controller/store/store.h"

namespace pso::controller::scenarios {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

constexpr int64_t kT0 = 1700000000000;  // cycle time, epoch ms
constexpr double kStepS = 15.0;
constexpr int64_t kStepMs = 15000;

fs::path makeTempDir(const std::string& tag) {
  static std::atomic<int> counter{0};
  fs::path dir =
      fs::temp_directory_path() / ("pso-scenarios-test-" + tag + "-" + std::to_string(::getpid()) +
                                   "-" + std::to_string(counter++));
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir;
}

std::string readFile(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

engine::SystemSpec spec(const std::string& name, std::vector<std::string> depends_on = {}) {
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

// web sees demand 250 on 3 replicas (360 capacity); the upper forecast rises
// to 420 within the 3-step planning horizon, past the ready capacity, so the
// engine scales to ceil(420 / 84) = 5 while the HPA rule keeps 3.
engine::SystemDecision scalingDecision(const std::string& name = "web") {
  engine::SystemDecision d;
  d.system = name;
  d.current_replicas = 3;
  d.ready_replicas = 3;
  d.demand = 250;
  d.forecast.point = {280, 320, 350, 360, 360, 350};
  d.forecast.lo = {260, 290, 310, 315, 310, 300};
  d.forecast.hi = {300, 370, 420, 410, 405, 400};
  d.forecast.coverage = 0.9;
  d.forecast.model = "holt";
  d.forecast.backtest_mae = 12.5;
  d.forecast.observations = 240;
  d.lead_steps = 2;
  d.planned_demand = 420;
  d.capacity_per_replica = 120;
  d.target_utilization = 0.7;
  d.rule = "predictive-upper-quantile";
  d.recommended_replicas = 5;
  d.desired_replicas = 5;
  d.candidates = {{3, 420.0 / 360, 0.6, 0.75, "current, reactive rule"},
                  {4, 420.0 / 480, 0.1, 1.0, "one fewer"},
                  {5, 420.0 / 600, 0.01, 1.25, "chosen, predictive plan"},
                  {6, 420.0 / 720, 0.0, 1.5, "one more"}};
  engine::Bottleneck b;
  b.eta_ms = kT0 + 2 * kStepMs;
  b.steps_ahead = 2;
  b.predicted_demand = 370;
  b.capacity = 360;
  b.probability = 0.35;
  d.bottleneck = b;
  d.reactive_replicas = 3;
  d.reactive_rationale = "HPA: 250 / (3 x 84) = 0.99 of target, within tolerance: keep 3.";
  d.rationale =
      "Demand 250; upper 90% forecast peaks at 420 within the 30 s warm-up plus one step; "
      "scale from 3 to 5 replicas.";
  d.dispatch = true;
  d.facts.rule = engine::DecisionRule::kPredictive;
  d.facts.planning_quantile = 0.95;
  d.facts.planned_steps = 3;
  d.facts.provenance = {"holt", "holt", "holt", false};
  d.facts.observations = 240;
  d.facts.min_observations = 5;
  d.facts.reactive.reason = engine::ReactiveReason::kWithinTolerance;
  d.facts.reactive.raw_replicas = d.facts.reactive.stabilized_replicas = 3;
  d.facts.reactive.scale_up_limit = 6;
  d.facts.reactive.stabilization_s = 300;
  d.facts.reactive.replicas = 3;
  return d;
}

engine::SystemDecision steadyDecision(const std::string& name, int64_t replicas) {
  engine::SystemDecision d;
  d.system = name;
  d.current_replicas = replicas;
  d.ready_replicas = replicas;
  d.demand = 100;
  d.forecast.point = {100, 100, 100};
  d.forecast.lo = {90, 90, 90};
  d.forecast.hi = {110, 110, 110};
  d.forecast.model = "holt";
  d.lead_steps = 2;
  d.planned_demand = 110;
  d.capacity_per_replica = 120;
  d.target_utilization = 0.7;
  d.rule = "predictive-upper-quantile";
  d.recommended_replicas = replicas;
  d.desired_replicas = replicas;
  d.reactive_replicas = replicas;
  d.rationale = "Demand 100; keep " + std::to_string(replicas) + " replicas.";
  d.facts.rule = engine::DecisionRule::kPredictive;
  d.facts.planning_quantile = 0.95;
  d.facts.planned_steps = 3;
  d.facts.provenance = {"holt", "holt", "holt", false};
  d.facts.reactive.reason = engine::ReactiveReason::kWithinTolerance;
  d.facts.reactive.raw_replicas = d.facts.reactive.stabilized_replicas = replicas;
  d.facts.reactive.scale_up_limit = std::max<int64_t>(2 * replicas, 4);
  d.facts.reactive.replicas = replicas;
  return d;
}

store::DirectiveRecord directiveFor(const std::string& id, const std::string& system,
                                    int64_t replicas, const std::string& source,
                                    const std::string& status) {
  store::DirectiveRecord d;
  d.id = id;
  d.cycle_id = "c-7";
  d.system = system;
  d.agent_id = "edge-01";
  d.replicas = replicas;
  d.source = source;
  d.status = status;
  d.reason = "test";
  d.created_ms = kT0;
  return d;
}

std::vector<store::Sample> history(std::size_t n, double value) {
  std::vector<store::Sample> out;
  for (std::size_t i = 0; i < n; ++i) {
    out.push_back({kT0 - static_cast<int64_t>(n - i) * kStepMs, value + static_cast<double>(i)});
  }
  return out;
}

CycleContext scalingContext() {
  CycleContext ctx;
  ctx.cycle_id = "c-7";
  ctx.ts_ms = kT0;
  ctx.step_s = kStepS;
  ctx.decisions.now_ms = kT0;
  ctx.decisions.systems = {scalingDecision()};
  ctx.specs["web"] = spec("web");
  ctx.history["web"] = history(40, 200);
  ctx.directives = {directiveFor("d-1", "web", 5, "engine", "sent")};
  return ctx;
}

bool hasEvent(const json& doc, const std::string& event) {
  const auto& events = doc.at("events");
  return std::find(events.begin(), events.end(), event) != events.end();
}

const json* questionOfType(const json& doc, const std::string& type, std::size_t nth = 0) {
  for (const auto& q : doc.at("questions")) {
    if (q.at("type") == type && nth-- == 0) return &q;
  }
  return nullptr;
}

// Demand samples every 5 s over the horizon following the cycle.
std::vector<store::Sample> observedDemand(double value, int64_t until_ms) {
  std::vector<store::Sample> out;
  for (int64_t t = kT0 + 5000; t <= until_ms; t += 5000) out.push_back({t, value});
  return out;
}

// Demand every 5 s that follows the point forecast of scalingDecision().
std::vector<store::Sample> demandAsForecast() {
  const auto point = scalingDecision().forecast.point;
  std::vector<store::Sample> out;
  for (int64_t t = kT0 + 5000; t <= kT0 + 6 * kStepMs; t += 5000) {
    const auto step = static_cast<std::size_t>((t - kT0 + kStepMs - 1) / kStepMs);
    out.push_back({t, point[step - 1]});
  }
  return out;
}

TEST(BuildScenario, HasEveryKeyAndExplainsTheScaleUp) {
  const json doc = buildScenario(scalingContext());
  for (const char* key : {"id", "schema_version", "cycle_id", "time", "systems", "situation",
                          "forecasts", "candidates", "directives", "rationale", "reactive_baseline",
                          "events", "level", "outcome", "questions"}) {
    EXPECT_TRUE(doc.contains(key)) << key;
  }
  EXPECT_EQ(doc["id"], "s-c-7");
  EXPECT_EQ(doc["schema_version"], kScenarioSchemaVersion);
  EXPECT_EQ(doc["time"], "2023-11-14T22:13:20.000Z");
  EXPECT_EQ(doc["systems"], json::array({"web"}));
  EXPECT_TRUE(doc["outcome"].is_null());
  EXPECT_FALSE(doc["quiet"].get<bool>());

  const json& web = doc["situation"]["web"];
  EXPECT_EQ(web["demand"], 250.0);
  EXPECT_EQ(web["replicas"]["current"], 3);
  EXPECT_EQ(web["replicas"]["ready"], 3);
  EXPECT_NEAR(web["utilization"].get<double>(), 250.0 / 360.0, 1e-9);
  ASSERT_EQ(web["history"].size(), 40u);
  EXPECT_EQ(web["history"][0][0], kT0 - 40 * kStepMs);

  const json& f = doc["forecasts"]["web"];
  EXPECT_EQ(f["hi"].size(), 6u);
  EXPECT_EQ(f["lead_steps"], 2);
  EXPECT_EQ(f["planned_demand"], 420.0);
  EXPECT_EQ(f["bottleneck"]["steps_ahead"], 2);
  EXPECT_EQ(doc["candidates"]["web"].size(), 4u);
  EXPECT_EQ(doc["directives"][0]["id"], "d-1");
  EXPECT_EQ(doc["directives"][0]["source"], "engine");
  EXPECT_EQ(doc["rationale"]["web"]["desired_replicas"], 5);
  EXPECT_NE(doc["rationale"]["web"]["text"].get<std::string>().find("scale from 3 to 5"),
            std::string::npos);
  const json& reactive = doc["reactive_baseline"]["web"];
  EXPECT_EQ(reactive["replicas"], 3);
  EXPECT_TRUE(reactive["differs"].get<bool>());
  EXPECT_NE(reactive["why"].get<std::string>().find("420"), std::string::npos);

  EXPECT_EQ(doc["events"], json::array({"scaling_executed"}));
  EXPECT_EQ(doc["level"], kLevelAdvancedOptimization);
}

TEST(BuildScenario, QuestionAnswersAreTheDecisionsNumbers) {
  const auto ctx = scalingContext();
  const json doc = buildScenario(ctx);
  const auto& d = ctx.decisions.systems[0];

  const json* replicas = questionOfType(doc, "numeric", 0);
  ASSERT_NE(replicas, nullptr);
  EXPECT_EQ(replicas->at("answer").get<int64_t>(), d.recommended_replicas);
  EXPECT_EQ(replicas->at("tolerance").get<double>(), 0.0);
  EXPECT_NE(replicas->at("prompt").get<std::string>().find("420"), std::string::npos);
  EXPECT_FALSE(replicas->at("feedback").get<std::string>().empty());

  const json* demand = questionOfType(doc, "numeric", 1);
  ASSERT_NE(demand, nullptr);
  // Planning horizon = 2 warm-up steps + 1: the peak upper bound over hi[0..2].
  EXPECT_DOUBLE_EQ(demand->at("answer").get<double>(), 420.0);
  EXPECT_DOUBLE_EQ(demand->at("tolerance").get<double>(), 42.0);

  const json* action = questionOfType(doc, "multiple_choice");
  ASSERT_NE(action, nullptr);
  const auto& choices = action->at("choices");
  ASSERT_GE(choices.size(), 3u);
  int correct = 0;
  bool reactive_offered = false;
  std::set<std::string> texts;
  for (const auto& c : choices) {
    texts.insert(c.at("text").get<std::string>());
    if (c.at("correct").get<bool>()) {
      ++correct;
      EXPECT_EQ(c.at("text"), "Scale from 3 to 5 replicas");
    }
    if (c.at("text") == "Keep 3 replicas") reactive_offered = true;
    EXPECT_FALSE(c.at("feedback").get<std::string>().empty());
  }
  EXPECT_EQ(correct, 1);
  EXPECT_EQ(texts.size(), choices.size());
  EXPECT_TRUE(reactive_offered);
  EXPECT_EQ(action->at("answer"), "Scale from 3 to 5 replicas");

  std::set<std::string> ids;
  for (const auto& q : doc["questions"]) ids.insert(q.at("id").get<std::string>());
  EXPECT_EQ(ids.size(), doc["questions"].size());
}

TEST(BuildScenario, QuietCycleIsCompact) {
  CycleContext ctx;
  ctx.cycle_id = "c-8";
  ctx.ts_ms = kT0;
  ctx.decisions.systems = {steadyDecision("web", 2)};
  ctx.specs["web"] = spec("web");
  ctx.history["web"] = history(100, 90);
  const json doc = buildScenario(ctx);
  for (const char* key : {"id", "schema_version", "cycle_id", "time", "systems", "situation",
                          "forecasts", "candidates", "directives", "rationale", "reactive_baseline",
                          "events", "level", "outcome", "questions"}) {
    EXPECT_TRUE(doc.contains(key)) << key;
  }
  EXPECT_TRUE(doc["quiet"].get<bool>());
  EXPECT_TRUE(doc["events"].empty());
  EXPECT_EQ(doc["level"], kLevelFoundation);
  EXPECT_LE(doc["questions"].size(), 1u);
  const json& h = doc["situation"]["web"]["history"];
  EXPECT_LT(h.size(), 100u);
  // The newest points are the ones kept.
  EXPECT_EQ(h.back()[0], kT0 - kStepMs);
}

TEST(BuildScenario, ClassifiesLevelsAndEvents) {
  // Three systems acting: enterprise coordination.
  CycleContext many;
  many.cycle_id = "c-9";
  many.ts_ms = kT0;
  for (const char* name : {"web", "api", "db"}) {
    many.decisions.systems.push_back(scalingDecision(name));
    many.specs[name] = spec(name);
  }
  EXPECT_EQ(buildScenario(many)["level"], kLevelEnterpriseCoordination);

  // api acts and web depends on it: system integration.
  CycleContext deps;
  deps.cycle_id = "c-10";
  deps.ts_ms = kT0;
  deps.decisions.systems = {steadyDecision("web", 2), scalingDecision("api")};
  deps.specs["web"] = spec("web", {"api"});
  deps.specs["api"] = spec("api");
  json doc = buildScenario(deps);
  EXPECT_EQ(doc["level"], kLevelSystemIntegration);
  // Without directive records, a dispatched change still counts as executed.
  EXPECT_TRUE(hasEvent(doc, kEventScalingExecuted));
  EXPECT_FALSE(hasEvent(doc, kEventWorkflowEnhanced));

  // An operator directive and a note: workflow enhanced; forecast-only engine
  // decisions that were not dispatched are not "executed".
  CycleContext op;
  op.cycle_id = "c-11";
  op.ts_ms = kT0;
  op.mode = "forecast-only";
  auto held = scalingDecision("web");
  held.dispatch = false;
  op.decisions.systems = {held};
  op.specs["web"] = spec("web");
  op.directives = {directiveFor("d-e", "web", 5, "engine", "not_dispatched")};
  doc = buildScenario(op);
  EXPECT_FALSE(hasEvent(doc, kEventScalingExecuted));
  EXPECT_FALSE(hasEvent(doc, kEventWorkflowEnhanced));
  op.directives.push_back(directiveFor("d-o", "web", 6, "operator", "sent"));
  op.workflow_notes = {"operator hold on web: 6 replicas until 12:00:00"};
  doc = buildScenario(op);
  EXPECT_TRUE(hasEvent(doc, kEventScalingExecuted));
  EXPECT_TRUE(hasEvent(doc, kEventWorkflowEnhanced));
  EXPECT_EQ(doc["workflow_notes"].size(), 1u);

  // A pool guardrail changed the allocation: coordination optimised.
  CycleContext pool;
  pool.cycle_id = "c-12";
  pool.ts_ms = kT0;
  auto capped = scalingDecision("web");
  capped.desired_replicas = 4;
  capped.guardrails = {"Pool site-a: 60 of 64 replicas in use, web limited to 4."};
  engine::CoordinationEffect cut;
  cut.kind = engine::CoordinationKind::kPool;
  cut.source = "site-a";
  cut.from = 5;
  cut.to = 4;
  cut.pool_capacity = 64;
  cut.pool_wanted = 65;
  capped.facts.coordination = {cut};
  capped.facts.pools = {"site-a"};
  pool.decisions.systems = {capped};
  pool.specs["web"] = spec("web");
  doc = buildScenario(pool);
  EXPECT_TRUE(hasEvent(doc, kEventCoordinationOptimized));
  EXPECT_EQ(doc["level"], kLevelEnterpriseCoordination);
  EXPECT_EQ(doc["rationale"]["web"]["facts"]["coordination"][0]["kind"], "pool");
  EXPECT_FALSE(hasEvent(buildScenario(scalingContext()), kEventCoordinationOptimized));

  // Words are not facts: a system named "carpool" whose sentences talk of
  // pools and dependencies coordinates nothing.
  CycleContext words;
  words.cycle_id = "c-13";
  words.ts_ms = kT0;
  auto carpool = scalingDecision("carpool");
  carpool.rule = "predictive-upper-quantile (pool, depends)";
  carpool.guardrails = {"Step limit: carpool depends on the pool of drivers."};
  carpool.rationale = "carpool: the pool is forecast to depend on a prediction.";
  words.decisions.systems = {carpool};
  words.specs["carpool"] = spec("carpool");
  doc = buildScenario(words);
  EXPECT_FALSE(hasEvent(doc, kEventCoordinationOptimized));
  EXPECT_EQ(doc["level"], kLevelAdvancedOptimization);

  // Never set by the builder.
  EXPECT_FALSE(hasEvent(buildScenario(scalingContext()), kEventBottleneckPrevented));
}

// The lesson names the rule that set the count from its facts: the floor of
// the demand observed now over the forecast's plan, and the tolerance that
// kept the count.
TEST(BuildScenario, LessonSaysWhenTheFloorOrTheToleranceDecided) {
  CycleContext floor_ctx = scalingContext();
  engine::SystemDecision& f = floor_ctx.decisions.systems.at(0);
  // 700 observed; the forecast planned 5 (420); fewer than
  // ceil(700 / (84 x 1.1)) = 8 would run it above the HPA rule's tolerance.
  f.demand = 700;
  f.recommended_replicas = f.desired_replicas = 8;
  f.rule = "observed-demand-floor";
  f.facts.rule = engine::DecisionRule::kObservedDemandFloor;
  f.facts.plan_replicas = 5;
  f.facts.floor_replicas = 8;
  floor_ctx.directives = {directiveFor("d-1", "web", 8, "engine", "sent")};
  const std::string floor_lesson = renderMarkdownLesson(buildScenario(floor_ctx));
  EXPECT_NE(floor_lesson.find("raises its forecast's plan of 5 replicas to what the demand "
                              "observed now (700) needs"),
            std::string::npos)
      << floor_lesson;

  CycleContext kept_ctx = scalingContext();
  engine::SystemDecision& k = kept_ctx.decisions.systems.at(0);
  // 5 replicas serve 420 at the target; the planned 430 is 2% above it.
  k.current_replicas = k.ready_replicas = 5;
  k.planned_demand = 430;
  k.forecast.hi = {300, 380, 430, 410, 405, 400};
  k.recommended_replicas = k.desired_replicas = 5;
  k.dispatch = false;
  k.rule = "within-tolerance";
  k.facts.rule = engine::DecisionRule::kPredictiveWithinTolerance;
  k.facts.plan_replicas = 6;
  k.facts.reactive.tolerance = 0.1;
  kept_ctx.directives.clear();
  const json kept = buildScenario(kept_ctx);
  const std::string kept_lesson = renderMarkdownLesson(kept);
  EXPECT_NE(kept_lesson.find("keeps the current count because the planned demand of 430 is "
                             "within the HPA rule's tolerance (10%)"),
            std::string::npos)
      << kept_lesson;
  // No question asks how many replicas the planned demand needs: the count
  // kept is not that number.
  for (const auto& q : kept.at("questions")) EXPECT_NE(q.at("topic"), "replicas_needed");
  // The floor's lesson does not ask it either: 8 is not what 700 needs at
  // the target (ceil(700 / 84) = 9).
  const json floor_doc = buildScenario(floor_ctx);
  for (const auto& q : floor_doc.at("questions")) EXPECT_NE(q.at("topic"), "replicas_needed");
}

TEST(ToRecord, ExtractsTheIndexes) {
  json doc = buildScenario(scalingContext());
  auto record = toRecord(doc);
  EXPECT_EQ(record.id, "s-c-7");
  EXPECT_EQ(record.cycle_id, "c-7");
  EXPECT_EQ(record.ts_ms, kT0);
  EXPECT_EQ(record.level, kLevelAdvancedOptimization);
  EXPECT_EQ(record.events, (std::vector<std::string>{"scaling_executed"}));
  EXPECT_EQ(record.systems, (std::vector<std::string>{"web"}));
  EXPECT_FALSE(record.outcome_filled);
  EXPECT_EQ(json::parse(record.json), doc);
}

TEST(FillOutcome, WrongForecastIsMarkedWrongAndNothingWasPrevented) {
  json doc = buildScenario(scalingContext());
  ObservedOutcome observed;
  // Demand far above the upper bound: 700 against hi <= 420 and 600 capacity.
  observed.demand["web"] = observedDemand(700, kT0 + 6 * kStepMs);
  observed.replicas["web"] = {{kT0 + 1000, 5}};
  auto d = directiveFor("d-1", "web", 5, "engine", "applied");
  d.result_replicas = 5;
  observed.directives = {d};
  fillOutcome(doc, observed);

  const json& outcome = doc["outcome"];
  ASSERT_TRUE(outcome.is_object());
  EXPECT_TRUE(outcome["filled"].get<bool>());
  const json& web = outcome["systems"]["web"];
  EXPECT_FALSE(web["forecast_held"].get<bool>());
  EXPECT_EQ(web["inside_interval"], 0.0);
  EXPECT_TRUE(web["overload"].get<bool>());
  EXPECT_FALSE(web["bottleneck_avoided"].get<bool>());
  EXPECT_GT(web["forecast_mae"].get<double>(), 300.0);
  EXPECT_EQ(web["verdict"].get<std::string>().rfind("forecast too low", 0), 0u) << web["verdict"];
  EXPECT_NE(outcome["verdict"].get<std::string>().find("forecast too low"), std::string::npos);
  EXPECT_FALSE(outcome["went_wrong"].empty());
  EXPECT_FALSE(hasEvent(doc, kEventBottleneckPrevented));
  EXPECT_TRUE(toRecord(doc).outcome_filled);
}

TEST(FillOutcome, BottleneckPreventedOnlyWithEvidence) {
  ObservedOutcome good;
  // Demand follows the forecast: under the 3 x 120 = 360 ready during the
  // warm-up, under 5 x 120 = 600 after it.
  good.demand["web"] = demandAsForecast();
  good.replicas["web"] = {{kT0 + 1000, 5}};
  auto applied = directiveFor("d-1", "web", 5, "engine", "applied");
  applied.result_replicas = 5;
  good.directives = {applied};

  json doc = buildScenario(scalingContext());
  fillOutcome(doc, good);
  EXPECT_TRUE(doc["outcome"]["systems"]["web"]["forecast_held"].get<bool>());
  EXPECT_FALSE(doc["outcome"]["systems"]["web"]["overload"].get<bool>());
  EXPECT_TRUE(doc["outcome"]["systems"]["web"]["bottleneck_avoided"].get<bool>());
  EXPECT_EQ(
      doc["outcome"]["systems"]["web"]["verdict"].get<std::string>().rfind("forecast held", 0), 0u);
  EXPECT_TRUE(hasEvent(doc, kEventBottleneckPrevented));
  // Filling again does not duplicate the event.
  fillOutcome(doc, good);
  EXPECT_EQ(std::count(doc["events"].begin(), doc["events"].end(), kEventBottleneckPrevented), 1);
  EXPECT_EQ(toRecord(doc).events,
            (std::vector<std::string>{"scaling_executed", "bottleneck_prevented"}));

  // The scale-up was refused: no evidence.
  ObservedOutcome refused = good;
  refused.directives[0].status = "refused";
  refused.directives[0].result_replicas = 3;
  doc = buildScenario(scalingContext());
  fillOutcome(doc, refused);
  EXPECT_FALSE(hasEvent(doc, kEventBottleneckPrevented));

  // No demand observed: nothing can be claimed.
  ObservedOutcome blind = good;
  blind.demand.clear();
  doc = buildScenario(scalingContext());
  fillOutcome(doc, blind);
  EXPECT_FALSE(hasEvent(doc, kEventBottleneckPrevented));
  EXPECT_TRUE(doc["outcome"]["systems"]["web"]["forecast_held"].is_null());

  // No bottleneck was predicted: nothing was prevented.
  auto ctx = scalingContext();
  ctx.decisions.systems[0].bottleneck.reset();
  doc = buildScenario(ctx);
  fillOutcome(doc, good);
  EXPECT_FALSE(hasEvent(doc, kEventBottleneckPrevented));
  EXPECT_TRUE(doc["outcome"]["systems"]["web"]["bottleneck_avoided"].is_null());
}

TEST(FillOutcome, NewReplicasServeOnlyAfterTheirWarmUp) {
  // Scaled to 5 at t0 + 1 s, but the 30 s warm-up means 3 replicas (360) are
  // all that serve at t0 + 10 s, when demand is 400.
  json doc = buildScenario(scalingContext());
  ObservedOutcome observed;
  observed.demand["web"] = {{kT0 + 10000, 400}};
  observed.replicas["web"] = {{kT0 + 1000, 5}};
  auto applied = directiveFor("d-1", "web", 5, "engine", "applied");
  applied.result_replicas = 5;
  observed.directives = {applied};
  fillOutcome(doc, observed);
  EXPECT_TRUE(doc["outcome"]["systems"]["web"]["overload"].get<bool>());
  EXPECT_FALSE(hasEvent(doc, kEventBottleneckPrevented));

  // The same demand after the warm-up is served.
  doc = buildScenario(scalingContext());
  observed.demand["web"] = {{kT0 + 40000, 400}};
  fillOutcome(doc, observed);
  EXPECT_FALSE(doc["outcome"]["systems"]["web"]["overload"].get<bool>());
  EXPECT_TRUE(hasEvent(doc, kEventBottleneckPrevented));
}

class ExportTest : public ::testing::Test {
 protected:
  void SetUp() override { dir_ = makeTempDir("export"); }
  void TearDown() override { fs::remove_all(dir_); }

  // Scenarios built, stored in a real store and read back, as the CLI does.
  std::vector<store::ScenarioRecord> storedScenarios() {
    auto opened = store::Store::open((dir_ / "controller.db").string());
    EXPECT_TRUE(opened.ok());
    if (!opened.ok()) return {};
    auto& db = **opened;

    json active = buildScenario(scalingContext());
    ObservedOutcome observed;
    observed.demand["web"] = demandAsForecast();
    observed.replicas["web"] = {{kT0 + 1000, 5}};
    auto applied = directiveFor("d-1", "web", 5, "engine", "applied");
    applied.result_replicas = 5;
    observed.directives = {applied};
    fillOutcome(active, observed);
    EXPECT_TRUE(db.insertScenario(toRecord(active)).ok());

    CycleContext quiet;
    quiet.cycle_id = "c-8";
    quiet.ts_ms = kT0 + kStepMs;
    quiet.decisions.systems = {steadyDecision("web", 5)};
    quiet.specs["web"] = spec("web");
    EXPECT_TRUE(db.insertScenario(toRecord(buildScenario(quiet))).ok());

    CycleContext many;
    many.cycle_id = "c-9";
    many.ts_ms = kT0 + 2 * kStepMs;
    for (const char* name : {"web", "api", "db"}) {
      many.decisions.systems.push_back(scalingDecision(name));
      many.specs[name] = spec(name);
    }
    EXPECT_TRUE(db.insertScenario(toRecord(buildScenario(many))).ok());

    auto rows = db.scenarios({});
    EXPECT_TRUE(rows.ok());
    return rows.ok() ? *rows : std::vector<store::ScenarioRecord>{};
  }

  fs::path dir_;
};

TEST_F(ExportTest, RegistryKnowsTheFormats) {
  auto formats = exporterFormats();
  EXPECT_NE(std::find(formats.begin(), formats.end(), "jsonl"), formats.end());
  EXPECT_NE(std::find(formats.begin(), formats.end(), "markdown"), formats.end());
  auto jsonl = makeExporter("jsonl");
  ASSERT_TRUE(jsonl.ok());
  EXPECT_EQ((*jsonl)->format(), "jsonl");
  auto unknown = makeExporter("pdf");
  ASSERT_FALSE(unknown.ok());
  EXPECT_EQ(unknown.error().code, "invalid");
  EXPECT_NE(unknown.error().message.find("markdown"), std::string::npos);
}

TEST_F(ExportTest, JsonlWritesOneValidDocumentPerLine) {
  auto scenarios = storedScenarios();
  ASSERT_EQ(scenarios.size(), 3u);
  auto exporter = makeExporter("jsonl");
  ASSERT_TRUE(exporter.ok());
  const fs::path out = dir_ / "out" / "scenarios.jsonl";
  auto written = (*exporter)->write(scenarios, out.string());
  ASSERT_TRUE(written.ok()) << written.error().message;
  EXPECT_EQ(*written, 3u);

  std::istringstream lines(readFile(out));
  std::string line;
  std::vector<std::string> ids;
  while (std::getline(lines, line)) {
    json doc = json::parse(line, nullptr, false);
    ASSERT_FALSE(doc.is_discarded()) << line;
    ids.push_back(doc.at("id").get<std::string>());
  }
  EXPECT_EQ(ids, (std::vector<std::string>{"s-c-7", "s-c-8", "s-c-9"}));
  // Only the target remains: the temporary file was renamed.
  std::size_t files = 0;
  for (const auto& entry : fs::directory_iterator(out.parent_path())) {
    (void)entry;
    ++files;
  }
  EXPECT_EQ(files, 1u);

  scenarios.push_back(scenarios.front());
  scenarios.back().id = "s-broken";
  scenarios.back().json = "{not json";
  auto refused = (*exporter)->write(scenarios, out.string());
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code, "invalid");
  EXPECT_NE(refused.error().message.find("s-broken"), std::string::npos);
  // The earlier export is untouched.
  std::istringstream again(readFile(out));
  std::size_t count = 0;
  while (std::getline(again, line)) ++count;
  EXPECT_EQ(count, 3u);
}

TEST_F(ExportTest, MarkdownWritesALessonPerScenarioAndAnIndex) {
  auto scenarios = storedScenarios();
  ASSERT_EQ(scenarios.size(), 3u);
  auto exporter = makeExporter("markdown");
  ASSERT_TRUE(exporter.ok());
  const fs::path out = dir_ / "lessons";
  auto written = (*exporter)->write(scenarios, out.string());
  ASSERT_TRUE(written.ok()) << written.error().message;
  EXPECT_EQ(*written, 3u);

  std::size_t lessons = 0;
  for (const auto& entry : fs::directory_iterator(out)) {
    if (entry.path().extension() == ".md" && entry.path().filename() != "index.md") ++lessons;
  }
  EXPECT_EQ(lessons, 3u);

  for (const auto& record : scenarios) {
    const std::string text = readFile(out / (record.id + ".md"));
    ASSERT_FALSE(text.empty()) << record.id;
    const json doc = json::parse(record.json);
    for (const auto& [name, r] : doc["rationale"].items()) {
      EXPECT_NE(text.find(r["text"].get<std::string>()), std::string::npos)
          << record.id << " lacks the rationale of " << name;
    }
    if (!doc["questions"].empty()) {
      EXPECT_NE(text.find("<summary>Answer key</summary>"), std::string::npos);
      EXPECT_LT(text.find("## Questions"), text.find("<details>"));
    }
  }
  const std::string active = readFile(out / "s-c-7.md");
  EXPECT_NE(active.find("## Situation"), std::string::npos);
  EXPECT_NE(active.find("## Forecast"), std::string::npos);
  EXPECT_NE(active.find("90% interval"), std::string::npos);
  EXPECT_NE(active.find("## Reactive baseline"), std::string::npos);
  EXPECT_NE(active.find("### What went well"), std::string::npos);
  EXPECT_NE(active.find("forecast held"), std::string::npos);

  const std::string index = readFile(out / "index.md");
  EXPECT_NE(index.find("(s-c-7.md)"), std::string::npos);
  EXPECT_NE(index.find("(s-c-8.md)"), std::string::npos);
  EXPECT_NE(index.find("(s-c-9.md)"), std::string::npos);
  EXPECT_LT(index.find("## Foundation"), index.find("## Advanced optimization"));
  EXPECT_LT(index.find("## Advanced optimization"), index.find("## Enterprise coordination"));
}

TEST(BuildScenario, AsksWhyTheReactiveRuleWouldBeLate) {
  const json doc = buildScenario(scalingContext());
  const json* late = nullptr;
  for (const auto& q : doc["questions"]) {
    if (q["topic"] == "reactive_late") late = &q;
  }
  ASSERT_NE(late, nullptr);
  EXPECT_EQ(late->at("type"), "multiple_choice");
  int correct = 0;
  for (const auto& c : late->at("choices")) {
    if (!c["correct"].get<bool>()) continue;
    ++correct;
    const std::string text = c["text"].get<std::string>();
    // The numbers of the case: observed 250, warm-up 2 steps, planned 420,
    // 3 reactive replicas serve 3 x 120 x 0.7 = 252 at target.
    EXPECT_NE(text.find("250"), std::string::npos) << text;
    EXPECT_NE(text.find("2 steps of warm-up"), std::string::npos) << text;
    EXPECT_NE(text.find("420"), std::string::npos) << text;
    EXPECT_NE(text.find("252"), std::string::npos) << text;
    EXPECT_EQ(late->at("answer"), c["text"]);
  }
  EXPECT_EQ(correct, 1);

  // No such question when the engine did not scale above the reactive rule.
  auto ctx = scalingContext();
  ctx.decisions.systems[0].reactive_replicas = 5;
  const json quiet = buildScenario(ctx);  // range-for would not keep a temporary alive
  for (const auto& q : quiet["questions"]) EXPECT_NE(q["topic"], "reactive_late");
}

TEST(BuildScenario, AsksWhichSystemRunsOutFirstAsMultipleChoice) {
  CycleContext ctx = scalingContext();
  ctx.decisions.systems.push_back(steadyDecision("api", 2));
  ctx.specs["api"] = spec("api");
  const json doc = buildScenario(ctx);
  const json* q = nullptr;
  for (const auto& question : doc["questions"]) {
    if (question["topic"] == "bottleneck_system") q = &question;
  }
  ASSERT_NE(q, nullptr);
  EXPECT_EQ(q->at("type"), "multiple_choice");
  EXPECT_EQ(q->at("answer"), "web");
  ASSERT_EQ(q->at("choices").size(), 2u);
  for (const auto& c : q->at("choices")) {
    EXPECT_EQ(c["correct"].get<bool>(), c["text"] == "web");
    EXPECT_FALSE(c["feedback"].get<std::string>().empty());
  }
  const json* model = questionOfType(doc, "short_answer");
  ASSERT_NE(model, nullptr);
  EXPECT_EQ(model->at("answer"), "holt");
  EXPECT_EQ(model->at("topic"), "forecast_model");
}

TEST(FillOutcome, SaysWhereItGotLucky) {
  // Demand 500 breaks the upper bound (<= 420) but 5 replicas (600) absorb it
  // once warm; before the warm-up nothing is observed.
  json doc = buildScenario(scalingContext());
  ObservedOutcome observed;
  observed.demand["web"] = {{kT0 + 40000, 500}, {kT0 + 60000, 500}};
  observed.replicas["web"] = {{kT0 + 1000, 5}};
  auto applied = directiveFor("d-1", "web", 5, "engine", "applied");
  applied.result_replicas = 5;
  observed.directives = {applied};
  fillOutcome(doc, observed);
  const json& outcome = doc["outcome"];
  EXPECT_FALSE(outcome["systems"]["web"]["forecast_held"].get<bool>());
  EXPECT_FALSE(outcome["systems"]["web"]["overload"].get<bool>());
  ASSERT_EQ(outcome["got_lucky"].size(), 1u);
  EXPECT_NE(outcome["got_lucky"][0].get<std::string>().find("headroom"), std::string::npos);

  // When demand follows the forecast, nothing was luck.
  doc = buildScenario(scalingContext());
  observed.demand["web"] = demandAsForecast();
  fillOutcome(doc, observed);
  EXPECT_TRUE(doc["outcome"]["got_lucky"].empty());
}

TEST(GiftEscape, EscapesEverySpecialCharacter) {
  EXPECT_EQ(giftEscape("a~b=c#d{e}f:g\\h"), "a\\~b\\=c\\#d\\{e\\}f\\:g\\\\h");
  EXPECT_EQ(giftEscape("two\nlines\r\n"), "two lines  ");
  EXPECT_EQ(giftEscape("plain text 1.5"), "plain text 1.5");
}

TEST_F(ExportTest, GiftHasACategoryPerLevelAndEveryQuestionKind) {
  auto scenarios = storedScenarios();
  auto exporter = makeExporter("gift");
  ASSERT_TRUE(exporter.ok());
  const fs::path out = dir_ / "quiz.gift";
  auto written = (*exporter)->write(scenarios, out.string());
  ASSERT_TRUE(written.ok()) << written.error().message;
  // The quiet cycle (foundation) asks nothing: its recommendation (5) is not
  // what 110 / (120 x 0.7) gives (2), and a quiet cycle asks no other question.
  EXPECT_EQ(*written, 2u);
  const std::string text = readFile(out);
  EXPECT_EQ(text.find("PSO-PRIME/Foundation"), std::string::npos);
  EXPECT_EQ(text.find("s-c-8-q"), std::string::npos);
  const auto advanced = text.find("$CATEGORY: $course$/top/PSO-PRIME/Advanced optimization");
  const auto enterprise = text.find("$CATEGORY: $course$/top/PSO-PRIME/Enterprise coordination");
  ASSERT_NE(advanced, std::string::npos);
  ASSERT_NE(enterprise, std::string::npos);
  EXPECT_LT(advanced, enterprise);
  EXPECT_LT(advanced, text.find("::s-c-7-q1"));
  EXPECT_LT(enterprise, text.find("::s-c-9-q1"));
  // Numeric with tolerance: 5 replicas exactly, 420 within 42.
  EXPECT_NE(text.find("{#=5:0#"), std::string::npos);
  EXPECT_NE(text.find("{#=420:42#"), std::string::npos);
  // Multiple choice: the engine's action is the one right answer.
  EXPECT_NE(text.find("=Scale from 3 to 5 replicas#"), std::string::npos);
  EXPECT_NE(text.find("~Keep 3 replicas#"), std::string::npos);
  EXPECT_NE(text.find("{=holt ####"), std::string::npos);
  // Titles and stems are escaped: "web: the engine sizes" has a colon.
  EXPECT_NE(text.find("::s-c-7-q1 replicas_needed::web\\: the engine sizes"), std::string::npos);
  // No blank line inside a question: each entry is one line.
  std::istringstream lines(text);
  std::string line;
  while (std::getline(lines, line)) {
    if (line.rfind("::", 0) == 0) {
      EXPECT_EQ(line.back(), '}') << line;
    }
  }
}

TEST_F(ExportTest, GiftSkipsBrokenAnswerKeys) {
  json doc = buildScenario(scalingContext());
  // Two correct choices and a numeric without an answer cannot be imported.
  for (auto& q : doc["questions"]) {
    if (q["type"] == "multiple_choice") {
      for (auto& c : q["choices"]) c["correct"] = true;
    }
    if (q["type"] == "numeric") q["answer"] = nullptr;
  }
  const std::string text = renderGiftQuestions(doc);
  EXPECT_EQ(text.find("{#="), std::string::npos);
  EXPECT_EQ(text.find("Which action"), std::string::npos);
  EXPECT_NE(text.find("{=holt"), std::string::npos);
}

TEST_F(ExportTest, HtmlLessonsHaveAnInlineChartAndACurriculum) {
  auto scenarios = storedScenarios();
  auto exporter = makeExporter("html");
  ASSERT_TRUE(exporter.ok());
  const fs::path out = dir_ / "html";
  auto written = (*exporter)->write(scenarios, out.string());
  ASSERT_TRUE(written.ok()) << written.error().message;
  EXPECT_EQ(*written, 3u);

  const std::string lesson = readFile(out / "s-c-7.html");
  ASSERT_FALSE(lesson.empty());
  EXPECT_EQ(lesson.rfind("<!DOCTYPE html>", 0), 0u);
  const auto svg = lesson.find("<svg xmlns=\"http://www.w3.org/2000/svg\"");
  ASSERT_NE(svg, std::string::npos);
  EXPECT_LT(svg, lesson.find("</svg>"));
  for (const char* part : {"class=\"band\"", "class=\"history\"", "class=\"forecast\"",
                           "class=\"capacity\"", "decision: 3 &#8594; 5 replicas"}) {
    EXPECT_NE(lesson.find(part), std::string::npos) << part;
  }
  for (const char* section : {"<h2>Situation</h2>", "<h2>Forecast</h2>", "<h2>Decision</h2>",
                              "<h2>Reactive baseline</h2>", "<h2>Debrief</h2>",
                              "<h3>What went well</h3>", "<h3>What went wrong</h3>",
                              "<h3>Where it got lucky</h3>", "<summary>Answer key</summary>"}) {
    EXPECT_NE(lesson.find(section), std::string::npos) << section;
  }
  // Nothing external: a lesson opens offline and in an LMS page.
  EXPECT_EQ(lesson.find("<script"), std::string::npos);
  EXPECT_EQ(lesson.find("src=\"http"), std::string::npos);

  const std::string index = readFile(out / "index.html");
  EXPECT_NE(index.find("href=\"s-c-8.html\""), std::string::npos);
  EXPECT_LT(index.find(">Foundation ("), index.find(">Advanced optimization ("));
  EXPECT_LT(index.find(">Advanced optimization ("), index.find(">Enterprise coordination ("));
}

TEST(HtmlLesson, EscapesWhatTheDocumentSays) {
  auto ctx = scalingContext();
  ctx.workflow_notes = {"operator note <script>alert(1)</script> & \"quotes\""};
  const std::string page = renderHtmlLesson(buildScenario(ctx));
  EXPECT_EQ(page.find("<script>"), std::string::npos);
  EXPECT_NE(page.find("&lt;script&gt;alert(1)&lt;/script&gt; &amp; &quot;quotes&quot;"),
            std::string::npos);
  EXPECT_EQ(htmlEscape("a<b>&'\""), "a&lt;b&gt;&amp;&#39;&quot;");
}

// A large fleet's cycle: the document describes the 32 systems that teach
// most and 8 quiet ones, counts the others, and keeps the fleet's order. A
// dependency decision last in the fleet is kept although 40 systems act
// before it; events and level are those of the whole cycle.
TEST(BuildScenario, ALargeFleetsDocumentDescribesTheSystemsThatTeachAndCountsTheRest) {
  CycleContext ctx;
  ctx.cycle_id = "c-30";
  ctx.ts_ms = kT0;
  std::vector<std::string> fleet;
  for (int i = 0; i < 40; ++i) fleet.push_back("act-" + std::to_string(100 + i));
  for (int i = 0; i < 20; ++i) fleet.push_back("calm-" + std::to_string(100 + i));
  fleet.push_back("follower");
  for (const auto& name : fleet) {
    engine::SystemDecision d =
        name.rfind("act-", 0) == 0 ? scalingDecision(name) : steadyDecision(name, 2);
    if (name == "follower") {
      engine::CoordinationEffect effect;
      effect.kind = engine::CoordinationKind::kDependency;
      effect.source = "act-100";
      effect.from = 2;
      effect.to = 3;
      effect.rise = 1.3;
      effect.planned_demand = 260;
      d.facts.coordination.push_back(effect);
    }
    ctx.decisions.systems.push_back(d);
    ctx.specs[name] = spec(name);
    ctx.history[name] = history(40, 200);
  }
  const json doc = buildScenario(ctx);

  std::vector<std::string> described = doc.at("systems").get<std::vector<std::string>>();
  ASSERT_EQ(described.size(), 40u);
  // follower (rank 0), the first 31 acting systems, then the first 8 calm ones.
  std::vector<std::string> expected;
  for (int i = 0; i < 31; ++i) expected.push_back("act-" + std::to_string(100 + i));
  for (int i = 0; i < 8; ++i) expected.push_back("calm-" + std::to_string(100 + i));
  expected.push_back("follower");
  EXPECT_EQ(described, expected);
  EXPECT_EQ(doc.at("systems_left_out"), (json{{"notable", 9}, {"quiet", 12}}));
  for (const auto& name : described) {
    EXPECT_TRUE(doc.at("situation").contains(name)) << name;
    EXPECT_TRUE(doc.at("rationale").contains(name)) << name;
  }
  EXPECT_FALSE(doc.at("situation").contains("act-139"));
  EXPECT_FALSE(doc.at("situation").contains("calm-119"));
  EXPECT_TRUE(hasEvent(doc, kEventScalingExecuted));
  EXPECT_TRUE(hasEvent(doc, kEventCoordinationOptimized));
  EXPECT_EQ(doc.at("level"), kLevelEnterpriseCoordination);
  // Every question is about a system the document describes.
  for (const auto& q : doc.at("questions")) {
    if (!q.contains("system")) continue;
    EXPECT_NE(std::find(described.begin(), described.end(), q.at("system").get<std::string>()),
              described.end())
        << q.dump();
  }

  // A small fleet's document is whole and says nothing was left out.
  EXPECT_FALSE(buildScenario(scalingContext()).contains("systems_left_out"));
}

// One cycle of a fleet of one steady system, `cycle` steps after kT0.
CycleContext steadyCycle(int cycle, int64_t replicas,
                         std::vector<store::DirectiveRecord> directives = {}) {
  CycleContext ctx;
  ctx.cycle_id = "c-" + std::to_string(cycle);
  ctx.ts_ms = kT0 + cycle * kStepMs;
  ctx.step_s = kStepS;
  ctx.decisions.now_ms = ctx.ts_ms;
  engine::SystemDecision d = steadyDecision("api", replicas);
  d.demand = 100 + cycle;  // moves every cycle: the cycle record keeps it
  ctx.decisions.systems = {d};
  ctx.specs["api"] = spec("api");
  ctx.history["api"] = history(40, 100);
  ctx.directives = std::move(directives);
  return ctx;
}

// api's demand every 5 s over the three forecast steps after a cycle.
ObservedOutcome demandAfter(const CycleContext& ctx, double value) {
  ObservedOutcome observed;
  for (int64_t t = ctx.ts_ms + 5000; t <= ctx.ts_ms + 3 * kStepMs; t += 5000) {
    observed.demand["api"].push_back({t, value});
  }
  return observed;
}

TEST(DescribedSystems, AnUnchangedSystemIsNamedWithTheScenarioThatDescribesIt) {
  DescribedSystems described;
  const json first = buildScenario(steadyCycle(1, 2), &described);
  EXPECT_EQ(first["systems"], json::array({"api"}));
  EXPECT_TRUE(first["unchanged"].empty());

  // The same counts a cycle later: described until the outcome is known,
  // then, with demand inside the forecast, only named.
  const CycleContext second_ctx = steadyCycle(2, 2);
  json second = buildScenario(second_ctx, &described);
  EXPECT_EQ(second["systems"], json::array({"api"}));
  EXPECT_EQ(second["unchanged"], (json{{"api", "s-c-1"}}));
  fillOutcome(second, demandAfter(second_ctx, 100));
  EXPECT_TRUE(second["systems"].empty()) << second.dump();
  EXPECT_EQ(second["unchanged"], (json{{"api", "s-c-1"}}));
  for (const char* section :
       {"situation", "forecasts", "candidates", "rationale", "reactive_baseline"}) {
    EXPECT_FALSE(second[section].contains("api")) << section;
  }
  // Its outcome keeps what the business case counts: 100 against 2 x 120.
  EXPECT_EQ(second["outcome"]["systems"]["api"],
            (json{{"engine_short", false}, {"hpa_short", false}}));
  for (const auto& q : second["questions"]) EXPECT_NE(q.value("system", ""), "api") << q.dump();
  EXPECT_EQ(second["outcome"]["verdict"], "api: unchanged since s-c-1, nothing new in its outcome");
  // Its lesson names it with the scenario to read.
  const std::string lesson = renderMarkdownLesson(second);
  EXPECT_NE(lesson.find("| Unchanged, as described in | api (s-c-1) |"), std::string::npos)
      << lesson;
  EXPECT_NE(lesson.find("# Quiet cycle: api hold steady"), std::string::npos) << lesson;
  EXPECT_EQ(lesson.find("No forecast was made"), std::string::npos) << lesson;
  EXPECT_LT(toRecord(second).json.size(), toRecord(first).json.size() / 3);

  // Unchanged again, but demand leaves the interval (above its 110): the
  // outcome teaches something, so the description stays and the name goes.
  const CycleContext third_ctx = steadyCycle(3, 2);
  json third = buildScenario(third_ctx, &described);
  EXPECT_EQ(third["unchanged"], (json{{"api", "s-c-1"}}));
  fillOutcome(third, demandAfter(third_ctx, 180));
  EXPECT_EQ(third["systems"], json::array({"api"}));
  EXPECT_TRUE(third["unchanged"].empty());
  EXPECT_FALSE(third["outcome"]["systems"]["api"]["forecast_held"].get<bool>());

  // A new count is a change: described, and the next unchanged cycle points here.
  EXPECT_TRUE(buildScenario(steadyCycle(4, 3), &described)["unchanged"].empty());
  EXPECT_EQ(buildScenario(steadyCycle(5, 3), &described)["unchanged"], (json{{"api", "s-c-4"}}));

  // No document points more than an hour back: then it is described again.
  const int hour = static_cast<int>(DescribedSystems::kDescribeAgainAfterMs / kStepMs);
  EXPECT_EQ(buildScenario(steadyCycle(4 + hour - 1, 3), &described)["unchanged"],
            (json{{"api", "s-c-4"}}));
  EXPECT_TRUE(buildScenario(steadyCycle(4 + hour, 3), &described)["unchanged"].empty());
  EXPECT_EQ(described.size(), 1u);

  // Without a DescribedSystems every document describes every system.
  EXPECT_TRUE(buildScenario(steadyCycle(6, 3))["unchanged"].empty());
}

TEST(DescribedSystems, ASystemMovingBetweenCountsIsDescribedOnceForEach) {
  DescribedSystems described;
  EXPECT_TRUE(buildScenario(steadyCycle(1, 2), &described)["unchanged"].empty());
  EXPECT_TRUE(buildScenario(steadyCycle(2, 3), &described)["unchanged"].empty());
  // Back and forth with the noise: each count points at its own description.
  EXPECT_EQ(buildScenario(steadyCycle(3, 2), &described)["unchanged"], (json{{"api", "s-c-1"}}));
  EXPECT_EQ(buildScenario(steadyCycle(4, 3), &described)["unchanged"], (json{{"api", "s-c-2"}}));

  // A fifth situation replaces the one described longest ago (2, at c-1).
  static_assert(DescribedSystems::kSituationsPerSystem == 4);
  for (int count : {4, 5, 6}) {
    EXPECT_TRUE(buildScenario(steadyCycle(1 + count, count), &described)["unchanged"].empty());
  }
  EXPECT_TRUE(buildScenario(steadyCycle(8, 2), &described)["unchanged"].empty());
  EXPECT_EQ(buildScenario(steadyCycle(9, 5), &described)["unchanged"], (json{{"api", "s-c-6"}}));
  // 3 went when 2 came back at c-8: 3 had been described longest ago then.
  EXPECT_TRUE(buildScenario(steadyCycle(10, 3), &described)["unchanged"].empty());

  // Each situation is described again an hour after its description.
  const int hour = static_cast<int>(DescribedSystems::kDescribeAgainAfterMs / kStepMs);
  EXPECT_EQ(buildScenario(steadyCycle(5 + hour, 5), &described)["unchanged"],
            (json{{"api", "s-c-6"}}));
  EXPECT_TRUE(buildScenario(steadyCycle(6 + hour, 5), &described)["unchanged"].empty());
  EXPECT_EQ(described.size(), 1u);
}

TEST(DescribedSystems, ADirectiveThatGoesOutIsAlwaysDescribedARecordedOneOnlyOnce) {
  DescribedSystems described;
  auto directive = [](const std::string& id, const std::string& status) {
    store::DirectiveRecord d = directiveFor(id, "api", 3, "engine", status);
    return d;
  };
  // forecast-only: the same change recorded, not dispatched, every cycle.
  buildScenario(steadyCycle(1, 2, {directive("d-1", "not_dispatched")}), &described);
  const CycleContext repeat = steadyCycle(2, 2, {directive("d-2", "not_dispatched")});
  json again = buildScenario(repeat, &described);
  EXPECT_EQ(again["unchanged"], (json{{"api", "s-c-1"}}));
  fillOutcome(again, demandAfter(repeat, 100));
  EXPECT_TRUE(again["directives"].empty()) << again.dump();
  EXPECT_EQ(again["directives_left_out"], 1);
  EXPECT_TRUE(again["outcome"]["directives"].empty());

  // A directive sent, even one repeating the last (which expired), is this
  // cycle's action.
  buildScenario(steadyCycle(3, 2, {directive("d-3", "sent")}), &described);
  const json sent = buildScenario(steadyCycle(4, 2, {directive("d-4", "sent")}), &described);
  EXPECT_TRUE(sent["unchanged"].empty());
  EXPECT_EQ(sent["directives"][0]["id"], "d-4");
  // An operator's directive, too.
  const json operator_doc = buildScenario(
      steadyCycle(5, 2, {directiveFor("op-1", "api", 3, "operator", "not_dispatched")}),
      &described);
  EXPECT_TRUE(operator_doc["unchanged"].empty());
}

TEST(DescribedSystems, AnOverloadKeepsTheDescriptionUnlessItsBottleneckWasPredicted) {
  // One replica (120) and a wide interval around 130: demand of 150 stays
  // inside the interval and overloads.
  auto wide = [](int cycle, bool predicted) {
    CycleContext ctx = steadyCycle(cycle, 1);
    engine::SystemDecision& d = ctx.decisions.systems[0];
    d.forecast.point = {130, 130, 130};
    d.forecast.lo = {50, 50, 50};
    d.forecast.hi = {200, 200, 200};
    if (predicted) {
      engine::Bottleneck b;
      b.eta_ms = ctx.ts_ms + kStepMs;
      b.steps_ahead = 1;
      b.predicted_demand = 200;
      b.capacity = 120;
      d.bottleneck = b;
    }
    return ctx;
  };
  for (const bool predicted : {false, true}) {
    DescribedSystems described;
    buildScenario(wide(1, predicted), &described);
    const CycleContext second = wide(2, predicted);
    json doc = buildScenario(second, &described);
    ASSERT_EQ(doc["unchanged"], (json{{"api", "s-c-1"}})) << predicted;
    fillOutcome(doc, demandAfter(second, 150));
    if (predicted) {
      EXPECT_TRUE(doc["systems"].empty()) << doc.dump();
    } else {
      EXPECT_EQ(doc["systems"], json::array({"api"}));
      EXPECT_TRUE(doc["unchanged"].empty());
      EXPECT_NE(doc["outcome"]["systems"]["api"]["verdict"].get<std::string>().find("overload"),
                std::string::npos);
    }
  }
}

TEST(DescribedSystems, AQuestionWithAChoiceAboutASettledSystemGoesWithItsDescription) {
  // web scales (5, then 6: described every cycle) and runs out first; api
  // keeps 2 with a later bottleneck predicted: the multiple choice "which
  // system runs out first" offers both.
  auto cycle = [](int n, int64_t web_desired) {
    CycleContext ctx = steadyCycle(n, 2);
    engine::Bottleneck later;
    later.eta_ms = ctx.ts_ms + 3 * kStepMs;
    later.steps_ahead = 3;
    later.predicted_demand = 250;
    later.capacity = 240;
    ctx.decisions.systems[0].bottleneck = later;
    engine::SystemDecision web = scalingDecision("web");
    web.desired_replicas = web.recommended_replicas = web_desired;
    web.bottleneck->eta_ms = ctx.ts_ms + kStepMs;
    ctx.decisions.systems.push_back(web);
    ctx.specs["web"] = spec("web");
    ctx.history["web"] = history(40, 200);
    return ctx;
  };
  auto asksWhichFirst = [](const json& doc) {
    for (const auto& q : doc["questions"]) {
      if (q["topic"] == "bottleneck_system") return true;
    }
    return false;
  };
  DescribedSystems described;
  EXPECT_TRUE(asksWhichFirst(buildScenario(cycle(1, 5), &described)));
  const CycleContext second = cycle(2, 6);
  json doc = buildScenario(second, &described);
  ASSERT_EQ(doc["unchanged"], (json{{"api", "s-c-1"}}));
  ASSERT_TRUE(asksWhichFirst(doc));
  fillOutcome(doc, demandAfter(second, 100));
  EXPECT_EQ(doc["systems"], json::array({"web"}));
  EXPECT_FALSE(asksWhichFirst(doc)) << doc["questions"].dump();
  EXPECT_FALSE(doc["questions"].empty()) << "web's own questions stay";
}

TEST(DescribedSystems, MistypedUnchangedEntriesAreReadAsUnknownNeverThrown) {
  // Stored documents read back from a database a user hands psoctl: every
  // reader of `unchanged` takes a wrong type as nothing named.
  const CycleContext ctx = steadyCycle(2, 2);
  DescribedSystems described;
  buildScenario(steadyCycle(1, 2), &described);
  const json good = buildScenario(ctx, &described);
  for (const json& bad_unchanged : {json("api"), json(42), json::array({"api"}), json{{"api", 7}},
                                    json{{"api", nullptr}}, json{{"ghost", "s-c-0"}}}) {
    json doc = good;
    doc["unchanged"] = bad_unchanged;
    EXPECT_NO_THROW(fillOutcome(doc, demandAfter(ctx, 100))) << bad_unchanged.dump();
    EXPECT_NO_THROW(renderMarkdownLesson(doc)) << bad_unchanged.dump();
    EXPECT_NO_THROW(businessCase({good, doc}, BusinessPeriod::kDay, "api"));
    EXPECT_NO_THROW(coversSystem(doc, "api"));
    // Without a scenario id for it, a described system stays described.
    EXPECT_EQ(doc["systems"], json::array({"api"})) << bad_unchanged.dump();
  }
  json mangled = good;
  mangled["systems"] = "api";
  mangled["questions"] = 3;
  mangled["directives"] = json::object();
  EXPECT_NO_THROW(fillOutcome(mangled, demandAfter(ctx, 100)));
}

TEST(DescribedSystems, TheLevelComesFromTheSystemsThatChanged) {
  DescribedSystems described;
  auto differs = [](int cycle) {
    CycleContext ctx = steadyCycle(cycle, 3);
    // The forecast keeps 3 where the HPA rule would have 2: advanced_optimization.
    ctx.decisions.systems[0].reactive_replicas = 2;
    ctx.decisions.systems[0].facts.reactive.replicas = 2;
    return ctx;
  };
  EXPECT_EQ(buildScenario(differs(1), &described)["level"], kLevelAdvancedOptimization);
  const json unchanged = buildScenario(differs(2), &described);
  EXPECT_EQ(unchanged["unchanged"], (json{{"api", "s-c-1"}}));
  EXPECT_EQ(unchanged["level"], kLevelFoundation);
}

}  // namespace
}  // namespace pso::controller::scenarios
