#pragma once

// `psoctl simulate --record DB`: every simulated cycle of a trace becomes an
// education scenario in a database of the controller's schema, built by the
// same scenarios::buildScenario the live controller uses, with its outcome
// backfilled from the trace's later values. Trainers then export lessons and
// quizzes from it (`psoctl scenarios export --db DB ...`) without a fleet.

#include <cstdint>
#include <map>
#include <ostream>
#include <string>
#include <vector>

#include "common/result.h"
#include "controller/engine/types.h"

namespace pso::cli {

/// What the replay of one trace is made of (as `psoctl simulate` sets it up).
struct ReplayInput {
  std::vector<double> demand;  ///< one value per step, NaN for a gap
  double step_s = 60.0;
  int64_t start_ms = 0;                 ///< time of step 0
  controller::engine::SystemSpec spec;  ///< spec.name names the system in the lessons
  controller::engine::EngineSettings settings;
  int64_t initial_replicas = 1;
};

struct RecordSummary {
  std::string run_id;  ///< "sim<N>": scenario ids are s-sim<N>-<step>
  std::size_t scenarios = 0;
  std::size_t quiet = 0;
  std::size_t questions = 0;
  std::size_t outcomes_filled = 0;
  std::size_t forecasts_missed = 0;  ///< outcome says the forecast did not hold
  std::map<std::string, std::size_t> by_level;
  std::map<std::string, std::size_t> by_event;
};

/// Replays the trace as the controller decides (cycle::replayTrace, the same
/// decisions `psoctl simulate` prints) and records one scenario per step into
/// the database at `db_path` (created and migrated when missing), in batched
/// transactions. Each run takes a fresh run number from the database's cycle
/// sequence, so several traces can be recorded into one database.
///
/// Per step: the history is the trace up to and including the step (the
/// window the engine saw); a decision that changes the count and is to be
/// dispatched becomes an engine directive with status "applied" (the replay
/// applies every decision, ready after the warm-up); the outcome is filled
/// from the trace values in (t, t + horizon] and the launched replica counts
/// desired(u - 1) at each later step u, so a predicted bottleneck counts as
/// prevented only when the scale-up was followed by no overload. Steps at the
/// end of the trace are judged on the values that exist (the verdict gives the
/// sample count; with none it says the forecast cannot be judged).
[[nodiscard]] Result<RecordSummary> recordSimulation(const std::string& db_path,
                                                     const ReplayInput& input);

/// The system name lessons use for a trace: its file stem with anything but
/// [A-Za-z0-9._-] replaced by '_' ("traces/web api.csv" -> "web_api").
std::string systemNameForTrace(const std::string& trace_path);

/// `psoctl simulate --record DB`: names the system after the trace file,
/// records, and prints one line (a JSON object with --json) on `out`.
/// Returns the exit code: 0, or 1 with a one-line reason on stderr.
int runRecordCommand(const std::string& db_path, const std::string& trace_path, ReplayInput input,
                     bool json_output, std::ostream& out);

}  // namespace pso::cli
