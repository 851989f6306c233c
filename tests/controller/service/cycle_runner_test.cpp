// The decision cycle on a real controller: demand from a DEALER agent, the
// engine's directive back to it, forecast-only mode, operator holds, scenario
// recording and outcome backfill, restarts.

#include <gtest/gtest.h>

#include <sys/resource.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <filesystem>
#include <limits>
#include <optional>
#include <string>

#include "common/clock.h"
#include "controller/config/controller_config.h"
#include "controller/engine/wording.h"
#include "controller/store/store.h"
#include "tests/controller/service/service_test_support.h"
#include "tests/support/process.h"

namespace pso::controller::service::testing {
namespace {

using nlohmann::json;
using std::chrono::milliseconds;
using std::chrono::seconds;

class CycleRunnerTest : public ServiceTest {};

// For the tests whose samples are stamped outside ingest's time window; the
// window itself is tested in tests/controller/store/telemetry_store_test.cpp.
void acceptSamplesOfAnyTime(store::Store& store) {
  store::IngestLimits limits;
  limits.max_age_ms = std::numeric_limits<int64_t>::max();
  limits.max_ahead_ms = std::numeric_limits<int64_t>::max();
  store.setIngestLimits(limits);
}

const engine::SystemDecision* decisionFor(const CycleReport& report, const std::string& system) {
  for (const auto& d : report.decisions.systems) {
    if (d.system == system) return &d;
  }
  return nullptr;
}

TEST_F(CycleRunnerTest, DemandAboveCapacityScalesUpAndTheAgentReceivesTheDirective) {
  ASSERT_NO_FATAL_FAILURE(startController());
  // 2 replicas x 10 units at 70% serve 14; the agent reports about 100.
  auto agent = connectWebAgent("agent-1", {96, 100, 104}, 2);
  ASSERT_TRUE(agent);

  auto report = controller().runCycleOnce(common::wallMs());
  ASSERT_TRUE(report.ok()) << report.error().message;
  const auto* decision = decisionFor(report.value(), "web");
  ASSERT_NE(decision, nullptr);
  ASSERT_TRUE(decision->demand == decision->demand);  // observed, not NaN
  EXPECT_NEAR(decision->demand, 100.0, 1e-9);
  EXPECT_EQ(decision->current_replicas, 2);
  EXPECT_GT(decision->desired_replicas, 2);
  EXPECT_TRUE(decision->dispatch);
  ASSERT_EQ(report->directives.size(), 1u);
  EXPECT_EQ(report->directives[0].status, "pending");
  EXPECT_EQ(report->directives[0].source, "engine");

  auto directive = agent->receiveA<protocol::Directive>();
  ASSERT_TRUE(directive);
  EXPECT_EQ(directive->id, report->directives[0].id);
  EXPECT_EQ(directive->system, "web");
  EXPECT_EQ(directive->action, "scale");
  ASSERT_TRUE(directive->replicas.has_value());
  EXPECT_EQ(*directive->replicas, decision->desired_replicas);
  EXPECT_EQ(directive->cycle_id, report->cycle.id);
  EXPECT_GT(directive->deadline_ms, common::wallMs());

  ASSERT_TRUE(waitFor(
      [&] {
        auto stored = controller().store().directive(directive->id);
        return stored.ok() && stored.value() && stored.value()->status == "sent";
      },
      seconds(10)));

  // The cycle and its scenario are recorded.
  auto cycles = controller().store().cycles(10);
  ASSERT_TRUE(cycles.ok());
  ASSERT_EQ(cycles->size(), 1u);
  EXPECT_EQ(cycles->front().id, report->cycle.id);
  EXPECT_EQ(cycles->front().mode, "act");
  const json decisions = json::parse(cycles->front().decisions_json);
  ASSERT_EQ(decisions.size(), 1u);
  EXPECT_EQ(decisions[0]["system"], "web");
  EXPECT_EQ(decisions[0]["desired"], decision->desired_replicas);
  EXPECT_EQ(decisions[0]["current"], 2);
  EXPECT_EQ(decisions[0]["dispatch"], true);
  EXPECT_TRUE(decisions[0].contains("forecast_hi"));
  EXPECT_TRUE(decisions[0].contains("reactive"));

  auto scenario = controller().store().scenario(report->scenario_id);
  ASSERT_TRUE(scenario.ok());
  ASSERT_TRUE(scenario.value().has_value());
  EXPECT_EQ(scenario.value()->cycle_id, report->cycle.id);
  EXPECT_EQ(scenario.value()->systems, std::vector<std::string>{"web"});
  const json document = json::parse(scenario.value()->json);
  EXPECT_EQ(document["cycle_id"], report->cycle.id);

  // The next cycle counts the requested replicas as launching and asks nothing new.
  auto next = controller().runCycleOnce(common::wallMs() + 1000);
  ASSERT_TRUE(next.ok()) << next.error().message;
  const auto* again = decisionFor(next.value(), "web");
  ASSERT_NE(again, nullptr);
  EXPECT_EQ(again->current_replicas, decision->desired_replicas);
}

TEST_F(CycleRunnerTest, ForecastOnlyModeRecordsTheCycleAndScenarioButSendsNothing) {
  HarnessOptions options;
  options.mode = "forecast-only";
  ASSERT_NO_FATAL_FAILURE(startController(options));
  auto agent = connectWebAgent("agent-1", {100, 100, 100}, 2);
  ASSERT_TRUE(agent);

  auto report = controller().runCycleOnce(common::wallMs());
  ASSERT_TRUE(report.ok()) << report.error().message;
  const auto* decision = decisionFor(report.value(), "web");
  ASSERT_NE(decision, nullptr);
  EXPECT_GT(decision->desired_replicas, 2);
  EXPECT_FALSE(decision->dispatch);
  ASSERT_EQ(report->directives.size(), 1u);
  EXPECT_EQ(report->directives[0].status, "not_dispatched");

  auto directives = controller().store().directives(100);
  ASSERT_TRUE(directives.ok());
  ASSERT_EQ(directives->size(), 1u);
  EXPECT_EQ(directives->front().status, "not_dispatched");
  auto pending = controller().store().pendingDirectives();
  ASSERT_TRUE(pending.ok());
  EXPECT_TRUE(pending->empty());

  auto cycles = controller().store().cycles(10);
  ASSERT_TRUE(cycles.ok());
  ASSERT_EQ(cycles->size(), 1u);
  EXPECT_EQ(cycles->front().mode, "forecast-only");
  store::ScenarioFilter all;
  auto scenarios = controller().store().scenarios(all);
  ASSERT_TRUE(scenarios.ok());
  EXPECT_EQ(scenarios->size(), 1u);

  // Nothing reached the agent: the reply to a new hello is the first message.
  auto welcome = agent->sayHello({webSystem()});
  ASSERT_TRUE(welcome);
  EXPECT_FALSE(agent->receive(milliseconds(200)).has_value());
  EXPECT_EQ(metric("pso_directives_total", {{"status", "sent"}}), 0.0);
}

TEST_F(CycleRunnerTest, OperatorHoldKeepsTheEngineFromChangingTheCount) {
  ASSERT_NO_FATAL_FAILURE(startController());
  // The test steps 11 minutes past the wall clock, which ingest compares
  // sample times with (5 minutes ahead at most by default).
  acceptSamplesOfAnyTime(controller().store());
  auto agent = connectWebAgent("agent-1", {100, 100, 100}, 2);
  ASSERT_TRUE(agent);

  const HttpReply created =
      post("/api/v1/directives",
           R"({"system":"web","action":"scale","replicas":3,"reason":"maintenance","hold":"10m"})");
  ASSERT_EQ(created.status, 201) << created.body;
  const json directive = created.json()["directive"];
  EXPECT_EQ(directive["source"], "operator");
  EXPECT_EQ(directive["replicas"], 3);
  EXPECT_TRUE(directive["hold_until"].is_string());
  auto sent = agent->receiveA<protocol::Directive>();
  ASSERT_TRUE(sent);
  EXPECT_EQ(*sent->replicas, 3);

  // The agent applies it and keeps reporting high demand, one sample per cycle.
  const int64_t base = common::wallMs();
  for (int i = 0; i < 3; ++i) {
    const int64_t at = base + i * 1000;
    agent->send(telemetry("agent-1", 2 + static_cast<uint64_t>(i), {100}, 3, at));
    ASSERT_TRUE(agent->receiveA<protocol::Ack>());
    auto report = controller().runCycleOnce(at);
    ASSERT_TRUE(report.ok()) << report.error().message;
    const auto* decision = decisionFor(report.value(), "web");
    ASSERT_NE(decision, nullptr);
    EXPECT_EQ(decision->rule, "hold");
    EXPECT_EQ(decision->desired_replicas, 3);
    EXPECT_FALSE(decision->dispatch);
    EXPECT_TRUE(report->directives.empty());
    // The engine wanted more: the hold changed the plan, which the scenario records.
    ASSERT_GT(decision->recommended_replicas, 3);
    auto scenario = controller().store().scenario(report->scenario_id);
    ASSERT_TRUE(scenario.ok() && scenario.value());
    const auto& events = scenario.value()->events;
    EXPECT_NE(std::find(events.begin(), events.end(), "workflow_enhanced"), events.end())
        << "cycle " << i;
  }
  EXPECT_FALSE(agent->receive(milliseconds(200)).has_value());

  const json system = get("/api/v1/systems/web").json();
  ASSERT_TRUE(system["hold"].is_object()) << system.dump();
  EXPECT_EQ(system["hold"]["replicas"], 3);
  EXPECT_EQ(system["hold"]["reason"], "maintenance");
  EXPECT_EQ(system["last_rule"], "hold");
  EXPECT_EQ(system["desired"], 3);

  // Once the hold is over the engine scales again.
  const int64_t after = base + 11 * 60 * 1000;
  agent->send(telemetry("agent-1", 5, {100}, 3, after));
  ASSERT_TRUE(agent->receiveA<protocol::Ack>());
  auto later = controller().runCycleOnce(after);
  ASSERT_TRUE(later.ok()) << later.error().message;
  const auto* decision = decisionFor(later.value(), "web");
  ASSERT_NE(decision, nullptr);
  EXPECT_NE(decision->rule, "hold");
  EXPECT_GT(decision->desired_replicas, 3);
  EXPECT_TRUE(decision->dispatch);
  auto scaled = agent->receiveA<protocol::Directive>();
  ASSERT_TRUE(scaled);
  EXPECT_EQ(*scaled->replicas, decision->desired_replicas);
}

TEST_F(CycleRunnerTest, ScenarioOutcomeIsFilledOnceItsHorizonHasPassed) {
  ASSERT_NO_FATAL_FAILURE(startController());
  auto agent = connectWebAgent("agent-1", {100, 100, 100}, 2);
  ASSERT_TRUE(agent);
  const int64_t now = common::wallMs();
  auto first = controller().runCycleOnce(now);
  ASSERT_TRUE(first.ok()) << first.error().message;
  EXPECT_EQ(first->outcomes_filled, 0u);

  auto later = controller().runCycleOnce(now + 7LL * 24 * 3600 * 1000);
  ASSERT_TRUE(later.ok()) << later.error().message;
  EXPECT_GE(later->outcomes_filled, 1u);
  auto scenario = controller().store().scenario(first->scenario_id);
  ASSERT_TRUE(scenario.ok() && scenario.value());
  EXPECT_TRUE(scenario.value()->outcome_filled);
  const json document = json::parse(scenario.value()->json);
  EXPECT_TRUE(document["outcome"].is_object()) << document.dump();
  EXPECT_EQ(metric("pso_scenario_outcomes_total"), static_cast<double>(later->outcomes_filled));
}

TEST_F(CycleRunnerTest, AScenarioNamesASystemUnchangedSinceAnEarlierOneDescribedIt) {
  ASSERT_NO_FATAL_FAILURE(startController());
  auto agent = connectWebAgent("agent-1", {100, 100, 100}, 2);
  ASSERT_TRUE(agent);
  const int64_t now = common::wallMs();
  std::vector<CycleReport> reports;
  for (int i = 0; i < 3; ++i) {
    auto report = controller().runCycleOnce(now + i * 15'000);
    ASSERT_TRUE(report.ok()) << report.error().message;
    reports.push_back(*report);
  }
  auto& store = controller().store();
  auto read = [&](const std::string& id) {
    auto record = store.scenario(id);
    EXPECT_TRUE(record.ok() && record.value()) << id;
    return record.ok() && record.value() ? json::parse(record.value()->json) : json();
  };
  // The third cycle keeps web's count: its scenario names the earlier one
  // that describes web, whose counts are this cycle's.
  const json third = read(reports[2].scenario_id);
  ASSERT_TRUE(third["unchanged"].contains("web")) << third.dump();
  const json earlier = read(third["unchanged"]["web"].get<std::string>());
  ASSERT_EQ(earlier["systems"], json::array({"web"}));
  const auto* decided = decisionFor(reports[2], "web");
  ASSERT_NE(decided, nullptr);
  EXPECT_EQ(earlier["rationale"]["web"]["desired_replicas"], decided->desired_replicas);
  EXPECT_EQ(earlier["rationale"]["web"]["current_replicas"], decided->current_replicas);
  EXPECT_TRUE(earlier["unchanged"].empty());

  // Once its horizon has passed with nothing to judge, only the name stays,
  // and the store no longer lists the scenario under web.
  ASSERT_TRUE(controller().runCycleOnce(now + 7LL * 24 * 3600 * 1000).ok());
  const json settled = read(reports[2].scenario_id);
  EXPECT_TRUE(settled["outcome"].is_object());
  EXPECT_TRUE(settled["systems"].empty()) << settled.dump();
  EXPECT_EQ(settled["unchanged"], third["unchanged"]);
  store::ScenarioFilter web;
  web.system = "web";
  auto listed = store.scenarios(web);
  ASSERT_TRUE(listed.ok());
  for (const auto& record : *listed) EXPECT_NE(record.id, reports[2].scenario_id);
  EXPECT_TRUE(std::any_of(listed->begin(), listed->end(), [&](const store::ScenarioRecord& r) {
    return r.id == earlier["id"].get<std::string>();
  }));
}

TEST_F(CycleRunnerTest, RestartResumesCycleNumbersAgentsAndEngineState) {
  ASSERT_NO_FATAL_FAILURE(startController());
  int64_t first_observations = 0;
  {
    auto agent = connectWebAgent("agent-1", {50, 50, 50}, 2);
    ASSERT_TRUE(agent);
    auto report = controller().runCycleOnce(common::wallMs());
    ASSERT_TRUE(report.ok()) << report.error().message;
    EXPECT_EQ(report->cycle.id, "c-1");
    const auto* decision = decisionFor(report.value(), "web");
    ASSERT_NE(decision, nullptr);
    first_observations = decision->forecast.observations;
  }
  stopController();
  {
    auto store = store::Store::open(dir_.file("controller.db"));
    ASSERT_TRUE(store.ok());
    auto blob = store.value()->loadEngineState();
    ASSERT_TRUE(blob.ok());
    EXPECT_FALSE(blob.value().empty());
  }

  ASSERT_NO_FATAL_FAILURE(startController());
  const json status = get("/api/v1/status").json();
  EXPECT_EQ(status["cycles"], 1);
  EXPECT_EQ(status["agents"]["total"], 1);
  EXPECT_EQ(status["last_cycle"]["id"], "c-1");
  auto agent = connectWebAgent("agent-1", {52, 52}, 2);
  ASSERT_TRUE(agent);
  auto report = controller().runCycleOnce(common::wallMs() + 1000);
  ASSERT_TRUE(report.ok()) << report.error().message;
  EXPECT_EQ(report->cycle.id, "c-2");
  const auto* decision = decisionFor(report.value(), "web");
  ASSERT_NE(decision, nullptr);
  // The reloaded model continues from what it learned before the restart.
  EXPECT_GT(decision->forecast.observations, first_observations);
}

// The summary as a document tree, the way nlohmann::json would build it from
// the decision: the oracle appendDecisionSummary's bytes are checked against.
json summaryTree(const engine::SystemDecision& d) {
  auto number = [](double v) { return std::isfinite(v) ? json(v) : json(nullptr); };
  const auto lead = engine::leadStepIndex(d);
  auto at = [&](const std::vector<double>& v) {
    return lead && *lead < v.size() ? number(v[*lead]) : json(nullptr);
  };
  json effects = json::array();
  for (const auto& e : d.facts.guardrails) {
    effects.push_back(
        {{"kind", std::string(engine::guardrailCode(e.kind))}, {"from", e.from}, {"to", e.to}});
  }
  json bottleneck = nullptr;
  if (d.bottleneck) {
    bottleneck = {{"kind", d.bottleneck->kind},
                  {"eta", common::formatIso8601(d.bottleneck->eta_ms)},
                  {"steps_ahead", d.bottleneck->steps_ahead},
                  {"predicted_demand", number(d.bottleneck->predicted_demand)},
                  {"capacity", number(d.bottleneck->capacity)}};
  }
  return {{"system", d.system},
          {"demand", number(d.demand)},
          {"forecast_point", at(d.forecast.point)},
          {"forecast_hi", at(d.forecast.hi)},
          {"forecast_lo", at(d.forecast.lo)},
          {"forecast_model", d.forecast.model.empty() ? json(nullptr) : json(d.forecast.model)},
          {"lead_steps", d.lead_steps},
          {"current", d.current_replicas},
          {"recommended", d.recommended_replicas},
          {"desired", d.desired_replicas},
          {"reactive", d.reactive_replicas},
          {"rule", d.rule},
          {"guardrails", d.guardrails},
          {"guardrail_effects", effects},
          {"dispatch", d.dispatch},
          {"rationale", d.rationale},
          {"bottleneck", bottleneck}};
}

TEST(DecisionSummary, IsWrittenAsTheDocumentTreeWouldDumpIt) {
  engine::SystemDecision full;
  full.system = "web-1";
  full.demand = 1234.5678901234;
  full.forecast.point = {10.0, 0.1, 1e21, 3.0};
  full.forecast.hi = {11.0, 0.30000000000000004, 2e21};
  full.forecast.lo = {9.0, -0.0};
  full.forecast.model = "auto: holt-winters(96)";
  full.lead_steps = 2;
  full.current_replicas = 3;
  full.recommended_replicas = 7;
  full.desired_replicas = 5;
  full.reactive_replicas = -1;
  full.rule = "predictive-upper-quantile";
  // Printable ASCII with quotes and backslashes (written by the summary's
  // own escaper), and text with control characters and UTF-8 (by nlohmann's).
  full.guardrails = {"step limit: 7 -> 5", "printable \"quoted\" \\ back\\slash\\",
                     "quote \" back\\slash\nnew line \u00e9"};
  full.facts.guardrails = {{engine::GuardrailKind::kStepLimitUp, 7, 5},
                           {engine::GuardrailKind::kOperatorHold, 5, 5}};
  full.dispatch = true;
  full.rationale = "Demand rises to 1,234.6 by 10:15 \t(tab) and \x01 a control byte.";
  full.bottleneck = engine::Bottleneck{"pool", 1700000000123, 4, 987.25, 900.0, 0.4};

  engine::SystemDecision empty;  // no forecast, no bottleneck, nothing applied
  empty.system = "idle";
  empty.demand = std::nan("");
  empty.rule = "no-data";

  engine::SystemDecision lead_past_end = full;  // the lead beyond the horizon: its last step
  lead_past_end.lead_steps = 40;
  lead_past_end.bottleneck->predicted_demand = std::numeric_limits<double>::infinity();

  for (const auto* d : {&full, &empty, &lead_past_end}) {
    std::string written;
    appendDecisionSummary(written, *d);
    EXPECT_EQ(written, summaryTree(*d).dump()) << d->system;
  }
}

TEST(EngineSettingsFrom, MapsTheControllerConfiguration) {
  ControllerConfig config;
  config.cycle_interval = std::chrono::seconds(30);
  config.mode = "forecast-only";
  config.actions_per_hour = 12;
  config.engine.scale_down_stabilization = std::chrono::minutes(2);
  config.engine.max_step_up = 3;
  config.engine.cooldown = std::chrono::seconds(45);
  config.engine.interval_coverage = 0.8;
  config.engine.risk = 0.05;
  const auto settings = engineSettingsFrom(config);
  EXPECT_DOUBLE_EQ(settings.step_s, 30.0);
  EXPECT_TRUE(settings.forecast_only);
  EXPECT_EQ(settings.actions_per_hour, 12);
  EXPECT_DOUBLE_EQ(settings.scale_down_stabilization_s, 120.0);
  EXPECT_EQ(settings.max_step_up, 3);
  EXPECT_DOUBLE_EQ(settings.cooldown_s, 45.0);
  EXPECT_DOUBLE_EQ(settings.coverage, 0.8);
  EXPECT_DOUBLE_EQ(settings.risk, 0.05);
}

TEST_F(CycleRunnerTest, CyclesRollUpSamplesAndApplyEachRetention) {
  ASSERT_NO_FATAL_FAILURE(startController());
  // The history below is sent in one batch, far older than ingest's 24 h.
  acceptSamplesOfAnyTime(controller().store());
  auto agent = connectWebAgent("agent-1", {50, 50, 50}, 2);
  ASSERT_TRUE(agent);
  // 40 days of demand, one sample every 10 minutes, ending an hour ago. The
  // defaults keep raw samples 14 days, minute rollups 30, hour rollups 400.
  constexpr int64_t kHour = 3600LL * 1000;
  constexpr int64_t kDay = 24 * kHour;
  constexpr int64_t kStep = 10LL * 60 * 1000;
  const int64_t now = common::wallMs();
  const int64_t start = now / kHour * kHour - 40 * kDay;
  std::vector<double> values;
  for (int64_t t = start; t < now - kHour; t += kStep) values.push_back(7.0);
  agent->send(demandHistory("agent-1", 2, start, kStep, values));
  auto ack = agent->receiveA<protocol::Ack>();
  ASSERT_TRUE(ack.has_value());

  auto report = controller().runCycleOnce(now);
  ASSERT_TRUE(report.ok()) << report.error().message;
  auto& store = controller().store();
  EXPECT_EQ(store.rolledUntil(store::RollupResolution::kMinute),
            (now - 2 * 60 * 1000) / 60000 * 60000);

  auto raw = store.samples("web", "demand", 0, now + 1);
  ASSERT_TRUE(raw.ok());
  ASSERT_FALSE(raw->empty());
  EXPECT_GE(raw->front().ts_ms, now - 14 * kDay);
  auto minutes = store.rollups("web", "demand", store::RollupResolution::kMinute, 0, now);
  ASSERT_TRUE(minutes.ok());
  ASSERT_FALSE(minutes->empty());
  EXPECT_GE(minutes->front().start_ms, now - 30 * kDay - 60 * 1000);
  EXPECT_LT(minutes->front().start_ms, now - 29 * kDay);
  // Hours reach back to the first sample, beyond both other retentions.
  auto hours = store.rollups("web", "demand", store::RollupResolution::kHour, 0, now);
  ASSERT_TRUE(hours.ok());
  ASSERT_FALSE(hours->empty());
  EXPECT_EQ(hours->front().start_ms, start);
  EXPECT_EQ(hours->front().count, 6);
  EXPECT_DOUBLE_EQ(hours->front().mean, 7.0);
  // Every hour from the first sample's to the last one's, as far as complete.
  const int64_t last_sample = start + static_cast<int64_t>(values.size() - 1) * kStep;
  const int64_t last_hour = std::min(last_sample / kHour * kHour,
                                     store.rolledUntil(store::RollupResolution::kHour) - kHour);
  EXPECT_EQ(static_cast<int64_t>(hours->size()), (last_hour - start) / kHour + 1);
}

TEST(RecordRetentionConfig, CycleDirectiveAndScenarioRetentionParseWithDefaults) {
  auto defaults = parseControllerConfig("controller: {}\n", "controller.yaml");
  ASSERT_TRUE(defaults.ok()) << defaults.error().message;
  EXPECT_EQ(defaults->cycle_retention, std::chrono::hours(24 * 30));
  EXPECT_EQ(defaults->directive_retention, std::chrono::hours(24 * 90));
  EXPECT_EQ(defaults->scenario_retention, std::chrono::hours(24 * 90));
  auto set = parseControllerConfig(
      "controller:\n  cycle_retention: 2d\n  directive_retention: 7d\n  scenario_retention: 365d\n",
      "controller.yaml");
  ASSERT_TRUE(set.ok()) << set.error().message;
  EXPECT_EQ(set->cycle_retention, std::chrono::hours(24 * 2));
  EXPECT_EQ(set->directive_retention, std::chrono::hours(24 * 7));
  EXPECT_EQ(set->scenario_retention, std::chrono::hours(24 * 365));
  auto refused =
      parseControllerConfig("controller:\n  scenario_retention: 0s\n", "controller.yaml");
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.error().message.find("controller.yaml:2"), std::string::npos)
      << refused.error().message;
  EXPECT_NE(refused.error().message.find("scenario_retention"), std::string::npos)
      << refused.error().message;
}

TEST(RollupRetentionConfig, KeysParseWithDefaultsAndStrictErrors) {
  auto defaults = parseControllerConfig("controller: {}\n", "controller.yaml");
  ASSERT_TRUE(defaults.ok()) << defaults.error().message;
  EXPECT_EQ(defaults->rollup_retention_minute, std::chrono::hours(24 * 30));
  EXPECT_EQ(defaults->rollup_retention_hour, std::chrono::hours(24 * 400));

  auto set = parseControllerConfig(
      "controller:\n  rollup_retention_minute: 7d\n  rollup_retention_hour: 90d\n",
      "controller.yaml");
  ASSERT_TRUE(set.ok()) << set.error().message;
  EXPECT_EQ(set->rollup_retention_minute, std::chrono::hours(24 * 7));
  EXPECT_EQ(set->rollup_retention_hour, std::chrono::hours(24 * 90));

  for (const char* bad : {"controller:\n  rollup_retention_minute: soon\n",
                          "controller:\n  rollup_retention_hour: 0s\n"}) {
    auto refused = parseControllerConfig(bad, "controller.yaml");
    ASSERT_FALSE(refused.ok()) << bad;
    EXPECT_EQ(refused.error().code, "invalid");
    EXPECT_NE(refused.error().message.find("controller.yaml:2"), std::string::npos)
        << refused.error().message;
    EXPECT_NE(refused.error().message.find("rollup_retention_"), std::string::npos)
        << refused.error().message;
  }
}

// A system's engine state is saved after the first cycle that sees it, then
// only after a cycle ten minutes of cycle time later (a 4,096-step model's
// state is about 44 KB), and each cycle says where its time went.
TEST_F(CycleRunnerTest, EngineStateIsSavedAtMostOnceInTenMinutesOfCycleTime) {
  ASSERT_NO_FATAL_FAILURE(startController());
  auto agent = connectWebAgent("agent-1", {96, 100, 104}, 2);
  ASSERT_TRUE(agent);
  const int64_t t0 = common::wallMs();
  auto savedState = [&] {
    auto states = controller().store().loadSystemStates();
    EXPECT_TRUE(states.ok());
    if (!states.ok() || states->size() != 1 || states->front().first != "web") {
      ADD_FAILURE() << "no saved state of web alone";
      return std::string();
    }
    return states->front().second;
  };

  auto first = controller().runCycleOnce(t0);
  ASSERT_TRUE(first.ok()) << first.error().message;
  const std::string after_first = savedState();
  EXPECT_FALSE(after_first.empty());
  std::vector<std::string> phases;
  for (const auto& [phase, ms] : first->phases_ms) {
    phases.push_back(phase);
    EXPECT_GE(ms, 0.0) << phase;
  }
  // The store's upkeep (rollups, retention, compaction) runs on the started
  // controller's maintenance thread, not in the cycle.
  EXPECT_EQ(phases, (std::vector<std::string>{"snapshot", "decide", "record", "scenario",
                                              "outcomes", "alerts", "state"}));

  // 9 minutes later the models have learned a cycle more, but nothing is saved.
  ASSERT_TRUE(controller().runCycleOnce(t0 + 540'000).ok());
  EXPECT_EQ(savedState(), after_first);
  // Ten minutes after the first save, the state is saved again.
  ASSERT_TRUE(controller().runCycleOnce(t0 + 600'000).ok());
  EXPECT_NE(savedState(), after_first);
}

TEST_F(CycleRunnerTest, CyclesRemoveTheirOwnRecordsPastCycleRetention) {
  ASSERT_NO_FATAL_FAILURE(startController());
  auto agent = connectWebAgent("agent-1", {96, 100, 104}, 2);
  ASSERT_TRUE(agent);
  constexpr int64_t kDay = 24LL * 3600 * 1000;
  const int64_t t0 = common::wallMs();
  ASSERT_TRUE(controller().runCycleOnce(t0).ok());
  ASSERT_TRUE(controller().runCycleOnce(t0 + 2 * kDay).ok());
  auto& store = controller().store();
  auto before = store.cycles(0);
  ASSERT_TRUE(before.ok());
  ASSERT_EQ(before->size(), 2u);
  auto scenarios_before = store.scenarios({});
  ASSERT_TRUE(scenarios_before.ok());

  // 31 days after the first: past the default cycle retention (30 days), not
  // the scenario retention (90).
  ASSERT_TRUE(controller().runCycleOnce(t0 + 31 * kDay).ok());
  auto after = store.cycles(0);
  ASSERT_TRUE(after.ok());
  ASSERT_EQ(after->size(), 2u);
  EXPECT_EQ(after->back().ts_ms, t0 + 2 * kDay);
  EXPECT_EQ(controller().metrics().value("pso_retention_pruned_total", {{"table", "cycles"}}), 1.0);
  auto scenarios_after = store.scenarios({});
  ASSERT_TRUE(scenarios_after.ok());
  EXPECT_EQ(scenarios_after->size(), scenarios_before->size() + 1);
}

TEST_F(CycleRunnerTest, CyclesCompactTheRecordsOfWholeHoursPastCompactAfter) {
  ASSERT_NO_FATAL_FAILURE(startController());
  auto agent = connectWebAgent("agent-1", {96, 100, 104}, 2);
  ASSERT_TRUE(agent);
  constexpr int64_t kHour = 3600LL * 1000;
  // On an hour boundary, so which hours are whole does not depend on the clock.
  const int64_t t0 = (common::wallMs() / kHour) * kHour;
  ASSERT_TRUE(controller().runCycleOnce(t0).ok());
  ASSERT_TRUE(controller().runCycleOnce(t0 + 15'000).ok());
  ASSERT_TRUE(controller().runCycleOnce(t0 + kHour + 15'000).ok());
  auto& store = controller().store();
  const auto cycles_before = store.cycles(0);
  const auto scenarios_before = store.scenarios({});
  ASSERT_TRUE(cycles_before.ok() && scenarios_before.ok());
  EXPECT_EQ(controller().metrics().value("pso_compacted_records_total", {{"table", "cycles"}}),
            0.0);

  // Two hours on, the default compact_after (1h) has passed the first hour:
  // its two cycles and their scenarios go into blocks (on the compaction
  // thread), the rest stays.
  ASSERT_TRUE(controller().runCycleOnce(t0 + 2 * kHour + 30'000).ok());
  ASSERT_TRUE(waitFor(
      [&] {
        return controller().metrics().value("pso_compacted_records_total",
                                            {{"table", "scenarios"}}) == 2.0;
      },
      seconds(10)));
  EXPECT_EQ(controller().metrics().value("pso_compacted_records_total", {{"table", "cycles"}}),
            2.0);
  EXPECT_EQ(controller().metrics().value("pso_compacted_records_total", {{"table", "scenarios"}}),
            2.0);
  EXPECT_GT(controller().metrics().value("pso_compacted_bytes_total",
                                         {{"table", "cycles"}, {"stage", "before"}}),
            0.0);
  EXPECT_EQ(controller().metrics().value("pso_compaction_errors_total"), 0.0);
  const auto cycles_after = store.cycles(0);
  const auto scenarios_after = store.scenarios({});
  ASSERT_TRUE(cycles_after.ok() && scenarios_after.ok());
  ASSERT_EQ(cycles_after->size(), cycles_before->size() + 1);
  for (std::size_t i = 0; i < cycles_before->size(); ++i) {
    EXPECT_EQ((*cycles_after)[i + 1].decisions_json, (*cycles_before)[i].decisions_json);
  }
  // The last cycle filled in the earlier scenarios' outcomes, so their
  // documents changed before compaction took them (the store's tests compare
  // compacted documents byte for byte); each is still whole.
  ASSERT_EQ(scenarios_after->size(), scenarios_before->size() + 1);
  for (std::size_t i = 0; i < scenarios_before->size(); ++i) {
    const auto& scenario = (*scenarios_after)[i];
    EXPECT_EQ(scenario.id, (*scenarios_before)[i].id);
    const json doc = json::parse(scenario.json, nullptr, false);
    ASSERT_TRUE(doc.is_object()) << scenario.id;
    EXPECT_EQ(doc.value("id", ""), scenario.id);
    EXPECT_TRUE(doc.contains("questions"));
  }
}

// The nice value of this process's thread named `name`; nullopt without one.
std::optional<int> niceOfThread(const std::string& name) {
  for (const auto& task : std::filesystem::directory_iterator("/proc/self/task")) {
    std::string comm = pso::testing::readFile((task.path() / "comm").string());
    while (!comm.empty() && comm.back() == '\n') comm.pop_back();
    if (comm != name) continue;
    errno = 0;
    const int nice =
        ::getpriority(PRIO_PROCESS, static_cast<id_t>(std::stol(task.path().filename().string())));
    if (errno == 0) return nice;
  }
  return std::nullopt;
}

TEST_F(CycleRunnerTest, TheStoresUpkeepRunsOnAMaintenanceThreadThatGivesWayToIngest) {
  errno = 0;
  const int process_nice = ::getpriority(PRIO_PROCESS, 0);
  ASSERT_EQ(errno, 0);
  ASSERT_NO_FATAL_FAILURE(startController());
  acceptSamplesOfAnyTime(controller().store());
  auto agent = connectWebAgent("agent-1", {50, 50, 50}, 2);
  ASSERT_TRUE(agent);
  // Three hours of demand a minute apart, ending ten minutes ago.
  constexpr int64_t kMinute = 60LL * 1000;
  const int64_t now = common::wallMs() / kMinute * kMinute;
  const int64_t start = now - 190 * kMinute;
  agent->send(demandHistory("agent-1", 2, start, kMinute, std::vector<double>(180, 9.0)));
  ASSERT_TRUE(agent->receiveA<protocol::Ack>().has_value());

  ASSERT_TRUE(controller().runCycleOnce(now).ok());
  // Controller::runCycleOnce returned after the upkeep: every minute that
  // ended two minutes ago is rolled up, by the maintenance thread.
  auto& store = controller().store();
  EXPECT_EQ(store.rolledUntil(store::RollupResolution::kMinute), now - 2 * kMinute);
  auto minutes = store.rollups("web", "demand", store::RollupResolution::kMinute, 0, now);
  ASSERT_TRUE(minutes.ok());
  EXPECT_EQ(minutes->size(), 180u);
  const auto nice = niceOfThread("pso-maintain");
  ASSERT_TRUE(nice.has_value()) << "no thread named pso-maintain";
  EXPECT_EQ(*nice, std::max(process_nice, 10));
  EXPECT_EQ(niceOfThread("pso-cycle"), process_nice);
  EXPECT_EQ(niceOfThread("pso-writer"), process_nice);
}

}  // namespace
}  // namespace pso::controller::service::testing
