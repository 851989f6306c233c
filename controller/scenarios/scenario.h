#pragma once

// Education scenarios: every decision cycle becomes a versioned JSON document
// (ARCHITECTURE.md section 5) with the keys
//   id, schema_version, cycle_id, time, systems, situation, forecasts,
//   candidates, directives, rationale, reactive_baseline, events, level,
//   outcome, questions.
// The live controller and `psoctl simulate --record` build them with the same
// code.

#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "common/result.h"
#include "controller/engine/types.h"
#include "controller/store/store.h"

namespace pso::controller::scenarios {

inline constexpr int kScenarioSchemaVersion = 1;

/// What a cycle saw and did, as the scenario builder needs it.
struct CycleContext {
  std::string cycle_id;
  int64_t ts_ms = 0;
  std::string mode = "act";  ///< act | forecast-only
  double step_s = 15.0;
  engine::CycleDecisions decisions;
  std::map<std::string, engine::SystemSpec> specs;  ///< by system name
  /// Recent demand history per system (the window the engine saw), oldest first.
  std::map<std::string, std::vector<store::Sample>> history;
  /// Directives issued in this cycle (engine, operator, alert), with their status.
  std::vector<store::DirectiveRecord> directives;
  /// Operator or rule actions that changed the plan in this cycle, in words
  /// (e.g. "operator hold on web: 5 replicas until 12:00:00").
  std::vector<std::string> workflow_notes;
};

/// Builds the scenario document of one cycle, with events, level and questions.
nlohmann::json buildScenario(const CycleContext& context);

/// The store row for a scenario document (indexes id, time, level, events, systems).
store::ScenarioRecord toRecord(const nlohmann::json& scenario);

/// What actually happened after a scenario's cycle, for outcome backfill.
struct ObservedOutcome {
  /// Actual demand per system over the forecast horizon, oldest first.
  std::map<std::string, std::vector<store::Sample>> demand;
  /// Replica counts per system over the same window.
  std::map<std::string, std::vector<store::Sample>> replicas;
  /// Final state of the cycle's directives.
  std::vector<store::DirectiveRecord> directives;
};

/// Fills the "outcome" of a scenario document: actual demand against forecast
/// and interval, forecast error, whether overload occurred, directive results, a
/// verdict; adds "bottleneck_prevented" only with that evidence.
void fillOutcome(nlohmann::json& scenario, const ObservedOutcome& observed);

}  // namespace pso::controller::scenarios
