// Warm starts from stored history: a real SQLite store holding a system's
// past demand (written as `psoctl import` writes it), and real CycleRunners
// whose first cycle either learns that history or, with an empty store,
// starts from nothing. Time is passed in; no clock is read.

#include "controller/cycle/forecaster_warm_start.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <memory>
#include <vector>

#include "common/metrics.h"
#include "controller/config/controller_config.h"
#include "controller/service/cycle_runner.h"
#include "controller/store/store.h"
#include "protocol/messages.h"
#include "tests/support/process.h"

namespace pso::controller::service {
namespace {

constexpr int64_t kStepMs = 60'000;  // the cycle interval
constexpr int kSeason = 48;          // steps: a 48-minute cycle at the cycle step
constexpr int kHistorySteps = 10 * kSeason;
constexpr int kSamplesPerStep = 4;
constexpr int64_t kNowMs = 1'780'000'000'000;
constexpr double kLevel = 100.0;
constexpr double kAmplitude = 50.0;
constexpr double kPi = 3.14159265358979323846;

// The season at time t (ms), with a little deterministic noise.
double demandAt(int64_t ts_ms, int k) {
  const double phase = 2.0 * kPi * static_cast<double>(ts_ms) / (kSeason * kStepMs);
  return kLevel + kAmplitude * std::sin(phase) + 2.0 * std::sin(1.7 * k);
}

class NoDispatch : public DirectiveDispatcher {
 public:
  void dispatch(const store::DirectiveRecord&) override {}
};

class ForecasterWarmStartTest : public ::testing::Test {
 protected:
  std::unique_ptr<store::Store> openStore(const std::string& name, bool with_history) {
    auto opened = store::Store::open(dir_.file(name));
    EXPECT_TRUE(opened.ok()) << opened.error().message;
    if (!opened.ok()) return nullptr;
    auto store = std::move(opened).value();
    EXPECT_TRUE(store->upsertAgent(hello(0), kNowMs - kHistorySteps * kStepMs).ok());
    // The history (kHistorySteps steps before the current one), then the
    // samples of the step the first cycle observes itself.
    std::vector<store::Sample> samples;
    const int64_t first_ms =
        with_history ? kNowMs - (kHistorySteps + 1) * kStepMs : kNowMs - kStepMs;
    int k = 0;
    for (int64_t ts = first_ms + kStepMs / kSamplesPerStep; ts <= kNowMs;
         ts += kStepMs / kSamplesPerStep) {
      samples.push_back({ts, demandAt(ts, k++)});
    }
    auto imported = store->importSamples("web", "demand", samples);
    EXPECT_TRUE(imported.ok()) << imported.error().message;
    return store;
  }

  // The agent's hello: one system, "web", launching in `warmup_ms`.
  static protocol::Hello hello(int64_t warmup_ms) {
    protocol::Hello hello;
    hello.agent_id = "agent-1";
    protocol::SystemInfo info;
    info.name = "web";
    info.actuator = "exec";
    info.min_replicas = 1;
    info.max_replicas = 20;
    info.replicas = 2;
    info.capacity_per_replica = 100.0;  // 2 replicas serve the peak: no rush to plan
    info.warmup_ms = warmup_ms;
    hello.systems.push_back(info);
    return hello;
  }

  // The samples of the step ending at `end_ms`.
  static std::vector<store::Sample> stepSamples(int64_t end_ms) {
    std::vector<store::Sample> samples;
    for (int i = 1; i <= kSamplesPerStep; ++i) {
      const int64_t ts = end_ms - kStepMs + i * kStepMs / kSamplesPerStep;
      samples.push_back({ts, demandAt(ts, i)});
    }
    return samples;
  }

  static ControllerConfig config() {
    ControllerConfig c;
    c.cycle_interval = std::chrono::milliseconds(kStepMs);
    c.mode = "forecast-only";
    return c;
  }

  pso::testing::TempDir dir_;
  NoDispatch dispatcher_;
  common::MetricsRegistry metrics_;
};

const engine::SystemDecision& webDecision(const CycleReport& report) {
  static const engine::SystemDecision kNone;
  for (const auto& d : report.decisions.systems) {
    if (d.system == "web") return d;
  }
  ADD_FAILURE() << "no decision for web";
  return kNone;
}

TEST(StepMeans, AveragesEachCycleIntervalAndLeavesGapsAsGaps) {
  // Steps (0, 10], (10, 20], (20, 30] ending at 30.
  const std::vector<store::Sample> samples = {
      {0, 99.0},               // before the first step: ignored
      {5, 1.0},  {10, 3.0},    // step 0: mean 2
      {25, NAN},               // step 1 has no finite sample: a gap
      {21, 7.0},               // step 2 (out of order is fine for the means)
      {30, 9.0}, {31, 50.0}};  // 31 is after the end: ignored
  const auto means = cycle::stepMeans(samples, 30, 10, 3);
  ASSERT_EQ(means.size(), 3u);
  EXPECT_DOUBLE_EQ(means[0], 2.0);
  EXPECT_TRUE(std::isnan(means[1]));
  EXPECT_DOUBLE_EQ(means[2], 8.0);
}

TEST(DecisionEngineWarmStart, LearnsOnlyIntoAModelThatLearnedNothing) {
  engine::EngineSettings settings;
  settings.step_s = 60;
  engine::DecisionEngine engine(settings);
  engine::SystemSpec spec;
  spec.name = "web";
  spec.capacity_per_replica = 20;
  spec.max_replicas = 20;
  engine.upsertSystem(spec);
  EXPECT_FALSE(engine.needsHistory("unknown"));
  EXPECT_TRUE(engine.needsHistory("web"));
  // Leading gaps are skipped, later ones learned as gaps.
  const std::vector<double> history = {NAN, NAN, 10.0, NAN, 12.0, 11.0};
  EXPECT_EQ(engine.warmStart("web", history, kNowMs - kStepMs), 4u);
  EXPECT_FALSE(engine.needsHistory("web"));
  EXPECT_EQ(engine.warmStart("web", history, kNowMs - kStepMs), 0u);
  engine::CycleInput input;
  input.now_ms = kNowMs;
  input.systems.push_back({});
  input.systems.back().system = "web";
  input.systems.back().demand = 11.0;
  input.systems.back().current_replicas = 1;
  const auto decisions = engine.decide(input);
  ASSERT_EQ(decisions.systems.size(), 1u);
  EXPECT_EQ(decisions.systems[0].facts.observations, 4);
}

TEST_F(ForecasterWarmStartTest, FirstCycleForecastFollowsTheStoredSeasonOnce) {
  auto warm_store = openStore("warm.db", true);
  auto cold_store = openStore("cold.db", false);
  ASSERT_TRUE(warm_store && cold_store);
  CycleRunner warm(config(), *warm_store, dispatcher_, metrics_);
  CycleRunner cold(config(), *cold_store, dispatcher_, metrics_);

  auto warm_first = warm.runCycleOnce(kNowMs);
  ASSERT_TRUE(warm_first.ok()) << warm_first.error().message;
  auto cold_first = cold.runCycleOnce(kNowMs);
  ASSERT_TRUE(cold_first.ok()) << cold_first.error().message;

  // The warm model learned every stored step and this cycle's; the cold one
  // this cycle's only, and waits for more before it plans.
  EXPECT_EQ(webDecision(*warm_first).facts.observations, kHistorySteps + 1);
  EXPECT_EQ(webDecision(*cold_first).facts.observations, 1);
  EXPECT_NE(webDecision(*warm_first).rule, "warming-up");
  EXPECT_EQ(webDecision(*cold_first).rule, "warming-up");

  // Over the next season the warm forecast rises to the peak and falls to
  // the trough where the history has them; the cold one is flat.
  auto warm_forecast = warm.forecast("web", kSeason);
  auto cold_forecast = cold.forecast("web", kSeason);
  ASSERT_TRUE(warm_forecast && cold_forecast);
  ASSERT_EQ(warm_forecast->point.size(), static_cast<std::size_t>(kSeason));
  // Step h ends at now + h steps; its mean demand is near the season there.
  int peak_step = 1;
  for (int h = 1; h <= kSeason; ++h) {
    if (demandAt(kNowMs + h * kStepMs - kStepMs / 2, 0) >
        demandAt(kNowMs + peak_step * kStepMs - kStepMs / 2, 0)) {
      peak_step = h;
    }
  }
  const double warm_peak = warm_forecast->point[peak_step - 1];
  const double cold_peak = cold_forecast->point[peak_step - 1];
  EXPECT_GT(warm_peak, kLevel + 0.8 * kAmplitude) << "at step " << peak_step;
  EXPECT_LT(cold_peak, kLevel + 0.2 * kAmplitude) << "at step " << peak_step;
  const auto [warm_lo, warm_hi] =
      std::minmax_element(warm_forecast->point.begin(), warm_forecast->point.end());
  EXPECT_GT(*warm_hi - *warm_lo, 1.6 * kAmplitude);
  const auto [cold_lo, cold_hi] =
      std::minmax_element(cold_forecast->point.begin(), cold_forecast->point.end());
  EXPECT_LT(*cold_hi - *cold_lo, 0.2 * kAmplitude);

  // Once: the next cycle learns its own step only.
  std::vector<store::Sample> next;
  for (int i = 1; i <= kSamplesPerStep; ++i) {
    const int64_t ts = kNowMs + i * kStepMs / kSamplesPerStep;
    next.push_back({ts, demandAt(ts, i)});
  }
  ASSERT_TRUE(warm_store->importSamples("web", "demand", next).ok());
  auto warm_second = warm.runCycleOnce(kNowMs + kStepMs);
  ASSERT_TRUE(warm_second.ok()) << warm_second.error().message;
  EXPECT_EQ(webDecision(*warm_second).facts.observations, kHistorySteps + 2);
  warm.stop();  // saves the engine state

  // A restarted runner restores the saved models and does not learn the
  // history again.
  CycleRunner restarted(config(), *warm_store, dispatcher_, metrics_);
  ASSERT_TRUE(restarted.start().ok());
  auto after_restart = restarted.runCycleOnce(kNowMs + 2 * kStepMs);
  ASSERT_TRUE(after_restart.ok()) << after_restart.error().message;
  EXPECT_EQ(webDecision(*after_restart).facts.observations, kHistorySteps + 2);
  restarted.stop();
}

// A warm-up changed while the controller runs gives the system a fresh model
// for the new plan horizons (engine::DecisionEngine::upsertSystem); the next
// cycle's warm start teaches it the stored history again, so it plans with
// what it knew, not from nothing.
TEST_F(ForecasterWarmStartTest, AModelMadeAfreshForANewWarmUpLearnsTheStoredHistoryAgain) {
  auto store = openStore("warm.db", true);
  ASSERT_TRUE(store);
  CycleRunner runner(config(), *store, dispatcher_, metrics_);
  auto first = runner.runCycleOnce(kNowMs);
  ASSERT_TRUE(first.ok()) << first.error().message;
  EXPECT_EQ(webDecision(*first).facts.observations, kHistorySteps + 1);
  EXPECT_LT(webDecision(*first).forecast.point.size(), 25u);

  // The operator redeploys with a 20-minute warm-up.
  ASSERT_TRUE(store->upsertAgent(hello(20 * kStepMs), kNowMs + kStepMs / 2).ok());
  ASSERT_TRUE(store->importSamples("web", "demand", stepSamples(kNowMs + kStepMs)).ok());
  auto second = runner.runCycleOnce(kNowMs + kStepMs);
  ASSERT_TRUE(second.ok()) << second.error().message;
  const auto& decision = webDecision(*second);
  // 20 steps of warm-up and a 5-minute margin (5 steps).
  EXPECT_EQ(decision.forecast.point.size(), 25u);
  // The history, the first cycle's step (now stored) and this one.
  EXPECT_EQ(decision.facts.observations, kHistorySteps + 2);
  EXPECT_NE(decision.rule, "warming-up");

  // Nothing changes after: the next cycle learns its own step only.
  ASSERT_TRUE(store->importSamples("web", "demand", stepSamples(kNowMs + 2 * kStepMs)).ok());
  auto third = runner.runCycleOnce(kNowMs + 2 * kStepMs);
  ASSERT_TRUE(third.ok()) << third.error().message;
  EXPECT_EQ(webDecision(*third).facts.observations, kHistorySteps + 3);
}

}  // namespace
}  // namespace pso::controller::service
