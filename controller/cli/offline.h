#pragma once

// psoctl's offline tools (docs/architecture.md section 6): `forecast` and `simulate`
// read a trace CSV, run the engine's replay functions (the same code the live
// controller decides with) and write CSV.

#include <CLI/CLI.hpp>
#include <cstdint>
#include <string>

#include "common/result.h"

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
};

void addForecastOptions(CLI::App* cmd, ForecastArgs& args);
void addSimulateOptions(CLI::App* cmd, SimulateArgs& args);

/// The ranges of the numeric options, checked after parsing; the error is one
/// sentence naming the option, its bounds and the value given.
[[nodiscard]] Status checkForecastArgs(const ForecastArgs& args);
[[nodiscard]] Status checkSimulateArgs(const SimulateArgs& args);

/// Runs `psoctl forecast`; returns the process exit code.
int runForecastCommand(const ForecastArgs& args, bool json_output);
/// Runs `psoctl simulate`; returns the process exit code.
int runSimulateCommand(const SimulateArgs& args, bool json_output);

}  // namespace pso::cli
