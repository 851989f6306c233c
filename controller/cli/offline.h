#pragma once

// psoctl's offline tools (docs/architecture.md section 6): `forecast` and `simulate`
// read a trace CSV, run the engine's replay functions (the same code the live
// controller decides with) and write CSV.

#include <CLI/CLI.hpp>
#include <cstdint>
#include <string>
#include <vector>

#include "common/result.h"
#include "controller/cli/fleet_replay.h"
#include "controller/engine/replay.h"
#include "controller/engine/types.h"

namespace pso::cli {

struct ForecastArgs {
  std::string trace;
  int horizon = 12;
  int every = 1;
  std::string season = "auto";  ///< auto | none | a period in steps
  double coverage = 0.9;
  std::string out;
};

struct SimulateArgs {
  std::string trace;
  double capacity = 0.0;
  double target_util = 0.7;
  int64_t warmup_steps = 2;
  int64_t min_replicas = 1;
  int64_t max_replicas = 100000;
  std::string policy = "predictive";
  double risk = 0.2;  ///< the predictive policy's cost/risk knob (EngineSettings::risk)
  std::string out;
  std::string record;  ///< --record DB: also record every cycle as a scenario (record.h)
  /// --db: replay the controller database's fleet instead of a trace
  /// (fleet_replay.h); its policy is `policy` above. Its `step` (--step)
  /// also serves a trace: a step dividing the trace's, at which the trace
  /// is replayed, spread as `resample` says.
  FleetReplayArgs fleet;
  /// --resample, with --trace --step: "linear" between the trace's values
  /// (common::resampleLinear) or "hold" each value for its step
  /// (common::resampleHold).
  std::string resample = "linear";
};

void addForecastOptions(CLI::App* cmd, ForecastArgs& args);
void addSimulateOptions(CLI::App* cmd, SimulateArgs& args);

/// The ranges of the numeric options, checked after parsing; the error is one
/// sentence naming the option, its bounds and the value given.
[[nodiscard]] Status checkForecastArgs(const ForecastArgs& args);
[[nodiscard]] Status checkSimulateArgs(const SimulateArgs& args);

/// One replay of a trace, set up exactly as `psoctl simulate` sets it up.
struct SimulationRun {
  int64_t t0_s = 0;            ///< time of the first step (epoch seconds)
  int64_t step_s = 0;          ///< the trace's step
  std::vector<double> demand;  ///< one value per step, NaN for a gap
  controller::engine::SystemSpec spec;
  controller::engine::EngineSettings settings;
  int64_t initial_replicas = 1;
  controller::engine::SimulationResult result;
};

/// Checks the arguments, reads the trace and replays it through the engine:
/// what `psoctl simulate` prints is this run's result (its rows as the CSV,
/// its summary as the last line or the JSON object). Errors: the range
/// checks' sentence, or the trace's.
[[nodiscard]] Result<SimulationRun> simulateTrace(const SimulateArgs& args);

/// The highest replica count a replay decided: the CSV's largest "desired".
int64_t peakReplicas(const controller::engine::SimulationResult& result);

/// Runs `psoctl forecast`; returns the process exit code.
int runForecastCommand(const ForecastArgs& args, bool json_output);
/// Runs `psoctl simulate`: a trace, or with --db the fleet replay; returns
/// the process exit code.
int runSimulateCommand(const SimulateArgs& args, bool json_output);

}  // namespace pso::cli
