#pragma once

// `psoctl scenarios progress`: a learner's or a team's mastery per learning
// level from the graded attempts in a controller database, and how it grew
// day by day (controller/scenarios/progress.h computes it).

#include <CLI/CLI.hpp>
#include <string>

#include "controller/scenarios/grading.h"

namespace pso::cli {

struct ProgressArgs {
  std::string db;       ///< controller database with the learners' attempts
  std::string learner;  ///< one learner, or
  std::string team;     ///< every learner of a team (psoctl scenarios grade --team)
  /// Share of a level's questions correct (latest attempt of each) to master it.
  double threshold = controller::scenarios::kDefaultPassThreshold;
};

void addProgressOptions(CLI::App* cmd, ProgressArgs& args);

/// Runs the command; returns the exit code (0, or 1 with a one-line reason).
int runProgressCommand(const ProgressArgs& args, bool json_output);

}  // namespace pso::cli
