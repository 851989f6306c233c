// Many systems: shared pools divided by priority and forecast need,
// dependencies passing a predicted rise down, the pool shortage bottleneck,
// and the predictive policy's risk knob.

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <numeric>

#include "controller/engine/decision_engine.h"
#include "controller/engine/pool_allocator.h"
#include "controller/engine/replay.h"

namespace pso::controller::engine {
namespace {

int64_t sum(const std::vector<int64_t>& v) {
  return std::accumulate(v.begin(), v.end(), int64_t{0});
}

TEST(PoolDivision, EverythingFitsEveryoneGetsWhatTheyWanted) {
  const PoolDivision d = dividePool(20, {{1, 1, 5}, {0, 1, 7}});
  EXPECT_FALSE(d.shortage);
  EXPECT_EQ(d.granted, (std::vector<int64_t>{5, 7}));
}

TEST(PoolDivision, AShortageIsDividedByPriority) {
  // 11 replicas; the high-priority system wants 8, the two low ones 6 each.
  // Minimums (1 each) first, then the high tier in full (7 more), the last 1
  // shared by the low tier in proportion to need (5 and 5: the earlier wins).
  const PoolDivision d = dividePool(11, {{5, 1, 8}, {0, 1, 6}, {0, 1, 6}});
  EXPECT_TRUE(d.shortage);
  EXPECT_FALSE(d.minimums_unmet);
  EXPECT_EQ(d.granted, (std::vector<int64_t>{8, 2, 1}));
  EXPECT_EQ(sum(d.granted), 11);
  EXPECT_EQ(d.wanted_total, 20);
}

TEST(PoolDivision, ATierThatDoesNotFitSharesByForecastNeed) {
  // Same priority: 12 replicas over extra needs 9 and 3 (after minimums of 2
  // each): 8 to share, 6 and 2.
  const PoolDivision d = dividePool(12, {{0, 2, 11}, {0, 2, 5}});
  EXPECT_EQ(d.granted, (std::vector<int64_t>{8, 4}));
}

TEST(PoolDivision, NoSystemIsStarvedBelowItsMinimumWhileTheMinimumsFit) {
  const PoolDivision d = dividePool(9, {{9, 1, 50}, {0, 4, 10}, {0, 3, 3}});
  EXPECT_EQ(d.granted[1], 4);
  EXPECT_EQ(d.granted[2], 3);
  EXPECT_EQ(d.granted[0], 2);
  EXPECT_FALSE(d.minimums_unmet);
}

TEST(PoolDivision, MinimumsThatDoNotFitAreDividedByPriorityAndFlagged) {
  const PoolDivision d = dividePool(5, {{0, 4, 6}, {3, 3, 3}});
  EXPECT_TRUE(d.minimums_unmet);
  EXPECT_EQ(d.granted, (std::vector<int64_t>{2, 3}));
  EXPECT_EQ(d.minimum_total, 7);
}

Forecast flatForecast(double value, double spread, std::size_t steps) {
  Forecast f;
  f.coverage = 0.9;
  for (std::size_t i = 0; i < steps; ++i) {
    const double v = value * (1.0 + 0.1 * static_cast<double>(i));
    f.point.push_back(v);
    f.lo.push_back(v - spread);
    f.hi.push_back(v + spread);
  }
  return f;
}

TEST(PoolShortage, IsABottleneckWithAnEta) {
  // Two systems at 10 per replica: upper bounds 90+10, 99+10, 108+10, ... each.
  const Forecast a = flatForecast(90, 10, 4);
  const Forecast b = flatForecast(90, 10, 4);
  const std::vector<PoolMemberForecast> members = {{&a, 10.0, 1, 100}, {&b, 10.0, 1, 100}};
  // Needs 10 + 10 = 20 at step 1, 11 + 11 = 22 at step 2: a pool of 21 breaks at step 2.
  const auto shortage = detectPoolShortage(21, members, 1'000'000, 15.0);
  ASSERT_TRUE(shortage.has_value());
  EXPECT_EQ(shortage->kind, "pool");
  EXPECT_EQ(shortage->steps_ahead, 2);
  EXPECT_EQ(shortage->eta_ms, 1'030'000);
  EXPECT_DOUBLE_EQ(shortage->predicted_demand, 22.0);
  EXPECT_DOUBLE_EQ(shortage->capacity, 21.0);
  EXPECT_GT(shortage->probability, 0.0);
  EXPECT_FALSE(detectPoolShortage(40, members, 0, 15.0).has_value());
}

SystemSpec system(const std::string& name, int64_t priority, int64_t min_replicas = 1) {
  SystemSpec s;
  s.name = name;
  s.capacity_per_replica = 100.0;
  s.target_utilization = 0.5;  // 50 per replica at target
  s.min_replicas = min_replicas;
  s.max_replicas = 100;
  s.warmup_s = 15.0;
  s.priority = priority;
  return s;
}

EngineSettings settings() {
  EngineSettings s;
  s.step_s = 15.0;
  return s;
}

/// Feeds every system its demand for `steps` cycles, each starting from the
/// replicas it was given the cycle before; returns the last cycle.
CycleDecisions run(DecisionEngine& engine, const std::map<std::string, double>& demand,
                   std::map<std::string, int64_t>& replicas, int steps, int64_t& now_ms) {
  CycleDecisions out;
  for (int t = 0; t < steps; ++t) {
    CycleInput input;
    input.now_ms = now_ms;
    for (const auto& [name, value] : demand) {
      SystemObservation o;
      o.system = name;
      o.demand = value;
      o.current_replicas = replicas[name];
      input.systems.push_back(o);
    }
    out = engine.decide(input);
    for (const SystemDecision& d : out.systems) replicas[d.system] = d.desired_replicas;
    now_ms += 15'000;
  }
  return out;
}

const SystemDecision& decisionOf(const CycleDecisions& c, const std::string& name) {
  return *std::find_if(c.systems.begin(), c.systems.end(),
                       [&](const SystemDecision& d) { return d.system == name; });
}

TEST(EnginePools, AShortageDividesThePoolByPriorityAndSaysSo) {
  DecisionEngine engine(settings());
  engine.upsertSystem(system("checkout", 10));
  engine.upsertSystem(system("reports", 0));
  engine.setPools({{"site-a", 12, {"checkout", "reports"}}});
  std::map<std::string, int64_t> replicas = {{"checkout", 1}, {"reports", 1}};
  int64_t now = 0;
  // Steady 400 each: each plans for 8 replicas (400 / 50); 16 do not fit in 12.
  const CycleDecisions c =
      run(engine, {{"checkout", 400.0}, {"reports", 400.0}}, replicas, 12, now);
  const SystemDecision& high = decisionOf(c, "checkout");
  const SystemDecision& low = decisionOf(c, "reports");
  EXPECT_EQ(high.desired_replicas, 8);
  EXPECT_EQ(low.desired_replicas, 4);
  EXPECT_EQ(low.recommended_replicas, 8);  // its own plan, before the pool
  ASSERT_FALSE(low.guardrails.empty());
  EXPECT_NE(low.guardrails.front().find("Pool site-a: 12 replicas shared by priority"),
            std::string::npos)
      << low.guardrails.front();
  EXPECT_NE(low.guardrails.front().find("cut from 8 to 4"), std::string::npos);
  EXPECT_NE(low.rationale.find("Pool site-a"), std::string::npos);
  EXPECT_TRUE(high.guardrails.empty());
  ASSERT_EQ(c.pools.size(), 1u);
  EXPECT_TRUE(c.pools[0].shortage);
  EXPECT_FALSE(c.pools[0].minimums_unmet);
  EXPECT_TRUE(c.pools[0].alert.empty());
  EXPECT_EQ(c.pools[0].wanted_replicas, 16);
  ASSERT_TRUE(c.pools[0].shortage_ahead.has_value());
  EXPECT_EQ(c.pools[0].shortage_ahead->kind, "pool");
  ASSERT_TRUE(low.bottleneck.has_value());
  EXPECT_EQ(low.bottleneck->kind, "pool");
}

TEST(EnginePools, APoolThatCannotHoldTheMinimumsRaisesAnAlert) {
  DecisionEngine engine(settings());
  engine.upsertSystem(system("a", 1, 3));
  engine.upsertSystem(system("b", 0, 3));
  engine.setPools({{"tiny", 4, {"a", "b"}}});
  std::map<std::string, int64_t> replicas = {{"a", 3}, {"b", 3}};
  int64_t now = 0;
  const CycleDecisions c = run(engine, {{"a", 10.0}, {"b", 10.0}}, replicas, 8, now);
  ASSERT_EQ(c.pools.size(), 1u);
  EXPECT_TRUE(c.pools[0].minimums_unmet);
  EXPECT_NE(c.pools[0].alert.find("cannot hold the minimums"), std::string::npos);
  EXPECT_EQ(decisionOf(c, "a").desired_replicas, 3);
  EXPECT_EQ(decisionOf(c, "b").desired_replicas, 1);
  EXPECT_NE(decisionOf(c, "b").guardrails.front().find("below the minimum of 3"),
            std::string::npos);
}

TEST(EngineDependencies, ACallersForecastRisePropagatesToItsDependency) {
  SystemSpec web = system("web", 0);
  web.depends_on = {"api"};
  SystemSpec api = system("api", 0);
  api.depends_on = {"db"};
  // Holt extrapolates the ramp within a few steps; what is tested is how a
  // forecast rise travels down the chain, whatever model makes it.
  EngineSettings holt = settings();
  holt.forecast_model = "holt";
  DecisionEngine engine(holt);
  engine.upsertSystem(web);
  engine.upsertSystem(api);
  engine.upsertSystem(system("db", 0));
  std::map<std::string, int64_t> replicas = {{"web", 1}, {"api", 1}, {"db", 1}};
  int64_t now = 0;
  // Twice the warmup: each model has made its first fit, whatever its phase.
  run(engine, {{"web", 100.0}, {"api", 200.0}, {"db", 200.0}}, replicas, 48, now);
  // web ramps steeply while api and db have not moved yet.
  CycleDecisions c;
  for (double v = 140.0; v <= 400.0; v += 40.0) {
    c = run(engine, {{"web", v}, {"api", 200.0}, {"db", 200.0}}, replicas, 1, now);
  }
  const SystemDecision& api_d = decisionOf(c, "api");
  const SystemDecision& db_d = decisionOf(c, "db");
  ASSERT_FALSE(api_d.guardrails.empty());
  EXPECT_NE(api_d.guardrails.front().find("Dependency: web (which depends on api)"),
            std::string::npos)
      << api_d.guardrails.front();
  EXPECT_GT(api_d.desired_replicas, api_d.recommended_replicas);
  // ... and on down the chain: db follows api, which follows web.
  ASSERT_FALSE(db_d.guardrails.empty());
  EXPECT_NE(db_d.guardrails.front().find("Dependency: web"), std::string::npos);
  EXPECT_GT(db_d.desired_replicas, db_d.recommended_replicas);

  // Without the declared dependency, the same demand leaves api on its own plan.
  DecisionEngine plain(settings());
  plain.upsertSystem(system("web", 0));
  plain.upsertSystem(system("api", 0));
  std::map<std::string, int64_t> plain_replicas = {{"web", 1}, {"api", 1}};
  int64_t plain_now = 0;
  run(plain, {{"web", 100.0}, {"api", 200.0}}, plain_replicas, 48, plain_now);
  CycleDecisions p;
  for (double v = 140.0; v <= 400.0; v += 40.0) {
    p = run(plain, {{"web", v}, {"api", 200.0}}, plain_replicas, 1, plain_now);
  }
  EXPECT_TRUE(decisionOf(p, "api").guardrails.empty());
  EXPECT_LT(decisionOf(p, "api").desired_replicas, api_d.desired_replicas);
}

TEST(EngineDependencies, AFlatCallerPassesNothingOn) {
  SystemSpec web = system("web", 0);
  web.depends_on = {"api"};
  DecisionEngine engine(settings());
  engine.upsertSystem(web);
  engine.upsertSystem(system("api", 0));
  std::map<std::string, int64_t> replicas = {{"web", 1}, {"api", 1}};
  int64_t now = 0;
  const CycleDecisions c = run(engine, {{"web", 300.0}, {"api", 200.0}}, replicas, 30, now);
  EXPECT_TRUE(decisionOf(c, "api").guardrails.empty());
}

TEST(EnginePools, ForecastOnlyDispatchesNothingEvenUnderAPoolCut) {
  EngineSettings s = settings();
  s.forecast_only = true;
  DecisionEngine engine(s);
  engine.upsertSystem(system("checkout", 10));
  engine.upsertSystem(system("reports", 0));
  engine.setPools({{"site-a", 6, {"checkout", "reports"}}});
  std::map<std::string, int64_t> replicas = {{"checkout", 5}, {"reports", 5}};
  int64_t now = 0;
  for (int t = 0; t < 10; ++t) {
    // The replicas never change: nothing was dispatched.
    const CycleDecisions c =
        run(engine, {{"checkout", 400.0}, {"reports", 400.0}}, replicas, 1, now);
    for (const SystemDecision& d : c.systems) {
      EXPECT_FALSE(d.dispatch) << d.system;
      replicas[d.system] = 5;
    }
  }
}

TEST(RiskKnob, LowerRiskBuysFewerOverloadsForMoreReplicas) {
  // A noisy, bursty series: the knob must move along the cost/risk curve.
  std::vector<double> demand;
  uint32_t x = 12345;
  for (int t = 0; t < 3000; ++t) {
    x = x * 1664525u + 1013904223u;
    const double noise = static_cast<double>(x >> 8) / static_cast<double>(1u << 24);
    const double burst = (t / 7) % 9 == 0 ? 250.0 * noise : 0.0;
    demand.push_back(400.0 + 150.0 * std::sin(t / 40.0) + 200.0 * noise + burst);
  }
  SystemSpec spec = system("trace", 0);
  spec.target_utilization = 0.9;
  spec.warmup_s = 30.0;
  double last_cost = 0.0;
  double last_overload = 101.0;
  for (double risk : {0.4, 0.2, 0.05}) {
    EngineSettings s = settings();
    s.risk = risk;
    const SimulationResult r = simulate(demand, 15.0, spec, s, 1);
    EXPECT_GT(r.summary.replica_hours, last_cost) << "risk " << risk;
    EXPECT_LT(r.summary.overload_pct, last_overload) << "risk " << risk;
    last_cost = r.summary.replica_hours;
    last_overload = r.summary.overload_pct;
  }
}

TEST(RiskKnob, IsValidated) {
  EngineSettings s = settings();
  s.risk = 0.0;
  EXPECT_FALSE(DecisionEngine::validateSettings(s).ok());
  s.risk = 0.5;
  EXPECT_FALSE(DecisionEngine::validateSettings(s).ok());
  s.risk = 0.2;
  EXPECT_TRUE(DecisionEngine::validateSettings(s).ok());
}

}  // namespace
}  // namespace pso::controller::engine
