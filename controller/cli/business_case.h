#pragma once

// `psoctl scenarios business-case`: the lesson for managers and executives,
// per day or week, from the scenarios in a controller database: replica-hours
// and shortfalls of the predictive decisions against the HPA rule recorded
// beside them, in the user's cost unit (controller/scenarios/business_case.h).

#include <CLI/CLI.hpp>
#include <string>

namespace pso::cli {

struct BusinessCaseArgs {
  std::string db;
  std::string period = "week";         ///< day | week
  std::string format = "markdown";     ///< markdown | html
  std::string out = "-";               ///< a file, or - for stdout
  std::string system;                  ///< only this system's scenarios
  double cost_per_replica_hour = 0.0;  ///< 0: replica-hours only
  std::string currency;
};

void addBusinessCaseOptions(CLI::App* cmd, BusinessCaseArgs& args);

/// Runs the command; returns the exit code (0, or 1 with a one-line reason).
/// With -o json the figures are printed instead of the lesson.
int runBusinessCaseCommand(const BusinessCaseArgs& args, bool json_output);

}  // namespace pso::cli
