#include "controller/cycle/cycle_inputs.h"

#include <vector>

namespace pso::controller::cycle {

Status CycleInputs::prepare(store::Store& store, engine::DecisionEngine& engine,
                            engine::CycleInput& input) {
  std::vector<std::string> names;
  names.reserve(input.systems.size());
  for (const auto& observation : input.systems) names.push_back(observation.system);
  auto holds = store.activeHolds(names, input.now_ms);
  if (!holds) return makeError("store", "reading holds: " + holds.error().message);
  for (auto& observation : input.systems) {
    observation.hold.reset();
    auto hold = holds->find(observation.system);
    if (hold == holds->end() || hold->second.replicas < 0) continue;
    const auto& held = hold->second;
    observation.hold = engine::OperatorHold{held.replicas, held.hold_until_ms, held.reason};
  }
  // Before the profiles: a first profile replays the history a model keeps.
  warm_start_.warm(store, engine, input.systems, kDemandMetric, input.now_ms);
  seasonal_profiles_.refresh(store, engine, input.systems, kDemandMetric, input.now_ms);
  return Status();
}

}  // namespace pso::controller::cycle
