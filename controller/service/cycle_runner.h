#pragma once

// The live decision cycle: snapshot the store, run the decision engine, dispatch
// and record directives, record the cycle and its scenario, backfill outcomes of
// earlier scenarios. Also accepts operators' directives, which the engine then
// honours as holds.

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "common/metrics.h"
#include "common/result.h"
#include "controller/config/controller_config.h"
#include "controller/config/engine_inputs.h"
#include "controller/cycle/cycle_inputs.h"
#include "controller/engine/decision_engine.h"
#include "controller/engine/replay.h"
#include "controller/scenarios/scenario.h"
#include "controller/service/alerting.h"
#include "controller/service/ingest.h"
#include "controller/store/store.h"

namespace pso::controller::service {

/// What one run of the cycle did.
struct CycleReport {
  store::CycleRecord cycle;
  engine::CycleDecisions decisions;
  /// Directives created by this cycle: "pending" (handed to the dispatcher) in
  /// act mode, "not_dispatched" in forecast-only mode.
  std::vector<store::DirectiveRecord> directives;
  std::string scenario_id;
  /// Earlier scenarios whose outcome this cycle filled in.
  std::size_t outcomes_filled = 0;
  /// Webhook notifications the alert rules queued after this cycle.
  std::size_t notifications_queued = 0;
  /// Where the cycle's time went, phase by phase in the order run ("snapshot",
  /// "decide", "record", "scenario", "outcomes", "alerts", "state", and
  /// "rollup" when the store's upkeep runs in the cycle: without start()), in
  /// ms; also published as pso_cycle_phase_duration_ms{phase}.
  std::vector<std::pair<std::string, double>> phases_ms;
};

/// An operator's request, as POST /api/v1/directives carries it.
struct OperatorDirectiveRequest {
  std::string system;
  std::string action = "scale";
  int64_t replicas = -1;
  std::string reason;
  int64_t hold_ms = 0;  ///< keep this count for so long; 0 = no hold
};

/// The engine settings the controller's configuration implies
/// (config/engine_inputs.h).
using controller::engineSettingsFrom;

/// The per-system summary of a decision stored in CycleRecord::decisions_json
/// and served by /api/v1/cycles:
/// {"system","demand","forecast_point","forecast_hi","forecast_lo","forecast_model",
///  "lead_steps","current","recommended","desired","reactive","rule","guardrails",
///  "guardrail_effects":[{"kind","from","to"}] (engine::guardrailCode, in the
///  order applied),"dispatch","rationale","bottleneck":{"kind","eta","steps_ahead",
///  "predicted_demand","capacity"}|null}. Forecast values are those at the
/// decision's lead time; absent numbers are null. Appends the document to
/// `out` as nlohmann::json's dump() would write it, keys sorted.
void appendDecisionSummary(std::string& out, const engine::SystemDecision& decision);

/// Runs the decision cycle every cycle_interval on its own thread, and on demand
/// through runCycleOnce(). Owns the long-lived DecisionEngine; its state is saved
/// to the store after the first cycle, then after a cycle at least a minute
/// (of cycle time) after the last save, and at stop(), and loaded at start: a
/// crash loses at most a minute of what the models learned (at 10,000 systems
/// a save takes about 400 ms, too much for every 15 s cycle). After each
/// cycle, the store's upkeep (rollups, retention, then compaction of records
/// older than compact_after) runs on a maintenance thread of its own once
/// started, at a lower CPU priority than ingest and the cycle: at 10,000
/// agents a rollup pass takes a core for seconds and a compaction block
/// longer than a cycle interval. Without start() it runs in the cycle, whose
/// report then has a "rollup" phase. Thread-safe.
class CycleRunner {
 public:
  CycleRunner(const ControllerConfig& config, store::Store& store, DirectiveDispatcher& dispatcher,
              common::MetricsRegistry& metrics);
  ~CycleRunner();
  CycleRunner(const CycleRunner&) = delete;
  CycleRunner& operator=(const CycleRunner&) = delete;

  /// Loads the saved engine state (a state that does not load is logged and the
  /// engine starts fresh) and the alert states, and starts the timer thread;
  /// the first cycle runs one interval after start; starts the maintenance
  /// thread.
  [[nodiscard]] Status start();
  /// Stops the timer and maintenance threads (a block being written is
  /// finished first) and saves the engine state. Idempotent.
  void stop();

  /// Runs one full cycle as of `now_ms` (wall-clock epoch ms). Observed demand
  /// is the mean of the "demand" samples since the previous cycle (or one
  /// interval back for the first). A system met for the first time whose
  /// model has learned nothing (no saved state) first learns its stored
  /// demand before that, per cycle interval (ForecasterWarmStart). The scale
  /// requests of the alert rules firing after the previous cycle join the
  /// engine's input; after the decisions, the alert rules are evaluated.
  /// Errors are store failures.
  [[nodiscard]] Result<CycleReport> runCycleOnce(int64_t now_ms);

  /// Validates and stores an operator directive, hands it to the dispatcher
  /// (also in forecast-only mode) and returns the stored record. Action
  /// "release" instead ends the system's hold in force: it is recorded
  /// (status applied, hold_until now), never dispatched. Error codes:
  /// "unknown_system", "out_of_bounds", "no_hold" (a release without a
  /// hold), "invalid" (bad action or reason), "store".
  [[nodiscard]] Result<store::DirectiveRecord> submitOperatorDirective(
      const OperatorDirectiveRequest& request, int64_t now_ms);

  /// Waits until the maintenance thread has done the upkeep of every cycle
  /// run so far; true at once without a running thread. False when it is
  /// still busy after `timeout`.
  [[nodiscard]] bool awaitMaintenance(std::chrono::milliseconds timeout);

  /// The engine's current forecast of a system for steps 1..horizon (one step =
  /// one cycle interval after the last cycle), learning nothing; nullopt for a
  /// system no cycle has included yet.
  std::optional<engine::Forecast> forecast(const std::string& system, int horizon);
  /// Wall-clock ms of the last cycle (the forecast's origin); 0 before the first.
  int64_t lastCycleMs();

  const engine::EngineSettings& settings() const { return settings_; }

  /// Switches between forecast-only (decide and record, dispatch nothing) and
  /// act at run time (POST /api/v1/mode); the next cycle decides in the new
  /// mode. The configured mode is what a restart comes back to.
  void setForecastOnly(bool forecast_only);
  /// "forecast-only" or "act", as now in force.
  std::string mode();

  /// Called (on the cycle's thread) after a cycle that queued notifications:
  /// the webhook outbox's wake-up. Set before start().
  void onNotificationsQueued(std::function<void()> callback) {
    on_notifications_ = std::move(callback);
  }

 private:
  struct Desired {
    int64_t replicas = 0;
    int64_t since_ms = 0;
  };

  void loop();
  int64_t currentReplicas(const store::SystemRecord& system) const;
  // Serving this cycle: `launched` counted through the system's ReadyWindow,
  // as a replay counts it (engine/replay.h).
  int64_t readyReplicas(const engine::SystemSpec& spec, int64_t launched);
  std::size_t backfillOutcomes(int64_t now_ms, int64_t horizon_ms);
  /// Writes the rollup buckets completed by now_ms and, once an hour, applies
  /// the retention of samples and rollups. Failures are logged and counted.
  void rollUpAndPrune(int64_t now_ms);
  /// Rewrites cycles and scenarios older than compact_after (as of now_ms)
  /// into compact blocks, whole hours at a time, at most max_blocks of each
  /// (<= 0: all), stopping early when stop() is asked. Failures are logged
  /// and counted.
  void compactRecords(int64_t now_ms, int64_t max_blocks);
  /// The maintenance thread: rolls up, prunes and compacts as of the time
  /// each cycle hands it (the latest, when cycles outrun it).
  void maintenanceLoop();
  /// Sets the per-system and per-agent gauges of /metrics from a cycle's figures.
  void publishFleetGauges(const AlertFigures& figures);
  /// Loads the saved engine state: the fleet-wide part, then each system's
  /// (a system whose part does not load starts with a fresh model).
  Status loadEngineState();
  /// Saves the engine state of `systems` that is due: each system's part
  /// about once per kStateSaveIntervalMs of cycle time, a slice of the fleet
  /// per cycle (the longest unsaved first), so no cycle writes the whole
  /// fleet's; with `everything`, every system's part at once (on stop).
  void saveEngineState(const std::vector<std::string>& systems, int64_t now_ms, bool everything);

  ControllerConfig config_;
  store::Store& store_;
  DirectiveDispatcher& dispatcher_;
  common::MetricsRegistry& metrics_;
  engine::EngineSettings settings_;

  std::mutex mutex_;  // one cycle or operator directive at a time
  engine::DecisionEngine engine_;
  std::optional<int64_t> last_cycle_ms_;
  // The count most recently asked of each system, until the agent reports one.
  std::map<std::string, Desired> last_desired_;
  int64_t operator_seq_ = 0;
  // Operator directives since the last cycle, recorded in its scenario.
  std::vector<store::DirectiveRecord> operator_since_last_;
  // The counts launched in the last cycles, by system: what serves now.
  std::map<std::string, engine::ReadyWindow> ready_windows_;
  // What earlier scenarios described: a scenario describes what changed.
  scenarios::DescribedSystems described_;
  int64_t last_prune_ms_ = 0;
  std::optional<int64_t> last_state_saved_ms_;  // of the fleet-wide part
  // When each system's part of the engine state was last saved.
  std::map<std::string, int64_t> system_state_saved_ms_;
  AlertRuleSet alerts_;
  // Holds, warm starts of new models and seasonal profiles from the rollups:
  // the store reads before each decision, shared with psoctl simulate.
  cycle::CycleInputs inputs_;
  std::function<void()> on_notifications_;

  std::mutex loop_mutex_;
  std::condition_variable loop_cv_;
  bool stopping_ = false;
  std::thread thread_;
  // The last cycle's time, handed to the maintenance thread (under loop_mutex_).
  std::optional<int64_t> maintain_as_of_ms_;
  // True while the maintenance thread works on a cycle's upkeep (under loop_mutex_).
  bool maintaining_ = false;
  // From start() to stop(): cycles hand their upkeep to the thread (under
  // loop_mutex_); otherwise they run it themselves.
  bool maintenance_running_ = false;
  std::thread maintenance_thread_;
};

}  // namespace pso::controller::service
