#pragma once

// `psoctl scenarios grade`: scores a learner's answers against the scenarios'
// answer keys, stores the attempts in the controller database, reports
// competency per learning level and emits xAPI statements (to a file and/or a
// learning record store).

#include <CLI/CLI.hpp>
#include <string>

namespace pso::cli {

struct GradeArgs {
  std::string learner;   ///< the LMS account id (never an email)
  std::string answers;   ///< JSON file: {"<question id>": answer, ...}
  std::string db;        ///< controller database with the scenarios; attempts go here
  double pass = 0.7;     ///< share of a scenario's questions to pass it
  std::string xapi_out;  ///< write the statements (a JSON array) here
  std::string lrs;       ///< post the statements to this LRS endpoint
  std::string lrs_user;
  std::string lrs_password;                          ///< or env PSO_LRS_PASSWORD
  std::string homepage = "https://lms.example.org";  ///< the learner account's homePage
  std::string activity_base = "https://pso-prime.example.org/xapi";
  std::string team;  ///< put the learner in this team (psoctl scenarios progress --team)
  std::string at;    ///< when the answers were given (a timestamp); empty = now
};

void addGradeOptions(CLI::App* cmd, GradeArgs& args);

/// Runs the command; returns the exit code (0, or 1 with a one-line reason).
/// A learner who fails a scenario is a result, not an error.
int runGradeCommand(const GradeArgs& args, bool json_output);

}  // namespace pso::cli
