#include "tests/fuzz/controller_fuzz_targets.h"

#include <exception>
#include <set>
#include <string>

#include "controller/config/controller_config.h"
#include "controller/engine/alert_rules.h"
#include "controller/engine/decision_engine.h"
#include "tests/fuzz/one_line.h"

namespace pso::controller::fuzz {

using pso::fuzz::isOneLine;

bool checkAlertCondition(std::string_view input) {
  try {
    auto parsed = engine::AlertCondition::parse(std::string(input));
    if (!parsed) {
      return parsed.error().code == "invalid" && !parsed.error().message.empty();
    }
    auto again = engine::AlertCondition::parse(parsed->text());
    return again && again->metric == parsed->metric && again->op == parsed->op &&
           again->threshold == parsed->threshold;
  } catch (const std::exception&) {
    return false;
  }
}

bool checkControllerConfig(std::string_view input) {
  try {
    auto parsed = parseControllerConfig(std::string(input), "fuzz.yaml");
    if (!parsed) {
      return isOneLine(parsed.error().message) &&
             parsed.error().message.find("fuzz.yaml") != std::string::npos;
    }
    if (parsed->cycle_interval.count() <= 0) return false;
    std::set<std::string> names;
    for (const auto& alert : parsed->alerts) {
      if (alert.name.empty() || !names.insert(alert.name).second) return false;
      if (!engine::AlertCondition::parse(alert.when)) return false;
      if (alert.step <= 0 || alert.hysteresis < 0) return false;
    }
    const auto& w = parsed->webhooks;
    return w.timeout.count() > 0 && w.max_backoff.count() > 0 && w.give_up_after.count() > 0;
  } catch (const std::exception&) {
    return false;
  }
}

namespace {

engine::EngineSettings fuzzEngineSettings() {
  engine::EngineSettings settings;
  settings.step_s = 15.0;
  return settings;
}

void decideStep(engine::DecisionEngine& engine, int64_t now_ms, double demand) {
  engine::CycleInput input;
  input.now_ms = now_ms;
  engine::SystemObservation observation;
  observation.system = "web";
  observation.demand = demand;
  observation.current_replicas = 3;
  input.systems.push_back(observation);
  engine.decide(input);
}

}  // namespace

bool checkEngineState(std::string_view input) {
  try {
    const std::string state(input);
    for (int reader = 0; reader < 3; ++reader) {
      engine::DecisionEngine engine(fuzzEngineSettings());
      engine::SystemSpec web;
      web.name = "web";
      web.capacity_per_replica = 100;
      web.max_replicas = 20;
      engine.upsertSystem(web);
      for (int t = 0; t < 6; ++t) decideStep(engine, t * 15'000, 150.0 + 10 * t);
      const std::string before = engine.saveState();
      Status loaded = reader == 0   ? engine.loadState(state)
                      : reader == 1 ? engine.loadFleetState(state)
                                    : engine.loadSystemState("web", state);
      if (!loaded.ok()) {
        if (loaded.error().code != "invalid_state" || !isOneLine(loaded.error().message)) {
          return false;
        }
        if (engine.saveState() != before) return false;
        continue;
      }
      decideStep(engine, 6 * 15'000, 210.0);
      engine::DecisionEngine fresh(fuzzEngineSettings());
      const std::string saved = engine.saveState();
      if (!fresh.loadState(saved).ok() || fresh.saveState() != saved) return false;
    }
    return true;
  } catch (const std::exception&) {
    return false;
  }
}

}  // namespace pso::controller::fuzz
