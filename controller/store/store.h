#pragma once

// The controller's SQLite store: agents, systems, telemetry samples, health,
// decision cycles, directives and scenarios. Versioned migrations through
// PRAGMA user_version. Thread-safe: every public method takes an internal
// mutex around one connection (WAL mode, so external readers such as
// `psoctl scenarios export --db` are not blocked).

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "common/result.h"
#include "common/sqlite.h"
#include "protocol/messages.h"

namespace pso::controller::store {

struct AgentRecord {
  std::string id;
  std::string version;
  std::string host_facts_json;  ///< JSON object
  int64_t first_seen_ms = 0;
  int64_t last_seen_ms = 0;
  uint64_t last_seq = 0;  ///< highest telemetry seq stored
  bool connected = false;
};

struct SystemRecord {
  std::string name;
  std::string agent_id;
  protocol::SystemInfo info;  ///< as announced in the last hello
  int64_t replicas = -1;      ///< last reported running replicas, -1 unknown
  int64_t updated_ms = 0;
};

struct HealthRecord {
  std::string system;
  std::string check;
  std::string status;  ///< ok | failing | unknown
  double latency_ms = 0;
  std::string error;
  int64_t ts_ms = 0;
};

struct Sample {
  int64_t ts_ms = 0;
  double value = 0.0;
};

struct CycleRecord {
  std::string id;   ///< "c-<n>"
  int64_t seq = 0;  ///< n
  int64_t ts_ms = 0;
  std::string mode;  ///< act | forecast-only
  double duration_ms = 0;
  std::string decisions_json;  ///< JSON array of per-system decision summaries
};

struct DirectiveRecord {
  std::string id;
  std::string cycle_id;  ///< empty for operator directives
  std::string system;
  std::string agent_id;
  std::string action = "scale";
  int64_t replicas = -1;
  std::string reason;
  std::string source;  ///< engine | operator | alert
  std::string
      status;  ///< pending | sent | applied | refused | failed | dry_run | expired | not_dispatched
  int64_t created_ms = 0;
  int64_t sent_ms = 0;
  int64_t result_ms = 0;
  int64_t deadline_ms = 0;
  int64_t hold_until_ms = 0;  ///< operator holds: the engine keeps this count until then
  std::string result_message;
  int64_t result_replicas = -1;
};

struct ScenarioRecord {
  std::string id;
  std::string cycle_id;
  int64_t ts_ms = 0;
  std::string level;
  std::vector<std::string> events;
  std::vector<std::string> systems;
  bool outcome_filled = false;
  std::string json;  ///< the whole scenario document
};

/// One graded answer of a learner to one scenario question.
struct AttemptRecord {
  int64_t id = 0;  ///< assigned by the store
  std::string learner_id;
  std::string scenario_id;
  std::string question_id;
  std::string level;              ///< the scenario's learning level
  std::string response = "null";  ///< the learner's answer as JSON
  bool correct = false;
  double score = 0.0;  ///< 0..1
  int64_t ts_ms = 0;
};

struct LearnerRecord {
  std::string id;
  int64_t first_seen_ms = 0;
  int64_t last_seen_ms = 0;
};

struct ScenarioFilter {
  std::optional<std::string> event;
  std::optional<std::string> level;
  std::optional<std::string> system;
  std::optional<int64_t> since_ms;
  std::optional<int64_t> until_ms;
  int64_t limit = 0;  ///< 0 = no limit
  bool newest_first = false;
};

/// What happened to one telemetry batch.
struct IngestOutcome {
  enum class Kind { kStored, kDuplicate, kOutOfOrder } kind = Kind::kStored;
  uint64_t last_seq = 0;    ///< highest contiguous seq stored for the agent (the ack)
  std::size_t samples = 0;  ///< samples written
};

class Store {
 public:
  /// Opens or creates the database at `path` and applies migrations. A database
  /// written by a newer build (higher schema version) is refused, code "schema".
  [[nodiscard]] static Result<std::unique_ptr<Store>> open(const std::string& path);

  /// The schema version this build creates (the number of migrations).
  static int64_t latestSchemaVersion();
  /// The schema version of the open database (PRAGMA user_version).
  int64_t schemaVersion();

  // Agents and systems.
  [[nodiscard]] Status upsertAgent(const protocol::Hello& hello, int64_t now_ms);
  [[nodiscard]] Status setAgentConnected(const std::string& agent_id, bool connected,
                                         int64_t now_ms);
  [[nodiscard]] Result<std::vector<AgentRecord>> agents();
  [[nodiscard]] Result<std::optional<AgentRecord>> agent(const std::string& agent_id);
  [[nodiscard]] Result<std::vector<SystemRecord>> systems();
  [[nodiscard]] Result<std::optional<SystemRecord>> system(const std::string& name);

  /// Stores a batch if its seq is the next one expected for the agent
  /// (seq == max(last_seq, oldest_seq - 1) + 1), in one transaction together
  /// with the agent's new last_seq; a seq at or below last_seq is a duplicate,
  /// one beyond the next expected is out of order. Both are not stored. The
  /// "replicas" metric also updates the system's replica count.
  /// Non-finite values (NaN = no sample) are skipped. A re-stored (series, ts)
  /// replaces the earlier value, so samples never duplicate. An agent not seen
  /// before is registered with last_seq 0. A batch whose shape is inconsistent
  /// (values rows vs series, row lengths vs timestamps) or whose seq is 0 is
  /// refused with code "invalid" and nothing of the call is stored.
  [[nodiscard]] Result<IngestOutcome> ingestTelemetry(const protocol::TelemetryBatch& batch);

  /// Several batches in one transaction (the ingest loop's batching).
  [[nodiscard]] Result<std::vector<IngestOutcome>> ingestTelemetry(
      const std::vector<protocol::TelemetryBatch>& batches);

  [[nodiscard]] Status recordHealth(const protocol::Health& health);
  [[nodiscard]] Result<std::vector<HealthRecord>> health(const std::string& system);
  /// Latest result of every check of every system, ordered by system and check.
  [[nodiscard]] Result<std::vector<HealthRecord>> allHealth();

  /// Samples of (system, metric) with since_ms <= ts < until_ms, oldest first;
  /// with limit > 0, the oldest `limit` of them (page on with since = last ts + 1).
  [[nodiscard]] Result<std::vector<Sample>> samples(const std::string& system,
                                                    const std::string& metric, int64_t since_ms,
                                                    int64_t until_ms, int64_t limit = 0);
  /// The newest `count` samples of (system, metric) with ts < until_ms, oldest
  /// first (the history window a forecast or a scenario needs).
  [[nodiscard]] Result<std::vector<Sample>> recentSamples(const std::string& system,
                                                          const std::string& metric,
                                                          int64_t until_ms, int64_t count);
  [[nodiscard]] Result<std::optional<Sample>> latestSample(const std::string& system,
                                                           const std::string& metric);
  /// Names of the metrics stored for a system.
  [[nodiscard]] Result<std::vector<std::string>> metrics(const std::string& system);
  /// Deletes samples older than cutoff_ms; returns how many.
  [[nodiscard]] Result<int64_t> pruneSamples(int64_t cutoff_ms);

  // Decision cycles, directives, scenarios.
  /// A new cycle number on every call (persisted, so it keeps increasing across
  /// restarts), above every seq already in the cycles table.
  [[nodiscard]] Result<int64_t> nextCycleSeq();
  [[nodiscard]] Status insertCycle(const CycleRecord& cycle);
  /// Cycles with ts_ms >= since_ms, newest first; limit <= 0 = no limit.
  [[nodiscard]] Result<std::vector<CycleRecord>> cycles(int64_t limit, int64_t since_ms = 0);

  /// Inserts a new directive; an existing id is code "exists".
  [[nodiscard]] Status insertDirective(const DirectiveRecord& directive);
  /// Records the send time; the status moves pending -> sent (a result that
  /// already arrived is kept). Unknown id: code "not_found".
  [[nodiscard]] Status markDirectiveSent(const std::string& id, int64_t sent_ms);
  /// Records an agent's result (status, replicas, message, time). Unknown id:
  /// "not_found"; a result from another agent than the directive's: "forbidden".
  /// An applied result with a replica count also updates the system's replicas.
  [[nodiscard]] Status recordDirectiveResult(const protocol::DirectiveResult& result);
  /// Sets a status from the controller's side (e.g. expired, failed,
  /// not_dispatched); terminal statuses also set result_ms and the message.
  /// Unknown status: "invalid"; unknown id: "not_found".
  [[nodiscard]] Status setDirectiveStatus(const std::string& id, const std::string& status,
                                          const std::string& message, int64_t now_ms);
  [[nodiscard]] Result<std::optional<DirectiveRecord>> directive(const std::string& id);
  /// Newest first; limit <= 0 = no limit; empty system = every system.
  [[nodiscard]] Result<std::vector<DirectiveRecord>> directives(int64_t limit,
                                                                const std::string& system = "");
  /// Directives with status pending (to dispatch, e.g. after a restart), oldest first.
  [[nodiscard]] Result<std::vector<DirectiveRecord>> pendingDirectives();
  /// The operator hold in force for a system at now_ms, if any: the latest
  /// operator directive with hold_until_ms > now_ms that the agent did not
  /// refuse and that did not fail or expire.
  [[nodiscard]] Result<std::optional<DirectiveRecord>> activeHold(const std::string& system,
                                                                  int64_t now_ms);

  /// Inserts a scenario and its event/system indexes; an existing id is code "exists".
  [[nodiscard]] Status insertScenario(const ScenarioRecord& scenario);
  /// Inserts many scenarios in one transaction (a replayed trace records
  /// thousands); all or nothing: an existing id is code "exists" and nothing
  /// of the call is stored.
  [[nodiscard]] Status insertScenarios(const std::vector<ScenarioRecord>& scenarios);
  /// Replaces a stored scenario (e.g. after outcome backfill); unknown id: "not_found".
  [[nodiscard]] Status updateScenario(const ScenarioRecord& scenario);
  [[nodiscard]] Result<std::optional<ScenarioRecord>> scenario(const std::string& id);
  [[nodiscard]] Result<std::vector<ScenarioRecord>> scenarios(const ScenarioFilter& filter);
  /// Scenarios whose outcome is not filled and whose time is before cutoff_ms.
  [[nodiscard]] Result<std::vector<ScenarioRecord>> scenariosAwaitingOutcome(int64_t cutoff_ms,
                                                                             int64_t limit);

  // Learners and graded attempts.
  /// Stores a learner's attempts in one transaction, registering the learner
  /// (or updating last_seen_ms) at now_ms; every attempt's learner_id must be
  /// `learner_id` (code "invalid" otherwise), and an empty id is "invalid".
  /// Returns the attempts with their assigned ids.
  [[nodiscard]] Result<std::vector<AttemptRecord>> recordAttempts(
      const std::string& learner_id, const std::vector<AttemptRecord>& attempts, int64_t now_ms);
  /// A learner's attempts, oldest first (ties by id).
  [[nodiscard]] Result<std::vector<AttemptRecord>> attempts(const std::string& learner_id);
  [[nodiscard]] Result<std::optional<LearnerRecord>> learner(const std::string& learner_id);

  /// Engine state blob (DecisionEngine::saveState) for restarts.
  [[nodiscard]] Status saveEngineState(const std::string& state);
  /// The last saved engine state, empty when none was saved.
  [[nodiscard]] Result<std::string> loadEngineState();

  [[nodiscard]] Result<bool> integrityCheck();
  const std::string& path() const;

 private:
  explicit Store(std::unique_ptr<common::Database> db);

 public:
  ~Store();

 private:
  struct Statements;

  Result<std::vector<IngestOutcome>> ingestLocked(
      const std::vector<const protocol::TelemetryBatch*>& batches);
  /// The series id of (system, metric); with create, inserts a missing series
  /// and reports it in `created` so a rolled-back transaction can forget it.
  Result<std::optional<int64_t>> seriesIdLocked(const protocol::SeriesKey& key, bool create,
                                                std::vector<protocol::SeriesKey>* created);
  Result<std::vector<DirectiveRecord>> readDirectives(common::Statement& statement);
  Status writeScenarioIndexes(const ScenarioRecord& scenario);
  Status insertScenarioLocked(const ScenarioRecord& scenario);

  std::mutex mutex_;
  std::unique_ptr<common::Database> db_;
  std::unique_ptr<Statements> stmts_;
  /// (system, metric) -> series id; ingest looks up every series of every batch.
  std::map<protocol::SeriesKey, int64_t> series_ids_;
};

}  // namespace pso::controller::store
