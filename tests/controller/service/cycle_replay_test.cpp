// `psoctl simulate` decides as the live controller: the live cycle
// (CycleRunner) over a store with imported history, an operator hold and a
// daily season, then a fleet replay of the same window against the same
// store (cycle::replayFleet); every step's decision must be the same.

#include <gtest/gtest.h>

#include <cmath>
#include <numbers>
#include <string>
#include <vector>

#include "common/metrics.h"
#include "controller/config/controller_config.h"
#include "controller/config/engine_inputs.h"
#include "controller/cycle/cycle_inputs.h"
#include "controller/cycle/replay.h"
#include "controller/service/cycle_runner.h"
#include "controller/store/store.h"
#include "protocol/messages.h"
#include "tests/support/process.h"

namespace pso::controller::service::replay_testing {
namespace {

constexpr int64_t kStepMs = 60'000;  // the cycle interval: too fine to see a day
// A midnight (2026-01-05 00:00 UTC) two and a half days before the first cycle.
constexpr int64_t kHistoryStartMs = 1'767'571'200'000;
constexpr int64_t kFirstCycleMs = kHistoryStartMs + 60LL * 3'600'000;
constexpr int64_t kCycles = 360;  // six hours: six refits of the profile
// An operator holds 9 replicas from the 100th cycle to the 130th.
constexpr int64_t kHoldFromMs = kFirstCycleMs + 100 * kStepMs - 1;
constexpr int64_t kHoldUntilMs = kFirstCycleMs + 130 * kStepMs;

class NoDispatch : public DirectiveDispatcher {
 public:
  void dispatch(const store::DirectiveRecord&) override {}
};

/// A daily swing with faster bumps and a little deterministic noise.
double demandAt(int64_t ms) {
  const double x = 2.0 * std::numbers::pi *
                   static_cast<double>((ms - kHistoryStartMs) % 86'400'000) / 86'400'000.0;
  return 100.0 + 60.0 * std::sin(x) + 25.0 * std::sin(4.0 * x + 1.0) +
         3.0 * std::sin(static_cast<double>(ms / kStepMs) * 1.7);
}

protocol::SystemInfo webInfo(int64_t warmup_cycles) {
  protocol::SystemInfo info;
  info.name = "web";
  info.actuator = "exec";
  info.capacity_per_replica = 20.0;
  info.target_utilization = 0.7;
  info.min_replicas = 1;
  info.max_replicas = 40;
  info.replicas = 2;
  info.warmup_ms = warmup_cycles * kStepMs;
  return info;
}

// Agent edge-01 declaring "web" with a warm-up of `warmup_cycles`, and its
// demand, one sample in the middle of each cycle interval, from the history
// (as `psoctl import` stores it, rolled up) to the step ending at `last_ms`.
void storeWeb(store::Store& db, int64_t warmup_cycles, int64_t last_ms) {
  protocol::Hello hello;
  hello.agent_id = "edge-01";
  hello.systems.push_back(webInfo(warmup_cycles));
  ASSERT_TRUE(db.upsertAgent(hello, kHistoryStartMs).ok());
  std::vector<store::Sample> samples;
  for (int64_t end = kHistoryStartMs + kStepMs; end <= last_ms; end += kStepMs) {
    samples.push_back({end - kStepMs / 2, demandAt(end - kStepMs / 2)});
  }
  ASSERT_TRUE(db.importSamples("web", cycle::kDemandMetric, samples).ok());
  ASSERT_TRUE(db.rollup(kFirstCycleMs - cycle::kRollupDelayMs).ok());
}

// Warm-ups of one cycle (what runs serves: ready = launched) and of four
// (ready is the fewest launched over the last four cycles).
class CycleReplay : public ::testing::TestWithParam<int64_t> {};

INSTANTIATE_TEST_SUITE_P(WarmUps, CycleReplay, ::testing::Values(1, 4),
                         [](const ::testing::TestParamInfo<int64_t>& p) {
                           return "Cycles" + std::to_string(p.param);
                         });

TEST_P(CycleReplay, AFleetReplayOfTheWindowDecidesEveryStepAsTheLiveCyclesDid) {
  const int64_t warmup_cycles = GetParam();
  pso::testing::TempDir dir;
  auto opened = store::Store::open(dir.file("controller.db"));
  ASSERT_TRUE(opened.ok()) << opened.error().message;
  store::Store& db = **opened;
  ASSERT_NO_FATAL_FAILURE(storeWeb(db, warmup_cycles, kFirstCycleMs + (kCycles - 1) * kStepMs));
  store::DirectiveRecord hold;
  hold.id = "op-1";
  hold.system = "web";
  hold.agent_id = "edge-01";
  hold.replicas = 9;
  hold.reason = "rehearsal";
  hold.source = "operator";
  hold.status = "applied";
  hold.created_ms = kHoldFromMs;
  hold.deadline_ms = kHoldFromMs + kStepMs;
  hold.hold_until_ms = kHoldUntilMs;
  ASSERT_TRUE(db.insertDirective(hold).ok());

  ControllerConfig config;
  config.cycle_interval = std::chrono::milliseconds(kStepMs);
  config.mode = "act";
  NoDispatch dispatcher;
  common::MetricsRegistry metrics;
  std::vector<int64_t> live;
  std::vector<int64_t> live_ready;
  std::vector<double> live_planned;
  std::vector<std::string> live_models;
  engine::EngineSettings settings;
  {
    CycleRunner runner(config, db, dispatcher, metrics);
    settings = runner.settings();
    for (int64_t c = 0; c < kCycles; ++c) {
      auto report = runner.runCycleOnce(kFirstCycleMs + c * kStepMs);
      ASSERT_TRUE(report.ok()) << report.error().message;
      ASSERT_EQ(report->decisions.systems.size(), 1u);
      live.push_back(report->decisions.systems[0].desired_replicas);
      live_ready.push_back(report->decisions.systems[0].ready_replicas);
      live_planned.push_back(report->decisions.systems[0].planned_demand);
      live_models.push_back(report->decisions.systems[0].forecast.model);
    }
  }

  engine::FleetReplay fleet;
  fleet.step_s = static_cast<double>(kStepMs) / 1000.0;
  fleet.start_ms = kFirstCycleMs;
  fleet.settings = settings;
  engine::FleetSystem web;
  web.spec = specFrom("web", webInfo(warmup_cycles));
  web.initial_replicas = webInfo(warmup_cycles).replicas;
  for (int64_t c = 0; c < kCycles; ++c) {
    web.demand.push_back(demandAt(kFirstCycleMs + c * kStepMs - kStepMs / 2));
  }
  fleet.systems.push_back(web);
  std::vector<std::string> replay_models;
  auto replayed = cycle::replayFleet(
      db, fleet,
      [&](std::size_t, const engine::SimulationRow&, const engine::SystemDecision& decision) {
        replay_models.push_back(decision.forecast.model);
      });
  ASSERT_TRUE(replayed.ok()) << replayed.error().message;
  const auto& rows = replayed->systems.front().rows;
  ASSERT_EQ(rows.size(), live.size());
  for (std::size_t c = 0; c < rows.size(); ++c) {
    ASSERT_EQ(rows[c].desired, live[c]) << "cycle " << c;
    ASSERT_EQ(rows[c].ready, live_ready[c]) << "cycle " << c;
    ASSERT_EQ(rows[c].planned_demand, live_planned[c]) << "cycle " << c;
    ASSERT_EQ(replay_models[c], live_models[c]) << "cycle " << c;
  }
  // What the comparison covered: the history learned before the first cycle,
  // the profile from the rollups, the hold, and decisions that move.
  EXPECT_NE(live_models.front().find("/profile"), std::string::npos) << live_models.front();
  for (std::size_t c = 100; c < 130; ++c) EXPECT_EQ(live[c], 9) << "cycle " << c;
  int64_t changes = 0;
  for (std::size_t c = 1; c < live.size(); ++c) changes += live[c] != live[c - 1] ? 1 : 0;
  EXPECT_GE(changes, 4);
  // With a warm-up of several cycles a scale-up serves only after it.
  int64_t warming = 0;
  for (std::size_t c = 1; c < live.size(); ++c) warming += live_ready[c] < live[c - 1] ? 1 : 0;
  if (warmup_cycles > 1) {
    EXPECT_GE(warming, 4);
  } else {
    EXPECT_EQ(warming, 0);
  }
}

// A warm-up changed while the controller runs gives the system a fresh model
// (engine::DecisionEngine::upsertSystem): the same cycle teaches it the
// stored history and fits its seasonal profile again, so it goes on
// forecasting with the daily shape instead of waiting for the hourly refit.
TEST(CycleReplayProfile, AModelMadeAfreshForANewWarmUpGetsItsProfileInTheSameCycle) {
  pso::testing::TempDir dir;
  auto opened = store::Store::open(dir.file("controller.db"));
  ASSERT_TRUE(opened.ok()) << opened.error().message;
  store::Store& db = **opened;
  ASSERT_NO_FATAL_FAILURE(storeWeb(db, 1, kFirstCycleMs + kStepMs));

  ControllerConfig config;
  config.cycle_interval = std::chrono::milliseconds(kStepMs);
  config.mode = "forecast-only";
  NoDispatch dispatcher;
  common::MetricsRegistry metrics;
  CycleRunner runner(config, db, dispatcher, metrics);
  auto first = runner.runCycleOnce(kFirstCycleMs);
  ASSERT_TRUE(first.ok()) << first.error().message;
  const auto& before = first->decisions.systems.at(0);
  ASSERT_NE(before.forecast.model.find("/profile"), std::string::npos) << before.forecast.model;

  protocol::Hello hello;
  hello.agent_id = "edge-01";
  hello.systems.push_back(webInfo(10));
  ASSERT_TRUE(db.upsertAgent(hello, kFirstCycleMs + kStepMs / 2).ok());
  auto second = runner.runCycleOnce(kFirstCycleMs + kStepMs);
  ASSERT_TRUE(second.ok()) << second.error().message;
  const auto& after = second->decisions.systems.at(0);
  // Ten steps of warm-up and a five-minute margin: the fresh model's plan.
  EXPECT_EQ(after.forecast.point.size(), 15u);
  EXPECT_EQ(after.facts.observations, before.facts.observations + 1);
  EXPECT_NE(after.forecast.model.find("/profile"), std::string::npos) << after.forecast.model;
}

}  // namespace
}  // namespace pso::controller::service::replay_testing
