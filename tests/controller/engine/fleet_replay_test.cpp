// simulateFleet(): every system in one engine per step, each counted by its
// own ReplicaLedger; simulate() is a fleet of one.

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <random>

#include "controller/engine/replay.h"
#include "controller/engine/seasonal_profile.h"

namespace pso::controller::engine {
namespace {

/// A daily wave with noise at `step_s`, over `days`, with a few gaps.
std::vector<double> dailyWave(double step_s, double days, double base, double amplitude,
                              double phase, uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<double> noise(0.0, base * 0.03);
  const auto steps = static_cast<std::size_t>(days * 86400.0 / step_s);
  std::vector<double> out;
  out.reserve(steps);
  for (std::size_t i = 0; i < steps; ++i) {
    const double t = static_cast<double>(i) * step_s / 86400.0;
    out.push_back(i % 97 == 13 ? std::numeric_limits<double>::quiet_NaN()
                               : base + amplitude * std::sin(2 * M_PI * (t + phase)) + noise(rng));
  }
  return out;
}

SystemSpec specNamed(const std::string& name, double capacity) {
  SystemSpec spec;
  spec.name = name;
  spec.capacity_per_replica = capacity;
  spec.target_utilization = 0.7;
  spec.min_replicas = 1;
  spec.max_replicas = 100;
  spec.warmup_s = 60;
  return spec;
}

void expectSameRows(const SimulationResult& a, const SimulationResult& b) {
  ASSERT_EQ(a.rows.size(), b.rows.size());
  for (std::size_t i = 0; i < a.rows.size(); ++i) {
    ASSERT_EQ(a.rows[i].desired, b.rows[i].desired) << "step " << i;
    ASSERT_EQ(a.rows[i].ready, b.rows[i].ready) << "step " << i;
    ASSERT_EQ(a.rows[i].overloaded, b.rows[i].overloaded) << "step " << i;
  }
  EXPECT_EQ(a.summary.overload_steps, b.summary.overload_steps);
  EXPECT_EQ(a.summary.scale_events, b.summary.scale_events);
  EXPECT_DOUBLE_EQ(a.summary.replica_hours, b.summary.replica_hours);
}

TEST(SimulateFleet, IndependentSystemsDecideAsEachAlone) {
  // Two systems with opposite waves in one engine decide as each does alone
  // (with profiles from a store, tests/controller/cycle/replay_test.cpp).
  const double step_s = 60.0;
  EngineSettings settings;
  settings.actions_per_hour = 1000000;  // the global limit would couple them
  FleetReplay fleet;
  fleet.step_s = step_s;
  fleet.start_ms = 1'700'000'000'000;
  fleet.settings = settings;
  fleet.systems.push_back({specNamed("web", 50), dailyWave(step_s, 3, 400, 250, 0.0, 1), 2});
  fleet.systems.push_back({specNamed("api", 20), dailyWave(step_s, 3, 150, 100, 0.5, 2), 3});
  const FleetReplayResult together = simulateFleet(fleet).value();
  ASSERT_EQ(together.systems.size(), 2u);
  for (std::size_t s = 0; s < 2; ++s) {
    const auto& system = fleet.systems[s];
    const SimulationResult alone = simulate(system.demand, step_s, system.spec, settings,
                                            system.initial_replicas, {}, fleet.start_ms);
    expectSameRows(together.systems[s], alone);
  }
  EXPECT_EQ(together.total.steps, 2 * static_cast<int64_t>(fleet.systems[0].demand.size()));
  EXPECT_DOUBLE_EQ(together.total.replica_hours, together.systems[0].summary.replica_hours +
                                                     together.systems[1].summary.replica_hours);
}

TEST(SimulateFleet, APoolLimitsTheReplayedAllocation) {
  const double step_s = 15.0;
  FleetReplay fleet;
  fleet.step_s = step_s;
  fleet.settings.actions_per_hour = 1000000;
  std::vector<double> heavy(400, 300.0);
  fleet.systems.push_back({specNamed("web", 20), heavy, 1});
  fleet.systems.push_back({specNamed("api", 20), heavy, 1});
  const FleetReplayResult free = simulateFleet(fleet).value();
  int64_t free_peak = 0;
  for (std::size_t i = 0; i < heavy.size(); ++i) {
    free_peak =
        std::max(free_peak, free.systems[0].rows[i].desired + free.systems[1].rows[i].desired);
  }
  ASSERT_GT(free_peak, 12);  // 300 / (20 x 0.7) is 22 each

  fleet.pools.push_back({"shared", 12, {"web", "api"}});
  const FleetReplayResult pooled = simulateFleet(fleet).value();
  for (std::size_t i = 0; i < heavy.size(); ++i) {
    EXPECT_LE(pooled.systems[0].rows[i].desired + pooled.systems[1].rows[i].desired, 12)
        << "step " << i;
  }
  EXPECT_LT(pooled.total.replica_hours, free.total.replica_hours);
  EXPECT_GT(pooled.total.overload_steps, free.total.overload_steps);
}

TEST(SimulateFleet, ACallersRisePassesDownItsDependencyAsInTheController) {
  // A caller whose demand climbs steeply and a dependency with flat demand:
  // replayed together, the dependency plans for the caller's rise and pays
  // for more replicas than it does alone.
  const double step_s = 15.0;
  std::vector<double> rising;
  std::vector<double> flat;
  for (int i = 0; i < 600; ++i) {
    rising.push_back(100.0 + (i % 200) * 4.0);
    flat.push_back(200.0);
  }
  SystemSpec caller = specNamed("web", 20);
  caller.depends_on = {"db"};
  const SystemSpec dependency = specNamed("db", 20);
  FleetReplay fleet;
  fleet.step_s = step_s;
  fleet.settings.actions_per_hour = 1000000;
  fleet.systems.push_back({caller, rising, 5});
  fleet.systems.push_back({dependency, flat, 15});
  const FleetReplayResult together = simulateFleet(fleet).value();
  const SimulationResult alone =
      simulate(flat, step_s, dependency, fleet.settings, 15, {}, fleet.start_ms);
  EXPECT_GT(together.systems[1].summary.replica_hours, alone.summary.replica_hours);
  // The caller itself decides as it would alone: nothing passes up the chain.
  const SimulationResult caller_alone =
      simulate(rising, step_s, caller, fleet.settings, 5, {}, fleet.start_ms);
  expectSameRows(together.systems[0], caller_alone);
}

TEST(SimulateFleet, KeepRowsFalseGivesTheSameSummaries) {
  FleetReplay fleet;
  fleet.step_s = 60.0;
  fleet.systems.push_back({specNamed("web", 50), dailyWave(60.0, 1, 400, 250, 0.1, 3), 2});
  const FleetReplayResult rows = simulateFleet(fleet).value();
  fleet.keep_rows = false;
  const FleetReplayResult summaries = simulateFleet(fleet).value();
  EXPECT_TRUE(summaries.systems[0].rows.empty());
  EXPECT_EQ(summaries.systems[0].summary.scale_events, rows.systems[0].summary.scale_events);
  EXPECT_EQ(summaries.systems[0].summary.overload_steps, rows.systems[0].summary.overload_steps);
  EXPECT_DOUBLE_EQ(summaries.systems[0].summary.replica_hours,
                   rows.systems[0].summary.replica_hours);
}

TEST(ReplicaLedger, CountsReadyAsTheMinimumOfTheLastKDecisions) {
  SystemSpec spec = specNamed("web", 10);
  spec.warmup_s = 30;  // K = 2 at 15 s
  ReplicaLedger ledger(spec, 15.0, 2);
  SimulationRow row;
  ledger.record(25.0, 5, &row);  // ready min(2, 2) = 2: 25 > 20, overloaded
  EXPECT_EQ(row.ready, 2);
  EXPECT_TRUE(row.overloaded);
  ledger.record(std::nan(""), 5, &row);  // a gap: ready min(2, 5), never overloaded
  EXPECT_EQ(row.ready, 2);
  EXPECT_FALSE(row.overloaded);
  ledger.record(45.0, 3, &row);  // ready min(5, 5) = 5: 45 <= 50
  EXPECT_EQ(row.ready, 5);
  EXPECT_FALSE(row.overloaded);
  const SimulationSummary s = ledger.summary();
  EXPECT_EQ(s.steps, 3);
  EXPECT_EQ(s.overload_steps, 1);
  EXPECT_EQ(s.scale_events, 2);  // 2 -> 5, 5 -> 3
  EXPECT_DOUBLE_EQ(s.replica_hours, (2 + 5 + 5) * 15.0 / 3600.0);
  EXPECT_NEAR(s.overload_pct, 100.0 / 3.0, 1e-9);
}

}  // namespace
}  // namespace pso::controller::engine
