#pragma once

// How the controller's configuration and the systems its agents announce
// become the decision engine's inputs: the one place the live controller
// (service/cycle_runner.cpp) and the fleet replay (psoctl simulate --db) both
// take them from, so a replay decides on what the controller decides on.

#include <string>
#include <vector>

#include "controller/config/controller_config.h"
#include "controller/engine/types.h"
#include "protocol/messages.h"

namespace pso::controller {

/// The engine settings the controller's configuration implies (the step is
/// the cycle interval; the policy is predictive).
engine::EngineSettings engineSettingsFrom(const ControllerConfig& config);

/// The shared-capacity pools of the configuration, in its order.
std::vector<engine::PoolSpec> poolsFrom(const ControllerConfig& config);

/// A system as the engine sees it, from what its agent announced in its hello.
engine::SystemSpec specFrom(const std::string& name, const protocol::SystemInfo& info);

}  // namespace pso::controller
