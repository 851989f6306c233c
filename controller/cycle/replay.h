#pragma once

// Replays as the live controller decides (`psoctl simulate`): the engine's
// replay loop (engine::simulateFleet) with, before every step's decision,
// what the controller's cycle reads from its store (CycleInputs: holds, warm
// starts, seasonal profiles from the hourly rollups). A fleet replay reads
// the controller's own database; a trace is first stored as a system's demand
// in a throw-away SQLite store, so its seasons come from rollups exactly as a
// live controller's do.

#include <cstdint>
#include <vector>

#include "common/result.h"
#include "controller/engine/replay.h"
#include "controller/store/store.h"

namespace pso::controller::cycle {

/// engine::simulateFleet() of `fleet` with CycleInputs::prepare() reading
/// `store` before each step's decision (fleet.prepare is replaced). The store
/// is only read. Errors: a failed read (code "store").
[[nodiscard]] Result<engine::FleetReplayResult> replayFleet(
    store::Store& store, const engine::FleetReplay& fleet,
    const engine::FleetObserver& observer = {});

/// One system's demand, one value per step (NaN for a gap), replayed as the
/// controller would decide it: each value is stored as a `demand` sample of
/// spec.name at the middle of its step (step t covers the interval that ends
/// at start_ms + t x step_s), in a SQLite store in a new temporary directory;
/// the store is rolled up and replayFleet() runs against it; the directory
/// is removed before returning. The arguments are engine::simulate()'s;
/// start_ms is the trace's own time (a profile's day starts at midnight UTC).
/// Errors: the temporary store could not be made or written (code "io" or
/// "store").
[[nodiscard]] Result<engine::SimulationResult> replayTrace(
    const std::vector<double>& demand, double step_s, const engine::SystemSpec& spec,
    const engine::EngineSettings& settings, int64_t initial_replicas,
    const engine::SimulationObserver& observer, int64_t start_ms);

}  // namespace pso::controller::cycle
