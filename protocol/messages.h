#pragma once

// The v1 wire messages between pso-agent and pso-controller. One ZeroMQ frame
// holds one MessagePack map {"v": 1, "type": "<name>", ...}. docs/protocol.md is
// the normative description of every field; keep the two in step.

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <variant>
#include <vector>

namespace pso::protocol {

/// Major protocol version this build speaks. A message with another major
/// version is refused.
inline constexpr int64_t kProtocolVersion = 1;

/// Limits enforced by the decoder; a message over any of them is refused with
/// code "oversize".
inline constexpr std::size_t kMaxMessageBytes = 4 * 1024 * 1024;
inline constexpr std::size_t kMaxStringBytes = 4096;
inline constexpr std::size_t kMaxSeries = 10000;
inline constexpr std::size_t kMaxPointsPerSeries = 10000;
inline constexpr std::size_t kMaxSystems = 1000;
inline constexpr std::size_t kMaxListItems = 10000;

/// A system an agent manages, announced in `hello`.
struct SystemInfo {
  std::string name;
  std::string actuator;  ///< exec | process-pool | systemd | cgroup | docker | kubernetes
  int64_t min_replicas = 0;
  int64_t max_replicas = 0;
  int64_t replicas = 0;  ///< replicas running when the hello was sent
  double capacity_per_replica = 1.0;
  double target_utilization = 0.7;
  int64_t warmup_ms = 0;
  int64_t priority = 0;
  std::vector<std::string> depends_on;
};

/// agent -> controller, first message of a session (and after a reconnect).
struct Hello {
  std::string agent_id;
  std::string version;                            ///< agent software version
  std::map<std::string, std::string> host_facts;  ///< hostname, os, cpus, memory_bytes, ...
  std::vector<SystemInfo> systems;
  /// The agent's own sequence position: the seq its next telemetry batch gets
  /// and the oldest seq its spool still holds (== next_seq when empty). 0 =
  /// not sent (agents before this field); then the controller cannot tell a
  /// restarted sequence from a replay and keeps its stored position.
  uint64_t next_seq = 0;
  uint64_t oldest_seq = 0;
};

/// Identifies one series inside a telemetry batch. `system` is empty for host
/// metrics. A system's demand is the metric "demand"; its running replica count
/// is the metric "replicas".
struct SeriesKey {
  std::string system;
  std::string metric;
  bool operator<(const SeriesKey& o) const {
    return system != o.system ? system < o.system : metric < o.metric;
  }
  bool operator==(const SeriesKey& o) const = default;
};

/// agent -> controller: a columnar batch. values[i][j] is series[i] at
/// timestamps_ms[j]; NaN (nil on the wire) means no sample at that time.
struct TelemetryBatch {
  std::string agent_id;
  uint64_t seq = 0;         ///< per-agent sequence number, starts at 1, increases by 1
  uint64_t oldest_seq = 0;  ///< oldest sequence still held in the agent's spool, in [1, seq]
  std::vector<SeriesKey> series;
  std::vector<int64_t> timestamps_ms;
  std::vector<std::vector<double>> values;
};

/// The result of one health check run.
struct HealthCheckResult {
  std::string system;
  std::string check;   ///< stable name, e.g. "http:http://127.0.0.1:8080/healthz"
  std::string status;  ///< ok | failing | unknown
  double latency_ms = 0.0;
  std::string error;  ///< last error when failing
  int64_t ts_ms = 0;
};

/// agent -> controller: health check results.
struct Health {
  std::string agent_id;
  std::vector<HealthCheckResult> checks;
};

/// agent -> controller: the outcome of a directive.
struct DirectiveResult {
  std::string agent_id;
  std::string directive_id;
  std::string system;
  std::string status;     ///< applied | refused | failed | dry_run | expired
  int64_t replicas = -1;  ///< replica count after the action, -1 when unknown
  std::string message;    ///< one line: what happened or why it was refused
  int64_t ts_ms = 0;
  double duration_ms = 0.0;
};

/// agent -> controller: liveness plus a little state.
struct Heartbeat {
  std::string agent_id;
  int64_t ts_ms = 0;
  uint64_t spool_pending = 0;  ///< telemetry batches not yet acked
  uint64_t spool_dropped = 0;  ///< batches dropped by the spool bound since start
};

/// A system of a hello that another agent already owns (system names are
/// owned fleet-wide by the first agent that declared them).
struct SystemConflict {
  std::string system;
  std::string owner;  ///< the agent that owns it
  bool operator==(const SystemConflict&) const = default;
};

/// controller -> agent: answer to hello.
struct Welcome {
  std::string controller_id;
  int64_t ts_ms = 0;
  uint64_t last_seq = 0;  ///< highest telemetry seq of this agent already stored
  int64_t heartbeat_interval_ms = 5000;
  /// Systems of the hello the controller refused because another agent owns
  /// them: no telemetry of theirs is stored and no directive is sent for them.
  std::vector<SystemConflict> conflicts;
};

/// controller -> agent: the controller will not take this connection's
/// messages (no welcome follows). `reason` is a stable code ("id_in_use",
/// "identity", "no_session"), `message` one line for the agent's log.
struct Refused {
  std::string reason;
  std::string message;
};

/// controller -> agent: every telemetry batch up to and including `seq` is
/// durably stored; the agent may delete them from its spool.
struct Ack {
  uint64_t seq = 0;
};

/// controller -> agent: change a system. Executed at most once per id.
struct Directive {
  std::string id;
  std::string system;
  std::string action;                   ///< scale | limits
  std::optional<int64_t> replicas;      ///< scale: desired replica count
  std::optional<double> cpu;            ///< limits: CPU cores
  std::optional<int64_t> memory_bytes;  ///< limits: memory bytes
  std::string reason;
  std::string cycle_id;     ///< empty for operator directives outside a cycle
  int64_t deadline_ms = 0;  ///< wall-clock ms after which the agent must not act
};

using Message = std::variant<Hello, TelemetryBatch, Health, DirectiveResult, Heartbeat, Welcome,
                             Ack, Directive, Refused>;

/// The wire name of a message ("hello", "telemetry", "health", "result",
/// "heartbeat", "welcome", "ack", "directive", "refused").
const char* messageTypeName(const Message& message);

}  // namespace pso::protocol
