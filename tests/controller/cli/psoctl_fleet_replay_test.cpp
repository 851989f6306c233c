// psoctl simulate --db: the fleet replay and what-if, run as the real binary
// on controller databases written through the store in temp directories.

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "common/sqlite.h"
#include "controller/store/store.h"
#include "tests/support/process.h"

namespace pso::testing {
namespace {

using controller::store::CycleRecord;
using controller::store::Sample;
using controller::store::Store;
using nlohmann::json;

constexpr int64_t kT0 = 1700000000;  // epoch seconds of the first sample
constexpr int64_t kStep = 300;       // seconds

CommandOutput psoctl(const std::vector<std::string>& args) {
  std::vector<std::string> argv{PSOCTL_BIN};
  argv.insert(argv.end(), args.begin(), args.end());
  return runCommand(argv);
}

void expectRefused(const CommandOutput& r, const std::string& mentions) {
  EXPECT_EQ(r.exit_code, 1) << r.out;
  EXPECT_NE(r.err.find(mentions), std::string::npos) << r.err;
  EXPECT_EQ(linesOf(r.err).size(), 1u) << r.err;
}

/// The seasonal series of psoctl_offline_test with a gap, one value per step.
double demandAt(int i, double scale = 1.0) {
  return scale * (200 + 80 * std::sin(2 * M_PI * i / 48.0) + (i % 7) * 3);
}

struct SystemSetup {
  std::string name;
  double capacity = 40;
  double target = 0.7;
  int64_t max_replicas = 100000;
  double scale = 1.0;
};

/// A controller database with `systems`, each with `points` demand samples at
/// kT0 + i x kStep (none at `gap_at`), written through the store.
void writeDatabase(const std::string& path, const std::vector<SystemSetup>& systems, int points,
                   int gap_at = -1) {
  auto opened = Store::open(path);
  ASSERT_TRUE(opened.ok()) << opened.error().message;
  Store& store = **opened;
  for (const auto& setup : systems) {
    protocol::Hello hello;
    hello.agent_id = "agent-" + setup.name;
    protocol::SystemInfo info;
    info.name = setup.name;
    info.actuator = "exec";
    info.min_replicas = 1;
    info.max_replicas = setup.max_replicas;
    info.replicas = 1;
    info.capacity_per_replica = setup.capacity;
    info.target_utilization = setup.target;
    info.warmup_ms = 2 * kStep * 1000;  // K = 2 steps, as --warmup-steps 2
    hello.systems.push_back(info);
    ASSERT_TRUE(store.upsertAgent(hello, kT0 * 1000).ok());
    std::vector<Sample> samples;
    for (int i = 0; i < points; ++i) {
      if (i == gap_at) continue;
      samples.push_back({(kT0 + kStep * i) * 1000, demandAt(i, setup.scale)});
    }
    auto imported = store.importSamples(setup.name, "demand", samples);
    ASSERT_TRUE(imported.ok()) << imported.error().message;
  }
}

/// The window that lays sample i on grid step i: from one step before the
/// first sample, `points` steps long.
std::vector<std::string> window(int points) {
  return {"--since", std::to_string(kT0 - kStep),
          "--until", std::to_string(kT0 - kStep + kStep * points),
          "--step",  "5m"};
}

json replayJson(const std::string& db, int points, std::vector<std::string> extra = {}) {
  std::vector<std::string> args{"--json", "simulate", "--db", db};
  const auto w = window(points);
  args.insert(args.end(), w.begin(), w.end());
  args.insert(args.end(), extra.begin(), extra.end());
  const auto r = psoctl(args);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  return json::parse(r.out, nullptr, false);
}

const json& systemNamed(const json& doc, const std::string& name) {
  for (const auto& s : doc.at("systems")) {
    if (s.at("system") == name) return s;
  }
  static const json none;
  ADD_FAILURE() << "no system " << name << " in " << doc.dump();
  return none;
}

TEST(PsoctlFleetReplay, OneSystemDatabaseReplaysAsSimulateOfTheSameTrace) {
  TempDir dir;
  const int points = 400;
  writeDatabase(dir.file("c.db"), {{"web"}}, points, /*gap_at=*/150);
  {
    std::ofstream trace(dir.file("web.csv"));
    trace << "timestamp,value\n";
    for (int i = 0; i < points; ++i) {
      if (i != 150) trace << kT0 + kStep * i << ',' << demandAt(i) << '\n';
    }
  }
  for (const std::string policy : {"predictive", "reactive"}) {
    const auto trace = psoctl({"--json", "simulate", "--trace", dir.file("web.csv"), "--capacity",
                               "40", "--policy", policy, "--out", dir.file("sim.csv")});
    ASSERT_EQ(trace.exit_code, 0) << trace.err;
    const json expected = json::parse(trace.out);
    const json fleet = replayJson(dir.file("c.db"), points, {"--policy", policy});
    const json& replay = systemNamed(fleet, "web").at("replay");
    for (const char* key : {"steps", "overload_steps", "scale_events"}) {
      EXPECT_EQ(replay.at(key), expected.at(key)) << policy << " " << key;
    }
    // Both print the engine's doubles: equal to the last bit.
    for (const char* key : {"overload_pct", "replica_hours", "oracle_replica_hours"}) {
      EXPECT_EQ(replay.at(key).get<double>(), expected.at(key).get<double>()) << policy << key;
    }
    EXPECT_EQ(fleet.at("steps"), points);
    EXPECT_TRUE(systemNamed(fleet, "web").at("actual").is_null());  // no stored cycles
  }
}

TEST(PsoctlFleetReplay, APoolFromTheConfigLimitsTheReplayedAllocation) {
  TempDir dir;
  const int points = 300;
  writeDatabase(dir.file("c.db"), {{"web", 20, 0.7, 100, 3.0}, {"api", 20, 0.7, 100, 3.0}}, points);
  std::ofstream(dir.file("controller.yaml"))
      << "pools:\n  - name: shared\n    capacity_replicas: 30\n    systems: [web, api]\n";
  const json free = replayJson(dir.file("c.db"), points);
  const json pooled =
      replayJson(dir.file("c.db"), points, {"--config", dir.file("controller.yaml")});
  const double hours = points * kStep / 3600.0;
  const double free_hours = free.at("total").at("replay").at("replica_hours").get<double>();
  const double pooled_hours = pooled.at("total").at("replay").at("replica_hours").get<double>();
  // Demand of up to 840 at 14 per replica wants up to 60 each: far over 30 together.
  EXPECT_GT(free_hours, 30 * hours);
  EXPECT_LE(pooled_hours, 30 * hours + 1e-9);
  EXPECT_GT(pooled.at("total").at("replay").at("overload_steps").get<int64_t>(),
            free.at("total").at("replay").at("overload_steps").get<int64_t>());
}

TEST(PsoctlFleetReplay, SetMovesTheReplayTheExpectedWay) {
  TempDir dir;
  const int points = 300;
  writeDatabase(dir.file("c.db"), {{"web"}, {"api", 25}}, points);
  const json base = replayJson(dir.file("c.db"), points);
  const json lower =
      replayJson(dir.file("c.db"), points, {"--set", "systems.web.target_utilization=0.4"});
  auto hours = [](const json& doc, const std::string& name) {
    return systemNamed(doc, name).at("replay").at("replica_hours").get<double>();
  };
  EXPECT_GT(hours(lower, "web"), hours(base, "web") * 1.3);
  EXPECT_EQ(hours(lower, "api"), hours(base, "api"));  // only web was changed

  const json bigger =
      replayJson(dir.file("c.db"), points, {"--set", "systems.*.capacity_per_replica=80"});
  EXPECT_LT(hours(bigger, "web"), hours(base, "web"));
  EXPECT_LT(hours(bigger, "api"), hours(base, "api"));

  const json careful = replayJson(dir.file("c.db"), points, {"--set", "engine.risk=0.05"});
  EXPECT_GT(careful.at("total").at("replay").at("replica_hours").get<double>(),
            base.at("total").at("replay").at("replica_hours").get<double>());
}

TEST(PsoctlFleetReplay, ActualColumnsAreRecomputedFromTheStoredCycles) {
  TempDir dir;
  const int points = 60;
  writeDatabase(dir.file("c.db"), {{"web"}}, points, /*gap_at=*/20);
  // What the controller decided: a cycle at each sample's time, except a
  // stretch without cycles (the count is kept), and one before the window
  // giving the starting count.
  std::vector<int64_t> decided(points, -1);
  {
    auto opened = Store::open(dir.file("c.db"));
    ASSERT_TRUE(opened.ok());
    Store& store = **opened;
    auto insert = [&](int64_t seq, int64_t ts_s, int64_t desired) {
      CycleRecord cycle;
      cycle.seq = seq;
      cycle.id = "c-" + std::to_string(seq);
      cycle.ts_ms = ts_s * 1000;
      cycle.mode = "act";
      cycle.decisions_json =
          json::array({{{"system", "web"}, {"desired", desired}, {"rule", "test"}}}).dump();
      ASSERT_TRUE(store.insertCycle(cycle).ok());
    };
    insert(1, kT0 - 2 * kStep, 4);  // before the window: the starting count
    for (int i = 0; i < points; ++i) {
      if (i >= 30 && i < 35) continue;
      decided[static_cast<std::size_t>(i)] = 3 + (i / 10) % 4;  // 3, 4, 5, 6, 3, ...
      // A few seconds late, as cycles are.
      insert(2 + i, kT0 + kStep * i + 7, decided[static_cast<std::size_t>(i)]);
    }
  }
  // The accounting, derived here: ready = min of the last 2 decisions,
  // launched = the last one, overloaded when demand > ready x 40.
  int64_t overload = 0, events = 0;
  double replica_hours = 0;
  std::vector<int64_t> history{4, 4};
  int64_t count = 4;
  for (int i = 0; i < points; ++i) {
    const int64_t ready = std::min(history[history.size() - 1], history[history.size() - 2]);
    if (i != 20 && demandAt(i) > static_cast<double>(ready) * 40) ++overload;
    replica_hours += static_cast<double>(count) * kStep / 3600.0;
    const int64_t next =
        decided[static_cast<std::size_t>(i)] >= 0 ? decided[static_cast<std::size_t>(i)] : count;
    if (next != count) ++events;
    count = next;
    history.push_back(next);
  }
  ASSERT_GT(overload, 0);  // the check has teeth
  const json fleet = replayJson(dir.file("c.db"), points);
  const json& actual = systemNamed(fleet, "web").at("actual");
  ASSERT_TRUE(actual.is_object()) << fleet.dump();
  EXPECT_EQ(actual.at("steps"), points);
  EXPECT_EQ(actual.at("overload_steps"), overload);
  EXPECT_EQ(actual.at("scale_events"), events);
  EXPECT_NEAR(actual.at("replica_hours").get<double>(), replica_hours, 1e-9);
  EXPECT_EQ(fleet.at("cycles"), points - 5);

  // The table puts both beside each other, with a fleet total line.
  std::vector<std::string> args{"simulate", "--db", dir.file("c.db")};
  const auto w = window(points);
  args.insert(args.end(), w.begin(), w.end());
  const auto table = psoctl(args);
  ASSERT_EQ(table.exit_code, 0) << table.err;
  EXPECT_NE(table.out.find("ACTUAL REPLICA-H"), std::string::npos) << table.out;
  EXPECT_NE(table.out.find("TOTAL"), std::string::npos) << table.out;
  char hours_text[32];
  std::snprintf(hours_text, sizeof hours_text, "%.1f", replica_hours);
  EXPECT_NE(table.out.find(hours_text), std::string::npos) << table.out;
}

TEST(PsoctlFleetReplay, BadSetKeysAndValuesAreOneLineRefusals) {
  TempDir dir;
  writeDatabase(dir.file("c.db"), {{"web"}}, 50);
  auto withSet = [&](const std::string& set) {
    std::vector<std::string> args{"simulate", "--db", dir.file("c.db")};
    const auto w = window(50);
    args.insert(args.end(), w.begin(), w.end());
    args.insert(args.end(), {"--set", set});
    return psoctl(args);
  };
  expectRefused(withSet("systems.web.colour=3"), "unknown system field 'colour'");
  expectRefused(withSet("systems.ghost.target_utilization=0.5"), "no system 'ghost'");
  expectRefused(withSet("systems.web.target_utilization=abc"),
                "systems.web.target_utilization: expected a number, got 'abc'");
  expectRefused(withSet("systems.web.target_utilization=1.5"), "systems.web.target_utilization");
  expectRefused(withSet("systems.web.min_replicas=2.5"), "expected a whole number");
  expectRefused(withSet("engine.nope=1"), "--set engine.nope: unknown engine setting");
  expectRefused(withSet("engine.risk=0.9"), "--set engine.risk=0.9: must be in (0, 0.5)");
  expectRefused(withSet("engine.cooldown=soon"), "--set engine.cooldown=soon");
  expectRefused(withSet("colour=3"), "--set colour: unknown key");
  expectRefused(withSet("engine.risk"), "expected key=value");
}

TEST(PsoctlFleetReplay, HostileInputIsAOneLineRefusal) {
  TempDir dir;
  writeDatabase(dir.file("c.db"), {{"web"}}, 50);
  std::ofstream(dir.file("text.db")) << "not a database at all\n";
  {
    auto other = common::Database::open(dir.file("other.db"));
    ASSERT_TRUE(other.ok());
    ASSERT_TRUE((*other)->exec("CREATE TABLE things (id INTEGER)").ok());
  }
  const std::string until = std::to_string(kT0 + kStep * 50);
  expectRefused(psoctl({"simulate", "--db", dir.file("text.db"), "--since", "7d"}),
                "is not a controller database");
  expectRefused(psoctl({"simulate", "--db", dir.file("other.db"), "--since", "7d"}),
                "is not a controller database");
  expectRefused(psoctl({"simulate", "--db", dir.file("missing.db"), "--since", "7d"}),
                "no database at");
  expectRefused(psoctl({"simulate", "--db", dir.file("c.db"), "--since", "garbage"}),
                "--since: 'garbage' is neither a duration");
  expectRefused(psoctl({"simulate", "--db", dir.file("c.db"), "--since", "1d", "--until", "soon"}),
                "--until: 'soon'");
  // A window before any sample: nothing to replay.
  expectRefused(psoctl({"simulate", "--db", dir.file("c.db"), "--since", "1d", "--until",
                        std::to_string(kT0 - 3600)}),
                "no demand samples");
  expectRefused(psoctl({"simulate", "--db", dir.file("c.db"), "--since", until, "--until", until}),
                "shorter than one step");
  // A mistyped window is refused before anything is read.
  expectRefused(psoctl({"simulate", "--db", dir.file("c.db"), "--since", "100000d"}),
                "system-steps");
  // The other database was only read: no controller tables were added to it.
  auto other = common::Database::open(dir.file("other.db"), true);
  ASSERT_TRUE(other.ok());
  EXPECT_EQ((*other)->userVersion(), 0);
  // Trace options do not mix with --db: a usage error.
  EXPECT_EQ(
      psoctl({"simulate", "--db", dir.file("c.db"), "--since", "7d", "--capacity", "3"}).exit_code,
      2);
}

}  // namespace
}  // namespace pso::testing
