// The controller's decision cycle at fleet scale, in process: a real SQLite
// store holding N systems (one agent each) with a history of demand and
// replica samples, and the real CycleRunner running cycles over them, one
// cycle interval apart, with a new sample per system before each. Printed:
// each cycle's time and where it went (CycleReport::phases_ms), and the size
// of what it recorded: the scenario document and the cycle's decisions. Then
// the storage the cycles and scenarios take in the database file (SQLite's
// dbstat, after VACUUM: tables, their indexes and blocks) as written and after
// compaction (CycleStore::compactCycles, ScenarioStore::compactScenarios), in
// bytes per system per day at one cycle every 15 s, and a check that every
// cycle and scenario reads back byte for byte; and the engine state saved by
// system (a cycle saves a slice of the fleet, in its "state" phase; a stop
// saves all): its bytes per system and the time of a whole save.
//
// Usage: cycle_scale_bench [--systems N] [--history K] [--cycles C] [--mode act|forecast-only]
//                          [--db PATH] [--plan-margin-s S] [--decide-threads N]
// (--plan-margin-s: controller.engine.plan_margin in seconds, default the
// config's; 0 plans one step past the warm-up, as before the margin.
// --decide-threads: controller.engine.decide_threads, default the config's.)
//
// The live controller runs the same code on its cycle thread while ingest
// writes beside it; fleet_bench measures that whole process.

#include <time.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "common/metrics.h"
#include "common/sqlite.h"
#include "controller/config/controller_config.h"
#include "controller/service/cycle_runner.h"
#include "controller/service/ingest.h"
#include "controller/store/store.h"
#include "protocol/messages.h"
#include "tests/support/process.h"

namespace {

/// CPU time the calling thread has used, in milliseconds.
double threadCpuMs() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) * 1000.0 + static_cast<double>(ts.tv_nsec) / 1e6;
}

using pso::controller::store::Store;

constexpr int64_t kStepMs = 15000;

// Directives go nowhere: this measures the cycle, not delivery.
class CountingDispatcher : public pso::controller::service::DirectiveDispatcher {
 public:
  void dispatch(const pso::controller::store::DirectiveRecord&) override { ++count; }
  std::size_t count = 0;
};

// A daily wave (5,760 steps of 15 s) at a phase of its own per system, with a
// little noise: most systems hold their count in a given cycle, some scale.
// No two systems share a series (a fleet of copies would flatter compaction).
double demandAt(int system, int64_t step) {
  const double phase = std::fmod(static_cast<double>(system) * 0.6180339887, 1.0) * 6.2832;
  const double t = static_cast<double>(step);
  return 300 + 150 * std::sin(t * 6.2832 / 5760 + phase) + 8 * std::sin(t * 1.7 + phase * 3.1);
}

// The pages (bytes) of the cycle and scenario tables, their indexes and
// blocks, after VACUUM so free space inside pages is not counted.
struct StoredBytes {
  double cycles = 0;
  double scenarios = 0;
};

std::optional<StoredBytes> storedBytes(const std::string& path) {
  auto db = pso::common::Database::open(path);
  if (!db) return std::nullopt;
  if (!(*db)->exec("VACUUM").ok()) return std::nullopt;
  auto s = (*db)->prepare(
      "SELECT d.name, COALESCE(m.tbl_name, d.name), SUM(d.pgsize) FROM dbstat d "
      "LEFT JOIN sqlite_schema m ON m.name = d.name GROUP BY d.name");
  if (!s) return std::nullopt;
  StoredBytes bytes;
  auto st = pso::common::forEachRow(*s, [&](const pso::common::Statement& row) {
    const std::string table = row.columnText(1);
    const double size = static_cast<double>(row.columnInt64(2));
    if (table == "cycles" || table == "cycle_blocks") bytes.cycles += size;
    if (table == "scenarios" || table == "scenario_blocks" || table == "scenario_events" ||
        table == "scenario_systems") {
      bytes.scenarios += size;
    }
  });
  if (!st.ok()) return std::nullopt;
  return bytes;
}

bool sameCycles(const std::vector<pso::controller::store::CycleRecord>& a,
                const std::vector<pso::controller::store::CycleRecord>& b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (a[i].id != b[i].id || a[i].decisions_json != b[i].decisions_json) return false;
  }
  return true;
}

bool sameScenarios(const std::vector<pso::controller::store::ScenarioRecord>& a,
                   const std::vector<pso::controller::store::ScenarioRecord>& b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (a[i].id != b[i].id || a[i].json != b[i].json) return false;
  }
  return true;
}

bool reportStorage(Store& store, const std::string& path, int systems, int cycles, int64_t end_ms) {
  const auto before_cycles = store.cycles(0);
  const auto before_scenarios = store.scenarios({});
  const auto written = storedBytes(path);
  if (!before_cycles || !before_scenarios || !written) {
    std::fprintf(stderr, "cycle_scale_bench: reading the records failed\n");
    return false;
  }
  const auto started = std::chrono::steady_clock::now();
  auto compacted_cycles = store.compactCycles(end_ms, 0);
  auto compacted_scenarios = store.compactScenarios(end_ms, 0);
  const double compact_s =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  if (!compacted_cycles || !compacted_scenarios) {
    std::fprintf(stderr, "cycle_scale_bench: compaction failed\n");
    return false;
  }
  const auto read_started = std::chrono::steady_clock::now();
  const auto after_cycles = store.cycles(0);
  const auto after_scenarios = store.scenarios({});
  const double read_s =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - read_started).count();
  const auto compacted = storedBytes(path);
  if (!after_cycles || !after_scenarios || !compacted) {
    std::fprintf(stderr, "cycle_scale_bench: reading the compacted records failed\n");
    return false;
  }
  const bool same = sameCycles(*before_cycles, *after_cycles) &&
                    sameScenarios(*before_scenarios, *after_scenarios);
  // Bytes per system per day at 5,760 cycles a day.
  const double per_day = 5760.0 / cycles / systems;
  std::printf(
      "compaction: %lld cycles into %lld blocks, %lld scenarios into %lld blocks in %.2f s; "
      "all read back in %.2f s\n",
      static_cast<long long>(compacted_cycles->records),
      static_cast<long long>(compacted_cycles->blocks),
      static_cast<long long>(compacted_scenarios->records),
      static_cast<long long>(compacted_scenarios->blocks), compact_s, read_s);
  std::printf("%-22s %14s %14s %14s\n", "bytes/system/day", "cycles", "scenarios", "both");
  std::printf("%-22s %14.0f %14.0f %14.0f\n", "as written", written->cycles * per_day,
              written->scenarios * per_day, (written->cycles + written->scenarios) * per_day);
  std::printf("%-22s %14.0f %14.0f %14.0f\n", "compacted", compacted->cycles * per_day,
              compacted->scenarios * per_day, (compacted->cycles + compacted->scenarios) * per_day);
  std::printf("read back byte for byte: %s\n", same ? "yes" : "NO");
  return same;
}

}  // namespace

int main(int argc, char** argv) {
  int systems = 10000;
  int history = 40;
  int cycles = 5;
  std::string mode = "forecast-only";
  std::string db_path;
  std::optional<int> plan_margin_s;
  std::optional<int> decide_threads;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string a = argv[i];
    if (a == "--systems")
      systems = std::stoi(argv[i + 1]);
    else if (a == "--history")
      history = std::stoi(argv[i + 1]);
    else if (a == "--cycles")
      cycles = std::stoi(argv[i + 1]);
    else if (a == "--mode")
      mode = argv[i + 1];
    else if (a == "--db")
      db_path = argv[i + 1];
    else if (a == "--plan-margin-s")
      plan_margin_s = std::stoi(argv[i + 1]);
    else if (a == "--decide-threads")
      decide_threads = std::stoi(argv[i + 1]);
    else {
      std::fprintf(stderr, "cycle_scale_bench: unknown option %s\n", a.c_str());
      return 2;
    }
  }
  pso::testing::TempDir dir;
  const std::string db = db_path.empty() ? dir.file("controller.db") : db_path;
  auto opened = Store::open(db);
  if (!opened) {
    std::fprintf(stderr, "cycle_scale_bench: %s\n", opened.error().message.c_str());
    return 1;
  }
  Store& store = **opened;
  const int64_t t0 = 1'780'000'000'000;  // a fixed time: the figures do not depend on the clock
  pso::controller::store::IngestLimits limits;
  limits.max_age_ms = 365LL * 24 * 3600 * 1000;
  store.setIngestLimits(limits);

  const auto setup_start = std::chrono::steady_clock::now();
  std::vector<pso::protocol::TelemetryBatch> batches;
  for (int s = 0; s < systems; ++s) {
    char name[32];
    pso::protocol::Hello hello;
    std::snprintf(name, sizeof name, "load-%05d", s);
    hello.agent_id = name;
    std::snprintf(name, sizeof name, "sys-%05d", s);
    pso::protocol::SystemInfo info;
    info.name = name;
    info.actuator = "exec";
    info.min_replicas = 1;
    info.max_replicas = 20;
    info.replicas = 4;
    info.capacity_per_replica = 100;
    hello.systems.push_back(info);
    if (auto added = store.upsertAgent(hello, t0); !added) {
      std::fprintf(stderr, "cycle_scale_bench: %s\n", added.error().message.c_str());
      return 1;
    }
    pso::protocol::TelemetryBatch batch;
    batch.agent_id = hello.agent_id;
    batch.seq = 1;
    batch.oldest_seq = 1;
    batch.series = {{info.name, "demand"}, {info.name, "replicas"}};
    batch.values.resize(2);
    for (int k = 0; k < history; ++k) {
      batch.timestamps_ms.push_back(t0 + k * kStepMs);
      batch.values[0].push_back(demandAt(s, k));
      batch.values[1].push_back(4);
    }
    batches.push_back(std::move(batch));
    if (batches.size() == 500 || s + 1 == systems) {
      if (auto stored = store.ingestTelemetry(batches, t0 + history * kStepMs); !stored) {
        std::fprintf(stderr, "cycle_scale_bench: %s\n", stored.error().message.c_str());
        return 1;
      }
      batches.clear();
    }
  }
  std::printf(
      "cycle_scale_bench: %d systems, %d samples of history each, set up in %.1f s\n", systems,
      history,
      std::chrono::duration<double>(std::chrono::steady_clock::now() - setup_start).count());

  pso::controller::ControllerConfig config;
  config.mode = mode;
  if (plan_margin_s) config.engine.plan_margin = std::chrono::seconds(*plan_margin_s);
  if (decide_threads) config.engine.decide_threads = *decide_threads;
  CountingDispatcher dispatcher;
  pso::common::MetricsRegistry metrics;
  pso::controller::service::CycleRunner runner(config, store, dispatcher, metrics);
  // "cpu ms" is the cycle thread's own CPU time: what the cycle costs, apart
  // from what else the machine was doing.
  std::printf("%-6s %10s %8s %12s %10s", "cycle", "total ms", "cpu ms", "scenario KB", "cycle KB");
  const char* kPhases[] = {"snapshot", "decide", "record", "scenario",
                           "outcomes", "alerts", "state",  "rollup"};
  for (const char* p : kPhases) std::printf(" %9s", p);
  std::printf("\n");
  for (int c = 0; c < cycles; ++c) {
    const int64_t step = history + c;
    const int64_t now = t0 + step * kStepMs;
    for (int s = 0; s < systems; ++s) {
      pso::protocol::TelemetryBatch& batch = batches.emplace_back();
      char name[32];
      std::snprintf(name, sizeof name, "load-%05d", s);
      batch.agent_id = name;
      batch.seq = static_cast<uint64_t>(2 + c);
      batch.oldest_seq = batch.seq;
      std::snprintf(name, sizeof name, "sys-%05d", s);
      batch.series = {{name, "demand"}};
      batch.timestamps_ms = {now - 1};
      batch.values = {{demandAt(s, step)}};
    }
    if (auto stored = store.ingestTelemetry(batches, now); !stored) {
      std::fprintf(stderr, "cycle_scale_bench: %s\n", stored.error().message.c_str());
      return 1;
    }
    batches.clear();
    const auto started = std::chrono::steady_clock::now();
    const double cpu_started = threadCpuMs();
    auto report = runner.runCycleOnce(now);
    const double cpu_ms = threadCpuMs() - cpu_started;
    const double ms =
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - started)
            .count();
    if (!report) {
      std::fprintf(stderr, "cycle_scale_bench: cycle failed: %s\n", report.error().message.c_str());
      return 1;
    }
    std::map<std::string, double> phases(report->phases_ms.begin(), report->phases_ms.end());
    auto scenario = store.scenario(report->scenario_id);
    const double scenario_kb = scenario && scenario.value()
                                   ? static_cast<double>(scenario.value()->json.size()) / 1024
                                   : -1;
    std::printf("%-6d %10.0f %8.0f %12.0f %10.0f", c + 1, ms, cpu_ms, scenario_kb,
                static_cast<double>(report->cycle.decisions_json.size()) / 1024);
    for (const char* p : kPhases) std::printf(" %9.0f", phases[p]);
    std::printf("\n");
  }
  std::printf("directives dispatched: %zu\n", dispatcher.count);
  // A stop saves every system's engine state at once (a cycle saves a slice).
  const auto stop_started = std::chrono::steady_clock::now();
  runner.stop();
  const double stop_ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - stop_started)
          .count();
  if (auto states = store.loadSystemStates(); states && !states->empty()) {
    double bytes = 0;
    for (const auto& [system, state] : *states) bytes += static_cast<double>(state.size());
    std::printf(
        "engine state: %zu systems, %.0f bytes a system, %.1f MB in all; a stop saved all in "
        "%.0f ms\n",
        states->size(), bytes / static_cast<double>(states->size()), bytes / 1e6, stop_ms);
  }
  return reportStorage(store, db, systems, cycles, t0 + (history + cycles) * kStepMs) ? 0 : 1;
}
