// The controller's decision cycle at fleet scale, in process: a real SQLite
// store holding N systems (one agent each) with a history of demand and
// replica samples, and the real CycleRunner running cycles over them, one
// cycle interval apart, with a new sample per system before each. Printed:
// each cycle's time and where it went (CycleReport::phases_ms), and the size
// of what it recorded: the scenario document and the cycle's decisions.
//
// Usage: cycle_scale_bench [--systems N] [--history K] [--cycles C] [--mode act|forecast-only]
//
// The live controller runs the same code on its cycle thread while ingest
// writes beside it; fleet_bench measures that whole process.

#include <chrono>
#include <cmath>
#include <cstdio>
#include <map>
#include <string>
#include <vector>

#include "common/metrics.h"
#include "controller/config/controller_config.h"
#include "controller/service/cycle_runner.h"
#include "controller/service/ingest.h"
#include "controller/store/store.h"
#include "protocol/messages.h"
#include "tests/support/process.h"

namespace {

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
double demandAt(int system, int64_t step) {
  const double phase = static_cast<double>(system % 97) / 97.0 * 6.2832;
  const double t = static_cast<double>(step);
  return 300 + 150 * std::sin(t * 6.2832 / 5760 + phase) + 8 * std::sin(t * 1.7 + phase * 3.1);
}

}  // namespace

int main(int argc, char** argv) {
  int systems = 10000;
  int history = 40;
  int cycles = 5;
  std::string mode = "forecast-only";
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string a = argv[i];
    if (a == "--systems") systems = std::stoi(argv[i + 1]);
    else if (a == "--history") history = std::stoi(argv[i + 1]);
    else if (a == "--cycles") cycles = std::stoi(argv[i + 1]);
    else if (a == "--mode") mode = argv[i + 1];
    else {
      std::fprintf(stderr, "cycle_scale_bench: unknown option %s\n", a.c_str());
      return 2;
    }
  }
  pso::testing::TempDir dir;
  const std::string db = dir.file("controller.db");
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
  std::printf("cycle_scale_bench: %d systems, %d samples of history each, set up in %.1f s\n",
              systems, history,
              std::chrono::duration<double>(std::chrono::steady_clock::now() - setup_start).count());

  pso::controller::ControllerConfig config;
  config.mode = mode;
  CountingDispatcher dispatcher;
  pso::common::MetricsRegistry metrics;
  pso::controller::service::CycleRunner runner(config, store, dispatcher, metrics);
  std::printf("%-6s %10s %12s %10s", "cycle", "total ms", "scenario KB", "cycle KB");
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
    auto report = runner.runCycleOnce(now);
    const double ms =
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - started)
            .count();
    if (!report) {
      std::fprintf(stderr, "cycle_scale_bench: cycle failed: %s\n",
                   report.error().message.c_str());
      return 1;
    }
    std::map<std::string, double> phases(report->phases_ms.begin(), report->phases_ms.end());
    auto scenario = store.scenario(report->scenario_id);
    const double scenario_kb =
        scenario && scenario.value() ? static_cast<double>(scenario.value()->json.size()) / 1024 : -1;
    std::printf("%-6d %10.0f %12.0f %10.0f", c + 1, ms, scenario_kb,
                static_cast<double>(report->cycle.decisions_json.size()) / 1024);
    for (const char* p : kPhases) std::printf(" %9.0f", phases[p]);
    std::printf("\n");
  }
  std::printf("directives dispatched: %zu\n", dispatcher.count);
  return 0;
}
