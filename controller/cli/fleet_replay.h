#pragma once

// psoctl simulate --db: the fleet replay and what-if (docs/operations.md
// "Fleet replay and what-if"). Every system's stored demand is laid on the
// controller's cycle step and replayed through one engine as the controller
// decides (cycle::replayFleet: the engine's replay with the holds, warm
// starts and seasonal profiles the live cycle reads from this database),
// beside what the fleet
// actually did over the same window, recomputed from the stored cycles with
// the same accounting (engine::ReplicaLedger).

#include <cstdint>
#include <string>
#include <vector>

#include "common/result.h"
#include "controller/engine/replay.h"

namespace pso::cli {

/// What a fleet replay reads and changes.
struct FleetReplayArgs {
  std::string db;
  std::string since;              ///< a duration before --until ("7d") or a timestamp
  std::string until;              ///< a timestamp; empty: now
  std::string step;               ///< a duration; empty: the config's cycle interval (15s)
  std::string config;             ///< controller.yaml: pools, engine settings, cycle interval
  std::vector<std::string> sets;  ///< "systems.<name>.<field>=v" or "engine.<key>=v"
  std::string policy = "predictive";
};

/// One system's figures: the replay, and what the fleet did.
struct FleetSystemFigures {
  std::string name;
  controller::engine::SimulationSummary replay;
  controller::engine::SimulationSummary actual;
  bool actual_known = false;  ///< at least one stored cycle decided for it in the window
  int64_t samples = 0;        ///< stored demand samples in the window
};

/// A fleet replay's result, systems ordered by name.
struct FleetReplayReport {
  int64_t since_ms = 0;
  int64_t until_ms = 0;
  int64_t step_ms = 0;
  int64_t steps = 0;   ///< grid steps per system
  int64_t cycles = 0;  ///< stored cycles read in the window
  std::vector<FleetSystemFigures> systems;
  controller::engine::SimulationSummary replay_total;
  controller::engine::SimulationSummary actual_total;  ///< of the systems with actual figures
  double replay_seconds = 0.0;                         ///< time replayFleet() took
};

/// Reads the database, applies --config and --set and replays. Errors are one
/// line: a missing or foreign database, an unreadable window, an unknown or
/// bad --set, an empty window (no system, no demand sample).
[[nodiscard]] Result<FleetReplayReport> replayFleet(const FleetReplayArgs& args);

/// Runs `psoctl simulate --db`: the table (or JSON); returns the exit code.
int runFleetReplayCommand(const FleetReplayArgs& args, bool json_output);

}  // namespace pso::cli
