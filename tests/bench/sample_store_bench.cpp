// The telemetry store's ingest and sample layout on its own (no network):
// N agents x 10 series sampled every second, stored through
// Store::ingestTelemetry in transactions of about 20,000 samples (the
// controller's telemetry writer commits what waits, up to that), the store
// told the time advances with the samples so heads are cut as in a live
// controller. Printed (a table, not a timed test):
//  - persisted samples per second of wall time, and per second of this
//    process's CPU time;
//  - bytes on disk per sample: the chunk table and its index over the
//    samples in chunks (what stays), the log (samples acked but not cut yet,
//    transient) and the file as a whole;
//  - the rollup passes (one a simulated minute, as the controller runs them;
//    they also merge each closed hour's chunks into one row);
//  - reads after the run: a cycle's read of every system (the newest 10
//    samples and the last 15 s) and a 24-hour page of one series.
// Values: 8 system series at two decimals (a wave plus noise, as
// fleet_bench sends), a replica count, and a host CPU ratio (1 - idle/total)
// at the four decimals pso-agent sends, or with --raw-ratio as the
// division's arbitrary double.
//
// With --points K each agent sends its samples every K seconds, K to a
// series in a batch (fewer, larger rows per transaction).
//
// Usage: sample_store_bench [--agents N] [--seconds S] [--points K] [--raw-ratio]
//                           [--dir DIR]

#include <sys/resource.h>
#include <time.h>

#include <unistd.h>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "agent/sample_resolution.h"
#include "common/sqlite.h"
#include "controller/store/store.h"

namespace {

namespace fs = std::filesystem;
using pso::controller::store::Store;

constexpr int64_t kStartMs = 1767225600000;
constexpr int kSeries = 10;
constexpr std::size_t kSamplesPerTransaction = 20000;

struct Options {
  int agents = 10000;
  int seconds = 600;
  int points = 1;  // samples per series per batch (an agent sending every `points` s)
  std::string dir;
};

double processCpuSeconds() {
  timespec ts{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

bool raw_ratio = false;

double value(int agent, int series, int64_t t) {
  if (series == 1) return 2;  // replicas
  if (series == 9) {
    // 1 - idle/total over a second of jiffies, at the agent's four decimals
    // (agent/sample_resolution.h); --raw-ratio sends the division's double.
    const double busy = 37 + 11 * std::sin(t / 300.0 + agent) + std::fmod(t * 7.31 + agent, 5.0);
    return raw_ratio ? busy / 400.0
                     : pso::agent::atDecimals(busy / 400.0, pso::agent::kRatioDecimals);
  }
  const double noise = std::sin(t * 12.9898 + series * 78.233 + agent) * 43758.5453;
  const double v = 100 + 40 * std::sin(t / 600.0 + series) + 5 * (noise - std::floor(noise));
  return std::round(v * 100) / 100;
}

std::map<std::string, int64_t> tableBytes(const std::string& path) {
  std::map<std::string, int64_t> bytes;
  auto db = pso::common::Database::open(path, true);
  if (!db.ok()) return bytes;
  auto rows = (*db)->prepare("SELECT name, SUM(pgsize) FROM dbstat GROUP BY name");
  if (!rows.ok()) {
    std::fprintf(stderr, "dbstat: %s\n", rows.error().message.c_str());
    return bytes;
  }
  while (true) {
    auto row = rows->step();
    if (!row.ok() || !*row) break;
    bytes[rows->columnText(0)] = rows->columnInt64(1);
  }
  return bytes;
}

int64_t countOf(const std::string& path, const std::string& sql) {
  auto db = pso::common::Database::open(path, true);
  if (!db.ok()) return -1;
  auto rows = (*db)->prepare(sql);
  if (!rows.ok()) return -1;
  auto row = rows->step();
  return row.ok() && *row ? rows->columnInt64(0) : -1;
}

}  // namespace

int main(int argc, char** argv) {
  Options options;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--agents" && i + 1 < argc) {
      options.agents = std::atoi(argv[++i]);
    } else if (a == "--seconds" && i + 1 < argc) {
      options.seconds = std::atoi(argv[++i]);
    } else if (a == "--points" && i + 1 < argc) {
      options.points = std::max(1, std::atoi(argv[++i]));
    } else if (a == "--raw-ratio") {
      raw_ratio = true;
    } else if (a == "--dir" && i + 1 < argc) {
      options.dir = argv[++i];
    } else {
      std::fprintf(
          stderr,
          "usage: sample_store_bench [--agents N] [--seconds S] [--points K] [--raw-ratio] "
          "[--dir DIR]\n");
      return 2;
    }
  }
  const fs::path dir =
      options.dir.empty()
          ? fs::temp_directory_path() / ("pso-sample-store-bench-" + std::to_string(::getpid()))
          : fs::path(options.dir);
  fs::remove_all(dir);
  fs::create_directories(dir);
  const std::string path = (dir / "controller.db").string();
  auto opened = Store::open(path);
  if (!opened.ok()) {
    std::fprintf(stderr, "sample_store_bench: %s\n", opened.error().message.c_str());
    return 1;
  }
  auto store = std::move(*opened);
  pso::controller::store::IngestLimits limits;
  limits.max_age_ms = INT64_MAX / 4;
  store->setIngestLimits(limits);

  static const char* kMetrics[kSeries] = {"demand",  "replicas", "cpu.usage",  "memory.current",
                                          "io.read", "io.write", "latency_ms", "errors",
                                          "queue",   "host.cpu"};
  std::vector<std::string> systems;
  for (int a = 0; a < options.agents; ++a) systems.push_back("sys-" + std::to_string(a));

  const auto wall_start = std::chrono::steady_clock::now();
  const double cpu_start = processCpuSeconds();
  int64_t stored = 0;
  double slowest_tx_ms = 0;
  double rollup_s = 0;
  std::vector<pso::protocol::TelemetryBatch> pending;
  std::size_t pending_samples = 0;
  auto commit = [&](int64_t now_ms) {
    const auto t0 = std::chrono::steady_clock::now();
    auto outcomes = store->ingestTelemetry(pending, now_ms);
    const double ms =
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
    slowest_tx_ms = std::max(slowest_tx_ms, ms);
    if (!outcomes.ok()) {
      std::fprintf(stderr, "sample_store_bench: %s\n", outcomes.error().message.c_str());
      std::exit(1);
    }
    for (const auto& o : *outcomes) stored += static_cast<int64_t>(o.samples);
    pending.clear();
    pending_samples = 0;
  };
  for (int t = 0; t < options.seconds; ++t) {
    const int64_t now_ms = kStartMs + t * 1000LL;
    // The controller's rollup pass, once a simulated minute: it also merges
    // the chunks of each closed six-hour block.
    if (t % 60 == 0 && t > 0) {
      const auto r0 = std::chrono::steady_clock::now();
      auto rolled = store->rollup(now_ms - 5000);
      if (!rolled.ok()) {
        std::fprintf(stderr, "sample_store_bench: %s\n", rolled.error().message.c_str());
        return 1;
      }
      rollup_s += std::chrono::duration<double>(std::chrono::steady_clock::now() - r0).count();
    }
    // Each agent sends when it has `points` seconds of samples.
    if ((t + 1) % options.points != 0) continue;
    const int first = t + 1 - options.points;
    for (int a = 0; a < options.agents; ++a) {
      pso::protocol::TelemetryBatch b;
      b.agent_id = "agent-" + std::to_string(a);
      b.seq = static_cast<uint64_t>(t / options.points) + 1;
      b.oldest_seq = b.seq;
      // 0-4 ms of scheduling jitter, as a 1 s agent loop has.
      for (int p = first; p <= t; ++p) {
        b.timestamps_ms.push_back(kStartMs + p * 1000LL + (a * 7 + p * 3) % 5);
      }
      for (int s = 0; s < kSeries; ++s) {
        b.series.push_back({s == 9 ? std::string() : systems[a], kMetrics[s]});
        std::vector<double> row;
        for (int p = first; p <= t; ++p) row.push_back(value(a, s, p));
        b.values.push_back(std::move(row));
      }
      pending.push_back(std::move(b));
      pending_samples += static_cast<std::size_t>(kSeries * options.points);
      if (pending_samples >= kSamplesPerTransaction) commit(now_ms);
    }
    if (!pending.empty()) commit(now_ms);
  }
  const double wall =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - wall_start).count();
  const double cpu = processCpuSeconds() - cpu_start;

  // Reads as a cycle and an operator make them.
  const int64_t end_ms = kStartMs + options.seconds * 1000LL;
  auto t0 = std::chrono::steady_clock::now();
  auto reads = store->cycleReads(systems, "demand", end_ms - 3600'000, end_ms - 15'000, end_ms, 10);
  const double cycle_read_ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  t0 = std::chrono::steady_clock::now();
  auto page = store->samples(systems[0], "demand", end_ms - 86'400'000, end_ms);
  const double page_ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  if (!reads.ok() || !page.ok()) {
    std::fprintf(stderr, "sample_store_bench: a read failed\n");
    return 1;
  }
  store.reset();

  const auto bytes = tableBytes(path);
  auto get = [&](const char* name) {
    auto it = bytes.find(name);
    return it == bytes.end() ? int64_t{0} : it->second;
  };
  const int64_t in_chunks = countOf(path, "SELECT COALESCE(SUM(count), 0) FROM sample_chunks");
  const int64_t chunk_rows = countOf(path, "SELECT COUNT(*) FROM sample_chunks");
  const int64_t blob_bytes =
      countOf(path, "SELECT COALESCE(SUM(length(data)), 0) FROM sample_chunks");
  const int64_t chunk_bytes = get("sample_chunks") + get("sample_chunks_by_series");
  const int64_t log_bytes = get("sample_log");
  std::error_code ec;
  const auto file_bytes = static_cast<int64_t>(fs::file_size(path, ec));

  std::printf(
      "sample_store_bench: %d agents x %d series, 1 s sampling, %d s of samples, %d a batch\n",
      options.agents, kSeries, options.seconds, options.points);
  std::printf("  stored            %12lld samples\n", static_cast<long long>(stored));
  std::printf("  ingest            %12.0f samples/s of wall time (%.1f s)\n", stored / wall, wall);
  std::printf("                    %12.0f samples/s of CPU time (%.1f s, this process)\n",
              stored / cpu, cpu);
  std::printf("  rollup passes     %12.1f s of the wall time (one a simulated minute)\n", rollup_s);
  std::printf("  slowest commit    %12.1f ms (about %zu samples a transaction)\n", slowest_tx_ms,
              kSamplesPerTransaction);
  std::printf("  in chunks         %12lld samples in %lld chunk rows\n",
              static_cast<long long>(in_chunks), static_cast<long long>(chunk_rows));
  if (in_chunks > 0) {
    std::printf("  chunks on disk    %12.2f bytes per sample (table and index, %.1f MB)\n",
                static_cast<double>(chunk_bytes) / static_cast<double>(in_chunks),
                chunk_bytes / 1e6);
    std::printf("    of which blobs  %12.2f bytes per sample\n",
                static_cast<double>(blob_bytes) / static_cast<double>(in_chunks));
  }
  std::printf("  log on disk       %12.1f MB (%lld samples not cut yet)\n", log_bytes / 1e6,
              static_cast<long long>(stored - in_chunks));
  std::printf("  file              %12.2f bytes per stored sample (%.1f MB)\n",
              static_cast<double>(file_bytes) / static_cast<double>(stored), file_bytes / 1e6);
  std::printf("  cycle read        %12.1f ms for %d systems (newest 10, last 15 s)\n",
              cycle_read_ms, options.agents);
  std::printf("  24 h page         %12.1f ms for %zu samples of one series\n", page_ms,
              page->size());
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  std::printf("  peak RSS          %12.0f MB\n", usage.ru_maxrss / 1024.0);
  if (options.dir.empty()) fs::remove_all(dir);
  return 0;
}
