#pragma once

// The runbook file of `psoctl runbook run`: a name and steps in YAML, parsed
// and checked on its own (no controller needed) so that a bad file is refused
// before anything is done. Runbooks are outside input: the parser has a fuzz
// harness (tests/fuzz/cli_fuzz_targets.h).

#include <cstdint>
#include <string>
#include <vector>

#include "common/result.h"
#include "controller/engine/alert_rules.h"

namespace pso::cli {

/// What a step does; each has the keys listed in docs/operations.md "Runbooks".
enum class RunbookStepKind { kScale, kWaitFor, kForecastOnly, kHold, kRelease, kWait };

/// The step's key in the file: "scale", "wait_for", "forecast_only", "hold",
/// "release", "wait".
const char* runbookStepName(RunbookStepKind kind);

/// One step, as written (durations in milliseconds). Which fields are set
/// depends on the kind.
struct RunbookStep {
  int number = 0;  ///< 1-based position in the file
  RunbookStepKind kind = RunbookStepKind::kWait;
  std::string system;    ///< scale, wait_for, hold, release
  int64_t replicas = 0;  ///< scale
  std::string reason;    ///< scale, hold, release (optional for release)
  std::string hold;      ///< scale: "30m" as written, empty for none; hold: the "for"
  controller::engine::AlertCondition condition;  ///< wait_for
  int64_t duration_ms = 0;                       ///< wait: the pause; wait_for: the timeout
  bool forecast_only = false;                    ///< forecast_only
};

struct Runbook {
  std::string name;
  std::vector<RunbookStep> steps;
};

/// The figures a wait_for condition may name: those of GET
/// /api/v1/systems/{name} (the alert rules' system figures of the same names).
const std::vector<std::string>& runbookFigures();

/// Parses a runbook's text. `file` names it in errors, which are one line:
/// "FILE: step N: KEY: what is wrong" (or "FILE: KEY: ..." for the top level),
/// code "invalid". Every step is checked; nothing about the controller is.
[[nodiscard]] Result<Runbook> parseRunbook(const std::string& text, const std::string& file);

}  // namespace pso::cli
