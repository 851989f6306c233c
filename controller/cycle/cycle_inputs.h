#pragma once

// What a decision cycle reads from the store between its snapshot and the
// engine's decide(): the operator holds in force, the stored history a model
// new to the engine learns first (ForecasterWarmStart), and each system's
// seasonal shape from its hourly rollups (SeasonalProfiles). The live
// controller (service::CycleRunner) and `psoctl simulate` (cycle/replay.h:
// a trace in a throw-away store, or the controller's own database) both run
// this one class, so a replay decides as the controller would.

#include <cstdint>
#include <string>

#include "common/result.h"
#include "controller/cycle/forecaster_warm_start.h"
#include "controller/cycle/seasonal_profiles.h"
#include "controller/engine/decision_engine.h"
#include "controller/store/store.h"

namespace pso::controller::cycle {

/// The metric every system's load is stored and read under.
inline constexpr const char* kDemandMetric = "demand";

/// Keeps what it has read across cycles (which systems were warmed, when each
/// profile was fitted); one per engine. Not thread-safe: the cycle calls it.
class CycleInputs {
 public:
  /// For the systems of `input` (each already known to `engine`): sets the
  /// operator hold in force at input.now_ms, or clears it; warms models that
  /// learned nothing (ForecasterWarmStart::warm); refreshes due seasonal
  /// profiles (SeasonalProfiles::refresh). Errors: the holds could not be
  /// read (code "store"); the input is then unchanged and nothing was learned.
  [[nodiscard]] Status prepare(store::Store& store, engine::DecisionEngine& engine,
                               engine::CycleInput& input);

 private:
  ForecasterWarmStart warm_start_;
  SeasonalProfiles seasonal_profiles_;
};

}  // namespace pso::controller::cycle
