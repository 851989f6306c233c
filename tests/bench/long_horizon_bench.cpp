// Long-horizon forecasting and rollups, printed as figures (not a timed test).
//
// Rollups: a store in a temp directory receives S series x M minutes of 1 s
// samples (default 10,000 x 60) through Store::ingestTelemetry, then one
// rollup pass writes their minute and hour buckets (the catch-up a controller
// does after a long stop); then one more minute of samples and the pass a
// running controller makes every minute.
//
// Accuracy: every trace of the traces directory whose step is at most an hour
// and that spans at least five weeks is aggregated to hourly means (an hour
// without a point is missing), and forecastLongHorizon() -- what
// GET /api/v1/systems/{name}/forecast?horizon=168h serves -- forecasts 168
// hours from rolling origins (every 24 h after four weeks of history; at most
// the last 12 weeks replayed, as the API does). MAE over the present targets
// of steps 1..168, against seasonal naive with a weekly (last week's same hour)
// and a daily season; coverage is the share of present targets inside the 90%
// interval. Skipped, with a note, when the traces directory is absent.
//
// Run: BUILD/tests/bench/long_horizon_bench [--traces DIR] [--series S]
//   [--minutes M] [--part all|rollup|accuracy] [--model NAME] [--season HOURS]
// --model and --season pass a registry model (default: auto-select) and its
// season to forecastLongHorizon(), to compare choices.

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <limits>
#include <map>
#include <string>
#include <vector>

#include "common/trace.h"
#include "controller/engine/long_horizon.h"
#include "controller/store/store.h"

namespace {

using Clock = std::chrono::steady_clock;
namespace fs = std::filesystem;
namespace engine = pso::controller::engine;
namespace store = pso::controller::store;

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr int kHorizon = 168;
constexpr int64_t kWarmupHours = 4 * 7 * 24;
constexpr int64_t kHistoryHours = 12 * 7 * 24;  // what the API replays at most
constexpr int64_t kOriginEvery = 24;

double secondsSince(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

// Ingests `minutes` minutes of 1 s samples for `series` series starting at
// start_ms, in batches of 10 s per agent of 100 series, 64 batches per call.
bool ingestSamples(store::Store& db, int series, int minutes, int64_t start_ms,
                   std::map<std::string, uint64_t>& seqs, std::size_t& written) {
  constexpr int kSeriesPerAgent = 100;
  constexpr int kSecondsPerBatch = 10;
  std::vector<pso::protocol::TelemetryBatch> pending;
  for (int64_t t = 0; t < static_cast<int64_t>(minutes) * 60; t += kSecondsPerBatch) {
    for (int a = 0; a < series / kSeriesPerAgent; ++a) {
      pso::protocol::TelemetryBatch batch;
      batch.agent_id = "agent-" + std::to_string(a);
      batch.seq = ++seqs[batch.agent_id];
      batch.oldest_seq = batch.seq;
      for (int s = 0; s < kSecondsPerBatch; ++s) {
        batch.timestamps_ms.push_back(start_ms + (t + s) * 1000);
      }
      for (int k = 0; k < kSeriesPerAgent; ++k) {
        batch.series.push_back({"sys-" + std::to_string(a * kSeriesPerAgent + k), "demand"});
        std::vector<double> row;
        for (int s = 0; s < kSecondsPerBatch; ++s) {
          row.push_back(100.0 + static_cast<double>((t + s + k) % 37));
        }
        batch.values.push_back(std::move(row));
      }
      pending.push_back(std::move(batch));
      if (pending.size() == 64) {
        auto outcome = db.ingestTelemetry(pending, start_ms + t * 1000);
        if (!outcome.ok()) {
          std::printf("ingest failed: %s\n", outcome.error().message.c_str());
          return false;
        }
        for (const auto& o : *outcome) written += o.samples;
        pending.clear();
      }
    }
  }
  if (!pending.empty()) {
    auto outcome = db.ingestTelemetry(pending, start_ms + static_cast<int64_t>(minutes) * 60'000);
    if (!outcome.ok()) return false;
    for (const auto& o : *outcome) written += o.samples;
  }
  return true;
}

void benchRollup(int series, int minutes) {
  series = std::max(100, series / 100 * 100);
  const fs::path dir =
      fs::temp_directory_path() / ("pso-long-horizon-bench-" + std::to_string(::getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  {
    auto opened = store::Store::open((dir / "controller.db").string());
    if (!opened.ok()) {
      std::printf("rollup: cannot open store: %s\n", opened.error().message.c_str());
      return;
    }
    store::Store& db = **opened;
    const int64_t start = 1'700'000'000'000LL - (1'700'000'000'000LL % store::kHourMs);
    std::map<std::string, uint64_t> seqs;
    std::size_t written = 0;
    auto t0 = Clock::now();
    if (!ingestSamples(db, series, minutes, start, seqs, written)) return;
    const double ingest_s = secondsSince(t0);
    std::printf("%-46s %12.0f samples/s  (%zu samples, %d series x %d min of 1 s)\n",
                "ingest (with late-sample check)", static_cast<double>(written) / ingest_s, written,
                series, minutes);

    const int64_t end = start + static_cast<int64_t>(minutes) * store::kMinuteMs;
    t0 = Clock::now();
    auto report = db.rollup(end);
    const double catchup_s = secondsSince(t0);
    if (!report.ok()) {
      std::printf("rollup failed: %s\n", report.error().message.c_str());
      return;
    }
    std::printf("%-46s %12.2f s  (%.0f samples/s; %lld minute rows, %lld hour rows)\n",
                "rollup pass, catch-up", catchup_s, static_cast<double>(written) / catchup_s,
                static_cast<long long>(report->minute_rows),
                static_cast<long long>(report->hour_rows));

    written = 0;
    if (!ingestSamples(db, series, 1, end, seqs, written)) return;
    t0 = Clock::now();
    auto minute = db.rollup(end + store::kMinuteMs);
    const double minute_s = secondsSince(t0);
    if (!minute.ok()) return;
    std::printf("%-46s %12.1f ms  (%zu samples, %lld minute rows)\n", "rollup pass, one new minute",
                minute_s * 1000.0, written, static_cast<long long>(minute->minute_rows));
    t0 = Clock::now();
    auto idle = db.rollup(end + store::kMinuteMs + 30 * 1000);
    if (!idle.ok()) return;
    std::printf("%-46s %12.3f ms\n", "rollup pass, nothing new", secondsSince(t0) * 1000.0);

    t0 = Clock::now();
    constexpr int kReads = 200;
    for (int i = 0; i < kReads; ++i) {
      auto rows = db.rollups("sys-" + std::to_string(i * 7 % series), "demand",
                             store::RollupResolution::kMinute, start, end);
      if (!rows.ok()) return;
    }
    std::printf("%-46s %12.3f ms/query\n", "per-series minute rollup read (1 h)",
                secondsSince(t0) * 1000.0 / kReads);
  }
  fs::remove_all(dir);
}

struct HourlySeries {
  std::vector<double> values;  // NaN = missing hour
};

HourlySeries hourlyMeans(const pso::common::Trace& trace) {
  HourlySeries out;
  if (trace.points.empty()) return out;
  const int64_t first = trace.points.front().ts_s / 3600;
  const int64_t last = trace.points.back().ts_s / 3600;
  std::vector<double> sum(static_cast<std::size_t>(last - first + 1), 0.0);
  std::vector<int> count(sum.size(), 0);
  for (const auto& p : trace.points) {
    const auto i = static_cast<std::size_t>(p.ts_s / 3600 - first);
    sum[i] += p.value;
    ++count[i];
  }
  for (std::size_t i = 0; i < sum.size(); ++i) {
    out.values.push_back(count[i] > 0 ? sum[i] / count[i] : kNaN);
  }
  return out;
}

struct Score {
  double abs_sum = 0.0;
  int64_t scored = 0;
  int64_t inside = 0;
  void add(double forecast, double actual) {
    abs_sum += std::abs(forecast - actual);
    ++scored;
  }
  double mae() const { return scored > 0 ? abs_sum / static_cast<double>(scored) : kNaN; }
};

struct ModelChoice {
  std::string model = "auto-select";
  int season = 0;
};

void benchTrace(const fs::path& path, const ModelChoice& choice) {
  auto trace = pso::common::readTrace(path.string());
  if (!trace.ok()) {
    std::printf("%s: %s\n", path.filename().c_str(), trace.error().message.c_str());
    return;
  }
  if (trace->step_s <= 0 || trace->step_s > 3600) return;
  const HourlySeries hourly = hourlyMeans(*trace);
  const auto n = static_cast<int64_t>(hourly.values.size());
  if (n < kWarmupHours + kHorizon) return;

  Score model, weekly, daily;
  std::map<std::string, int> models;
  double seconds = 0.0;
  int64_t origins = 0;
  for (int64_t origin = kWarmupHours; origin + kHorizon <= n; origin += kOriginEvery) {
    const int64_t from = std::max<int64_t>(0, origin - kHistoryHours);
    engine::LongHorizonRequest request;
    request.hourly.assign(hourly.values.begin() + from, hourly.values.begin() + origin);
    request.horizon = kHorizon;
    request.model = choice.model;
    request.season_period = choice.season;
    const auto t0 = Clock::now();
    auto result = engine::forecastLongHorizon(request);
    seconds += secondsSince(t0);
    if (!result.ok()) continue;
    ++origins;
    ++models[result->forecast.model];
    const auto& f = result->forecast;
    for (int64_t h = 1; h <= kHorizon; ++h) {
      const double actual = hourly.values[static_cast<std::size_t>(origin + h - 1)];
      if (!std::isfinite(actual)) continue;
      const auto i = static_cast<std::size_t>(h - 1);
      model.add(f.point[i], actual);
      if (actual >= f.lo[i] && actual <= f.hi[i]) ++model.inside;
      // Seasonal naive: the same hour one season before the origin's last
      // season (skipped when that hour is missing).
      for (auto [season, score] :
           {std::pair{int64_t{168}, &weekly}, std::pair{int64_t{24}, &daily}}) {
        const int64_t back = origin - season + (h - 1) % season;
        const double naive = hourly.values[static_cast<std::size_t>(back)];
        if (std::isfinite(naive)) score->add(naive, actual);
      }
    }
  }
  std::string chosen;
  for (const auto& [name, count] : models) {
    chosen += (chosen.empty() ? "" : ", ") + name + " x" + std::to_string(count);
  }
  std::printf("%-36s %6lld h %5lld %10.1f %10.1f %10.1f %8.1f%% %8.1f ms  %s\n",
              path.filename().c_str(), static_cast<long long>(n), static_cast<long long>(origins),
              model.mae(), weekly.mae(), daily.mae(),
              model.scored > 0
                  ? 100.0 * static_cast<double>(model.inside) / static_cast<double>(model.scored)
                  : kNaN,
              origins > 0 ? seconds * 1000.0 / static_cast<double>(origins) : kNaN, chosen.c_str());
}

void benchAccuracy(const std::string& traces_dir, const ModelChoice& choice) {
  if (!fs::is_directory(traces_dir)) {
    std::printf("accuracy: skipped, no traces directory at %s\n", traces_dir.c_str());
    return;
  }
  std::vector<fs::path> files;
  for (const auto& entry : fs::directory_iterator(traces_dir)) {
    if (entry.path().extension() == ".csv") files.push_back(entry.path());
  }
  std::sort(files.begin(), files.end());
  std::printf(
      "\n168 h forecasts from hourly means, rolling origins every %lld h after %lld h\n"
      "%-36s %8s %5s %10s %10s %10s %9s %11s  %s\n",
      static_cast<long long>(kOriginEvery), static_cast<long long>(kWarmupHours), "trace", "hours",
      "orig", "MAE", "snaive168", "snaive24", "cover90", "per call", "models");
  for (const auto& file : files) benchTrace(file, choice);
  std::printf("(traces with a step above 1 h or under %lld hours are left out)\n",
              static_cast<long long>(kWarmupHours + kHorizon));
}

}  // namespace

int main(int argc, char** argv) {
  std::string traces = PSO_TRACES_DIR;
  std::string part = "all";
  int series = 10000;
  int minutes = 60;
  ModelChoice choice;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    auto next = [&]() -> std::string { return i + 1 < argc ? argv[++i] : ""; };
    if (arg == "--traces") {
      traces = next();
    } else if (arg == "--part") {
      part = next();
    } else if (arg == "--series") {
      series = std::atoi(next().c_str());
    } else if (arg == "--minutes") {
      minutes = std::atoi(next().c_str());
    } else if (arg == "--model") {
      choice.model = next();
    } else if (arg == "--season") {
      choice.season = std::atoi(next().c_str());
    } else {
      std::fprintf(stderr,
                   "usage: long_horizon_bench [--traces DIR] [--series S] [--minutes M] "
                   "[--part all|rollup|accuracy] [--model NAME] [--season HOURS]\n");
      return 2;
    }
  }
  std::printf("PSO-PRIME long-horizon benchmark\n");
  if (part == "all" || part == "rollup") benchRollup(series, std::max(1, minutes));
  if (part == "all" || part == "accuracy") benchAccuracy(traces, choice);
  return 0;
}
