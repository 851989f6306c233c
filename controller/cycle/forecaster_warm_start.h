#pragma once

// Warm starts of the forecast models from the store: a system whose model
// has learned nothing (new to the controller, or with no saved state) learns
// its stored demand at the cycle step before its first decision, so history
// imported with `psoctl import` or kept from an earlier run makes its
// forecasts seasonal from the first cycle (docs/design-notes.md, "Warm start
// from stored history"); and catch-ups: a model loaded from a state saved
// some cycles before the stop learns the stored steps since, so the state is
// a checkpoint and the stored samples its log (docs/design-notes.md, "Engine
// state by system").

#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "controller/engine/decision_engine.h"
#include "controller/store/records.h"
#include "controller/store/telemetry_store.h"

namespace pso::controller::cycle {

/// The mean of `samples` per step for `steps` steps of `step_ms` ending at
/// `end_ms`, oldest first: step i covers (end_ms - (steps - i) x step_ms,
/// end_ms - (steps - 1 - i) x step_ms], as a cycle observes the interval since
/// the previous cycle. A step without a finite sample is NaN (a gap, never a
/// zero). `samples` in time order; those outside the steps are ignored.
std::vector<double> stepMeans(const std::vector<store::Sample>& samples, int64_t end_ms,
                              int64_t step_ms, std::size_t steps);

/// Gives each system's forecast model its stored history once per model.
class ForecasterWarmStart {
 public:
  /// For each of `systems` whose model this object has not met before (a
  /// system new to it, or whose engine::DecisionEngine::modelEpoch() changed
  /// since: a loaded state, or a fresh model for a changed warm-up): a model that has
  /// learned no value (engine.needsHistory()) gets its `metric` samples of
  /// the engine::DecisionEngine::warmStartSteps() steps before the step
  /// ending at now_ms (the step the cycle observes itself) as per-step means
  /// through engine.warmStart(); a model loaded from a saved state older
  /// than a step gets the steps since (engine.catchUpSteps()) through
  /// engine.catchUp(), steps without samples as gaps. One read per system.
  /// A model is considered once, whatever it finds: a failed read is logged
  /// and the model goes on from where it was. Returns the systems that
  /// learned in this call.
  std::size_t warm(store::TelemetryStore& store, engine::DecisionEngine& engine,
                   const std::vector<engine::SystemObservation>& systems, const std::string& metric,
                   int64_t now_ms);

 private:
  std::map<std::string, uint64_t> met_;  ///< system -> the model epoch met
};

}  // namespace pso::controller::cycle
