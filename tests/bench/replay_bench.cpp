// Replay benchmark, printed as figures (not a timed test):
//  - per series (the development traces and the synthetic hard cases of
//    bench_series.h): the predictive policy and the HPA rule (reactive) replayed
//    through the engine (psoctl simulate semantics) with capacity =
//    p95(demand) / 15, target 0.7 and a 10-minute warm-up; overload % and cost
//    relative to the oracle (sum of ceil(demand / capacity));
//  - the HPA's frontier (targets 0.30 .. 0.95) and its overload interpolated
//    at the predictive policy's cost, so the two compare at equal cost;
//  - scale events of both, the HPA's taken at its frontier point nearest the
//    predictive policy's cost;
//  - the predictive policy's own frontier along its risk knob;
//  - replay speed (steps/s) and one decision cycle over 50 systems sharing a pool.
// Run: build/tests/bench/replay_bench [--traces DIR] [--model NAME] [--step S] [--quick]
// (--model: the predictive policy's forecast model, default the engine's;
// --step: replay every series resampled to S-second steps, linear between
// its values, as a controller cycling every S seconds sees it; with
// --resample hold, each value held for its step instead).
// build/tests/bench/replay_bench --compare-step S [--traces DIR] [--synthetic]:
// only the development traces (and with --synthetic the synthetic hard cases,
// in a table of their own), each at its own step and resampled to S seconds,
// the predictive policy against the HPA at equal cost at both, as markdown
// tables (--only NAME: the series whose name contains NAME; --no-profiles:
// the engine without seasonal profiles; --resample hold|linear as for --step),
// beside foresight at the target (foresight() below): the same ratio for the
// cheapest counts that keep the demand at or under the target, knowing it;
// and each series' change of ratio from its own step to S split into what
// the policy's overload, the resampling and the policy's cost each did
// (splitRatioChange() below).
// Without a trace directory (or with no CSV in it) only the synthetic cases run.

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <limits>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "controller/cycle/replay.h"
#include "controller/engine/decision_engine.h"
#include "controller/engine/replay.h"
#include "controller/engine/wording.h"
#include "tests/bench/bench_series.h"

#ifndef PSO_BENCH_TRACE_DIR
#define PSO_BENCH_TRACE_DIR ""
#endif

namespace {

using Clock = std::chrono::steady_clock;
using namespace pso::controller::engine;

constexpr double kTarget = 0.7;
constexpr double kWarmupS = 600.0;
constexpr double kCapacityDivisor = 15.0;

double secondsSince(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

struct Series {
  std::string name;
  double step_s = 0.0;
  std::vector<double> demand;  ///< NaN marks a gap
  double capacity = 0.0;
  int64_t start_ms = 0;  ///< time of the first step
};

/// A benchmark series as demand, with capacity per replica p95 / 15.
std::optional<Series> toDemand(pso::bench::BenchSeries in) {
  Series s;
  s.name = std::move(in.name);
  s.step_s = static_cast<double>(in.step_s);
  s.demand = std::move(in.values);
  s.start_ms = in.t0_s * 1000;
  std::vector<double> values;
  for (double v : s.demand) {
    if (!std::isnan(v)) values.push_back(v);
  }
  if (values.size() < 2) return std::nullopt;
  std::sort(values.begin(), values.end());
  const double p95 =
      values[static_cast<std::size_t>(0.95 * static_cast<double>(values.size() - 1))];
  s.capacity = p95 / kCapacityDivisor;
  if (!(s.capacity > 0.0)) return std::nullopt;
  return s;
}

struct Point {
  double knob = 0.0;  ///< target (reactive) or risk (predictive)
  double cost = 0.0;  ///< replica-hours / oracle
  double overload_pct = 0.0;
  int64_t scale_events = 0;
  double seconds = 0.0;
};

/// A replay's figures as a point at `knob`: cost relative to the oracle.
Point pointOf(const SimulationSummary& summary, double knob) {
  Point p;
  p.knob = knob;
  p.cost =
      summary.oracle_replica_hours > 0 ? summary.replica_hours / summary.oracle_replica_hours : 0.0;
  p.overload_pct = summary.overload_pct;
  p.scale_events = summary.scale_events;
  return p;
}

/// Predictive over HPA overload (percent of steps) at equal cost. A floor of
/// 0.01 points on both sides keeps a zero from making the ratio 0 or
/// infinite. (Any two overloads are compared this way, e.g. one policy's at
/// two steps.)
double overloadRatio(double predictive_pct, double hpa_pct) {
  return (predictive_pct + 0.01) / (hpa_pct + 0.01);
}

/// The predictive policy's forecast model (--model).
std::string g_forecast_model = EngineSettings{}.forecast_model;
/// Replay at this step instead of each series' own (--step): the series are
/// resampled, linear between their values, as a controller cycling at that
/// interval would see them; 0 keeps their own step.
int64_t g_step_s = 0;
/// --no-profiles: the engine without seasonal profiles (the figures before them).
bool g_seasonal_profiles = true;
/// --resample hold|linear: how a series is put on the finer step.
pso::common::Resampling g_resampling = pso::common::Resampling::kLinear;
/// --only NAME: only the series whose name contains NAME (--compare-step).
std::string g_only;

Point run(const Series& s, const std::string& policy, double target, std::optional<double> risk,
          const std::string& model = g_forecast_model) {
  SystemSpec spec;
  // The trace's name at every step, as `psoctl simulate --step` names it: the
  // engine spreads a system's periodic work by its name.
  spec.name = s.name.substr(0, s.name.find('@'));
  spec.capacity_per_replica = s.capacity;
  spec.target_utilization = target;
  spec.min_replicas = 1;
  spec.max_replicas = 100000;
  spec.warmup_s = kWarmupS;
  EngineSettings settings;
  settings.policy = policy;
  settings.forecast_model = model;
  settings.seasonal_profiles = g_seasonal_profiles;
  if (risk) settings.risk = *risk;
  const auto start = Clock::now();
  auto replayed =
      pso::controller::cycle::replayTrace(s.demand, s.step_s, spec, settings, 1, {}, s.start_ms);
  if (!replayed) {
    std::fprintf(stderr, "replay_bench: %s: %s\n", s.name.c_str(),
                 replayed.error().message.c_str());
    std::exit(1);
  }
  Point p = pointOf(replayed->summary, risk.value_or(target));
  p.seconds = secondsSince(start);
  return p;
}

/// The cheapest counts that keep to the target knowing the demand to come:
/// desired(t) = ceil(max demand(t+1 .. t+K) / (capacity x target)), K the
/// warm-up in steps, counted by the replay's own ledger. What serves at a
/// step is the least of the K counts decided before it, so the count
/// decided at t caps what serves over t+1 .. t+K and no lower one keeps
/// those steps at or under the target; and each of the K counts before a
/// step was sized for it, so these keep every step there (but the first K,
/// served by the initial count). A policy that never lets demand above the
/// target pays at least this, whatever it forecasts. Its ratio to the HPA
/// at equal cost says how much room a series leaves at a step: where the
/// HPA overloads no step at this cost, such a policy cannot do better than
/// the HPA. (A policy that accepts some steps above the target, as the
/// predictive one does at its risk, can pay less.)
Point foresight(const Series& s, double target) {
  SystemSpec spec;
  spec.capacity_per_replica = s.capacity;
  spec.target_utilization = target;
  spec.warmup_s = kWarmupS;
  const auto k = static_cast<std::size_t>(readySteps(spec, s.step_s));
  const double per_replica = s.capacity * target;
  ReplicaLedger ledger(spec, s.step_s, 1);
  int64_t desired = 1;
  for (std::size_t t = 0; t < s.demand.size(); ++t) {
    double peak = std::numeric_limits<double>::quiet_NaN();
    for (std::size_t i = t + 1; i <= std::min(t + k, s.demand.size() - 1); ++i) {
      if (std::isfinite(s.demand[i]) && !(s.demand[i] <= peak)) peak = s.demand[i];
    }
    // Past the end, or over a gap, the count stays.
    if (std::isfinite(peak)) desired = std::max<int64_t>(1, ceilCount(peak / per_replica));
    ledger.record(s.demand[t], desired);
  }
  return pointOf(ledger.summary(), target);
}

/// The HPA's overload at `cost`, linear between its frontier points (sorted by
/// cost); outside the frontier, the nearest end (flagged by `outside`).
double interpolate(std::vector<Point> frontier, double cost, bool& outside) {
  std::sort(frontier.begin(), frontier.end(),
            [](const Point& a, const Point& b) { return a.cost < b.cost; });
  outside = cost < frontier.front().cost || cost > frontier.back().cost;
  if (cost <= frontier.front().cost) return frontier.front().overload_pct;
  if (cost >= frontier.back().cost) return frontier.back().overload_pct;
  for (std::size_t i = 1; i < frontier.size(); ++i) {
    const Point& a = frontier[i - 1];
    const Point& b = frontier[i];
    if (cost <= b.cost) {
      const double w = b.cost > a.cost ? (cost - a.cost) / (b.cost - a.cost) : 0.0;
      return a.overload_pct + w * (b.overload_pct - a.overload_pct);
    }
  }
  return frontier.back().overload_pct;
}

/// The development traces of `dir` (skipped with a note when there are none)
/// and the synthetic hard cases.
std::vector<Series> collectSeries(const std::filesystem::path& dir) {
  std::vector<Series> out;
  const auto files = pso::bench::traceFiles(dir);
  if (files.empty()) {
    std::printf("development traces: skipped (no trace CSV in '%s'; pass --traces DIR)\n",
                dir.string().c_str());
  }
  for (const auto& file : files) {
    auto loaded = pso::bench::loadTraceSeries(file);
    std::optional<Series> series;
    if (loaded && g_step_s > 0) loaded = pso::bench::resample(*loaded, g_step_s, g_resampling);
    if (loaded) series = toDemand(std::move(*loaded));
    if (series) {
      out.push_back(std::move(*series));
    } else {
      std::printf("  skipped %s: not a readable trace with positive demand\n",
                  file.filename().c_str());
    }
  }
  for (auto& synthetic : pso::bench::syntheticHardCases()) {
    if (g_step_s > 0) synthetic = pso::bench::resample(synthetic, g_step_s, g_resampling);
    if (auto series = toDemand(std::move(synthetic))) out.push_back(std::move(*series));
  }
  return out;
}

/// Geometric mean of a group's predictive / HPA overload ratios at equal cost.
struct RatioSummary {
  double log_sum = 0.0;
  int counted = 0;
  int worse = 0;
  int more_events = 0;  ///< series where predictive changed the count more often

  void add(double ratio, bool is_worse, bool has_more_events) {
    log_sum += std::log(ratio);
    ++counted;
    if (is_worse) ++worse;
    if (has_more_events) ++more_events;
  }
  void print(const char* group) const {
    if (counted == 0) return;
    std::printf(
        "%-22s geometric mean of predictive / HPA overload at equal cost: %.3f over %d; worse "
        "than the HPA: %d; more scale events than the HPA: %d\n",
        group, std::exp(log_sum / counted), counted, worse, more_events);
  }
};

void benchTraces(const std::filesystem::path& dir, bool quick) {
  const std::vector<Series> all = collectSeries(dir);
  if (all.empty()) return;
  std::printf(
      "trace replay: capacity = p95/%.0f, target %.2f, warm-up %.0f s; cost = replica-hours / "
      "oracle\n",
      kCapacityDivisor, kTarget, kWarmupS);
  std::printf("%-38s %6s | %7s %8s %6s | %7s %8s %6s | %9s %6s\n", "series", "steps", "pred$",
              "pred ov%", "events", "hpa$", "hpa ov%", "events", "hpa@pred$", "ratio");

  std::vector<double> targets;
  for (int i = 30; i <= 95; i += 5) targets.push_back(i / 100.0);
  const std::vector<double> risks = {0.02, 0.05, 0.1, 0.15, 0.2, 0.3, 0.4};
  RatioSummary development, synthetic, overall;
  std::vector<RatioSummary> along_risk(risks.size());
  std::vector<std::string> frontier_lines;
  for (const Series& series : all) {
    const Point pred = run(series, "predictive", kTarget, std::nullopt);
    const Point hpa = run(series, "reactive", kTarget, std::nullopt);
    std::vector<Point> frontier;
    if (!quick) {
      for (double t : targets) frontier.push_back(run(series, "reactive", t, std::nullopt));
    } else {
      frontier = {run(series, "reactive", 0.4, std::nullopt), hpa,
                  run(series, "reactive", 0.9, std::nullopt)};
    }
    bool outside = false;
    const double hpa_at = interpolate(frontier, pred.cost, outside);
    const double ratio = overloadRatio(pred.overload_pct, hpa_at);
    // Scale events against the HPA's at the same cost: the frontier point
    // nearest in cost.
    const Point& nearest =
        *std::min_element(frontier.begin(), frontier.end(), [&](const Point& a, const Point& b) {
          return std::abs(a.cost - pred.cost) < std::abs(b.cost - pred.cost);
        });
    const bool worse = pred.overload_pct > hpa_at;
    const bool more_events = pred.scale_events > nearest.scale_events;
    (series.name.rfind("syn_", 0) == 0 ? synthetic : development).add(ratio, worse, more_events);
    overall.add(ratio, worse, more_events);
    const double steps_per_s = static_cast<double>(series.demand.size()) / pred.seconds;
    std::printf(
        "%-38s %6zu | %7.2f %8.2f %6lld | %7.2f %8.2f %6lld | %8.2f%s %6.2f   (%.0f steps/s; hpa "
        "events at that cost %lld)\n",
        series.name.c_str(), series.demand.size(), pred.cost, pred.overload_pct,
        static_cast<long long>(pred.scale_events), hpa.cost, hpa.overload_pct,
        static_cast<long long>(hpa.scale_events), hpa_at, outside ? "*" : " ", ratio, steps_per_s,
        static_cast<long long>(nearest.scale_events));
    std::string line = "  " + series.name + "\n    hpa  (target: cost/ov%/events):";
    char buf[80];
    for (const Point& p : frontier) {
      std::snprintf(buf, sizeof buf, " %.2f:%.2f/%.2f/%lld", p.knob, p.cost, p.overload_pct,
                    static_cast<long long>(p.scale_events));
      line += buf;
    }
    if (!quick) {
      line += "\n    pred (risk:   cost/ov%/events):";
      for (std::size_t i = 0; i < risks.size(); ++i) {
        const Point p = run(series, "predictive", kTarget, risks[i]);
        bool out = false;
        const double at = interpolate(frontier, p.cost, out);
        along_risk[i].add(overloadRatio(p.overload_pct, at), p.overload_pct > at, false);
        std::snprintf(buf, sizeof buf, " %.2f:%.2f/%.2f/%lld%s", risks[i], p.cost, p.overload_pct,
                      static_cast<long long>(p.scale_events), out ? "*" : "");
        line += buf;
      }
    }
    frontier_lines.push_back(line);
  }
  development.print("development traces");
  synthetic.print("synthetic hard cases");
  overall.print("all");
  std::printf("(* = outside the HPA frontier)\n");
  if (!quick) {
    std::printf(
        "predictive along its risk knob, geometric mean ratio at equal cost (series worse):");
    for (std::size_t i = 0; i < risks.size(); ++i) {
      std::printf(" %.2f: %.3f (%d)", risks[i],
                  std::exp(along_risk[i].log_sum / std::max(1, along_risk[i].counted)),
                  along_risk[i].worse);
    }
    std::printf("\n");
  }
  std::printf("frontiers:\n");
  for (const auto& line : frontier_lines) std::printf("%s\n", line.c_str());
}
/// One series' predictive policy against the HPA at equal cost (the HPA's
/// frontier over targets 0.30 .. 0.95).
struct Comparison {
  double ratio = 0.0;  ///< predictive / HPA overload at the predictive cost
  double pred_cost = 0.0;
  double pred_overload = 0.0;
  double hpa_overload = 0.0;  ///< the HPA's at that cost
  int64_t pred_events = 0;
  int64_t hpa_events = 0;  ///< at the HPA's frontier point nearest in cost
  std::string model;       ///< the forecast model of the last decision
  double seconds = 0.0;
  double foresight_cost = 0.0;   ///< foresight() at the target
  double foresight_ratio = 0.0;  ///< its overload over the HPA's at its cost
  std::vector<Point> hpa_frontier;
};

Comparison compare(const Series& series) {
  Comparison c;
  const Point pred = run(series, "predictive", kTarget, std::nullopt);
  std::vector<Point> frontier;
  // The HPA rule's decisions do not read the forecast: the cheapest model
  // serves its runs (the same counts, a fraction of the replay time).
  for (int i = 30; i <= 95; i += 5) {
    frontier.push_back(run(series, "reactive", i / 100.0, std::nullopt, "naive"));
  }
  bool outside = false;
  c.hpa_overload = interpolate(frontier, pred.cost, outside);
  c.ratio = overloadRatio(pred.overload_pct, c.hpa_overload);
  c.pred_cost = pred.cost;
  c.pred_overload = pred.overload_pct;
  c.pred_events = pred.scale_events;
  c.hpa_events =
      std::min_element(frontier.begin(), frontier.end(), [&](const Point& a, const Point& b) {
        return std::abs(a.cost - pred.cost) < std::abs(b.cost - pred.cost);
      })->scale_events;
  c.seconds = pred.seconds;
  const Point best = foresight(series, kTarget);
  c.foresight_cost = best.cost;
  c.foresight_ratio = overloadRatio(best.overload_pct, interpolate(frontier, best.cost, outside));
  c.hpa_frontier = std::move(frontier);
  return c;
}

/// The change of a series' ratio from its own step (`own`) to the finer
/// step (`fine`), split into three factors whose product it is (the
/// ratio's 0.01-point floor included):
///  - policy: the predictive policy's overload, fine over own;
///  - resampling: the HPA's overload at the predictive policy's own-step
///    cost, own over fine: above 1 where the finer series lets the HPA rule
///    do better at the same cost (linear resampling shows it each rise from
///    its first fine step);
///  - cost: the HPA's overload at the predictive policy's own-step cost over
///    at its fine-step cost: above 1 where the predictive policy pays more
///    at the finer step, so that it is compared with a better HPA point.
struct RatioChange {
  double policy = 1.0;
  double resampling = 1.0;
  double cost = 1.0;
};

RatioChange splitRatioChange(const Comparison& own, const Comparison& fine) {
  bool outside = false;
  const double fine_hpa_at_own_cost = interpolate(fine.hpa_frontier, own.pred_cost, outside);
  // Each a ratio of two overloads with overloadRatio's floor, so that
  // their product is fine.ratio / own.ratio.
  RatioChange change;
  change.policy = overloadRatio(fine.pred_overload, own.pred_overload);
  change.resampling = overloadRatio(own.hpa_overload, fine_hpa_at_own_cost);
  change.cost = overloadRatio(fine_hpa_at_own_cost, fine.hpa_overload);
  return change;
}

/// --compare-step S over one group of series: each at its own step and
/// resampled to S-second steps (as --resample says), the predictive policy
/// against the HPA at equal cost at both, a table row each and the group's
/// geometric means.
void compareGroup(const char* group, std::vector<pso::bench::BenchSeries> series, int64_t step_s) {
  if (series.empty()) {
    std::printf("\n%s: none (--only '%s')\n", group, g_only.c_str());
    return;
  }
  std::printf("\n%s\n", group);
  std::printf(
      "| trace | own step | ratio | events | %lld s ratio | events | %lld s / own | "
      "= policy x resampling x cost | pred cost, ov%%, hpa ov%% at own step | at %lld s | "
      "foresight cost, ratio at own step | at %lld s | steps/s |\n",
      static_cast<long long>(step_s), static_cast<long long>(step_s),
      static_cast<long long>(step_s), static_cast<long long>(step_s));
  std::printf("|---|---|---|---|---|---|---|---|---|---|---|---|---|\n");
  RatioSummary own, fine;
  RatioSummary own_foresight, fine_foresight;
  // The series where the HPA overloads measurably at both steps: where it
  // overloads under 0.1% of steps at the predictive policy's cost, the
  // ratio's 0.01-point floor is a tenth of it or more and pulls the ratio
  // towards 1 whatever the predictive policy does.
  constexpr double kMeasurablePct = 0.1;
  RatioSummary own_measurable, fine_measurable;
  // Logs of the RatioChange factors, summed over the series.
  RatioChange log_change{0.0, 0.0, 0.0};
  int changes = 0;
  for (auto& loaded : series) {
    auto resampled = pso::bench::resample(loaded, step_s, g_resampling);
    const int64_t own_step = loaded.step_s;
    auto at_own = toDemand(std::move(loaded));
    auto at_fine = toDemand(std::move(resampled));
    if (!at_own || !at_fine) continue;
    const Comparison a = compare(*at_own);
    const Comparison b = compare(*at_fine);
    own.add(a.ratio, a.pred_overload > a.hpa_overload, a.pred_events > a.hpa_events);
    fine.add(b.ratio, b.pred_overload > b.hpa_overload, b.pred_events > b.hpa_events);
    own_foresight.add(a.foresight_ratio, false, false);
    fine_foresight.add(b.foresight_ratio, false, false);
    if (a.hpa_overload >= kMeasurablePct && b.hpa_overload >= kMeasurablePct) {
      own_measurable.add(a.ratio, a.pred_overload > a.hpa_overload, a.pred_events > a.hpa_events);
      fine_measurable.add(b.ratio, b.pred_overload > b.hpa_overload, b.pred_events > b.hpa_events);
    }
    const RatioChange change = splitRatioChange(a, b);
    log_change.policy += std::log(change.policy);
    log_change.resampling += std::log(change.resampling);
    log_change.cost += std::log(change.cost);
    ++changes;
    std::printf(
        "| %s | %lld s | %.3f | %lld / %lld | %.3f | %lld / %lld | %.2f | %.2f x %.2f x %.2f | "
        "%.2f, %.2f, %.2f | %.2f, %.2f, %.2f | %.2f, %.3f | %.2f, %.3f | %.0f |\n",
        at_own->name.c_str(), static_cast<long long>(own_step), a.ratio,
        static_cast<long long>(a.pred_events), static_cast<long long>(a.hpa_events), b.ratio,
        static_cast<long long>(b.pred_events), static_cast<long long>(b.hpa_events),
        b.ratio / a.ratio, change.policy, change.resampling, change.cost, a.pred_cost,
        a.pred_overload, a.hpa_overload, b.pred_cost, b.pred_overload, b.hpa_overload,
        a.foresight_cost, a.foresight_ratio, b.foresight_cost, b.foresight_ratio,
        static_cast<double>(at_fine->demand.size()) / b.seconds);
    std::fflush(stdout);
  }
  own.print("own step");
  fine.print((std::to_string(step_s) + " s steps").c_str());
  if (own.counted > 0 && fine.counted > 0) {
    std::printf("%lld s / own step, geometric means: %.3f\n", static_cast<long long>(step_s),
                std::exp(fine.log_sum / fine.counted - own.log_sum / own.counted));
  }
  if (changes > 0) {
    const double n = changes;
    std::printf(
        "  = policy (its overload, %lld s / own) %.3f x resampling (the HPA's overload at the "
        "policy's own-step cost, own / %lld s) %.3f x cost (the HPA's overload at the policy's "
        "own-step cost / at its %lld s cost) %.3f, geometric means\n",
        static_cast<long long>(step_s), std::exp(log_change.policy / n),
        static_cast<long long>(step_s), std::exp(log_change.resampling / n),
        static_cast<long long>(step_s), std::exp(log_change.cost / n));
  }
  if (own_foresight.counted > 0 && fine_foresight.counted > 0) {
    // What no forecast improves on while planning at the target: the same
    // ratio for foresight() at both steps.
    std::printf(
        "foresight at the target, geometric mean ratio: own step %.3f, %lld s %.3f, %lld s / own "
        "step %.3f\n",
        std::exp(own_foresight.log_sum / own_foresight.counted), static_cast<long long>(step_s),
        std::exp(fine_foresight.log_sum / fine_foresight.counted), static_cast<long long>(step_s),
        std::exp(fine_foresight.log_sum / fine_foresight.counted -
                 own_foresight.log_sum / own_foresight.counted));
  }
  if (own_measurable.counted > 0) {
    std::printf("series where the HPA overloads at least %.1f%% of steps at equal cost at both:\n",
                kMeasurablePct);
    own_measurable.print("  own step");
    fine_measurable.print(("  " + std::to_string(step_s) + " s steps").c_str());
    std::printf("  %lld s / own step, geometric means: %.3f\n", static_cast<long long>(step_s),
                std::exp(fine_measurable.log_sum / fine_measurable.counted -
                         own_measurable.log_sum / own_measurable.counted));
  }
}

/// --compare-step S: every development trace, then (with --synthetic) the
/// synthetic hard cases, at their own step and resampled to S-second steps.
/// The synthetic cases are series the 15 s work was not tuned on: they
/// say whether what holds on the traces holds beyond them.
void benchCompareSteps(const std::filesystem::path& dir, int64_t step_s, bool synthetic) {
  std::printf(
      "capacity = p95/%.0f, target %.2f, warm-up %.0f s; ratio = predictive / HPA overload at "
      "equal cost; events = predictive / HPA (at its frontier point nearest in cost)\n",
      kCapacityDivisor, kTarget, kWarmupS);
  const auto files = pso::bench::traceFiles(dir);
  if (files.empty()) {
    std::printf("development traces: skipped (no trace CSV in '%s'; pass --traces DIR)\n",
                dir.string().c_str());
  } else {
    std::vector<pso::bench::BenchSeries> traces;
    for (const auto& file : files) {
      if (file.filename().string().find(g_only) == std::string::npos) continue;
      if (auto loaded = pso::bench::loadTraceSeries(file)) traces.push_back(std::move(*loaded));
    }
    compareGroup("development traces", std::move(traces), step_s);
  }
  if (synthetic) {
    std::vector<pso::bench::BenchSeries> cases;
    for (auto& series : pso::bench::syntheticHardCases()) {
      if (series.name.find(g_only) != std::string::npos) cases.push_back(std::move(series));
    }
    compareGroup("synthetic hard cases", std::move(cases), step_s);
  }
}

void benchPool(bool quick) {
  EngineSettings settings;
  settings.step_s = 15;
  DecisionEngine engine(settings);
  const int systems = 50;
  PoolSpec pool;
  pool.name = "site-a";
  pool.capacity_replicas = 400;
  for (int i = 0; i < systems; ++i) {
    SystemSpec spec;
    spec.name = "sys-" + std::to_string(i);
    spec.capacity_per_replica = 100;
    spec.max_replicas = 50;
    spec.warmup_s = 30;
    spec.priority = i % 5;
    if (i % 10 != 0) spec.depends_on.push_back("sys-" + std::to_string(i - i % 10));
    engine.upsertSystem(spec);
    pool.systems.push_back(spec.name);
  }
  engine.setPools({pool});
  std::mt19937 rng(5);
  std::normal_distribution<double> noise(0, 60);
  const int cycles = quick ? 100 : 1000;
  std::vector<int64_t> replicas(systems, 1);
  std::vector<double> cycle_ms;
  int64_t pool_changed = 0;
  for (int c = 0; c < cycles; ++c) {
    CycleInput input;
    input.now_ms = 1700000000000 + c * 15000;
    for (int i = 0; i < systems; ++i) {
      SystemObservation o;
      o.system = "sys-" + std::to_string(i);
      // Demand swings across the pool's capacity, so some cycles are short.
      o.demand = std::max(0.0, 600 + 450 * std::sin(c / 40.0 + i * 0.1) + noise(rng));
      o.current_replicas = replicas[static_cast<std::size_t>(i)];
      input.systems.push_back(std::move(o));
    }
    const auto start = Clock::now();
    const CycleDecisions out = engine.decide(input);
    cycle_ms.push_back(secondsSince(start) * 1000);
    for (std::size_t i = 0; i < out.systems.size(); ++i) {
      replicas[i] = out.systems[i].desired_replicas;
      for (const auto& g : out.systems[i].guardrails) {
        if (g.rfind("Pool", 0) == 0) ++pool_changed;
      }
    }
  }
  std::sort(cycle_ms.begin(), cycle_ms.end());
  std::printf("%-44s %10.3f ms p50, %.3f ms p99  (%lld pool-limited decisions)\n",
              "engine decision cycle, 50 systems in a pool", cycle_ms[cycle_ms.size() / 2],
              cycle_ms[cycle_ms.size() * 99 / 100], static_cast<long long>(pool_changed));
}

}  // namespace

int main(int argc, char** argv) {
  bool quick = false;
  int64_t compare_step_s = 0;
  bool synthetic = false;
  std::filesystem::path dir = PSO_BENCH_TRACE_DIR;
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--quick") == 0) {
      quick = true;
    } else if (std::strcmp(argv[i], "--traces") == 0 && i + 1 < argc) {
      dir = argv[++i];
    } else if (std::strcmp(argv[i], "--model") == 0 && i + 1 < argc) {
      g_forecast_model = argv[++i];
    } else if (std::strcmp(argv[i], "--step") == 0 && i + 1 < argc) {
      g_step_s = std::atoll(argv[++i]);
    } else if (std::strcmp(argv[i], "--no-profiles") == 0) {
      g_seasonal_profiles = false;
    } else if (std::strcmp(argv[i], "--resample") == 0 && i + 1 < argc) {
      const std::string how = argv[++i];
      if (how != "hold" && how != "linear") {
        std::fprintf(stderr, "replay_bench: --resample takes hold or linear, not '%s'\n",
                     how.c_str());
        return 2;
      }
      g_resampling =
          how == "hold" ? pso::common::Resampling::kHold : pso::common::Resampling::kLinear;
    } else if (std::strcmp(argv[i], "--only") == 0 && i + 1 < argc) {
      g_only = argv[++i];
    } else if (std::strcmp(argv[i], "--compare-step") == 0 && i + 1 < argc) {
      compare_step_s = std::atoll(argv[++i]);
    } else if (std::strcmp(argv[i], "--synthetic") == 0) {
      synthetic = true;
    }
  }
  if (compare_step_s > 0) {
    std::printf(
        "PSO-PRIME replay benchmark, forecast model %s, development traces%s at their own "
        "step and at %lld s\n",
        g_forecast_model.c_str(), synthetic ? " and synthetic hard cases" : "",
        static_cast<long long>(compare_step_s));
    benchCompareSteps(dir, compare_step_s, synthetic);
    return 0;
  }
  std::printf("PSO-PRIME replay benchmark%s, forecast model %s, %s\n", quick ? " (quick)" : "",
              g_forecast_model.c_str(),
              g_step_s > 0 ? ("resampled to " + std::to_string(g_step_s) + " s steps").c_str()
                           : "each series at its own step");
  benchTraces(dir, quick);
  benchPool(quick);
  return 0;
}
