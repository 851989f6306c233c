// Forecast accuracy, interval coverage and update throughput, printed as a
// table (not a timed test).
//
// Accuracy: every trace in the traces directory is replayed through the
// engine's "auto" model (rollingForecast: online, every origin, no look-ahead)
// and through seasonal naive (daily season), horizon H (default 12). Against
// statsmodels' ExponentialSmoothing (damped additive trend, additive daily
// season, refitted at each origin by statsmodels_forecast.py on the last ten
// days) the comparison is made at a fixed subsample of origins, because a
// statsmodels refit takes about a second: after a warm-up of three daily
// seasons, every max(50, span / 120)-th origin through the last origin whose
// H steps lie inside the trace. Our model still learns from every point; only
// the scoring uses that subsample. MAE counts only targets that are present.
// Coverage is the share of present targets inside the 90% interval, pooled
// over all origins after the warm-up and all steps.
//
// Throughput: 1,000 synthetic seasonal series with bursts and gaps, each with
// its own model, updated one sample at a time (the decision cycle's pattern);
// sample updates per second, after a warm-up that lets every model find its
// season and fit.
//
// Run: tests/bench/run_all.sh BUILD  or  BUILD/tests/bench/forecast_bench
//   [--traces DIR] [--horizon H] [--python PATH] [--cache DIR]
//   [--part all|accuracy|throughput] [--models auto,holt-winters,holt] [--quick]
// --cache DIR keeps the statsmodels forecasts between runs (they take
// minutes); without it they are recomputed in a temporary directory.
// Without python3 + statsmodels, or without the traces, the affected columns
// are skipped with a note.

#include <sys/wait.h>
#include <time.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "common/trace.h"
#include "controller/engine/forecast_model.h"
#include "controller/engine/replay.h"

namespace {

using Clock = std::chrono::steady_clock;
using namespace pso;
namespace fs = std::filesystem;
namespace engine = pso::controller::engine;

double secondsSince(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

/// CPU time of this thread: on a shared machine, throughput measured by the
/// wall clock would count other processes' time slices.
double threadCpuSeconds() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

struct Options {
  std::string traces = PSO_TRACES_DIR;
  std::string python = "/usr/bin/python3";
  std::string script = PSO_STATSMODELS_SCRIPT;
  std::string cache;
  int horizon = 12;
  bool quick = false;
  std::string part = "all";  ///< all | accuracy | throughput
  std::vector<std::string> models = {"auto", "holt-winters", "holt"};  ///< throughput
};

struct Grid {
  int64_t step_s = 0;
  std::vector<std::optional<double>> values;
};

std::optional<Grid> loadGrid(const std::string& path) {
  auto trace = common::readTrace(path);
  if (!trace || trace->points.size() < 2 || trace->step_s <= 0) return std::nullopt;
  Grid grid;
  grid.step_s = trace->step_s;
  const int64_t t0 = trace->points.front().ts_s;
  const auto slots = static_cast<std::size_t>((trace->points.back().ts_s - t0) / grid.step_s) + 1;
  grid.values.assign(slots, std::nullopt);
  for (const auto& p : trace->points) {
    const auto slot = static_cast<std::size_t>(
        std::llround(static_cast<double>(p.ts_s - t0) / static_cast<double>(grid.step_s)));
    if (slot < slots) grid.values[slot] = p.value;
  }
  return grid;
}

/// Runs the statsmodels driver; the forecasts by origin (point per step), or
/// nullopt with `why` set.
std::optional<std::map<int64_t, std::vector<double>>> statsmodelsForecasts(
    const Options& opt, const std::string& trace_name, const Grid& grid,
    const std::vector<int64_t>& origins, int period, int window, std::string& why) {
  const fs::path dir = opt.cache.empty() ? fs::temp_directory_path() /
                                               ("pso-forecast-bench-" + std::to_string(getpid()))
                                         : fs::path(opt.cache);
  std::error_code ec;
  fs::create_directories(dir, ec);
  const std::string key = trace_name + "-p" + std::to_string(period) + "-h" +
                          std::to_string(opt.horizon) + "-w" + std::to_string(window) + "-o" +
                          std::to_string(origins.front()) + "-" + std::to_string(origins.back()) +
                          "-" + std::to_string(origins.size());
  const fs::path out = dir / (key + ".csv");
  if (!fs::exists(out)) {
    const fs::path values = dir / (key + ".values");
    const fs::path list = dir / (key + ".origins");
    {
      std::ofstream v(values);
      v.precision(17);
      for (const auto& x : grid.values) {
        if (x) v << *x;
        v << '\n';
      }
      std::ofstream o(list);
      for (int64_t origin : origins) o << origin << '\n';
    }
    const fs::path partial = dir / (key + ".partial");
    const std::string command = "'" + opt.python + "' '" + opt.script + "' '" + values.string() +
                                "' '" + list.string() + "' " + std::to_string(period) + " " +
                                std::to_string(opt.horizon) + " " + std::to_string(window) + " '" +
                                partial.string() + "'";
    const int status = std::system(command.c_str());
    fs::remove(values, ec);
    fs::remove(list, ec);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
      fs::remove(partial, ec);
      why = WIFEXITED(status) && WEXITSTATUS(status) == 3
                ? "statsmodels is not installed for " + opt.python
                : "the statsmodels driver failed (status " + std::to_string(status) + ")";
      return std::nullopt;
    }
    fs::rename(partial, out, ec);
  }
  std::ifstream in(out);
  std::string line;
  std::getline(in, line);
  std::map<int64_t, std::vector<double>> forecasts;
  while (std::getline(in, line)) {
    std::stringstream ss(line);
    std::string a, b, c;
    std::getline(ss, a, ',');
    std::getline(ss, b, ',');
    std::getline(ss, c, ',');
    forecasts[std::stoll(a)].push_back(std::stod(c));
  }
  if (opt.cache.empty()) fs::remove_all(dir, ec);
  return forecasts;
}

struct TraceResult {
  std::string name;
  std::size_t points = 0;
  int period = 0;
  std::size_t origins = 0;
  double mae_ours = NAN, mae_snaive = NAN, mae_sm = NAN;
  double coverage = NAN;
  std::string chosen;
  double seconds = 0.0;
  int64_t covered = 0, scored = 0;
};

std::optional<TraceResult> benchTrace(const Options& opt, const fs::path& path, bool& sm_ok,
                                      std::string& sm_note) {
  const auto grid = loadGrid(path.string());
  if (!grid) {
    std::printf("  %s: not a readable trace, skipped\n", path.filename().c_str());
    return std::nullopt;
  }
  TraceResult res;
  res.name = path.stem().string();
  res.points = grid->values.size();
  res.period = static_cast<int>(86400 / grid->step_s);
  const int h = opt.horizon;
  const auto n = static_cast<int64_t>(grid->values.size());
  const int64_t warmup = 3 * static_cast<int64_t>(res.period);
  const int64_t last_origin = n - 1 - h;
  if (last_origin <= warmup) {
    std::printf("  %s: too short for a %d-step daily season, skipped\n", res.name.c_str(),
                res.period);
    return std::nullopt;
  }
  const int64_t stride = std::max<int64_t>(50, (last_origin - warmup + 119) / 120);
  std::vector<int64_t> origins;
  for (int64_t o = warmup; o <= last_origin; o += stride) origins.push_back(o);
  res.origins = origins.size();

  auto run = [&](const std::string& model, int period) {
    engine::RollingForecastOptions ro;
    ro.horizon = h;
    ro.every = 1;
    ro.warmup_points = 0;
    ro.model = model;
    ro.params.season_period = period;
    return std::move(engine::rollingForecast(grid->values, ro)).value();
  };
  const auto start = Clock::now();
  const auto ours = run("auto", 1);
  res.seconds = secondsSince(start);
  const auto snaive = run("seasonal-naive", res.period);
  {
    auto model = std::move(engine::makeForecastModel("auto")).value();
    for (const auto& v : grid->values) v ? model->update(*v) : model->observeMissing();
    res.chosen = model->forecast(1, 0.9).model;
  }
  // Rows by origin: origin o's rows start at index o * h once every origin
  // has rows; index them to be safe.
  auto byOrigin = [&](const std::vector<engine::ForecastRow>& rows) {
    std::map<int64_t, std::size_t> first;
    for (std::size_t i = 0; i < rows.size(); ++i) first.try_emplace(rows[i].origin, i);
    return first;
  };
  const auto ours_at = byOrigin(ours);
  const auto snaive_at = byOrigin(snaive);

  std::optional<std::map<int64_t, std::vector<double>>> sm;
  if (sm_ok) {
    sm = statsmodelsForecasts(opt, res.name, *grid, origins, res.period, 10 * res.period, sm_note);
    if (!sm) sm_ok = false;
  }
  double sum_ours = 0, sum_snaive = 0, sum_sm = 0;
  int64_t count = 0;
  for (int64_t o : origins) {
    const std::size_t io = ours_at.at(o), is = snaive_at.at(o);
    for (int s = 1; s <= h; ++s) {
      const auto& actual = grid->values[static_cast<std::size_t>(o + s)];
      if (!actual) continue;
      sum_ours += std::abs(*actual - ours[io + s - 1].point);
      sum_snaive += std::abs(*actual - snaive[is + s - 1].point);
      if (sm) sum_sm += std::abs(*actual - sm->at(o).at(static_cast<std::size_t>(s - 1)));
      ++count;
    }
  }
  res.mae_ours = sum_ours / count;
  res.mae_snaive = sum_snaive / count;
  if (sm) res.mae_sm = sum_sm / count;
  for (const auto& row : ours) {
    if (row.origin < warmup) continue;
    const auto& actual = grid->values[static_cast<std::size_t>(row.origin + row.step)];
    if (row.origin + row.step >= n || !actual) continue;
    ++res.scored;
    if (*actual >= row.lo && *actual <= row.hi) ++res.covered;
  }
  res.coverage = static_cast<double>(res.covered) / static_cast<double>(res.scored);
  return res;
}

void benchAccuracy(const Options& opt) {
  std::printf("\nForecast accuracy, horizon %d (MAE at the sampled origins; ratio < 1 = better)\n",
              opt.horizon);
  if (!fs::is_directory(opt.traces)) {
    std::printf("  skipped: no traces directory at %s (pass --traces DIR)\n", opt.traces.c_str());
    return;
  }
  std::vector<fs::path> files;
  for (const auto& entry : fs::directory_iterator(opt.traces)) {
    if (entry.path().extension() == ".csv") files.push_back(entry.path());
  }
  std::sort(files.begin(), files.end());
  if (files.empty()) {
    std::printf("  skipped: no .csv traces in %s\n", opt.traces.c_str());
    return;
  }
  bool sm_ok = fs::exists(opt.python) && fs::exists(opt.script);
  std::string sm_note = sm_ok ? "" : "no " + opt.python + " or driver script";
  std::vector<TraceResult> results;
  for (const fs::path& f : files) {
    if (auto r = benchTrace(opt, f, sm_ok, sm_note)) results.push_back(*r);
  }
  std::printf("  %-38s %6s %4s %4s %11s %11s %11s %7s %7s %6s %6s  %s\n", "trace", "points", "seas",
              "orig", "MAE auto", "MAE snaive", "MAE sm-hw", "/snaive", "/sm-hw", "cov90", "time s",
              "chosen at the end");
  double log_sum = 0, worst = 0;
  int64_t covered = 0, scored = 0;
  for (const TraceResult& r : results) {
    const double vs_sm = r.mae_ours / r.mae_sm;
    std::printf("  %-38s %6zu %4d %4zu %11.4g %11.4g %11.4g %7.3f %7.3f %6.3f %6.2f  %s\n",
                r.name.c_str(), r.points, r.period, r.origins, r.mae_ours, r.mae_snaive, r.mae_sm,
                r.mae_ours / r.mae_snaive, vs_sm, r.coverage, r.seconds, r.chosen.c_str());
    if (std::isfinite(vs_sm)) {
      log_sum += std::log(vs_sm);
      worst = std::max(worst, vs_sm);
    }
    covered += r.covered;
    scored += r.scored;
  }
  double log_snaive = 0;
  for (const TraceResult& r : results) log_snaive += std::log(r.mae_ours / r.mae_snaive);
  if (!results.empty()) {
    std::printf("  geometric mean MAE ratio vs seasonal naive: %.3f\n",
                std::exp(log_snaive / static_cast<double>(results.size())));
    if (sm_ok) {
      std::printf(
          "  geometric mean MAE ratio vs statsmodels damped Holt-Winters: %.3f (worst %.3f)\n",
          std::exp(log_sum / static_cast<double>(results.size())), worst);
    } else {
      std::printf("  statsmodels column skipped: %s\n", sm_note.c_str());
    }
    std::printf("  pooled 90%% interval coverage: %.3f (%lld of %lld targets)\n",
                static_cast<double>(covered) / static_cast<double>(scored),
                static_cast<long long>(covered), static_cast<long long>(scored));
  }
}

void benchThroughput(const Options& opt) {
  const int series = 1000;
  // Past the 4,096-step season-detection window, so "steady" is steady.
  const int warm = 4500;
  const int timed = opt.quick ? 300 : 1500;
  const int period = 288;
  std::printf("\nUpdate throughput: %d series, one model each, period-%d season, bursts, gaps\n",
              series, period);
  std::mt19937 rng(3);
  std::normal_distribution<double> noise(0.0, 1.0);
  std::uniform_real_distribution<double> u(0.0, 1.0);
  std::vector<double> base(series), amp(series);
  for (int s = 0; s < series; ++s) {
    base[s] = 50 + 100 * u(rng);
    amp[s] = 5 + 30 * u(rng);
  }
  auto value = [&](int s, int t) -> double {
    if (u(rng) < 0.002) return std::nan("");
    double v = base[s] + amp[s] * std::sin(2 * M_PI * (t + s) / period) + 3 * noise(rng);
    if (u(rng) < 0.003) v += 10 * amp[s];
    return v;
  };
  // Values drawn before timing, so the figure is the models' cost alone.
  std::vector<float> samples(static_cast<std::size_t>(series) * (warm + timed));
  for (int t = 0; t < warm + timed; ++t) {
    for (int s = 0; s < series; ++s) {
      samples[static_cast<std::size_t>(t) * series + s] = static_cast<float>(value(s, t));
    }
  }
  std::printf("  sample updates per second of thread CPU time; warm-up = the first %d steps\n",
              warm);
  std::printf("  %-16s %14s %14s\n", "model", "warm-up upd/s", "steady upd/s");
  for (const std::string& name : opt.models) {
    engine::ForecastModelParams params;
    params.season_period = name == "holt-winters" ? period : 1;
    std::vector<std::unique_ptr<engine::ForecastModel>> models;
    for (int s = 0; s < series; ++s) {
      params.refit_phase = s;
      auto made = engine::makeForecastModel(name, params);
      if (!made) {
        std::printf("  %s: %s\n", name.c_str(), made.error().message.c_str());
        break;
      }
      models.push_back(std::move(made).value());
    }
    if (models.size() != static_cast<std::size_t>(series)) continue;
    auto feed = [&](int from, int to) {
      const double start = threadCpuSeconds();
      for (int t = from; t < to; ++t) {
        for (int s = 0; s < series; ++s) {
          const double v = samples[static_cast<std::size_t>(t) * series + s];
          if (std::isfinite(v)) {
            models[s]->update(v);
          } else {
            models[s]->observeMissing();
          }
        }
      }
      return static_cast<double>(to - from) * series / (threadCpuSeconds() - start);
    };
    const double warm_rate = feed(0, warm);
    const double steady_rate = feed(warm, warm + timed);
    std::printf("  %-16s %14.0f %14.0f\n", name.c_str(), warm_rate, steady_rate);
  }
}

}  // namespace

int main(int argc, char** argv) {
  Options opt;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    auto next = [&]() -> std::string {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "forecast_bench: %s needs a value\n", arg.c_str());
        std::exit(2);
      }
      return argv[++i];
    };
    if (arg == "--quick") {
      opt.quick = true;
    } else if (arg == "--traces") {
      opt.traces = next();
    } else if (arg == "--python") {
      opt.python = next();
    } else if (arg == "--cache") {
      opt.cache = next();
    } else if (arg == "--models") {
      opt.models.clear();
      std::stringstream list(next());
      for (std::string m; std::getline(list, m, ',');) opt.models.push_back(m);
    } else if (arg == "--part") {
      opt.part = next();
    } else if (arg == "--horizon") {
      opt.horizon = std::max(1, std::atoi(next().c_str()));
    } else {
      std::fprintf(stderr,
                   "usage: forecast_bench [--traces DIR] [--horizon H] [--python PATH] "
                   "[--cache DIR] [--part all|accuracy|throughput] [--models a,b] [--quick]\n");
      return 2;
    }
  }
  std::printf("PSO-PRIME forecast benchmark%s\n", opt.quick ? " (quick)" : "");
  if (opt.part != "throughput") benchAccuracy(opt);
  if (opt.part != "accuracy") benchThroughput(opt);
  return 0;
}
