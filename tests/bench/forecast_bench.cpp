// Forecast accuracy, interval calibration and update throughput, printed as
// tables (not a timed test).
//
// Accuracy: every series is replayed through the engine's "auto" model
// (rollingForecast: online, every origin, no look-ahead) and through seasonal
// naive (daily season), horizon H (default 12). The series are the traces in
// the traces directory (the development set; skipped with a note when absent)
// and synthetic hard cases made here with fixed seeds: level alternation with
// isolated spikes, step changes, isolated spikes on a daily season, noisy low
// counts and a nightly spike.
//
// References, each refitted at every scored origin on the last ten days:
//  - sm-hw: statsmodels' ExponentialSmoothing (damped additive trend, additive
//    daily season), by statsmodels_forecast.py;
//  - ets, stlf, arima: R's forecast package (ets() chooses its model by AICc,
//    stlf() is STL plus ets, auto.arima()), by r_forecast.R.
// A refit takes up to seconds, so the comparison is made at a fixed subsample
// of origins: after a warm-up of three daily seasons, every
// max(50, span / 120)-th origin through the last one whose H steps lie inside
// the series. Our model still learns from every point; only the scoring uses
// that subsample. MAE counts only targets that are present. "/best" is our MAE
// over the lowest of sm-hw, ets and stlf on that series (the best classical
// method chosen after the fact), summarised by its geometric mean and worst.
//
// Intervals: the share of present targets below, inside and above the 90%
// interval, pooled over every origin after the warm-up and every step.
//
// Throughput: 1,000 synthetic seasonal series with bursts and gaps, each with
// its own model, updated one sample at a time (the decision cycle's pattern);
// sample updates per second of thread CPU time, after a warm-up that lets every
// model find its season and fit.
//
// Run: tests/bench/run_all.sh BUILD  or  BUILD/tests/bench/forecast_bench
//   [--traces DIR] [--horizon H] [--python PATH] [--rscript PATH] [--cache DIR]
//   [--part all|accuracy|throughput] [--models auto,holt-winters,holt]
//   [--only NAME,...] [--references sm-hw,ets,stlf,arima] [--no-synthetic]
//   [--model NAME] [--model-season daily|N] [--quick]
// --cache DIR keeps the reference forecasts between runs (they take many
// minutes); without it they are recomputed in a temporary directory. --only
// keeps the series whose name contains one of the given parts; --model scores
// another registered model in place of "auto" (--model-season daily gives it
// the series' daily season). Without python3
// + statsmodels or Rscript + forecast, the affected columns are skipped with a
// note.

#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "common/trace.h"
#include "controller/engine/forecast_model.h"
#include "controller/engine/replay.h"
#include "tests/bench/bench_series.h"

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

/// The reference methods, in column order; "sm-hw" comes from statsmodels,
/// the others from R.
const std::vector<std::string> kReferences = {"sm-hw", "ets", "stlf", "arima"};
/// The references the "/best" ratio is taken against.
const std::set<std::string> kBestOf = {"sm-hw", "ets", "stlf"};

struct Options {
  std::string traces = PSO_TRACES_DIR;
  std::string python = "/usr/bin/python3";
  std::string sm_script = PSO_STATSMODELS_SCRIPT;
  std::string rscript = "/usr/bin/Rscript";
  std::string r_script = PSO_R_SCRIPT;
  std::string cache;
  int horizon = 12;
  bool quick = false;
  bool synthetic = true;
  std::string part = "all";  ///< all | accuracy | throughput
  std::vector<std::string> models = {"auto", "holt-winters", "holt"};  ///< throughput
  std::vector<std::string> only;                                       ///< name parts
  std::string model = "auto";  ///< the engine model scored in the accuracy table
  int model_season = 1;        ///< its season_period; 0 = the series' daily season
  std::set<std::string> references = {kReferences.begin(), kReferences.end()};
};

/// A series on a regular step; nullopt = missing.
struct Series {
  std::string name;
  int64_t step_s = 300;
  std::vector<std::optional<double>> values;
};

/// A benchmark series with its NaN gaps as missing values.
Series fromBench(bench::BenchSeries in) {
  Series out{std::move(in.name), in.step_s, {}};
  out.values.reserve(in.values.size());
  for (double v : in.values) {
    out.values.push_back(std::isnan(v) ? std::nullopt : std::optional<double>(v));
  }
  return out;
}

// ---- reference forecasts ----

using PathsByOrigin = std::map<int64_t, std::vector<double>>;

std::optional<PathsByOrigin> readPaths(const fs::path& csv) {
  std::ifstream in(csv);
  if (!in) return std::nullopt;
  std::string line;
  std::getline(in, line);
  PathsByOrigin paths;
  while (std::getline(in, line)) {
    std::stringstream ss(line);
    std::string a, b, c;
    std::getline(ss, a, ',');
    std::getline(ss, b, ',');
    std::getline(ss, c, ',');
    paths[std::stoll(a)].push_back(std::stod(c));
  }
  return paths;
}

std::string quoted(const std::string& s) {
  return "'" + s + "'";
}

/// Reference forecasts of `methods` at `origins`, by method; a method that
/// cannot run is left out and `notes` says why (once per reason).
std::map<std::string, PathsByOrigin> referenceForecasts(const Options& opt, const Series& series,
                                                        const std::vector<int64_t>& origins,
                                                        int period, int window,
                                                        std::set<std::string>& notes) {
  std::map<std::string, PathsByOrigin> out;
  const fs::path dir = opt.cache.empty() ? fs::temp_directory_path() /
                                               ("pso-forecast-bench-" + std::to_string(getpid()))
                                         : fs::path(opt.cache);
  std::error_code ec;
  fs::create_directories(dir, ec);
  const std::string key = series.name + "-p" + std::to_string(period) + "-h" +
                          std::to_string(opt.horizon) + "-w" + std::to_string(window) + "-o" +
                          std::to_string(origins.front()) + "-" + std::to_string(origins.back()) +
                          "-" + std::to_string(origins.size());
  auto cached = [&](const std::string& method) { return dir / (key + "-" + method + ".csv"); };
  const fs::path values = dir / (key + ".values");
  const fs::path list = dir / (key + ".origins");
  {
    std::ofstream v(values);
    v.precision(17);
    for (const auto& x : series.values) {
      if (x) v << *x;
      v << '\n';
    }
    std::ofstream o(list);
    for (int64_t origin : origins) o << origin << '\n';
  }
  auto run = [&](const std::string& command) {
    const int status = std::system(command.c_str());
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  };
  const std::string common_args = quoted(values.string()) + " " + quoted(list.string()) + " " +
                                  std::to_string(period) + " " + std::to_string(opt.horizon) + " " +
                                  std::to_string(window) + " ";

  if (opt.references.count("sm-hw") > 0 && !fs::exists(cached("sm-hw"))) {
    if (!fs::exists(opt.python) || !fs::exists(opt.sm_script)) {
      notes.insert("sm-hw skipped: no " + opt.python + " or " + opt.sm_script);
    } else {
      const fs::path partial = dir / (key + ".partial");
      const int status = run(quoted(opt.python) + " " + quoted(opt.sm_script) + " " + common_args +
                             quoted(partial.string()));
      if (status == 0) {
        fs::rename(partial, cached("sm-hw"), ec);
      } else {
        fs::remove(partial, ec);
        notes.insert(status == 3 ? "sm-hw skipped: statsmodels is not installed for " + opt.python
                                 : "sm-hw skipped: the statsmodels driver failed (status " +
                                       std::to_string(status) + ")");
      }
    }
  }
  std::string r_methods;
  for (const char* m : {"ets", "stlf", "arima"}) {
    if (opt.references.count(m) > 0 && !fs::exists(cached(m))) {
      r_methods += (r_methods.empty() ? "" : ",") + std::string(m);
    }
  }
  if (!r_methods.empty()) {
    if (!fs::exists(opt.rscript) || !fs::exists(opt.r_script)) {
      notes.insert("ets/stlf/arima skipped: no " + opt.rscript + " or " + opt.r_script);
    } else {
      const fs::path prefix = dir / (key + ".r-partial");
      const int status = run(quoted(opt.rscript) + " " + quoted(opt.r_script) + " " + common_args +
                             quoted(prefix.string()) + " " + r_methods);
      std::stringstream list_of(r_methods);
      for (std::string m; std::getline(list_of, m, ',');) {
        const fs::path partial = prefix.string() + "-" + m + ".csv";
        if (status == 0) {
          fs::rename(partial, cached(m), ec);
        } else {
          fs::remove(partial, ec);
        }
      }
      if (status != 0) {
        notes.insert(status == 3 ? "ets/stlf/arima skipped: R package forecast is not installed "
                                   "(Debian: r-cran-forecast)"
                                 : "ets/stlf/arima skipped: the R driver failed (status " +
                                       std::to_string(status) + ")");
      }
    }
  }
  fs::remove(values, ec);
  fs::remove(list, ec);
  for (const std::string& m : opt.references) {
    if (auto paths = readPaths(cached(m))) out[m] = std::move(*paths);
  }
  if (opt.cache.empty()) fs::remove_all(dir, ec);
  return out;
}

// ---- accuracy ----

struct SeriesResult {
  std::string name;
  std::size_t points = 0;
  int period = 0;
  std::size_t origins = 0;
  double mae_ours = NAN, mae_snaive = NAN;
  std::map<std::string, double> mae_ref;
  double best_ref = NAN;  ///< lowest MAE among kBestOf present
  double seconds = 0.0;
  std::string chosen;
  int64_t below = 0, inside = 0, above = 0;
};

std::optional<SeriesResult> benchSeries(const Options& opt, const Series& series,
                                        std::set<std::string>& notes) {
  SeriesResult res;
  res.name = series.name;
  res.points = series.values.size();
  res.period = static_cast<int>(86400 / series.step_s);
  const int h = opt.horizon;
  const auto n = static_cast<int64_t>(series.values.size());
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
    // The reference seasonal naive is the textbook one, spikes and all.
    ro.params.robust = false;
    return std::move(engine::rollingForecast(series.values, ro)).value();
  };
  const auto start = Clock::now();
  const auto ours = run(opt.model, opt.model_season == 0 ? res.period : opt.model_season);
  res.seconds = secondsSince(start);
  const auto snaive = run("seasonal-naive", res.period);
  {
    engine::ForecastModelParams params;
    params.season_period = opt.model_season == 0 ? res.period : opt.model_season;
    auto model = std::move(engine::makeForecastModel(opt.model, params)).value();
    for (const auto& v : series.values) v ? model->update(*v) : model->observeMissing();
    res.chosen = model->forecast(1, 0.9).model;
  }
  auto byOrigin = [](const std::vector<engine::ForecastRow>& rows) {
    std::map<int64_t, std::size_t> first;
    for (std::size_t i = 0; i < rows.size(); ++i) first.try_emplace(rows[i].origin, i);
    return first;
  };
  const auto ours_at = byOrigin(ours);
  const auto snaive_at = byOrigin(snaive);
  const auto refs = referenceForecasts(opt, series, origins, res.period, 10 * res.period, notes);

  double sum_ours = 0, sum_snaive = 0;
  std::map<std::string, double> sum_ref;
  int64_t count = 0;
  for (int64_t o : origins) {
    const std::size_t io = ours_at.at(o), is = snaive_at.at(o);
    for (int s = 1; s <= h; ++s) {
      const auto& actual = series.values[static_cast<std::size_t>(o + s)];
      if (!actual) continue;
      sum_ours += std::abs(*actual - ours[io + s - 1].point);
      sum_snaive += std::abs(*actual - snaive[is + s - 1].point);
      for (const auto& [method, paths] : refs) {
        sum_ref[method] += std::abs(*actual - paths.at(o).at(static_cast<std::size_t>(s - 1)));
      }
      ++count;
    }
  }
  res.mae_ours = sum_ours / count;
  res.mae_snaive = sum_snaive / count;
  for (const auto& [method, sum] : sum_ref) {
    res.mae_ref[method] = sum / count;
    if (kBestOf.count(method) > 0 && !(res.mae_ref[method] >= res.best_ref)) {
      res.best_ref = res.mae_ref[method];
    }
  }
  for (const auto& row : ours) {
    if (row.origin < warmup || row.origin + row.step >= n) continue;
    const auto& actual = series.values[static_cast<std::size_t>(row.origin + row.step)];
    if (!actual) continue;
    if (*actual < row.lo) {
      ++res.below;
    } else if (*actual > row.hi) {
      ++res.above;
    } else {
      ++res.inside;
    }
  }
  return res;
}

bool wanted(const Options& opt, const std::string& name) {
  if (opt.only.empty()) return true;
  return std::any_of(opt.only.begin(), opt.only.end(),
                     [&](const std::string& part) { return name.find(part) != std::string::npos; });
}

std::vector<Series> collectSeries(const Options& opt) {
  std::vector<Series> out;
  if (!fs::is_directory(opt.traces)) {
    std::printf("  development traces skipped: no directory at %s (pass --traces DIR)\n",
                opt.traces.c_str());
  } else {
    for (const fs::path& f : bench::traceFiles(opt.traces)) {
      if (!wanted(opt, f.stem().string())) continue;
      if (auto s = bench::loadTraceSeries(f)) {
        out.push_back(fromBench(std::move(*s)));
      } else {
        std::printf("  %s: not a readable trace, skipped\n", f.filename().c_str());
      }
    }
  }
  if (opt.synthetic) {
    for (bench::BenchSeries& s : bench::syntheticHardCases()) {
      if (wanted(opt, s.name)) out.push_back(fromBench(std::move(s)));
    }
  }
  return out;
}

double geometricMean(const std::vector<double>& ratios) {
  if (ratios.empty()) return NAN;
  double log_sum = 0.0;
  for (double r : ratios) log_sum += std::log(r);
  return std::exp(log_sum / static_cast<double>(ratios.size()));
}

void benchAccuracy(const Options& opt) {
  std::printf("\nForecast accuracy, horizon %d (MAE at the sampled origins; ratio < 1 = better)\n",
              opt.horizon);
  const std::vector<Series> all = collectSeries(opt);
  if (all.empty()) {
    std::printf("  skipped: no series\n");
    return;
  }
  std::set<std::string> notes;
  std::vector<SeriesResult> results;
  for (const Series& s : all) {
    if (auto r = benchSeries(opt, s, notes)) results.push_back(*r);
  }
  std::vector<std::string> columns;
  for (const std::string& m : kReferences) {
    if (std::any_of(results.begin(), results.end(),
                    [&](const SeriesResult& r) { return r.mae_ref.count(m) > 0; })) {
      columns.push_back(m);
    }
  }
  std::printf("  %-38s %6s %4s %4s %10s %10s", "series", "points", "seas", "orig",
              opt.model.substr(0, 10).c_str(), "snaive");
  for (const std::string& m : columns) std::printf(" %10s", m.c_str());
  std::printf(" %7s %6s %6s %6s %6s  %s\n", "/best", "cov90", "below", "above", "time s",
              "chosen at the end");
  std::vector<double> ratios, real_ratios, synthetic_ratios, snaive_ratios;
  int64_t below = 0, inside = 0, above = 0;
  for (const SeriesResult& r : results) {
    std::printf("  %-38s %6zu %4d %4zu %10.4g %10.4g", r.name.c_str(), r.points, r.period,
                r.origins, r.mae_ours, r.mae_snaive);
    for (const std::string& m : columns) {
      const auto it = r.mae_ref.find(m);
      std::printf(" %10.4g", it == r.mae_ref.end() ? NAN : it->second);
    }
    const double vs_best = r.mae_ours / r.best_ref;
    const double total = static_cast<double>(r.below + r.inside + r.above);
    std::printf(" %7.3f %6.3f %6.3f %6.3f %6.2f  %s\n", vs_best, r.inside / total, r.below / total,
                r.above / total, r.seconds, r.chosen.c_str());
    if (std::isfinite(vs_best)) {
      ratios.push_back(vs_best);
      (r.name.rfind("syn_", 0) == 0 ? synthetic_ratios : real_ratios).push_back(vs_best);
    }
    snaive_ratios.push_back(r.mae_ours / r.mae_snaive);
    below += r.below;
    inside += r.inside;
    above += r.above;
  }
  for (const std::string& note : notes) std::printf("  %s\n", note.c_str());
  std::printf("  geometric mean MAE ratio vs seasonal naive: %.3f\n", geometricMean(snaive_ratios));
  if (!ratios.empty()) {
    std::printf(
        "  geometric mean MAE ratio vs the per-series best of sm-hw, ets, stlf: %.3f "
        "(worst %.3f; development traces %.3f, synthetic %.3f)\n",
        geometricMean(ratios), *std::max_element(ratios.begin(), ratios.end()),
        geometricMean(real_ratios), geometricMean(synthetic_ratios));
  }
  const double total = static_cast<double>(below + inside + above);
  std::printf("  pooled 90%% interval: coverage %.3f, below %.3f, above %.3f (%lld targets)\n",
              inside / total, below / total, above / total, static_cast<long long>(total));
}

// ---- throughput ----

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

std::vector<std::string> splitList(const std::string& text) {
  std::vector<std::string> out;
  std::stringstream list(text);
  for (std::string item; std::getline(list, item, ',');) {
    if (!item.empty()) out.push_back(item);
  }
  return out;
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
    } else if (arg == "--no-synthetic") {
      opt.synthetic = false;
    } else if (arg == "--traces") {
      opt.traces = next();
    } else if (arg == "--python") {
      opt.python = next();
    } else if (arg == "--rscript") {
      opt.rscript = next();
    } else if (arg == "--cache") {
      opt.cache = next();
    } else if (arg == "--models") {
      opt.models = splitList(next());
    } else if (arg == "--model") {
      opt.model = next();
    } else if (arg == "--model-season") {
      const std::string season = next();
      opt.model_season = season == "daily" ? 0 : std::max(1, std::atoi(season.c_str()));
    } else if (arg == "--only") {
      opt.only = splitList(next());
    } else if (arg == "--references") {
      const std::vector<std::string> refs = splitList(next());
      opt.references = {refs.begin(), refs.end()};
    } else if (arg == "--part") {
      opt.part = next();
    } else if (arg == "--horizon") {
      opt.horizon = std::max(1, std::atoi(next().c_str()));
    } else {
      std::fprintf(stderr,
                   "usage: forecast_bench [--traces DIR] [--horizon H] [--python PATH] "
                   "[--rscript PATH] [--cache DIR] [--part all|accuracy|throughput] "
                   "[--models a,b] [--only NAME,...] [--references sm-hw,ets,stlf,arima] "
                   "[--no-synthetic] [--model NAME] [--model-season daily|N] [--quick]\n");
      return 2;
    }
  }
  std::printf("PSO-PRIME forecast benchmark%s\n", opt.quick ? " (quick)" : "");
  if (opt.part != "throughput") benchAccuracy(opt);
  if (opt.part != "accuracy") benchThroughput(opt);
  return 0;
}
