#pragma once

// Hands-on assignments from a learner's weak levels. `psoctl scenarios
// assignments` reads the learner's competency per level (scenarios::
// competencyByLevel over the stored attempts) and, for each level below the
// threshold, picks a stored scenario of that level, writes its recorded
// demand history out as a trace, and asks the learner to predict what a
// replay with one setting changed (target utilisation or warm-up) gives.
// The key is computed by replaying that trace in-process through
// simulateTrace() (offline.h), the code `psoctl simulate` runs, with the very
// arguments the assignment's command line carries, so it is right by
// construction. `psoctl scenarios check-assignment FILE --answer X` grades an
// answer against the file's key.

#include <CLI/CLI.hpp>
#include <string>

namespace pso::cli {

struct AssignmentArgs {
  std::string db;       ///< controller database: scenarios and the learner's attempts
  std::string learner;  ///< the LMS account id
  double threshold = 0.7;
  std::string out_dir = "assignments";  ///< trace, assignment and replay files go here
};

struct CheckAssignmentArgs {
  std::string file;    ///< an assignment JSON written by `scenarios assignments`
  std::string answer;  ///< the learner's prediction
};

void addAssignmentOptions(CLI::App* cmd, AssignmentArgs& args);
void addCheckAssignmentOptions(CLI::App* cmd, CheckAssignmentArgs& args);

/// Writes one assignment per weak level (`<learner>-<level>.json` and its
/// trace `<learner>-<level>.csv` in out_dir) and prints them without their
/// keys. A learner with no weak level gets none: a result, not an error.
/// Returns the exit code: 0, or 1 with a one-line reason on stderr.
int runAssignmentsCommand(const AssignmentArgs& args, bool json_output);

/// Grades a prediction: exact for the counts the assignments ask for. Returns
/// 0 whether or not it is correct, 1 for an unreadable file or an answer that
/// is not a whole number.
int runCheckAssignmentCommand(const CheckAssignmentArgs& args, bool json_output);

}  // namespace pso::cli
