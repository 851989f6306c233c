// The engine's state across restarts, kept by system: a cycle saves a slice
// of the fleet, a restart loads every system's part, a part that does not
// read costs only its own system's model, and a whole-engine state saved by
// an earlier version still loads. A real SQLite store and the real
// CycleRunner, cycles run by the test at times it chooses.

#include <gtest/gtest.h>

#include <cmath>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "common/metrics.h"
#include "controller/config/controller_config.h"
#include "controller/engine/decision_engine.h"
#include "controller/service/cycle_runner.h"
#include "controller/store/store.h"
#include "protocol/messages.h"
#include "tests/support/process.h"

namespace pso::controller::service {
namespace {

constexpr int64_t kStateT0 = 1'780'000'000'000;
constexpr int64_t kCycleStepMs = 15'000;
constexpr int kStoredSteps = 40;

class DiscardingDispatcher : public DirectiveDispatcher {
 public:
  void dispatch(const store::DirectiveRecord&) override {}
};

class EngineStateTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto opened = store::Store::open(dir_.file("controller.db"));
    ASSERT_TRUE(opened.ok()) << opened.error().message;
    store_ = std::move(opened).value();
    store::IngestLimits limits;
    limits.max_age_ms = 365LL * 24 * 3600 * 1000;
    store_->setIngestLimits(limits);
    config_.cycle_interval = std::chrono::milliseconds(kCycleStepMs);
    config_.mode = "forecast-only";
  }

  /// Systems sys-0 .. sys-(n-1), one agent each, with kStoredSteps steps of demand.
  void addSystems(int n) {
    std::vector<protocol::TelemetryBatch> batches;
    for (int s = 0; s < n; ++s) {
      protocol::Hello hello;
      hello.agent_id = "agent-" + std::to_string(s);
      protocol::SystemInfo info;
      info.name = "sys-" + std::to_string(s);
      info.actuator = "exec";
      info.min_replicas = 1;
      info.max_replicas = 20;
      info.replicas = 4;
      info.capacity_per_replica = 100;
      hello.systems.push_back(info);
      ASSERT_TRUE(store_->upsertAgent(hello, kStateT0).ok());
      protocol::TelemetryBatch batch;
      batch.agent_id = hello.agent_id;
      batch.seq = 1;
      batch.oldest_seq = 1;
      batch.series = {{info.name, "demand"}};
      batch.values.resize(1);
      for (int k = 1; k <= kStoredSteps; ++k) {
        batch.timestamps_ms.push_back(kStateT0 + k * kCycleStepMs);
        batch.values[0].push_back(200 + 50 * std::sin(k * 0.3 + s));
      }
      batches.push_back(std::move(batch));
    }
    ASSERT_TRUE(store_->ingestTelemetry(batches, kStateT0 + kStoredSteps * kCycleStepMs).ok());
  }

  std::unique_ptr<CycleRunner> runner() {
    return std::make_unique<CycleRunner>(config_, *store_, dispatcher_, metrics_);
  }

  std::map<std::string, std::string> savedStates() {
    auto states = store_->loadSystemStates();
    EXPECT_TRUE(states.ok());
    std::map<std::string, std::string> out;
    if (states.ok()) out.insert(states->begin(), states->end());
    return out;
  }

  pso::testing::TempDir dir_;
  std::unique_ptr<store::Store> store_;
  ControllerConfig config_;
  DiscardingDispatcher dispatcher_;
  common::MetricsRegistry metrics_;
};

// 8 systems at a 150 s cycle, each saved once in ten minutes: two a cycle,
// the longest unsaved first, so the fleet is saved over four cycles and the
// fifth saves again the two the first one did.
TEST_F(EngineStateTest, EachCycleSavesASliceOfTheFleetAndEverySystemOnceInTenMinutes) {
  ASSERT_NO_FATAL_FAILURE(addSystems(8));
  config_.cycle_interval = std::chrono::milliseconds(150'000);
  auto cycles = runner();
  std::vector<std::map<std::string, std::string>> after;
  for (int c = 1; c <= 5; ++c) {
    ASSERT_TRUE(cycles->runCycleOnce(kStateT0 + c * 150'000).ok());
    after.push_back(savedStates());
  }
  EXPECT_EQ(after[0].size(), 2u);
  EXPECT_EQ(after[1].size(), 4u);
  EXPECT_EQ(after[2].size(), 6u);
  EXPECT_EQ(after[3].size(), 8u);
  ASSERT_EQ(after[4].size(), 8u);
  std::size_t saved_again = 0;
  for (const auto& [system, state] : after[0]) {
    EXPECT_NE(after[4].at(system), state) << system << " is due ten minutes after its first save";
    ++saved_again;
  }
  EXPECT_EQ(saved_again, 2u);
  for (const auto& [system, state] : after[3]) {
    if (after[0].count(system) == 0) {
      EXPECT_EQ(after[4].at(system), state) << system;
    }
  }
  // The fleet-wide part (the action window) is saved too.
  auto fleet = store_->loadEngineState();
  ASSERT_TRUE(fleet.ok());
  EXPECT_FALSE(fleet->empty());
}

// A stop saves every system; a restart resumes each model where it was, and
// a system whose saved part does not read starts afresh without costing the
// others theirs.
TEST_F(EngineStateTest, ARestartLoadsEverySystemAndABadPartCostsOnlyItsOwnModel) {
  ASSERT_NO_FATAL_FAILURE(addSystems(3));
  std::map<std::string, int64_t> learned;
  {
    auto cycles = runner();
    for (int c = 1; c <= 3; ++c)
      ASSERT_TRUE(cycles->runCycleOnce(kStateT0 + c * kCycleStepMs).ok());
    for (const char* system : {"sys-0", "sys-1", "sys-2"}) {
      auto forecast = cycles->forecast(system, 4);
      ASSERT_TRUE(forecast.has_value()) << system;
      learned[system] = forecast->observations;
      EXPECT_GT(learned[system], 0) << system;
    }
  }
  EXPECT_EQ(savedStates().size(), 3u);
  ASSERT_TRUE(store_->saveSystemStates({{"sys-1", "not a state"}}, kStateT0).ok());

  auto restarted = runner();
  ASSERT_TRUE(restarted->start().ok());
  restarted->stop();
  for (const char* system : {"sys-0", "sys-2"}) {
    auto forecast = restarted->forecast(system, 4);
    ASSERT_TRUE(forecast.has_value()) << system;
    EXPECT_EQ(forecast->observations, learned[system]) << system;
  }
  auto fresh = restarted->forecast("sys-1", 4);
  EXPECT_TRUE(!fresh.has_value() || fresh->observations == 0);
}

// A model loaded from a state saved some cycles before the stop learns the
// stored steps since, and steps the store has nothing for as gaps: the
// saved state is a checkpoint, the stored samples its log.
TEST_F(EngineStateTest, ARestartTeachesEachModelTheStoredStepsSinceItsSavedState) {
  ASSERT_NO_FATAL_FAILURE(addSystems(1));
  int64_t saved_observations = 0;
  {
    auto cycles = runner();
    for (int c = 1; c <= 3; ++c)
      ASSERT_TRUE(cycles->runCycleOnce(kStateT0 + c * kCycleStepMs).ok());
    saved_observations = cycles->forecast("sys-0", 4)->observations;
  }
  // Samples are stored through step 40; the next cycle is at step 20, so
  // steps 4..19 are caught up, all with samples.
  int64_t caught_up = 0;
  {
    auto cycles = runner();
    ASSERT_TRUE(cycles->start().ok());
    auto report = cycles->runCycleOnce(kStateT0 + 20 * kCycleStepMs);
    ASSERT_TRUE(report.ok()) << report.error().message;
    caught_up = cycles->forecast("sys-0", 4)->observations;
    EXPECT_EQ(caught_up, saved_observations + 16 + 1);
    cycles->stop();
  }
  // At step 50 the steps 21..49 are caught up, but only 21..40 have samples:
  // the other nine are learned as gaps, not as values.
  auto cycles = runner();
  ASSERT_TRUE(cycles->start().ok());
  ASSERT_TRUE(cycles->runCycleOnce(kStateT0 + 50 * kCycleStepMs).ok());
  EXPECT_EQ(cycles->forecast("sys-0", 4)->observations, caught_up + 20 + 1);
  cycles->stop();
}

// A database written before states were kept by system holds the whole
// engine's state in one row: it still loads.
TEST_F(EngineStateTest, AWholeEngineStateOfAnEarlierVersionStillLoads) {
  ASSERT_NO_FATAL_FAILURE(addSystems(1));
  engine::DecisionEngine earlier(engineSettingsFrom(config_));
  engine::SystemSpec spec;
  spec.name = "sys-0";
  spec.capacity_per_replica = 100;
  spec.max_replicas = 20;
  earlier.upsertSystem(spec);
  for (int k = 1; k <= 12; ++k) {
    engine::CycleInput input;
    input.now_ms = kStateT0 + k * kCycleStepMs;
    engine::SystemObservation observation;
    observation.system = "sys-0";
    observation.demand = 100.0 + k;
    observation.current_replicas = 4;
    input.systems.push_back(observation);
    earlier.decide(input);
  }
  ASSERT_TRUE(store_->saveEngineState(earlier.saveState(), kStateT0).ok());

  auto cycles = runner();
  ASSERT_TRUE(cycles->start().ok());
  cycles->stop();
  auto forecast = cycles->forecast("sys-0", 4);
  ASSERT_TRUE(forecast.has_value());
  EXPECT_EQ(forecast->observations, 12);
  EXPECT_EQ(forecast->point, earlier.forecast("sys-0", 4)->point);
}

}  // namespace
}  // namespace pso::controller::service
