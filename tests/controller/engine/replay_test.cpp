#include "controller/engine/replay.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>

namespace pso::controller::engine {
namespace {

std::vector<std::optional<double>> noisySeries(int n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<double> noise(0.0, 5.0);
  std::vector<std::optional<double>> values;
  for (int t = 0; t < n; ++t) {
    if (t % 23 == 7) {
      values.emplace_back(std::nullopt);
    } else {
      values.emplace_back(100.0 + 0.5 * t + 20.0 * std::sin(t / 8.0) + noise(rng));
    }
  }
  return values;
}

TEST(RollingForecast, EmitsEveryNthOriginAfterWarmupWithAllSteps) {
  const auto values = noisySeries(100, 1);
  const auto rows = rollingForecast(values, 4, 5, 30, 0.9);
  // Origins 30, 35, ..., 95: 14 origins x 4 steps.
  ASSERT_EQ(rows.size(), 14u * 4u);
  EXPECT_EQ(rows.front().origin, 30);
  EXPECT_EQ(rows.front().step, 1);
  EXPECT_EQ(rows.back().origin, 95);
  EXPECT_EQ(rows.back().step, 4);
  for (const ForecastRow& row : rows) {
    EXPECT_LE(row.lo, row.point);
    EXPECT_GE(row.hi, row.point);
  }
}

TEST(RollingForecast, NeverLooksAhead) {
  const auto values = noisySeries(400, 2);
  const auto rows = rollingForecast(values, 6, 1, 20, 0.9);
  for (int cut : {60, 200, 333}) {
    auto altered = values;
    for (std::size_t i = static_cast<std::size_t>(cut) + 1; i < altered.size(); ++i) {
      altered[i] = i % 2 == 0 ? std::optional<double>(1e6) : std::nullopt;
    }
    const auto changed = rollingForecast(altered, 6, 1, 20, 0.9);
    ASSERT_EQ(changed.size(), rows.size());
    for (std::size_t r = 0; r < rows.size(); ++r) {
      if (rows[r].origin > cut) break;
      ASSERT_EQ(rows[r].point, changed[r].point) << "origin " << rows[r].origin;
      ASSERT_EQ(rows[r].lo, changed[r].lo);
      ASSERT_EQ(rows[r].hi, changed[r].hi);
    }
    // ...while later origins do see the altered data (the check has teeth).
    bool differs = false;
    for (std::size_t r = 0; r < rows.size(); ++r) {
      if (rows[r].origin > cut + 2 && rows[r].point != changed[r].point) differs = true;
    }
    EXPECT_TRUE(differs);
  }
}

TEST(RollingForecast, MissingValuesAreGapsNotZeros) {
  std::vector<std::optional<double>> values(40, 50.0);
  for (int t = 20; t < 30; ++t) values[static_cast<std::size_t>(t)] = std::nullopt;
  for (const ForecastRow& row : rollingForecast(values, 3, 1, 5, 0.9)) {
    EXPECT_NEAR(row.point, 50.0, 1e-9) << "origin " << row.origin;
  }
  // Origins before the first value produce nothing.
  std::vector<std::optional<double>> late(10, std::nullopt);
  late.push_back(1.0);
  const auto rows = rollingForecast(late, 2, 1, 0, 0.9);
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0].origin, 10);
}

TEST(RollingForecast, OptionsPickTheModelAndRejectBadInput) {
  RollingForecastOptions options;
  options.horizon = 2;
  options.model = "naive";
  const auto rows = rollingForecast({1.0, 2.0, 3.0}, options);
  ASSERT_TRUE(rows.ok());
  ASSERT_EQ(rows.value().size(), 4u);  // origins 1 and 2 (warm-up 1), 2 steps each
  EXPECT_EQ(rows.value().back().point, 3.0);
  options.model = "nope";
  EXPECT_FALSE(rollingForecast({1.0}, options).ok());
  options.model = "holt";
  options.horizon = 0;
  EXPECT_FALSE(rollingForecast({1.0}, options).ok());
}

TEST(Simulate, ReadyOverloadAndCostFollowTheContract) {
  // Reactive policy, no stabilisation, 10 per replica at 100% target, 20 s
  // warm-up on a 10 s step (K = 2), starting from 1 replica. By hand:
  //  t demand current ready decision                                   desired
  //  0    5      1      1   ratio 0.5 -> ceil(0.5)                        1
  //  1   25      1      1   ratio 2.5 -> ceil(2.5)                        3  (overloaded)
  //  2   25      3      1   2 warming at 0: 25/30 < 1, keep               3  (overloaded)
  //  3    8      3      3   ratio 0.27 -> ceil(0.8)                       1
  //  4   12      1      1   ratio 1.2 -> ceil(1.2)                        2  (overloaded)
  SystemSpec spec;
  spec.name = "w";
  spec.capacity_per_replica = 10.0;
  spec.target_utilization = 1.0;
  spec.min_replicas = 1;
  spec.max_replicas = 10;
  spec.warmup_s = 20.0;
  EngineSettings settings;
  settings.policy = "reactive";
  settings.scale_down_stabilization_s = 0.0;
  int observed = 0;
  const SimulationResult result = simulate(
      {5, 25, 25, 8, 12}, 10.0, spec, settings, 1,
      [&](const SimulationRow& row, const SystemDecision& decision) {
        EXPECT_EQ(row.t, observed++);
        EXPECT_EQ(decision.desired_replicas, row.desired);
        EXPECT_EQ(decision.ready_replicas, row.ready);
      },
      1'000'000);
  EXPECT_EQ(observed, 5);
  ASSERT_EQ(result.rows.size(), 5u);
  const std::vector<int64_t> desired = {1, 3, 3, 1, 2};
  const std::vector<int64_t> ready = {1, 1, 1, 3, 1};
  const std::vector<bool> overloaded = {false, true, true, false, true};
  for (std::size_t t = 0; t < 5; ++t) {
    EXPECT_EQ(result.rows[t].desired, desired[t]) << t;
    EXPECT_EQ(result.rows[t].ready, ready[t]) << t;
    EXPECT_EQ(result.rows[t].overloaded, overloaded[t]) << t;
  }
  EXPECT_EQ(result.rows[2].now_ms, 1'020'000);
  EXPECT_EQ(result.rows[2].launched, 3);
  EXPECT_EQ(result.summary.steps, 5);
  EXPECT_EQ(result.summary.overload_steps, 3);
  EXPECT_DOUBLE_EQ(result.summary.overload_pct, 60.0);
  // Launched replicas per step: 1, 1, 3, 3, 1 -> 9 x 10 s.
  EXPECT_DOUBLE_EQ(result.summary.replica_hours, 9 * 10.0 / 3600.0);
  EXPECT_EQ(result.summary.scale_events, 3);
  // ceil(demand / 10): 1, 3, 3, 1, 2 -> 10 x 10 s.
  EXPECT_DOUBLE_EQ(result.summary.oracle_replica_hours, 10 * 10.0 / 3600.0);
}

TEST(Simulate, MissingDemandIsAGapNotAnOverload) {
  SystemSpec spec;
  spec.name = "w";
  spec.capacity_per_replica = 10.0;
  EngineSettings settings;
  settings.policy = "reactive";
  const auto result = simulate({5, std::nan(""), 5}, 10.0, spec, settings, 1);
  EXPECT_FALSE(result.rows[1].overloaded);
  EXPECT_TRUE(std::isnan(result.rows[1].demand));
  EXPECT_EQ(result.rows[1].desired, 1);
  EXPECT_DOUBLE_EQ(result.summary.oracle_replica_hours, 2 * 10.0 / 3600.0);
}

TEST(Simulate, PredictivePolicyOverloadsLessThanReactiveOnARamp) {
  // A steady ramp with a 60 s warm-up on a 15 s step: the reactive rule only
  // reacts to demand it already sees, the predictive plan looks K + 1 ahead.
  std::mt19937 rng(9);
  std::normal_distribution<double> noise(0.0, 3.0);
  std::vector<double> demand;
  for (int t = 0; t < 300; ++t) demand.push_back(50.0 + 4.0 * t + noise(rng));
  SystemSpec spec;
  spec.name = "w";
  spec.capacity_per_replica = 100.0;
  spec.target_utilization = 0.8;
  spec.min_replicas = 1;
  spec.max_replicas = 100;
  spec.warmup_s = 60.0;
  EngineSettings predictive;
  EngineSettings reactive;
  reactive.policy = "reactive";
  const auto p = simulate(demand, 15.0, spec, predictive, 1);
  const auto r = simulate(demand, 15.0, spec, reactive, 1);
  EXPECT_LT(p.summary.overload_steps, r.summary.overload_steps);
  EXPECT_LT(p.summary.overload_pct, 5.0);
  EXPECT_GE(p.summary.replica_hours, p.summary.oracle_replica_hours);
}

}  // namespace
}  // namespace pso::controller::engine
