#pragma once

// The records the controller's store reads and writes, shared by every
// aggregate interface (fleet_store.h, telemetry_store.h, directive_store.h,
// cycle_store.h, scenario_store.h) and every backend. Plain values: no
// behaviour, no storage details.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "protocol/messages.h"

namespace pso::controller::store {

/// A system of an agent's hello that another agent already owns (the wire's
/// type: the welcome carries these back to the agent).
using SystemConflict = protocol::SystemConflict;

struct AgentRecord {
  std::string id;
  std::string version;
  std::string host_facts_json;  ///< JSON object
  int64_t first_seen_ms = 0;
  int64_t last_seen_ms = 0;
  uint64_t last_seq = 0;  ///< highest telemetry seq stored
  bool connected = false;
  /// Systems of the agent's last hello owned by another agent (replaced on
  /// every hello), ordered as in the hello.
  std::vector<SystemConflict> conflicts;
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

inline constexpr int64_t kMinuteMs = 60LL * 1000;
inline constexpr int64_t kHourMs = 60LL * kMinuteMs;

/// What telemetry an agent may write (TelemetryStore::setIngestLimits).
struct IngestLimits {
  /// Most a batch may move the agent's position past its last stored seq
  /// (through oldest_seq), and the most batches a spool may span
  /// (seq - oldest_seq < max_seq_advance).
  uint64_t max_seq_advance = 1000000;
  /// Samples older than now - max_age_ms are refused.
  int64_t max_age_ms = 24 * kHourMs;
  /// Samples newer than now + max_ahead_ms are refused.
  int64_t max_ahead_ms = 5 * kMinuteMs;
};

/// What happened to one telemetry batch.
struct IngestOutcome {
  /// kRefused: the batch's sequence fields are outside the window
  /// (IngestLimits::max_seq_advance); nothing is stored, last_seq is unchanged.
  enum class Kind { kStored, kDuplicate, kOutOfOrder, kRefused } kind = Kind::kStored;
  uint64_t last_seq = 0;    ///< highest contiguous seq stored for the agent (the ack)
  std::size_t samples = 0;  ///< samples written
  /// kRefused: one line naming what was wrong; empty otherwise.
  std::string refusal;
  /// Samples of a stored batch that were not written (the rest of the batch
  /// is): older than the age window, newer than the ahead window, or of a
  /// system owned by another agent.
  std::size_t samples_too_old = 0;
  std::size_t samples_too_new = 0;
  std::size_t samples_not_owned = 0;
};

/// Resolution of a rollup: one row per series per minute or per hour.
enum class RollupResolution { kMinute, kHour };

/// The bucket length of a resolution in milliseconds.
constexpr int64_t rollupBucketMs(RollupResolution resolution) {
  return resolution == RollupResolution::kMinute ? kMinuteMs : kHourMs;
}

/// The start of the bucket holding `ms` (also for times before the epoch).
constexpr int64_t floorToBucket(int64_t ms, int64_t bucket) {
  const int64_t rem = ms % bucket;
  return rem < 0 ? ms - rem - bucket : ms - rem;
}

/// `ms` itself on a bucket boundary, else the start of the next bucket.
constexpr int64_t ceilToBucket(int64_t ms, int64_t bucket) {
  const int64_t floor = floorToBucket(ms, bucket);
  return floor == ms ? ms : floor + bucket;
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

/// What TelemetryStore::importSamples did.
struct ImportReport {
  std::size_t samples = 0;     ///< samples written (new, or replacing a stored value)
  std::size_t non_finite = 0;  ///< NaN or infinite values skipped
  int64_t first_ts_ms = 0;     ///< oldest sample written (0 when none)
  int64_t last_ts_ms = 0;      ///< newest sample written (0 when none)
};

struct CycleRecord {
  std::string id;   ///< "c-<n>"
  int64_t seq = 0;  ///< n
  int64_t ts_ms = 0;
  std::string mode;  ///< act | forecast-only
  double duration_ms = 0;
  std::string decisions_json;  ///< JSON array of per-system decision summaries
};

/// What one compaction call did (CycleStore::compactCycles,
/// ScenarioStore::compactScenarios).
struct CompactionReport {
  int64_t records = 0;       ///< records rewritten into blocks
  int64_t blocks = 0;        ///< blocks written
  int64_t bytes_before = 0;  ///< the records' texts as they were stored
  int64_t bytes_after = 0;   ///< the blocks written
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

struct ScenarioFilter {
  std::optional<std::string> event;
  std::optional<std::string> level;
  std::optional<std::string> system;
  std::optional<int64_t> since_ms;
  std::optional<int64_t> until_ms;
  int64_t limit = 0;  ///< 0 = no limit
  bool newest_first = false;
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
  std::string team;  ///< "" when the learner is in no team
};

/// One alert rule's state for one subject (a system or an agent).
struct AlertRecord {
  std::string rule;
  std::string subject;          ///< the system's name or the agent's id
  std::string condition;        ///< the rule's condition, e.g. "health_score < 95"
  std::string system;           ///< the subject when it is a system, else empty
  std::string agent;            ///< the subject's agent (the system's owner, or the agent)
  std::string state;            ///< inactive | pending | firing | resolved
  std::optional<double> value;  ///< the figure at the last evaluation that had one
  int64_t since_ms = 0;         ///< when the condition started holding
  int64_t fired_ms = 0;         ///< 0: has not fired
  int64_t resolved_ms = 0;      ///< 0: has not resolved
  int64_t updated_ms = 0;       ///< the last state change
};

/// A webhook notification in the outbox: pending until a receiver took it
/// (delivered) or it was given up (failed).
struct NotificationRecord {
  int64_t id = 0;  ///< assigned by the store, increasing
  std::string rule;
  std::string subject;
  std::string event;  ///< firing | resolved
  std::string url;
  std::string body;                ///< the JSON payload, as sent
  std::string status = "pending";  ///< pending | delivered | failed
  int64_t created_ms = 0;
  int64_t attempts = 0;
  int64_t next_attempt_ms = 0;
  int64_t delivered_ms = 0;  ///< delivered, or given up; 0 while pending
  std::string last_error;    ///< why the last attempt failed; empty when none did
};

}  // namespace pso::controller::store
