// Core budgets, printed as figures (not a timed test):
//  - MessagePack encode/decode of telemetry batches (samples/s);
//  - store ingest through Store::ingestTelemetry (samples/s) across many series;
//  - one decision cycle of the engine over 1,000 systems (ms).
// Run: build/tests/bench/core_bench [--quick]

#include <unistd.h>
#include <algorithm>
#include <chrono>
#include <climits>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <random>
#include <string>
#include <vector>

#include "controller/engine/decision_engine.h"
#include "controller/store/store.h"
#include "protocol/codec.h"

namespace {

using Clock = std::chrono::steady_clock;
using namespace pso;

double secondsSince(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

protocol::TelemetryBatch makeBatch(const std::string& agent, uint64_t seq, int series, int points,
                                   int64_t t0_ms, std::mt19937& rng) {
  protocol::TelemetryBatch b;
  b.agent_id = agent;
  b.seq = seq;
  b.oldest_seq = seq;
  std::normal_distribution<double> noise(100.0, 10.0);
  for (int s = 0; s < series; ++s) {
    b.series.push_back({"sys-" + std::to_string(s / 10), "metric." + std::to_string(s % 10)});
  }
  for (int p = 0; p < points; ++p) b.timestamps_ms.push_back(t0_ms + p * 1000);
  b.values.assign(series, std::vector<double>(points));
  for (auto& row : b.values) {
    for (auto& v : row) v = noise(rng);
  }
  return b;
}

void benchCodec(bool quick) {
  std::mt19937 rng(1);
  const auto batch = makeBatch("agent-1", 1, 50, 20, 1700000000000, rng);
  const int rounds = quick ? 2000 : 20000;
  const std::size_t samples_per_batch = 50 * 20;
  auto start = Clock::now();
  std::size_t bytes = 0;
  for (int i = 0; i < rounds; ++i) bytes += protocol::encode(batch).size();
  const double enc = secondsSince(start);
  const std::string frame = protocol::encode(batch);
  start = Clock::now();
  std::size_t ok = 0;
  for (int i = 0; i < rounds; ++i) ok += protocol::decode(frame).ok() ? 1 : 0;
  const double dec = secondsSince(start);
  std::printf("%-44s %14.0f samples/s  (%zu B/batch of %zu samples)\n", "codec encode telemetry",
              rounds * samples_per_batch / enc, bytes / rounds, samples_per_batch);
  std::printf("%-44s %14.0f samples/s  (%zu/%d decoded)\n", "codec decode+validate telemetry",
              rounds * samples_per_batch / dec, ok, rounds);
}

void benchIngest(bool quick) {
  const auto dir =
      std::filesystem::temp_directory_path() / ("pso-bench-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  auto store = controller::store::Store::open((dir / "bench.db").string());
  if (!store) {
    std::printf("ingest: cannot open store: %s\n", store.error().message.c_str());
    return;
  }
  // 200 agents x 50 series = 10,000 series; each agent sends a batch of 10
  // points per round, 64 batches per transaction as the ingest loop groups them.
  const int agents = 200;
  const int series = 50;
  const int points = 10;
  const int rounds = quick ? 3 : 20;
  std::mt19937 rng(2);
  std::vector<protocol::TelemetryBatch> pending;
  std::size_t samples = 0;
  double elapsed = 0;
  for (int r = 0; r < rounds; ++r) {
    for (int a = 0; a < agents; ++a) {
      const int64_t round_ms = 1700000000000 + r * points * 1000;
      pending.push_back(
          makeBatch("agent-" + std::to_string(a), r + 1, series, points, round_ms, rng));
      if (pending.size() == 64 || a == agents - 1) {
        const auto start = Clock::now();
        auto outcome = (*store)->ingestTelemetry(pending, round_ms);
        elapsed += secondsSince(start);
        if (!outcome) {
          std::printf("ingest failed: %s\n", outcome.error().message.c_str());
          return;
        }
        for (const auto& o : *outcome) samples += o.samples;
        pending.clear();
      }
    }
  }
  std::printf("%-44s %14.0f samples/s  (%zu samples, %d series)\n",
              "store ingest (10,000 series, 64 batches/tx)", samples / elapsed, samples,
              agents * series);
  const auto start = Clock::now();
  int reads = 0;
  for (int i = 0; i < 200; ++i) {
    auto s = (*store)->samples("sys-" + std::to_string(i % 5), "metric.3", 0, INT64_MAX);
    reads += s.ok() ? 1 : 0;
  }
  std::printf("%-44s %14.3f ms/query\n", "store per-series read (all samples)",
              secondsSince(start) * 1000 / 200);
  store->reset();
  std::filesystem::remove_all(dir);
}

void benchCycle(bool quick) {
  controller::engine::EngineSettings settings;
  settings.step_s = 15;
  controller::engine::DecisionEngine engine(settings);
  const int systems = 1000;
  for (int i = 0; i < systems; ++i) {
    controller::engine::SystemSpec spec;
    spec.name = "sys-" + std::to_string(i);
    spec.capacity_per_replica = 100;
    spec.max_replicas = 50;
    spec.warmup_s = 30;
    engine.upsertSystem(spec);
  }
  std::mt19937 rng(3);
  std::normal_distribution<double> noise(0, 30);
  const int cycles = quick ? 50 : 300;
  std::vector<int64_t> replicas(systems, 1);
  std::vector<double> cycle_ms;
  for (int c = 0; c < cycles; ++c) {
    controller::engine::CycleInput input;
    input.now_ms = 1700000000000 + c * 15000;
    for (int i = 0; i < systems; ++i) {
      controller::engine::SystemObservation o;
      o.system = "sys-" + std::to_string(i);
      o.demand = std::max(0.0, 800 + 400 * std::sin(c / 20.0 + i) + noise(rng));
      o.current_replicas = replicas[i];
      input.systems.push_back(std::move(o));
    }
    const auto start = Clock::now();
    auto out = engine.decide(input);
    cycle_ms.push_back(secondsSince(start) * 1000);
    for (std::size_t i = 0; i < out.systems.size(); ++i) {
      replicas[i] = out.systems[i].desired_replicas;
    }
  }
  std::sort(cycle_ms.begin(), cycle_ms.end());
  std::printf("%-44s %14.2f ms p50, %.2f ms p99\n", "engine decision cycle, 1,000 systems",
              cycle_ms[cycle_ms.size() / 2], cycle_ms[cycle_ms.size() * 99 / 100]);
}

}  // namespace

int main(int argc, char** argv) {
  const bool quick = argc > 1 && std::strcmp(argv[1], "--quick") == 0;
  std::printf("PSO-PRIME core benchmark%s\n", quick ? " (quick)" : "");
  benchCodec(quick);
  benchIngest(quick);
  benchCycle(quick);
  return 0;
}
