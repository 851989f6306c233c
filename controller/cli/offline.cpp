#include "controller/cli/offline.h"

#include <cmath>
#include <cstdio>
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <vector>

#include "common/clock.h"
#include "common/config.h"
#include "common/trace.h"
#include "controller/cli/failure.h"
#include "controller/cli/option_checks.h"
#include "controller/cli/record.h"
#include "controller/cycle/replay.h"
#include "controller/engine/replay.h"

namespace pso::cli {
namespace {

/// A trace laid on its regular step: slot i is t0 + i x step; a slot without
/// a point is a gap (nullopt), never a zero.
struct TraceGrid {
  int64_t t0_s = 0;
  int64_t step_s = 0;
  std::vector<std::optional<double>> values;
  std::size_t gaps = 0;
};

Result<TraceGrid> loadGrid(const std::string& path) {
  auto trace = common::readTrace(path);
  if (!trace) return trace.error();
  if (trace->points.size() < 2 || trace->step_s <= 0) {
    return makeError("invalid", path + ": a trace needs at least two points with a fixed step");
  }
  TraceGrid grid;
  grid.t0_s = trace->points.front().ts_s;
  grid.step_s = trace->step_s;
  const int64_t span = trace->points.back().ts_s - grid.t0_s;
  const std::size_t slots = static_cast<std::size_t>(span / grid.step_s) + 1;
  if (slots > 50 * trace->points.size()) {
    return makeError("invalid", path + ": timestamps are too irregular for a step of " +
                                    std::to_string(grid.step_s) + " s");
  }
  grid.values.assign(slots, std::nullopt);
  for (const auto& p : trace->points) {
    // Round to the nearest slot so small clock jitter in a trace does not
    // become a gap.
    const auto slot = static_cast<std::size_t>(
        std::llround(static_cast<double>(p.ts_s - grid.t0_s) / static_cast<double>(grid.step_s)));
    if (slot < slots) grid.values[slot] = p.value;
  }
  for (const auto& v : grid.values) grid.gaps += v.has_value() ? 0 : 1;
  return grid;
}

std::string slotTime(const TraceGrid& grid, int64_t slot) {
  return common::formatTimestamp((grid.t0_s + slot * grid.step_s) * 1000);
}

/// The seconds of `--step` for a trace whose step is trace_step_s: whole
/// seconds dividing it, so every value of the trace stays on the grid.
Result<int64_t> finerStep(const std::string& text, int64_t trace_step_s, const std::string& path) {
  auto step = common::parseDuration(text);
  if (!step) return makeError("invalid", "--step: " + step.error().message);
  const int64_t ms = step->count();
  if (ms <= 0 || ms % 1000 != 0 || trace_step_s % (ms / 1000) != 0) {
    return makeError("invalid", "--step " + text +
                                    ": a trace is replayed at a step that divides "
                                    "its own, in whole seconds; " +
                                    path + " has a step of " + std::to_string(trace_step_s) + " s");
  }
  return ms / 1000;
}

/// Opens the output CSV ("-" is stdout).
Result<std::unique_ptr<FILE, int (*)(FILE*)>> openOut(const std::string& path) {
  if (path == "-") return std::unique_ptr<FILE, int (*)(FILE*)>(stdout, [](FILE*) { return 0; });
  FILE* f = std::fopen(path.c_str(), "w");
  if (f == nullptr) return makeError("io", "cannot write " + path);
  return std::unique_ptr<FILE, int (*)(FILE*)>(f, std::fclose);
}

}  // namespace

void addForecastOptions(CLI::App* cmd, ForecastArgs& args) {
  cmd->add_option("--trace", args.trace, "Trace CSV (timestamp,value)")->required();
  cmd->add_option("--horizon", args.horizon, "Steps ahead to forecast")
      ->required()
      ->check(CLI::Range(1, 10000));
  cmd->add_option("--every", args.every, "Forecast from every N-th origin (1 to 1000000)")
      ->capture_default_str();
  cmd->add_option("--season", args.season,
                  "auto (detect the season from the data), a season length in steps (the "
                  "configured season, overriding detection), or none (non-seasonal holt)")
      ->capture_default_str();
  cmd->add_option("--coverage", args.coverage, "Central prediction interval (0.5 to 0.999)")
      ->capture_default_str();
  cmd->add_option("--out", args.out, "Output CSV (- for stdout)")->required();
}

void addSimulateOptions(CLI::App* cmd, SimulateArgs& args) {
  auto* trace = cmd->add_option("--trace", args.trace,
                                "Trace CSV (timestamp,value) replayed as demand (or --db)");
  // Ranges are checked after parsing (checkSimulateArgs), so a refusal is one
  // sentence naming the bound, not CLI11's range with the type's limits.
  auto* capacity =
      cmd->add_option("--capacity", args.capacity, "Demand one replica serves at 100% (above 0)");
  auto* target = cmd->add_option("--target-util", args.target_util, "Target utilisation, in (0, 1]")
                     ->capture_default_str();
  auto* warmup = cmd->add_option("--warmup-steps", args.warmup_steps,
                                 "Steps from launch to serving (K, 1 to 10000)")
                     ->capture_default_str();
  auto* min = cmd->add_option("--min", args.min_replicas, "Fewest replicas (0 to 1000000)")
                  ->capture_default_str();
  auto* max =
      cmd->add_option("--max", args.max_replicas, "Most replicas (1 to 1000000, at least --min)")
          ->capture_default_str();
  cmd->add_option("--policy", args.policy, "predictive | reactive")
      ->capture_default_str()
      ->check(CLI::IsMember({"predictive", "reactive"}));
  auto* risk = cmd->add_option("--risk", args.risk,
                               "Predictive policy: accepted chance per step of demand above the "
                               "target (lower: more replicas, fewer overloads; 0.001 to 0.499)")
                   ->capture_default_str();
  auto* out = cmd->add_option("--out", args.out, "Output CSV (- for stdout)");
  auto* record = cmd->add_option(
      "--record", args.record,
      "Also record every simulated cycle as a scenario in this controller database");
  trace->needs(capacity)->needs(out);

  // The fleet replay (fleet_replay.h): the database's systems, not a trace.
  auto& fleet = args.fleet;
  auto* db = cmd->add_option("--db", fleet.db,
                             "Replay every system of this controller database (fleet replay)");
  auto* since = cmd->add_option("--since", fleet.since,
                                "--db: from this long before --until (7d) or a timestamp");
  auto* until = cmd->add_option("--until", fleet.until, "--db: to this timestamp (default: now)");
  auto* step = cmd->add_option(
      "--step", fleet.step,
      "Replay step. --db: default the config's cycle interval (15s); --trace: a step dividing "
      "the trace's, which is replayed at it as --resample says (--warmup-steps count these "
      "steps)");
  auto* resample =
      cmd->add_option("--resample", args.resample,
                      "--trace --step: linear between the trace's values, or hold each value "
                      "for its step (what a finer cycle sees of a trace of 5-minute means)")
          ->capture_default_str()
          ->check(CLI::IsMember({"linear", "hold"}))
          ->needs(step);
  auto* config = cmd->add_option(
      "--config", fleet.config, "--db: controller.yaml for pools, engine settings, cycle interval");
  auto* set = cmd->add_option("--set", fleet.sets,
                              "--db: what-if, repeatable: systems.<name>.<field>=v (target_"
                              "utilization, capacity_per_replica, min_replicas, max_replicas, "
                              "warmup, priority; * for every system) or engine.<setting>=v");
  db->needs(since)->excludes(trace);
  for (auto* option : {capacity, target, warmup, min, max, risk, out, record, resample}) {
    db->excludes(option);
  }
  for (auto* option : {since, until, config, set}) option->needs(db);
  cmd->parse_complete_callback([cmd, &args] {
    if (args.trace.empty() && args.fleet.db.empty()) {
      throw CLI::RequiredError(cmd->get_name() + ": --trace or --db");
    }
  });
}

Status checkForecastArgs(const ForecastArgs& args) {
  const Status checks[] = {checkBetween("--every", static_cast<double>(args.every), 1, 1000000),
                           checkBetween("--coverage", args.coverage, 0.5, 0.999)};
  for (const auto& check : checks) {
    if (!check) return check;
  }
  return Status();
}

Status checkSimulateArgs(const SimulateArgs& args) {
  const Status checks[] = {
      checkAbove("--capacity", args.capacity, 0),
      checkAboveAtMost("--target-util", args.target_util, 0, 1),
      checkBetween("--warmup-steps", static_cast<double>(args.warmup_steps), 1, 10000),
      checkBetween("--min", static_cast<double>(args.min_replicas), 0, 1000000),
      checkBetween("--max", static_cast<double>(args.max_replicas), 1, 1000000),
      checkOrdered("--min", static_cast<double>(args.min_replicas), "--max",
                   static_cast<double>(args.max_replicas)),
      checkBetween("--risk", args.risk, 0.001, 0.499)};
  for (const auto& check : checks) {
    if (!check) return check;
  }
  return Status();
}

int runForecastCommand(const ForecastArgs& args, bool json_output) {
  if (auto checked = checkForecastArgs(args); !checked) return fail(checked.error().message);
  auto grid = loadGrid(args.trace);
  if (!grid) return fail(grid.error().message);

  controller::engine::RollingForecastOptions options;
  options.horizon = args.horizon;
  options.every = args.every;
  options.coverage = args.coverage;
  options.warmup_points = options.params.warmup;
  // Intervals scored as the controller's engine scores them at this step.
  options.params.error_stride =
      controller::engine::errorStrideFor(static_cast<double>(grid->step_s));
  // Per-series model selection ("auto"): seasonal candidates for the detected
  // or configured season, with holt and naive fallbacks while history is short.
  options.model = "auto";
  if (args.season == "none") {
    options.model = "holt";
  } else if (args.season != "auto") {
    int period = 0;
    try {
      std::size_t used = 0;
      period = std::stoi(args.season, &used);
      if (used != args.season.size()) period = 0;
    } catch (const std::exception&) {
      period = 0;
    }
    if (period < 2 || period > 1000000)
      return fail("--season: expected auto, none or a season length of at least 2 steps, got '" +
                  args.season + "'");
    options.params.season_period = period;
  }
  auto rows = controller::engine::rollingForecast(grid->values, options);
  if (!rows) return fail(rows.error().message);

  auto out = openOut(args.out);
  if (!out) return fail(out.error().message);
  FILE* f = out->get();
  std::fputs("origin,step,timestamp,point,lo,hi\n", f);
  for (const auto& r : *rows) {
    std::fprintf(f, "%lld,%lld,%s,%.6g,%.6g,%.6g\n", static_cast<long long>(r.origin),
                 static_cast<long long>(r.step), slotTime(*grid, r.origin + r.step).c_str(),
                 r.point, r.lo, r.hi);
  }
  if (std::ferror(f) != 0) return fail("error writing " + args.out);
  if (args.out != "-") {
    if (json_output) {
      std::cout << nlohmann::json{{"rows", rows->size()},
                                  {"model", options.model},
                                  {"step_s", grid->step_s},
                                  {"gaps", grid->gaps}}
                       .dump()
                << '\n';
    } else {
      std::cout << "wrote " << rows->size() << " forecasts (" << options.model << ", step "
                << grid->step_s << " s, " << grid->gaps << " gaps) to " << args.out << '\n';
    }
  }
  return 0;
}

Result<SimulationRun> simulateTrace(const SimulateArgs& args) {
  if (auto checked = checkSimulateArgs(args); !checked) return checked.error();
  auto grid = loadGrid(args.trace);
  if (!grid) return grid.error();

  SimulationRun run;
  run.t0_s = grid->t0_s;
  run.step_s = grid->step_s;
  run.demand.reserve(grid->values.size());
  for (const auto& v : grid->values) run.demand.push_back(v.value_or(std::nan("")));
  if (!args.fleet.step.empty()) {
    auto step = finerStep(args.fleet.step, grid->step_s, args.trace);
    if (!step) return step.error();
    run.demand = common::resample(
        run.demand, grid->step_s / *step,
        args.resample == "hold" ? common::Resampling::kHold : common::Resampling::kLinear);
    run.step_s = *step;
  }

  const double step_s = static_cast<double>(run.step_s);
  // Named as --record names it, and as a fleet replay names the system the
  // trace is of: the engine spreads each system's periodic work by its name,
  // so the same name makes the same decisions.
  run.spec.name = systemNameForTrace(args.trace);
  run.spec.capacity_per_replica = args.capacity;
  run.spec.target_utilization = args.target_util;
  run.spec.min_replicas = args.min_replicas;
  run.spec.max_replicas = args.max_replicas;
  run.spec.warmup_s = static_cast<double>(args.warmup_steps) * step_s;
  run.settings.step_s = step_s;
  run.settings.policy = args.policy;
  run.settings.risk = args.risk;
  run.initial_replicas = std::max<int64_t>(args.min_replicas, 1);
  auto replayed = controller::cycle::replayTrace(run.demand, step_s, run.spec, run.settings,
                                                 run.initial_replicas, {}, grid->t0_s * 1000);
  if (!replayed) return replayed.error();
  run.result = std::move(*replayed);
  return run;
}

int64_t peakReplicas(const controller::engine::SimulationResult& result) {
  int64_t peak = 0;
  for (const auto& r : result.rows) peak = std::max(peak, r.desired);
  return peak;
}

int runSimulateCommand(const SimulateArgs& args, bool json_output) {
  if (!args.fleet.db.empty()) {
    FleetReplayArgs fleet = args.fleet;
    fleet.policy = args.policy;
    return runFleetReplayCommand(fleet, json_output);
  }
  auto run = simulateTrace(args);
  if (!run) return fail(run.error().message);
  const TraceGrid grid{run->t0_s, run->step_s, {}, 0};
  const auto& result = run->result;
  const double step_s = static_cast<double>(run->step_s);

  auto out = openOut(args.out);
  if (!out) return fail(out.error().message);
  FILE* f = out->get();
  std::fputs("timestamp,demand,desired,ready,planned\n", f);
  for (const auto& r : result.rows) {
    const std::string value = std::isfinite(r.demand) ? std::to_string(r.demand) : "";
    std::fprintf(f, "%s,%s,%lld,%lld,%.6g\n", slotTime(grid, r.t).c_str(), value.c_str(),
                 static_cast<long long>(r.desired), static_cast<long long>(r.ready),
                 r.planned_demand);
  }
  if (std::ferror(f) != 0) return fail("error writing " + args.out);
  if (!args.record.empty()) {
    // stdout stays one document: the CSV (--out -) or the JSON summary own it.
    std::ostream& note = args.out == "-" || json_output ? std::cerr : std::cout;
    const ReplayInput replay{run->demand, step_s,        run->t0_s * 1000,
                             run->spec,   run->settings, run->initial_replicas};
    const int code = runRecordCommand(args.record, args.trace, replay, json_output, note);
    if (code != 0) return code;
  }

  const auto& s = result.summary;
  if (json_output) {
    std::cout << nlohmann::json{{"policy", args.policy},
                                {"steps", s.steps},
                                {"overload_steps", s.overload_steps},
                                {"overload_pct", s.overload_pct},
                                {"replica_hours", s.replica_hours},
                                {"oracle_replica_hours", s.oracle_replica_hours},
                                {"scale_events", s.scale_events}}
                     .dump()
              << '\n';
  } else {
    // With --out - the CSV owns stdout; the summary goes to stderr.
    std::ostream& summary = args.out == "-" ? std::cerr : std::cout;
    char line[256];
    std::snprintf(line, sizeof line,
                  "%s: %lld steps, overload %.2f%% (%lld steps), %.1f replica-hours "
                  "(oracle %.1f, x%.2f), %lld scale events",
                  args.policy.c_str(), static_cast<long long>(s.steps), s.overload_pct,
                  static_cast<long long>(s.overload_steps), s.replica_hours, s.oracle_replica_hours,
                  s.oracle_replica_hours > 0 ? s.replica_hours / s.oracle_replica_hours : 0.0,
                  static_cast<long long>(s.scale_events));
    summary << line << '\n';
  }
  return 0;
}

}  // namespace pso::cli
