#include "controller/service/cycle_runner.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <exception>
#include <limits>
#include <set>
#include <utility>

#include "common/clock.h"
#include "common/threads.h"
#include "controller/engine/wording.h"
#include "controller/scenarios/scenario.h"
#include "protocol/messages.h"

namespace pso::controller::service {

namespace {

using cycle::kDemandMetric;
constexpr const char* kHealthScoreMetric = "health_score";
// Per-system gauges in /metrics, each from the figure of the same meaning
// (alerting.h), and the agents' last-seen age.
constexpr std::pair<const char*, const char*> kFleetGauges[] = {
    {"pso_system_replicas", "Replicas the system's agent last reported running"},
    {"pso_system_desired_replicas", "The count the last decision asked for"},
    {"pso_system_demand", "Mean demand over the last cycle"},
    {"pso_system_forecast", "Forecast demand at the decision's lead time"},
    {"pso_system_forecast_upper", "Upper bound of the forecast interval at the lead time"},
    {"pso_system_health_score", "The system's latest health score (0-100)"},
    {"pso_agent_last_seen_seconds", "Seconds since the agent was last heard from"},
};
constexpr std::pair<const char*, const char*> kSystemGaugeFigures[] = {
    {"pso_system_replicas", "replicas"},
    {"pso_system_desired_replicas", "desired"},
    {"pso_system_demand", "demand"},
    {"pso_system_forecast", "forecast"},
    {"pso_system_forecast_upper", "forecast_hi"},
    {"pso_system_health_score", kHealthScoreMetric},
};
constexpr const char* kReplicasMetric = "replicas";
// The recent demand window recorded in each scenario (and the longest window
// one observation averages over).
constexpr int64_t kHistoryIntervals = 60;
constexpr std::size_t kHistorySamples = 60;
// Scenarios whose outcome one cycle fills in at most, so a backlog after a long
// outage is worked off over several cycles instead of stalling one.
constexpr int64_t kBackfillPerCycle = 20;
constexpr int64_t kPruneIntervalMs = 60LL * 60 * 1000;
// Cycle time between two saves of each system's engine state. A restart
// teaches each model the stored steps since its saved state (catch-up,
// ForecasterWarmStart), so an older state costs a longer catch-up, not lost
// learning. At 10,000 systems with a 4,096-step history (28 KB each) and a
// 15 s cycle, a cycle saves 250 systems, 7 MB.
constexpr int64_t kStateSaveIntervalMs = 10LL * 60 * 1000;
using cycle::kRollupDelayMs;
// The maintenance thread's nice value: rollups, retention and compaction
// give way to ingest and the cycle when the cores are busy (at 10,000 agents
// a rollup pass took a core of two for seconds and delayed acks behind it).
constexpr int kMaintenanceNice = 10;
// Directive reasons travel on the wire, whose strings are bounded.
constexpr std::size_t kMaxReasonBytes = 1024;

std::string truncated(std::string text, std::size_t limit) {
  if (text.size() > limit) text.resize(limit);
  return text;
}

Error storeError(const std::string& what, const Error& error) {
  return makeError("store", what + ": " + error.message);
}

AlertNotifyContext alertContext(const ControllerConfig& config) {
  AlertNotifyContext context;
  context.controller_id = config.id;
  context.dashboard_url = config.webhooks.dashboard_url;
  if (context.dashboard_url.empty()) {
    context.dashboard_url = (config.http_tls.enabled() ? "https://" : "http://") + config.http;
  }
  while (!context.dashboard_url.empty() && context.dashboard_url.back() == '/') {
    context.dashboard_url.pop_back();
  }
  return context;
}

// Logs a retention pass over one table; the rows removed, 0 when it failed.
int64_t logPruned(const char* table, common::Duration keep, const Result<int64_t>& pruned) {
  if (!pruned) {
    spdlog::error("pruning {} failed: {}", table, pruned.error().message);
    return 0;
  }
  if (pruned.value() > 0) {
    spdlog::info("pruned {} {} older than {}", pruned.value(), table, common::formatDuration(keep));
  }
  return pruned.value();
}

// The writers of appendDecisionSummary: each appends what nlohmann::json's
// dump() writes for the value (numbers through it, so every double reads as
// it always has).
void appendJsonString(std::string& out, const std::string& text) {
  out += nlohmann::json(text).dump();
}

void appendJsonNumberOrNull(std::string& out, double value) {
  out += std::isfinite(value) ? nlohmann::json(value).dump() : std::string("null");
}

}  // namespace

void appendDecisionSummary(std::string& out, const engine::SystemDecision& decision) {
  // Written field by field, keys in nlohmann's (sorted) order: at 10,000
  // systems building a document tree per decision took about 30 us each.
  const auto& f = decision.forecast;
  const auto lead = engine::leadStepIndex(decision);
  const auto at = [&](const std::vector<double>& values) {
    return lead && *lead < values.size() ? values[*lead] : std::nan("");
  };
  out += "{\"bottleneck\":";
  if (decision.bottleneck) {
    const auto& b = *decision.bottleneck;
    out += "{\"capacity\":";
    appendJsonNumberOrNull(out, b.capacity);
    out += ",\"eta\":";
    appendJsonString(out, common::formatIso8601(b.eta_ms));
    out += ",\"kind\":";
    appendJsonString(out, b.kind);
    out += ",\"predicted_demand\":";
    appendJsonNumberOrNull(out, b.predicted_demand);
    out += ",\"steps_ahead\":" + std::to_string(b.steps_ahead) + "}";
  } else {
    out += "null";
  }
  out += ",\"current\":" + std::to_string(decision.current_replicas);
  out += ",\"demand\":";
  appendJsonNumberOrNull(out, decision.demand);
  out += ",\"desired\":" + std::to_string(decision.desired_replicas);
  out += decision.dispatch ? ",\"dispatch\":true" : ",\"dispatch\":false";
  // The values that matter are the ones at the lead time: when capacity
  // launched now starts serving.
  out += ",\"forecast_hi\":";
  appendJsonNumberOrNull(out, at(f.hi));
  out += ",\"forecast_lo\":";
  appendJsonNumberOrNull(out, at(f.lo));
  out += ",\"forecast_model\":";
  if (f.model.empty()) {
    out += "null";
  } else {
    appendJsonString(out, f.model);
  }
  out += ",\"forecast_point\":";
  appendJsonNumberOrNull(out, at(f.point));
  // The typed effects beside the sentences, so clients (psoctl explain) read
  // the numbers instead of parsing the prose; in the order applied.
  out += ",\"guardrail_effects\":[";
  for (std::size_t i = 0; i < decision.facts.guardrails.size(); ++i) {
    const auto& effect = decision.facts.guardrails[i];
    if (i > 0) out += ',';
    out += "{\"from\":" + std::to_string(effect.from) + ",\"kind\":";
    appendJsonString(out, std::string(engine::guardrailCode(effect.kind)));
    out += ",\"to\":" + std::to_string(effect.to) + "}";
  }
  out += "],\"guardrails\":[";
  for (std::size_t i = 0; i < decision.guardrails.size(); ++i) {
    if (i > 0) out += ',';
    appendJsonString(out, decision.guardrails[i]);
  }
  out += "],\"lead_steps\":" + std::to_string(decision.lead_steps);
  out += ",\"rationale\":";
  appendJsonString(out, decision.rationale);
  out += ",\"reactive\":" + std::to_string(decision.reactive_replicas);
  out += ",\"recommended\":" + std::to_string(decision.recommended_replicas);
  out += ",\"rule\":";
  appendJsonString(out, decision.rule);
  out += ",\"system\":";
  appendJsonString(out, decision.system);
  out += '}';
}

CycleRunner::CycleRunner(const ControllerConfig& config, store::Store& store,
                         DirectiveDispatcher& dispatcher, common::MetricsRegistry& metrics)
    : config_(config),
      store_(store),
      dispatcher_(dispatcher),
      metrics_(metrics),
      settings_(engineSettingsFrom(config)),
      engine_(settings_),
      alerts_(config.alerts, alertContext(config), store, metrics) {
  // Shared capacity from the config; dependencies come with each system's spec.
  engine_.setPools(poolsFrom(config));
  metrics_.describe("pso_cycles_total", "counter", "Decision cycles completed");
  metrics_.describe("pso_cycle_errors_total", "counter", "Decision cycles that failed");
  metrics_.describe("pso_cycle_duration_ms", "gauge", "Duration of the last decision cycle");
  metrics_.describe("pso_cycle_phase_duration_ms", "gauge",
                    "Duration of each phase of the last decision cycle, by phase");
  metrics_.describe("pso_directives_total", "counter", "Directive status transitions, by status");
  metrics_.describe("pso_scenarios_total", "counter", "Scenarios recorded");
  metrics_.describe("pso_scenario_outcomes_total", "counter", "Scenario outcomes filled in");
  metrics_.describe("pso_rollup_errors_total", "counter", "Rollup passes that failed");
  metrics_.describe("pso_retention_pruned_total", "counter",
                    "Cycles, directives and scenarios removed by retention, by table");
  metrics_.describeHistogram("pso_cycle_duration_seconds", "Durations of decision cycles",
                             {0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30});
  for (const auto& [name, help] : kFleetGauges) metrics_.describe(name, "gauge", help);
  metrics_.describe("pso_rollup_duration_ms", "gauge",
                    "Duration of the last rollup pass that wrote rows");
  metrics_.describe("pso_compacted_records_total", "counter",
                    "Cycles and scenarios rewritten into compact blocks, by table");
  metrics_.describe("pso_compacted_bytes_total", "counter",
                    "Bytes of the records compacted (stage=before) and of the blocks written "
                    "(stage=after), by table");
  metrics_.describe("pso_compaction_errors_total", "counter", "Compaction passes that failed");
  metrics_.describe("pso_compaction_duration_ms", "gauge",
                    "Duration of the last compaction pass (on its own thread)");
}

CycleRunner::~CycleRunner() {
  stop();
}

Status CycleRunner::start() {
  {
    std::lock_guard lock(mutex_);
    if (auto loaded = loadEngineState(); !loaded) return loaded;
    if (auto restored = alerts_.restore(); !restored) {
      return storeError("loading alert states", restored.error());
    }
    auto last = store_.cycles(1);
    if (!last) return storeError("reading the last cycle", last.error());
    if (!last.value().empty()) last_cycle_ms_ = last.value().front().ts_ms;
  }
  {
    std::lock_guard lock(loop_mutex_);
    stopping_ = false;
    maintenance_running_ = true;
  }
  maintenance_thread_ = std::thread([this] { maintenanceLoop(); });
  thread_ = std::thread([this] { loop(); });
  return {};
}

void CycleRunner::stop() {
  if (thread_.joinable()) {
    {
      std::lock_guard lock(loop_mutex_);
      stopping_ = true;
    }
    loop_cv_.notify_all();
    thread_.join();
  }
  if (maintenance_thread_.joinable()) maintenance_thread_.join();
  {
    std::lock_guard lock(loop_mutex_);
    maintenance_running_ = false;
  }
  std::lock_guard lock(mutex_);
  std::vector<std::string> names;
  for (const auto& spec : engine_.systems()) names.push_back(spec.name);
  saveEngineState(names, common::wallMs(), true);
}

Status CycleRunner::loadEngineState() {
  auto fleet = store_.loadEngineState();
  if (!fleet) return storeError("loading engine state", fleet.error());
  if (!fleet.value().empty()) {
    // A database written before states were kept by system holds the whole
    // engine's state in this one row.
    if (auto loaded = engine_.loadFleetState(fleet.value()); !loaded) {
      if (auto whole = engine_.loadState(fleet.value()); !whole) {
        spdlog::warn(
            "engine state in the store does not load (as the fleet's part: {}; as a whole "
            "engine's: {}); what it held starts afresh",
            loaded.error().message, whole.error().message);
      }
    }
  }
  auto systems = store_.loadSystemStates();
  if (!systems) return storeError("loading the systems' engine states", systems.error());
  std::size_t refused = 0;
  for (const auto& [system, state] : systems.value()) {
    if (auto loaded = engine_.loadSystemState(system, state); !loaded) {
      ++refused;
      spdlog::warn("{}; system {} starts with a fresh model", loaded.error().message, system);
    }
  }
  if (!systems->empty()) {
    spdlog::info("engine state: {} of {} systems' models loaded", systems->size() - refused,
                 systems->size());
  }
  return {};
}

void CycleRunner::saveEngineState(const std::vector<std::string>& systems, int64_t now_ms,
                                  bool everything) {
  const int64_t interval_ms = std::max<int64_t>(1, config_.cycle_interval.count());
  // A slice sized so that the fleet is saved once per save interval.
  const std::size_t slice =
      everything ? systems.size()
                 : static_cast<std::size_t>((static_cast<int64_t>(systems.size()) * interval_ms +
                                             kStateSaveIntervalMs - 1) /
                                            kStateSaveIntervalMs);
  std::vector<std::pair<int64_t, const std::string*>> due;
  for (const std::string& system : systems) {
    const auto saved = system_state_saved_ms_.find(system);
    const int64_t saved_ms =
        saved == system_state_saved_ms_.end() ? std::numeric_limits<int64_t>::min() : saved->second;
    if (everything || saved_ms == std::numeric_limits<int64_t>::min() ||
        now_ms - saved_ms >= kStateSaveIntervalMs) {
      due.emplace_back(saved_ms, &system);
    }
  }
  const std::size_t count = std::min(due.size(), std::max<std::size_t>(1, slice));
  std::partial_sort(due.begin(), due.begin() + static_cast<std::ptrdiff_t>(count), due.end());
  std::vector<std::pair<std::string, std::string>> states;
  states.reserve(count);
  for (std::size_t i = 0; i < count; ++i) {
    std::string state = engine_.saveSystemState(*due[i].second);
    if (!state.empty()) states.emplace_back(*due[i].second, std::move(state));
  }
  if (!states.empty()) {
    if (auto status = store_.saveSystemStates(states, now_ms); !status) {
      metrics_.increment("pso_cycle_errors_total");
      spdlog::error("saving the engine state of {} systems failed: {}", states.size(),
                    status.error().message);
    } else {
      for (const auto& [system, state] : states) system_state_saved_ms_[system] = now_ms;
    }
  }
  if (everything || !last_state_saved_ms_ ||
      now_ms - *last_state_saved_ms_ >= kStateSaveIntervalMs) {
    if (auto status = store_.saveEngineState(engine_.saveFleetState(), now_ms); !status) {
      metrics_.increment("pso_cycle_errors_total");
      spdlog::error("saving engine state failed: {}", status.error().message);
    } else {
      last_state_saved_ms_ = now_ms;
    }
  }
}

void CycleRunner::loop() {
  common::nameThisThread("pso-cycle");
  const auto interval = std::chrono::milliseconds(config_.cycle_interval);
  auto next = std::chrono::steady_clock::now() + interval;
  std::unique_lock lock(loop_mutex_);
  while (!loop_cv_.wait_until(lock, next, [this] { return stopping_; })) {
    lock.unlock();
    auto report = runCycleOnce(common::wallMs());
    if (!report) spdlog::error("decision cycle failed: {}", report.error().message);
    lock.lock();
    next += interval;
    // After a stall, skip the missed ticks instead of running them back to back.
    const auto now = std::chrono::steady_clock::now();
    if (next < now) next = now + interval;
  }
}

int64_t CycleRunner::readyReplicas(const engine::SystemSpec& spec, int64_t launched) {
  const int64_t steps = engine::readySteps(spec, settings_.step_s);
  auto it = ready_windows_.find(spec.name);
  if (it == ready_windows_.end() || static_cast<int64_t>(it->second.steps()) != steps) {
    // First seen, or its warm-up or the interval changed: what runs is ready.
    it = ready_windows_.insert_or_assign(spec.name, engine::ReadyWindow(steps, launched)).first;
  }
  it->second.launch(launched);
  return it->second.ready();
}

int64_t CycleRunner::currentReplicas(const store::SystemRecord& system) const {
  auto asked = last_desired_.find(system.name);
  // Until the agent reports a count newer than our last request, the request is
  // what is launching; counting the old number would ask for the same change again.
  if (asked != last_desired_.end() &&
      (system.replicas < 0 || asked->second.since_ms >= system.updated_ms)) {
    return asked->second.replicas;
  }
  if (system.replicas >= 0) return system.replicas;
  return std::max(system.info.replicas, system.info.min_replicas);
}

Result<CycleReport> CycleRunner::runCycleOnce(int64_t now_ms) {
  std::lock_guard lock(mutex_);
  const int64_t started = common::steadyMs();
  const int64_t interval_ms = config_.cycle_interval.count();
  const int64_t history_start = now_ms - kHistoryIntervals * interval_ms;
  const int64_t window_start =
      std::max(last_cycle_ms_.value_or(now_ms - interval_ms), history_start);

  auto fail = [this](const std::string& what, const Error& error) -> Error {
    metrics_.increment("pso_cycle_errors_total");
    return storeError(what, error);
  };
  CycleReport report;
  int64_t phase_started = started;
  auto endPhase = [&](const char* phase) {
    const int64_t now = common::steadyMs();
    report.phases_ms.emplace_back(phase, static_cast<double>(now - phase_started));
    phase_started = now;
  };

  auto systems = store_.systems();
  if (!systems) return fail("listing systems", systems.error());

  scenarios::CycleContext context;
  context.ts_ms = now_ms;
  context.mode = settings_.forecast_only ? "forecast-only" : "act";
  context.step_s = settings_.step_s;
  std::map<std::string, std::string> agent_of;

  engine::CycleInput input;
  input.now_ms = now_ms;
  auto alert_requests = alerts_.requests();
  // The fleet's demand in one read (and its holds in one, CycleInputs):
  // ingest waits for two reads of the store, not for two per system.
  std::vector<std::string> names;
  names.reserve(systems->size());
  for (const auto& system : systems.value()) names.push_back(system.name);
  auto reads = store_.cycleReads(names, kDemandMetric, history_start, window_start, now_ms + 1,
                                 static_cast<int64_t>(kHistorySamples));
  if (!reads) return fail("reading demand", reads.error());
  for (const auto& system : systems.value()) {
    const engine::SystemSpec spec = specFrom(system.name, system.info);
    engine_.upsertSystem(spec);
    context.specs[system.name] = spec;
    agent_of[system.name] = system.agent_id;

    engine::SystemObservation observation;
    observation.system = system.name;
    auto& history = context.history[system.name];
    if (auto read = reads->find(system.name); read != reads->end()) {
      // The step's value is the mean of the samples since the previous cycle.
      if (read->second.window_count > 0) {
        observation.demand =
            read->second.window_sum / static_cast<double>(read->second.window_count);
      }
      history = std::move(read->second.recent);
    }

    observation.current_replicas = currentReplicas(system);
    observation.ready_replicas = readyReplicas(spec, observation.current_replicas);
    if (auto requested = alert_requests.find(system.name); requested != alert_requests.end()) {
      observation.alert_requests = std::move(requested->second);
    }
    input.systems.push_back(std::move(observation));
  }

  endPhase("snapshot");
  // What `psoctl simulate` reads before each decision too (cycle/replay.h).
  if (auto prepared = inputs_.prepare(store_, engine_, input); !prepared) {
    return fail("reading the cycle's inputs", prepared.error());
  }
  report.decisions = engine_.decide(input);
  endPhase("decide");
  for (const auto& pool : report.decisions.pools) {
    if (!pool.alert.empty()) spdlog::error("alert: {}", pool.alert);
  }
  // A hold changed the plan only where the engine would have chosen otherwise.
  for (const auto& decision : report.decisions.systems) {
    if (decision.rule != "hold" || decision.recommended_replicas == decision.desired_replicas) {
      continue;
    }
    const auto observed = std::find_if(
        input.systems.begin(), input.systems.end(),
        [&](const engine::SystemObservation& o) { return o.system == decision.system; });
    if (observed == input.systems.end() || !observed->hold) continue;
    context.workflow_notes.push_back(
        "operator hold on " + decision.system + " keeps " +
        std::to_string(decision.desired_replicas) + " replicas where the engine recommends " +
        std::to_string(decision.recommended_replicas) + ", until " +
        common::formatIso8601(observed->hold->until_ms) + " (" + observed->hold->reason + ")");
  }
  for (const auto& decision : report.decisions.systems) {
    for (const auto& effect : decision.facts.alerts) {
      context.workflow_notes.push_back(
          "alert rule " + effect.rule + " (" + effect.condition + ") asks " +
          std::string(engine::alertActionCode(effect.action)) + " of " + decision.system + ": " +
          std::to_string(effect.to) + " replicas instead of " + std::to_string(effect.from));
    }
  }

  auto seq = store_.nextCycleSeq();
  if (!seq) return fail("allocating a cycle id", seq.error());
  auto& cycle = report.cycle;
  cycle.seq = seq.value();
  cycle.id = "c-" + std::to_string(cycle.seq);
  cycle.ts_ms = now_ms;
  cycle.mode = context.mode;
  cycle.decisions_json = "[";
  for (const auto& decision : report.decisions.systems) {
    if (cycle.decisions_json.size() > 1) cycle.decisions_json += ',';
    appendDecisionSummary(cycle.decisions_json, decision);
  }
  cycle.decisions_json += ']';
  cycle.duration_ms = static_cast<double>(common::steadyMs() - started);
  if (auto status = store_.insertCycle(cycle); !status) {
    return fail("recording cycle " + cycle.id, status.error());
  }

  // The fleet's directives in one transaction.
  std::vector<store::DirectiveRecord> directives;
  for (const auto& decision : report.decisions.systems) {
    std::string status;
    if (decision.dispatch) {
      status = "pending";
    } else if (settings_.forecast_only && decision.rule != "hold" &&
               decision.desired_replicas != decision.current_replicas) {
      status = "not_dispatched";
    } else {
      continue;
    }
    store::DirectiveRecord directive;
    // Unique per cycle and system, and derivable from the cycle id for backfill.
    directive.id = "d-" + std::to_string(cycle.seq) + "-" + decision.system;
    directive.cycle_id = cycle.id;
    directive.system = decision.system;
    directive.agent_id = agent_of[decision.system];
    directive.action = "scale";
    directive.replicas = decision.desired_replicas;
    directive.reason =
        truncated(decision.rationale.empty() ? decision.rule : decision.rationale, kMaxReasonBytes);
    directive.source = decision.facts.alerts.empty() ? "engine" : "alert";
    directive.status = status;
    directive.created_ms = now_ms;
    directive.deadline_ms = now_ms + config_.directive_deadline.count();
    directives.push_back(std::move(directive));
  }
  auto inserted = store_.insertDirectives(directives);
  if (!inserted) {
    metrics_.increment("pso_cycle_errors_total");
    spdlog::error("cycle {}: recording {} directive(s) failed: {}", cycle.id, directives.size(),
                  inserted.error().message);
  }
  for (std::size_t i = 0; inserted && i < directives.size(); ++i) {
    auto& directive = directives[i];
    if (const Status& status = (*inserted)[i]; !status.ok()) {
      metrics_.increment("pso_cycle_errors_total");
      spdlog::error("cycle {}: recording directive {} failed: {}", cycle.id, directive.id,
                    status.error().message);
      continue;
    }
    metrics_.increment("pso_directives_total", {{"status", directive.status}});
    if (directive.status == "pending") {
      dispatcher_.dispatch(directive);
      last_desired_[directive.system] = Desired{directive.replicas, now_ms};
    }
    report.directives.push_back(std::move(directive));
  }

  endPhase("record");
  context.cycle_id = cycle.id;
  context.decisions = report.decisions;
  context.directives = report.directives;
  for (const auto& directive : operator_since_last_) {
    context.directives.push_back(directive);
    context.workflow_notes.push_back(
        "operator directive " + directive.id + ": scale " + directive.system + " to " +
        std::to_string(directive.replicas) + " (" + directive.reason + ")");
  }
  try {
    const nlohmann::json scenario = scenarios::buildScenario(context, &described_);
    auto record = scenarios::toRecord(scenario);
    if (auto status = store_.insertScenario(record); !status) {
      // The next document describes every system again rather than point
      // at one that was not stored.
      described_ = {};
      return fail("recording the scenario of " + cycle.id, status.error());
    }
    report.scenario_id = record.id;
    metrics_.increment("pso_scenarios_total");
  } catch (const nlohmann::json::exception& e) {
    metrics_.increment("pso_cycle_errors_total");
    spdlog::error("cycle {}: building its scenario failed: {}", cycle.id, e.what());
    described_ = {};
  }
  operator_since_last_.clear();
  endPhase("scenario");

  // The outcome of a scenario is known once its forecast horizon has passed.
  int64_t horizon_steps = 1;
  for (const auto& decision : report.decisions.systems) {
    horizon_steps =
        std::max<int64_t>(horizon_steps, static_cast<int64_t>(decision.forecast.point.size()));
  }
  report.outcomes_filled = backfillOutcomes(now_ms, horizon_steps * interval_ms);
  endPhase("outcomes");

  // The figures the alert rules read are also the fleet's gauges in /metrics.
  // A stored metric older than a few cycles (or than an agent's silence
  // allowance) is no figure: an alert keeps its state, a gauge reads NaN.
  const int64_t fresh_ms = std::max(3 * interval_ms, config_.agent_timeout.count());
  std::set<std::string> stored_metrics = alerts_.storedMetrics();
  stored_metrics.insert(kHealthScoreMetric);
  const AlertFigures figures =
      collectAlertFigures(report.decisions, systems.value(), store_, stored_metrics,
                          alerts_.needsDirectiveFailures(), now_ms, fresh_ms, settings_.step_s);
  publishFleetGauges(figures);
  if (!alerts_.empty()) {
    report.notifications_queued = alerts_.evaluate(figures, now_ms);
    if (report.notifications_queued > 0 && on_notifications_) on_notifications_();
  }
  endPhase("alerts");

  saveEngineState(names, now_ms, false);
  endPhase("state");
  {
    std::unique_lock lock(loop_mutex_);
    if (maintenance_running_) {
      maintain_as_of_ms_ = now_ms;
      lock.unlock();
      loop_cv_.notify_all();
    } else {
      lock.unlock();
      rollUpAndPrune(now_ms);
      endPhase("rollup");
      compactRecords(now_ms, 1);
    }
  }

  last_cycle_ms_ = now_ms;
  const double duration_ms = static_cast<double>(common::steadyMs() - started);
  metrics_.increment("pso_cycles_total");
  metrics_.set("pso_cycle_duration_ms", {}, duration_ms);
  metrics_.observe("pso_cycle_duration_seconds", {}, duration_ms / 1000.0);
  for (const auto& [phase, ms] : report.phases_ms) {
    metrics_.set("pso_cycle_phase_duration_ms", {{"phase", phase}}, ms);
  }
  spdlog::info("cycle {}: {} systems, {} directives ({}), {:.0f} ms", cycle.id,
               report.decisions.systems.size(), report.directives.size(), context.mode,
               duration_ms);
  return report;
}

void CycleRunner::publishFleetGauges(const AlertFigures& figures) {
  constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
  // A table per gauge, each published in one call: at 10,000 systems one
  // set() per system and gauge took about a tenth of a second a cycle.
  auto table = [&](const std::map<std::string, AlertFigures::Subject>& subjects,
                   const std::string& figure) {
    std::vector<std::pair<std::string, double>> rows;
    rows.reserve(subjects.size());
    for (const auto& [name, subject] : subjects) {
      const auto it = subject.values.find(figure);
      rows.emplace_back(name, it == subject.values.end() ? kNaN : it->second);
    }
    return rows;
  };
  for (const auto& [gauge, figure] : kSystemGaugeFigures) {
    metrics_.setGaugeTable(gauge, "system", table(figures.systems, figure));
  }
  metrics_.setGaugeTable("pso_agent_last_seen_seconds", "agent",
                         table(figures.agents, "agent_last_seen_s"));
}

void CycleRunner::rollUpAndPrune(int64_t now_ms) {
  // Rolled up before pruning, so retention never removes samples that are not
  // in the rollups yet.
  const int64_t rollup_started = common::steadyMs();
  auto rolled = store_.rollup(now_ms - kRollupDelayMs);
  if (!rolled) {
    metrics_.increment("pso_rollup_errors_total");
    spdlog::error("rolling up samples failed: {}", rolled.error().message);
  } else if (rolled->minute_rows > 0 || rolled->hour_rows > 0) {
    metrics_.set("pso_rollup_duration_ms", {},
                 static_cast<double>(common::steadyMs() - rollup_started));
  }
  if (now_ms - last_prune_ms_ < kPruneIntervalMs) return;
  last_prune_ms_ = now_ms;
  auto pruned = store_.pruneSamples(now_ms - config_.retention.count());
  if (!pruned) {
    spdlog::error("pruning samples failed: {}", pruned.error().message);
  } else if (pruned.value() > 0) {
    spdlog::info("pruned {} samples older than {}", pruned.value(),
                 common::formatDuration(config_.retention));
  }
  const std::pair<store::RollupResolution, common::Duration> rollup_retention[] = {
      {store::RollupResolution::kMinute, config_.rollup_retention_minute},
      {store::RollupResolution::kHour, config_.rollup_retention_hour}};
  const int64_t cycles_pruned =
      logPruned("cycles", config_.cycle_retention,
                store_.pruneCycles(now_ms - config_.cycle_retention.count()));
  const int64_t directives_pruned =
      logPruned("directives", config_.directive_retention,
                store_.pruneDirectives(now_ms - config_.directive_retention.count(), now_ms));
  const int64_t scenarios_pruned =
      logPruned("scenarios", config_.scenario_retention,
                store_.pruneScenarios(now_ms - config_.scenario_retention.count()));
  metrics_.increment("pso_retention_pruned_total", {{"table", "cycles"}},
                     static_cast<double>(cycles_pruned));
  metrics_.increment("pso_retention_pruned_total", {{"table", "directives"}},
                     static_cast<double>(directives_pruned));
  metrics_.increment("pso_retention_pruned_total", {{"table", "scenarios"}},
                     static_cast<double>(scenarios_pruned));
  for (const auto& [resolution, keep] : rollup_retention) {
    auto removed = store_.pruneRollups(resolution, now_ms - keep.count());
    if (!removed) {
      spdlog::error("pruning rollups failed: {}", removed.error().message);
    } else if (removed.value() > 0) {
      spdlog::info("pruned {} {} rollups older than {}", removed.value(),
                   resolution == store::RollupResolution::kMinute ? "1-minute" : "1-hour",
                   common::formatDuration(keep));
    }
  }
}

void CycleRunner::maintenanceLoop() {
  common::nameThisThread("pso-maintain");
  if (!common::lowerThisThreadsPriority(kMaintenanceNice)) {
    // A seccomp filter without setpriority (an older unit file) refuses it.
    spdlog::warn(
        "maintenance thread: could not lower its priority to nice {}; the rollup pass and "
        "compaction compete with ingest and the cycle at the process's priority",
        kMaintenanceNice);
  }
  std::unique_lock lock(loop_mutex_);
  for (;;) {
    loop_cv_.wait(lock, [this] { return stopping_ || maintain_as_of_ms_.has_value(); });
    if (stopping_) return;
    const int64_t as_of_ms = *maintain_as_of_ms_;
    maintain_as_of_ms_.reset();
    maintaining_ = true;
    lock.unlock();
    rollUpAndPrune(as_of_ms);
    compactRecords(as_of_ms, 0);
    lock.lock();
    maintaining_ = false;
    loop_cv_.notify_all();
  }
}

bool CycleRunner::awaitMaintenance(std::chrono::milliseconds timeout) {
  std::unique_lock lock(loop_mutex_);
  return loop_cv_.wait_for(lock, timeout, [this] {
    return stopping_ || !maintenance_running_ || (!maintaining_ && !maintain_as_of_ms_.has_value());
  });
}

void CycleRunner::compactRecords(int64_t now_ms, int64_t max_blocks) {
  // Whole hours: the records of one hour go into one block (or a few, for a
  // large fleet), not a small block per cycle.
  const int64_t before_ms =
      store::floorToBucket(now_ms - config_.compact_after.count(), store::kHourMs);
  const int64_t started = common::steadyMs();
  auto count = [&](const char* table, const Result<store::CompactionReport>& done) {
    if (!done) {
      metrics_.increment("pso_compaction_errors_total");
      spdlog::error("compacting {} failed: {}", table, done.error().message);
      return;
    }
    if (done->records == 0) return;
    metrics_.increment("pso_compacted_records_total", {{"table", table}},
                       static_cast<double>(done->records));
    metrics_.increment("pso_compacted_bytes_total", {{"table", table}, {"stage", "before"}},
                       static_cast<double>(done->bytes_before));
    metrics_.increment("pso_compacted_bytes_total", {{"table", table}, {"stage", "after"}},
                       static_cast<double>(done->bytes_after));
    spdlog::debug("compacted {} {} ({} bytes into {})", done->records, table, done->bytes_before,
                  done->bytes_after);
  };
  auto stopping = [this] {
    std::lock_guard lock(loop_mutex_);
    return stopping_;
  };
  // One block of each at a time, so stop() waits for one block at most.
  for (int64_t done = 0; max_blocks <= 0 || done < max_blocks; ++done) {
    if (stopping()) break;
    auto cycles = store_.compactCycles(before_ms, 1);
    count("cycles", cycles);
    auto scenarios = store_.compactScenarios(before_ms, 1);
    count("scenarios", scenarios);
    const bool more = (cycles && cycles->blocks > 0) || (scenarios && scenarios->blocks > 0);
    if (!more) break;
  }
  metrics_.set("pso_compaction_duration_ms", {}, static_cast<double>(common::steadyMs() - started));
}

std::size_t CycleRunner::backfillOutcomes(int64_t now_ms, int64_t horizon_ms) {
  auto awaiting = store_.scenariosAwaitingOutcome(now_ms - horizon_ms, kBackfillPerCycle);
  if (!awaiting) {
    spdlog::error("listing scenarios awaiting their outcome failed: {}", awaiting.error().message);
    return 0;
  }
  std::size_t filled = 0;
  for (auto& record : awaiting.value()) {
    scenarios::ObservedOutcome observed;
    bool complete = true;
    const std::string cycle_seq =
        record.cycle_id.rfind("c-", 0) == 0 ? record.cycle_id.substr(2) : record.cycle_id;
    for (const auto& system : record.systems) {
      const int64_t until = record.ts_ms + horizon_ms + 1;
      auto demand = store_.samples(system, kDemandMetric, record.ts_ms, until);
      auto replicas = store_.samples(system, kReplicasMetric, record.ts_ms, until);
      auto directive = store_.directive("d-" + cycle_seq + "-" + system);
      if (!demand || !replicas || !directive) {
        complete = false;
        break;
      }
      observed.demand[system] = std::move(demand.value());
      observed.replicas[system] = std::move(replicas.value());
      if (directive.value()) observed.directives.push_back(*directive.value());
    }
    if (!complete) {
      spdlog::error("backfill of scenario {}: reading what happened failed", record.id);
      continue;
    }
    store::ScenarioRecord updated = record;
    try {
      nlohmann::json document = nlohmann::json::parse(record.json);
      scenarios::fillOutcome(document, observed);
      updated = scenarios::toRecord(document);
    } catch (const nlohmann::json::exception& e) {
      // Left unfilled it would come back every cycle: close it as it is.
      spdlog::warn("scenario {} is not a readable document ({}); its outcome stays empty",
                   record.id, e.what());
    }
    updated.outcome_filled = true;
    if (auto status = store_.updateScenario(updated); !status) {
      spdlog::error("backfill of scenario {} failed: {}", record.id, status.error().message);
      continue;
    }
    ++filled;
  }
  if (filled > 0)
    metrics_.increment("pso_scenario_outcomes_total", {}, static_cast<double>(filled));
  return filled;
}

std::optional<engine::Forecast> CycleRunner::forecast(const std::string& system, int horizon) {
  std::lock_guard lock(mutex_);
  return engine_.forecast(system, horizon);
}

void CycleRunner::setForecastOnly(bool forecast_only) {
  // Under the cycle's lock: a cycle in progress finishes in the mode it began.
  std::lock_guard lock(mutex_);
  settings_.forecast_only = forecast_only;
  engine_.setForecastOnly(forecast_only);
}

std::string CycleRunner::mode() {
  std::lock_guard lock(mutex_);
  return settings_.forecast_only ? "forecast-only" : "act";
}

int64_t CycleRunner::lastCycleMs() {
  std::lock_guard lock(mutex_);
  return last_cycle_ms_.value_or(0);
}

Result<store::DirectiveRecord> CycleRunner::submitOperatorDirective(
    const OperatorDirectiveRequest& request, int64_t now_ms) {
  std::lock_guard lock(mutex_);
  const bool release = request.action == "release";
  if (request.action != "scale" && !release) {
    return makeError("invalid",
                     "action '" + request.action + "' is not supported: use scale or release");
  }
  if (request.reason.size() > kMaxReasonBytes) {
    return makeError("invalid",
                     "reason is longer than " + std::to_string(kMaxReasonBytes) + " bytes");
  }
  if (request.hold_ms < 0) return makeError("invalid", "hold must not be negative");
  auto systems = store_.systems();
  if (!systems) return storeError("listing systems", systems.error());
  const auto it =
      std::find_if(systems.value().begin(), systems.value().end(),
                   [&](const store::SystemRecord& s) { return s.name == request.system; });
  if (it == systems.value().end()) {
    return makeError("unknown_system",
                     "system '" + request.system + "' is not known: no agent has announced it");
  }

  store::DirectiveRecord directive;
  directive.id = "op-" + std::to_string(now_ms) + "-" + std::to_string(++operator_seq_);
  directive.system = request.system;
  directive.agent_id = it->agent_id;
  directive.action = request.action;
  directive.source = "operator";
  directive.created_ms = now_ms;

  if (release) {
    // A release changes no replica count: the controller records it, which
    // ends the hold for the store's activeHold() from now on, and the next
    // cycle decides as the engine would. Nothing goes to the agent.
    auto hold = store_.activeHold(request.system, now_ms);
    if (!hold) return storeError("reading holds of " + request.system, hold.error());
    if (!hold.value()) return makeError("no_hold", "no hold in force on " + request.system);
    directive.replicas = -1;
    directive.reason = request.reason.empty() ? "operator released the hold" : request.reason;
    directive.status = "applied";
    directive.deadline_ms = now_ms;
    directive.hold_until_ms = now_ms;
    directive.result_ms = now_ms;
    directive.result_message = "ended hold " + hold.value()->id + " (" +
                               std::to_string(hold.value()->replicas) + " replicas until " +
                               common::formatIso8601(hold.value()->hold_until_ms) + ")";
    if (auto status = store_.insertDirective(directive); !status) {
      return storeError("recording directive " + directive.id, status.error());
    }
    metrics_.increment("pso_directives_total", {{"status", directive.status}});
    spdlog::info("operator directive {}: release the hold on {}: {} ({})", directive.id,
                 directive.system, directive.result_message, directive.reason);
    return directive;
  }

  const auto& info = it->info;
  if (request.replicas < info.min_replicas || request.replicas > info.max_replicas) {
    return makeError("out_of_bounds", "replicas " + std::to_string(request.replicas) +
                                          " is outside the bounds of " + request.system + " [" +
                                          std::to_string(info.min_replicas) + ", " +
                                          std::to_string(info.max_replicas) + "]");
  }
  directive.replicas = request.replicas;
  directive.reason = request.reason.empty() ? "operator directive" : request.reason;
  directive.status = "pending";
  directive.deadline_ms = now_ms + config_.directive_deadline.count();
  directive.hold_until_ms = request.hold_ms > 0 ? now_ms + request.hold_ms : 0;
  if (auto status = store_.insertDirective(directive); !status) {
    return storeError("recording directive " + directive.id, status.error());
  }
  metrics_.increment("pso_directives_total", {{"status", "pending"}});
  dispatcher_.dispatch(directive);
  last_desired_[directive.system] = Desired{directive.replicas, now_ms};
  operator_since_last_.push_back(directive);
  spdlog::info("operator directive {}: scale {} to {}{} ({})", directive.id, directive.system,
               directive.replicas,
               directive.hold_until_ms > 0
                   ? ", held until " + common::formatIso8601(directive.hold_until_ms)
                   : std::string(),
               directive.reason);
  return directive;
}

}  // namespace pso::controller::service
