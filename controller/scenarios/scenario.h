#pragma once

// Education scenarios: every decision cycle becomes a versioned JSON document
// (docs/architecture.md section 5) with the keys
//   id, schema_version, cycle_id, time, systems, situation, forecasts,
//   candidates, directives, rationale, reactive_baseline, events, level,
//   outcome, questions
// plus ts_ms (epoch ms of `time`), mode, step_s, quiet and unchanged (systems
// covered as an earlier scenario describes them, DescribedSystems), and
// systems_left_out / directives_left_out when it counts what it does not
// describe. Per-system sections
// (situation, forecasts, candidates, rationale, reactive_baseline) are objects
// keyed by system name; rationale[s] also carries the decision's numbers
// (rule, guardrails, current/recommended/desired replicas, dispatch).
// The live controller and `psoctl simulate --record` build them with the same
// code.

#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <unordered_map>
#include <vector>

#include "common/result.h"
#include "controller/engine/types.h"
#include "controller/store/store.h"

namespace pso::controller::scenarios {

/// 2: rationale[s].facts, reactive_baseline[s].facts and forecasts[s].provenance
/// carry the engine's typed facts; questions' options carry their claims.
/// 3: `unchanged` names the systems the cycle covers without describing them
/// again, each with the scenario that describes them (DescribedSystems).
/// Documents of versions 1 and 2 still load (buildLesson()) for export.
inline constexpr int kScenarioSchemaVersion = 3;

/// Trigger events (docs/architecture.md section 5).
inline constexpr const char* kEventScalingExecuted = "scaling_executed";
inline constexpr const char* kEventBottleneckPrevented = "bottleneck_prevented";
inline constexpr const char* kEventCoordinationOptimized = "coordination_optimized";
inline constexpr const char* kEventWorkflowEnhanced = "workflow_enhanced";

/// Learning levels, from the simplest.
inline constexpr const char* kLevelFoundation = "foundation";
inline constexpr const char* kLevelAdvancedOptimization = "advanced_optimization";
inline constexpr const char* kLevelSystemIntegration = "system_integration";
inline constexpr const char* kLevelEnterpriseCoordination = "enterprise_coordination";
/// The four levels in teaching order.
const std::vector<std::string>& scenarioLevels();
/// The four trigger events (kEvent*), in the order above.
const std::vector<std::string>& scenarioEvents();

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

/// What the documents of earlier cycles described, so that a cycle's document
/// describes only what changed. A system whose teaching situation is the same
/// as when a document described it (the same counts, rule, guardrails,
/// holds, alerts, coordination, bottleneck, forecast model, directives and
/// spec; demand and forecast numbers aside, which the cycle record keeps) is
/// named under the document's `unchanged` with that document's id instead of
/// being described again, for at most kDescribeAgainAfterMs. The last
/// kSituationsPerSystem different situations of a system are remembered, so
/// one whose recommendation moves back and forth between two counts with
/// the noise is described once for each. A quiet fleet's documents then cost
/// bytes a system, not kilobytes.
///
/// One instance follows one sequence of cycles (the controller's, or one
/// replay's), in time order; a restart starts empty and describes every
/// system once more. Not thread-safe.
class DescribedSystems {
 public:
  /// An unchanged system is described again after this long, so a document
  /// never points more than an hour back.
  static constexpr int64_t kDescribeAgainAfterMs = 3600 * 1000;
  /// Different situations remembered per system; a new one replaces the
  /// one described longest ago.
  static constexpr std::size_t kSituationsPerSystem = 4;

  /// The id of the scenario that last described `system` with `signature`,
  /// if that was less than kDescribeAgainAfterMs before `now_ms` and no more
  /// than kSituationsPerSystem - 1 other situations of it were described since.
  const std::string* unchangedSince(const std::string& system, const std::string& signature,
                                    int64_t now_ms) const;
  /// Records that `scenario_id` (at `now_ms`) describes `system` with
  /// `signature`.
  void described(const std::string& system, std::string signature, const std::string& scenario_id,
                 int64_t now_ms);
  /// Forgets what no document may point at any more (described over
  /// kDescribeAgainAfterMs before `now_ms`): systems that left the fleet do
  /// not stay here.
  void forgetBefore(int64_t now_ms);
  std::size_t size() const { return by_system_.size(); }

 private:
  struct Entry {
    std::string signature;
    std::string scenario_id;
    int64_t ts_ms = 0;
  };
  /// Per system, at most kSituationsPerSystem entries of different signatures.
  std::unordered_map<std::string, std::vector<Entry>> by_system_;
};

/// The id of the scenario recorded for a cycle.
inline std::string scenarioIdForCycle(const std::string& cycle_id) {
  return "s-" + cycle_id;
}

/// Builds the scenario document of one cycle, with events, level and questions.
/// Events and level come from the decisions' typed facts (engine DecisionFacts),
/// never from their sentences.
///
/// Events: scaling_executed when a directive of the cycle is pending, sent or
/// applied (or, without directive records, a decision is to be dispatched and
/// changes the count); coordination_optimized when a decision carries a
/// dependency or pool effect (recorded only when it changed a plan);
/// workflow_enhanced when there are workflow notes or an operator/alert
/// directive. bottleneck_prevented is never set here (see fillOutcome).
///
/// Level: enterprise_coordination with >= 3 acting systems, a pool effect or a
/// predicted pool shortage; system_integration with a dependency effect or
/// when an acting system has or is a declared dependency;
/// advanced_optimization when a decision planned by a predictive rule (not
/// replaced by an operator hold) differs from the HPA rule's count;
/// foundation otherwise. A system "acts" when its desired count differs from
/// its current one or it has a directive in the cycle.
///
/// A quiet cycle (no change, no directive, no note) gets a compact document:
/// every key present, history trimmed, at most one question.
///
/// With `described`, a system unchanged since an earlier document described
/// it is named under `unchanged` (name -> that scenario's id) instead, and
/// `described` learns what this document describes. Without it every system
/// covered is described.
///
/// The reactive baseline's "why" and the questions are written from the
/// lesson of the document (lesson.h, questions.h), so every key is computed
/// from the numbers the lesson shows.
nlohmann::json buildScenario(const CycleContext& context, DescribedSystems* described = nullptr);

/// True when the document describes `system` or names it unchanged.
bool coversSystem(const nlohmann::json& scenario, const std::string& system);

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
///
/// Per system, every demand sample in (ts, ts + horizon] is compared with the
/// forecast step it falls in: MAE against the point forecast, the share inside
/// [lo, hi], the first time above hi or below lo. The forecast "held" when that
/// share is at least max(0.5, coverage - 0.1). Ready capacity at time t is
/// min(replicas at t, replicas at t - warm-up) x capacity per replica (a
/// launched replica serves only after its warm-up), starting from the
/// situation's ready count; overload = any demand above it.
/// bottleneck_prevented is added when, for some system, a bottleneck was
/// predicted, a scale-up directive for it was applied, demand was observed and
/// no overload occurred; calling again recomputes (the event is removed when
/// the evidence is gone). outcome.got_lucky lists what turned out well without
/// the plan earning it: demand above the upper bound absorbed by headroom, or a
/// predicted bottleneck that did not happen although no capacity was added.
/// Sets outcome.filled = true.
void fillOutcome(nlohmann::json& scenario, const ObservedOutcome& observed);

}  // namespace pso::controller::scenarios
