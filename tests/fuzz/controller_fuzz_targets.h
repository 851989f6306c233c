#pragma once

// The checks behind the fuzz harnesses of the controller's parsers of outside
// input (its configuration file, alert conditions, the engine state it reads
// back from its database), shared by the libFuzzer
// executables (built with PSO_FUZZ) and by controller_fuzz_corpus_test, which
// runs every seed through them in each build.

#include <string_view>

namespace pso::controller::fuzz {

/// engine::AlertCondition::parse over `input`. Holds when nothing throws, a
/// refusal is one line with code "invalid", and a parsed condition's text()
/// parses back to the same metric, operator and threshold.
bool checkAlertCondition(std::string_view input);

/// parseControllerConfig() over `input` as a controller.yaml. Holds when
/// nothing throws, a refusal is one line naming the origin, and an accepted
/// config has a positive cycle interval, alert rules with unique non-empty
/// names whose conditions parse, and webhook settings with positive times.
bool checkControllerConfig(std::string_view input);

/// The engine state readers over `input`: DecisionEngine::loadState,
/// loadFleetState and loadSystemState("web", ...) into an engine that has
/// learned a few steps of "web". Holds when nothing throws; a refusal has code
/// "invalid_state", is one line and leaves the engine's saved state as it
/// was; and after an accepted state the engine decides a step and its own
/// saved state loads back into a fresh engine.
bool checkEngineState(std::string_view input);

}  // namespace pso::controller::fuzz
