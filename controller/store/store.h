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

/// Resolution of a rollup: one row per series per minute or per hour.
enum class RollupResolution { kMinute, kHour };

inline constexpr int64_t kMinuteMs = 60LL * 1000;
inline constexpr int64_t kHourMs = 60LL * kMinuteMs;

/// The bucket length of a resolution in milliseconds.
constexpr int64_t rollupBucketMs(RollupResolution resolution) {
  return resolution == RollupResolution::kMinute ? kMinuteMs : kHourMs;
}

/// One rollup row: the samples of one series in [start_ms, start_ms + bucket).
/// A bucket without samples has no row (a gap, never a zero).
struct RollupBucket {
  int64_t start_ms = 0;
  double min = 0.0;
  double mean = 0.0;
  double max = 0.0;
  int64_t count = 0;  ///< raw samples aggregated
};

/// What one rollup pass did.
struct RollupReport {
  int64_t rolled_until_ms = 0;  ///< every minute bucket ending at or before this is written
  int64_t minute_rows = 0;      ///< minute rows written (new or rewritten)
  int64_t hour_rows = 0;        ///< hour rows written (new or rewritten)
  int64_t series = 0;           ///< series visited by the regular pass
  int64_t late_series = 0;      ///< series re-aggregated for samples that arrived late
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
  /// Deletes samples older than cutoff_ms; returns how many. Rollups keep
  /// their own, longer retention (pruneRollups).
  [[nodiscard]] Result<int64_t> pruneSamples(int64_t cutoff_ms);

  // Rollups: 1-minute buckets of the raw samples and 1-hour buckets of the
  // minute rows (min, mean, max, count), for long-horizon forecasts.
  /// Writes every bucket that ends at or before floor(closed_before_ms, 1 min)
  /// and is not written yet, for every series; the hour buckets whose minutes
  /// are all written follow. Idempotent and restart-safe: a bucket's row is
  /// computed from its samples and replaces any earlier row (never added to),
  /// and the progress mark moves only after every series is done. Samples that
  /// arrive later for a bucket already written (a drained agent spool, a
  /// replaced value) mark their series, and the next pass recomputes its
  /// buckets from that time on, as far back as the raw samples and minute rows
  /// are still kept. Works in short transactions, releasing the store between
  /// groups of series, so ingest is not held up for the whole pass.
  [[nodiscard]] Result<RollupReport> rollup(int64_t closed_before_ms);
  /// Rollup rows of (system, metric) whose bucket starts in [since_ms,
  /// until_ms), oldest first; with limit > 0, the oldest `limit` of them.
  [[nodiscard]] Result<std::vector<RollupBucket>> rollups(const std::string& system,
                                                          const std::string& metric,
                                                          RollupResolution resolution,
                                                          int64_t since_ms, int64_t until_ms,
                                                          int64_t limit = 0);
  /// Where the last completed rollup pass stopped: every bucket of this
  /// resolution ending at or before the returned time is written (0 before
  /// the first pass). For hours, the minute mark floored to the hour.
  int64_t rolledUntil(RollupResolution resolution);
  /// Deletes rollup rows of a resolution whose bucket starts before
  /// cutoff_ms; returns how many.
  [[nodiscard]] Result<int64_t> pruneRollups(RollupResolution resolution, int64_t cutoff_ms);

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
  Result<int64_t> metaIntLocked(const std::string& key, int64_t fallback);
  Status setMetaIntLocked(const std::string& key, int64_t value);
  /// Recomputes series_id's minute rows over [minute_from, minute_to) from the
  /// samples and its hour rows over [hour_from, hour_to) from the minute rows;
  /// adds the rows written to the report.
  Status rollSeriesLocked(int64_t series_id, int64_t minute_from, int64_t minute_to,
                          int64_t hour_from, int64_t hour_to, RollupReport& report);

  std::mutex mutex_;
  std::unique_ptr<common::Database> db_;
  std::unique_ptr<Statements> stmts_;
  /// (system, metric) -> series id; ingest looks up every series of every batch.
  std::map<protocol::SeriesKey, int64_t> series_ids_;
  /// Samples older than this arriving at ingest mark their series for a
  /// rollup recomputation: the end of the buckets a running or completed
  /// rollup pass covers.
  int64_t rollup_claimed_ms_ = 0;
  /// The persisted progress mark of the last completed pass (rolledUntil).
  int64_t rolled_until_ms_ = 0;
  /// One rollup pass at a time; taken before mutex_, never while holding it.
  std::mutex rollup_mutex_;
};

}  // namespace pso::controller::store
