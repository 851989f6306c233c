#pragma once

// `psoctl runbook run FILE`: checks a runbook (runbook_parser.h) against the
// controller, prints its plan and runs its steps in order through the HTTP
// API, stopping at the first that fails. docs/operations.md "Runbooks".

#include <iosfwd>
#include <string>

#include "common/result.h"
#include "controller/cli/api_client.h"
#include "controller/cli/runbook_parser.h"

namespace pso::cli {

/// Exit codes of `psoctl runbook run`: 0 every step succeeded (or the dry run
/// was printed); 1 the controller could not be asked; 2 the runbook was
/// refused before anything was done; kRunbookStepExitBase + N step N failed
/// (steps before it took effect, none after it ran), at most 255.
inline constexpr int kRunbookExitRefused = 2;
inline constexpr int kRunbookStepExitBase = 10;

/// kRunbookStepExitBase + step, capped at 255 (exit codes are one byte).
int runbookStepExitCode(int step);

/// What the step would do, one line without its number: "scale web to 6
/// replicas, held 30m (promo at 18:00)".
std::string describeRunbookStep(const RunbookStep& step);

/// The checks only the controller can answer: each system is one it manages
/// and a scale's count is within the system's bounds. Errors are one line
/// naming the file, the step and the key; code "invalid", or the API
/// client's code when the controller did not answer.
[[nodiscard]] Status checkRunbookWithController(const Runbook& runbook, const std::string& file,
                                                const ApiClient& client);

struct RunbookTiming {
  long poll_ms = 1000;  ///< how often wait_for asks for the system
};

/// Runs the steps in order, one line per step on `out`, and returns the exit
/// code (0 or runbookStepExitCode of the failed step, whose reason is one
/// line on `err`).
int runRunbookSteps(const Runbook& runbook, const std::string& file, const ApiClient& client,
                    std::ostream& out, std::ostream& err, const RunbookTiming& timing = {});

}  // namespace pso::cli
