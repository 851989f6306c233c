// Core budgets, printed as figures (not a timed test):
//  - MessagePack encode/decode of telemetry batches (samples/s);
//  - store ingest through Store::ingestTelemetry (samples/s) across many series,
//    on SQLite and, when PSO_BENCH_PG_DSN names a PostgreSQL database (an empty
//    one: the bench writes its tables there), on PostgreSQL too;
//  - one decision cycle of the engine over 1,000 systems (ms);
//  - /metrics of a 10,000-system fleet: the render's time, and how long a
//    counter increment (ingest makes one per message) waits while renders run;
//  - the agent link end to end (agents' DEALERs -> ingest -> store -> ack over
//    loopback TCP), plain and with CurveZMQ, to show what encryption costs.
// Run: build/tests/bench/core_bench [--quick]
//      PSO_BENCH_PG_DSN="host=127.0.0.1 port=5432 dbname=bench" build/tests/bench/core_bench

#include <spdlog/spdlog.h>
#include <unistd.h>
#include <algorithm>
#include <atomic>
#include <chrono>
#include <climits>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "common/clock.h"
#include "common/curve_keys.h"
#include "common/metrics.h"
#include "common/zmq_socket.h"
#include "controller/engine/decision_engine.h"
#include "controller/service/ingest.h"
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

void benchIngest(bool quick, controller::store::StoreBackend backend, const std::string& dsn) {
  const auto dir =
      std::filesystem::temp_directory_path() / ("pso-bench-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  controller::store::StoreLocation location;
  location.backend = backend;
  location.path = (dir / "bench.db").string();
  location.dsn = dsn;
  const std::string name = controller::store::storeBackendName(backend);
  auto store = controller::store::Store::open(location);
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
              ("store ingest " + name + " (10,000 series, 64 batches/tx)").c_str(),
              samples / elapsed, samples, agents * series);
  const auto start = Clock::now();
  int reads = 0;
  for (int i = 0; i < 200; ++i) {
    auto s = (*store)->samples("sys-" + std::to_string(i % 5), "metric.3", 0, INT64_MAX);
    reads += s.ok() ? 1 : 0;
  }
  std::printf("%-44s %14.3f ms/query\n",
              ("store " + name + " per-series read (all samples)").c_str(),
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

// One agent's side of the link: a DEALER, its next seq and what is in flight.
struct LinkAgent {
  std::string id;
  zmq::socket_t socket;
  uint64_t next_seq = 1;
  uint64_t acked = 0;
};

// Agents send telemetry batches (50 series x 10 points) with up to 16 in
// flight each, as pso-agent's window allows, until every batch is acked: the
// figure is samples acked per second through ingest and the store.
void benchLink(bool quick, bool curve) {
  const auto dir = std::filesystem::temp_directory_path() /
                   ("pso-bench-link-" + std::to_string(::getpid()) + (curve ? "-curve" : ""));
  std::filesystem::create_directories(dir / "agents");
  std::filesystem::create_directories(dir / "keys");
  auto store = controller::store::Store::open((dir / "link.db").string());
  if (!store) {
    std::printf("link: cannot open store: %s\n", store.error().message.c_str());
    return;
  }
  const int agents = 20;
  const int series = 50;
  const int points = 10;
  const uint64_t batches = quick ? 40 : 250;
  const uint64_t window = 16;

  common::CurveKeyPair server;
  std::vector<common::CurveKeyPair> agent_keys(agents);
  controller::service::IngestOptions options;
  options.bind = "tcp://127.0.0.1:0";
  if (curve) {
    server = *common::generateCurveKeyPair();
    options.curve_secret_key = server.secret_key;
    options.authorized_keys_dir = (dir / "agents").string();
    for (int a = 0; a < agents; ++a) {
      agent_keys[a] = *common::generateCurveKeyPair();
      const std::string id = "agent-" + std::to_string(a);
      if (auto written = common::writeCurveKeyFiles((dir / "keys" / id).string(), agent_keys[a]);
          !written) {
        std::printf("link: %s\n", written.error().message.c_str());
        return;
      }
      std::filesystem::copy_file(dir / "keys" / (id + ".pub"), dir / "agents" / (id + ".pub"));
    }
  }
  common::MetricsRegistry metrics;
  controller::service::Ingest ingest(options, **store, metrics);
  if (auto started = ingest.start(); !started) {
    std::printf("link: %s\n", started.error().message.c_str());
    return;
  }

  zmq::context_t context(1);
  std::vector<LinkAgent> fleet;
  for (int a = 0; a < agents; ++a) {
    common::DealerOptions dealer;
    dealer.sndhwm = dealer.rcvhwm = 10000;
    if (curve) {
      dealer.curve_server_key = server.public_key;
      dealer.curve_public_key = agent_keys[a].public_key;
      dealer.curve_secret_key = agent_keys[a].secret_key;
    }
    auto socket = common::makeDealer(context, ingest.endpoint(), dealer);
    if (!socket) {
      std::printf("link: %s\n", socket.error().message.c_str());
      return;
    }
    fleet.push_back({"agent-" + std::to_string(a), std::move(socket).value()});
    fleet.back().socket.set(zmq::sockopt::sndtimeo, 5000);
    protocol::Hello hello;
    hello.agent_id = fleet.back().id;
    hello.version = "bench";
    fleet.back().socket.send(zmq::buffer(protocol::encode(hello)), zmq::send_flags::none);
  }
  // Every agent welcomed before the clock starts.
  for (auto& agent : fleet) {
    zmq::message_t reply;
    agent.socket.set(zmq::sockopt::rcvtimeo, 10000);
    if (!agent.socket.recv(reply)) {
      std::printf("link: %s got no welcome\n", agent.id.c_str());
      return;
    }
  }

  std::mt19937 rng(4);
  std::vector<std::string> frames;
  const int64_t now = common::wallMs();
  for (uint64_t b = 0; b < window * 2; ++b) {
    frames.push_back(protocol::encode(makeBatch(
        "agent-0", 1, series, points, now - 600000 + static_cast<int64_t>(b) * 10000, rng)));
  }
  const auto start = Clock::now();
  uint64_t done = 0;
  while (done < fleet.size() && secondsSince(start) < 300) {
    std::vector<zmq::pollitem_t> items;
    for (auto& agent : fleet) {
      while (agent.next_seq <= batches && agent.next_seq - agent.acked - 1 < window) {
        // The same samples under each agent's id and seq: re-encoding per batch
        // would measure the codec, which the first figures already show.
        auto decoded = protocol::decode(frames[agent.next_seq % frames.size()]);
        auto batch = std::get<protocol::TelemetryBatch>(*decoded);
        batch.agent_id = agent.id;
        batch.seq = batch.oldest_seq = agent.next_seq;
        for (std::size_t t = 0; t < batch.timestamps_ms.size(); ++t) {
          batch.timestamps_ms[t] = now - 3600000 + static_cast<int64_t>(agent.next_seq) * 10000 +
                                   static_cast<int64_t>(t) * 1000;
        }
        agent.socket.send(zmq::buffer(protocol::encode(batch)), zmq::send_flags::none);
        ++agent.next_seq;
      }
      items.push_back({agent.socket.handle(), 0, ZMQ_POLLIN, 0});
    }
    zmq::poll(items, std::chrono::milliseconds(100));
    for (std::size_t i = 0; i < fleet.size(); ++i) {
      if (!(items[i].revents & ZMQ_POLLIN)) continue;
      zmq::message_t frame;
      while (fleet[i].socket.recv(frame, zmq::recv_flags::dontwait)) {
        auto message = protocol::decode(frame.to_string_view());
        if (!message) continue;
        if (auto* ack = std::get_if<protocol::Ack>(&*message)) {
          const bool finished = fleet[i].acked < batches && ack->seq >= batches;
          fleet[i].acked = std::max(fleet[i].acked, ack->seq);
          if (finished) ++done;
        }
      }
    }
  }
  const double elapsed = secondsSince(start);
  const double samples =
      static_cast<double>(agents) * static_cast<double>(batches) * series * points;
  std::printf("%-44s %14.0f samples/s  (%d agents, %.1f s%s)\n",
              curve ? "agent link -> store -> ack, CurveZMQ" : "agent link -> store -> ack, plain",
              done == fleet.size() ? samples / elapsed : 0.0, agents, elapsed,
              done == fleet.size() ? "" : ", NOT ALL ACKED");
  fleet.clear();
  ingest.stop();
  store->reset();
  std::filesystem::remove_all(dir);
}

}  // namespace

void benchMetrics(bool quick) {
  // The fleet's gauges as the cycle publishes them: six per system and two
  // per agent, as tables.
  constexpr int kSystems = 10000;
  common::MetricsRegistry metrics;
  for (const char* family :
       {"pso_system_replicas", "pso_system_desired_replicas", "pso_system_demand",
        "pso_system_forecast", "pso_system_forecast_upper", "pso_system_health_score",
        "pso_agent_last_seen_seconds", "pso_agent_spool_pending"}) {
    metrics.describe(family, "gauge", "a fleet gauge");
    std::vector<std::pair<std::string, double>> rows;
    for (int i = 0; i < kSystems; ++i) rows.emplace_back("sys-" + std::to_string(i), i * 1.5);
    metrics.setGaugeTable(family, "system", std::move(rows));
  }
  metrics.describeHistogram("pso_cycle_duration_seconds", "cycles", {0.1, 1, 10});
  const int renders = quick ? 5 : 40;
  std::atomic<bool> rendering{true};
  double render_s = 0;
  std::size_t bytes = 0;
  std::thread renderer([&] {
    const auto start = Clock::now();
    for (int r = 0; r < renders; ++r) bytes = metrics.renderPrometheus().size();
    render_s = secondsSince(start) / renders;
    rendering = false;
  });
  // Ingest's side: an increment per message, each one timed.
  double slowest_us = 0;
  uint64_t increments = 0;
  while (rendering) {
    const auto start = Clock::now();
    metrics.increment("pso_messages_received_total", {{"type", "telemetry"}});
    slowest_us = std::max(slowest_us, secondsSince(start) * 1e6);
    ++increments;
  }
  renderer.join();
  std::printf(
      "\n/metrics of %d systems' gauges (%zu KB): %.1f ms a render; "
      "the slowest of %llu increments during %d renders waited %.0f us\n",
      kSystems, bytes / 1024, render_s * 1000, static_cast<unsigned long long>(increments), renders,
      slowest_us);
}

int main(int argc, char** argv) {
  const bool quick = argc > 1 && std::strcmp(argv[1], "--quick") == 0;
  spdlog::set_level(spdlog::level::warn);  // the link bench's ingest logs every hello
  std::printf("PSO-PRIME core benchmark%s\n", quick ? " (quick)" : "");
  benchCodec(quick);
  benchIngest(quick, controller::store::StoreBackend::kSqlite, "");
  if (const char* dsn = std::getenv("PSO_BENCH_PG_DSN"); dsn != nullptr && *dsn != '\0') {
    benchIngest(quick, controller::store::StoreBackend::kPostgresql, dsn);
  }
  benchCycle(quick);
  benchMetrics(quick);
  benchLink(quick, false);
  benchLink(quick, true);
  return 0;
}
