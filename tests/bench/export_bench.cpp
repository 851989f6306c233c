// Scenario export budgets, printed as figures (not a timed test): a synthetic
// trace of 10,000 steps is replayed with `psoctl simulate --record`'s code
// (recordSimulation: one scenario per step, outcomes backfilled), then the
// 10,000 scenarios are read from the store and exported as jsonl, gift,
// markdown and html into a temporary directory. The goal is every export of
// 10,000 scenarios under 10 s.
// Run: build/tests/bench/export_bench [--scenarios N] [--keep]

#include <unistd.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <random>
#include <string>
#include <vector>

#include "controller/cli/record.h"
#include "controller/scenarios/exporter.h"
#include "controller/store/store.h"

namespace {

using Clock = std::chrono::steady_clock;
using namespace pso;
namespace fs = std::filesystem;

double secondsSince(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

// Daily-shaped demand at 5-minute steps with noise and occasional bursts, so
// the replay scales often and records every kind of cycle.
std::vector<double> syntheticDemand(std::size_t steps) {
  std::mt19937 rng(7);
  std::normal_distribution<double> noise(0.0, 8.0);
  std::uniform_real_distribution<double> chance(0.0, 1.0);
  std::vector<double> demand(steps);
  int burst = 0;
  for (std::size_t i = 0; i < steps; ++i) {
    if (burst == 0 && chance(rng) < 0.004) burst = 12;
    const double base = 300 + 180 * std::sin(2 * M_PI * static_cast<double>(i) / 288.0);
    demand[i] = std::max(0.0, base + noise(rng) + (burst > 0 ? 400.0 : 0.0));
    if (burst > 0) --burst;
  }
  return demand;
}

std::uintmax_t bytesUnder(const fs::path& path) {
  std::error_code ec;
  if (fs::is_regular_file(path, ec)) return fs::file_size(path, ec);
  std::uintmax_t total = 0;
  for (const auto& entry : fs::recursive_directory_iterator(path, ec)) {
    if (entry.is_regular_file(ec)) total += entry.file_size(ec);
  }
  return total;
}

}  // namespace

int main(int argc, char** argv) {
  std::size_t count = 10000;
  bool keep = false;
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--scenarios") == 0 && i + 1 < argc) {
      count = static_cast<std::size_t>(std::stoul(argv[++i]));
    } else if (std::strcmp(argv[i], "--keep") == 0) {
      keep = true;
    } else {
      std::fprintf(stderr, "usage: export_bench [--scenarios N] [--keep]\n");
      return 2;
    }
  }
  const fs::path dir =
      fs::temp_directory_path() / ("pso-export-bench-" + std::to_string(::getpid()));
  fs::create_directories(dir);
  const std::string db_path = (dir / "lessons.db").string();

  cli::ReplayInput input;
  input.demand = syntheticDemand(count);
  input.step_s = 300;
  input.start_ms = 1700000000000;
  input.spec.name = "web";
  input.spec.capacity_per_replica = 40;
  input.spec.target_utilization = 0.7;
  input.spec.min_replicas = 1;
  input.spec.max_replicas = 100;
  input.spec.warmup_s = 600;
  input.settings.step_s = input.step_s;
  input.initial_replicas = 8;

  auto start = Clock::now();
  auto recorded = cli::recordSimulation(db_path, input);
  if (!recorded) {
    std::fprintf(stderr, "recording failed: %s\n", recorded.error().message.c_str());
    return 1;
  }
  const double record_s = secondsSince(start);
  std::printf("record: %zu scenarios (%zu quiet, %zu questions) in %.2f s (%.0f scenarios/s)\n",
              recorded->scenarios, recorded->quiet, recorded->questions, record_s,
              static_cast<double>(recorded->scenarios) / record_s);

  auto store = controller::store::Store::open(db_path);
  if (!store) {
    std::fprintf(stderr, "%s\n", store.error().message.c_str());
    return 1;
  }
  start = Clock::now();
  auto records = (*store)->scenarios({});
  if (!records) {
    std::fprintf(stderr, "%s\n", records.error().message.c_str());
    return 1;
  }
  std::printf("read: %zu scenarios from the store in %.2f s\n", records->size(),
              secondsSince(start));

  int failures = 0;
  for (const char* format : {"jsonl", "gift", "markdown", "html"}) {
    auto exporter = controller::scenarios::makeExporter(format);
    if (!exporter) return 1;
    const bool single_file = std::strcmp(format, "jsonl") == 0 || std::strcmp(format, "gift") == 0;
    const fs::path out = dir / (std::string("out.") + format);
    start = Clock::now();
    auto written = (*exporter)->write(*records, out.string());
    const double seconds = secondsSince(start);
    if (!written) {
      std::fprintf(stderr, "%s export failed: %s\n", format, written.error().message.c_str());
      ++failures;
      continue;
    }
    std::printf("export %-8s: %zu scenarios in %.2f s (%s, %.1f MB%s) %s\n", format,
                records->size(), seconds, single_file ? "one file" : "one lesson per file",
                static_cast<double>(bytesUnder(out)) / 1e6,
                single_file ? "" : ", flushed to disk at the end",
                seconds < 10.0 ? "[under 10 s]" : "[OVER 10 s]");
  }
  if (keep) {
    std::printf("kept %s\n", dir.c_str());
  } else {
    std::error_code ec;
    fs::remove_all(dir, ec);
  }
  return failures == 0 ? 0 : 1;
}
