#pragma once

// pso-controller's configuration (config/controller.yaml documents every key),
// declared key by key in controller_config.cpp (common/config_schema.h): a
// struct member's initialiser is the key's default. The agent's schema is
// separate (agent/agent_config.h): a change to either rebuilds only its owner.

#include <cstdint>
#include <string>
#include <vector>

#include "common/config.h"
#include "common/config_schema.h"
#include "common/result.h"

namespace pso::controller {

using common::Duration;

struct PoolConfig {
  std::string name;
  int64_t capacity_replicas = 0;
  std::vector<std::string> systems;
};

/// One alert rule (docs/operations.md "Alerts"): a condition over a figure of
/// a system or an agent, how long it must hold, and what to do when it fires.
struct AlertRuleConfig {
  std::string name;  ///< unique; empty: the condition's text
  std::string when;  ///< "<metric> <op> <number>", e.g. "health_score < 95"
  /// The condition must hold this long before the alert fires.
  Duration for_duration{std::chrono::seconds(0)};
  /// A firing alert resolves once the figure is this far past the threshold.
  double hysteresis = 0.0;
  std::string system;          ///< only this system (system figures), or empty for all
  std::string agent;           ///< only this agent (agent figures), or empty for all
  std::string notify;          ///< webhook URL (http or https), or empty
  std::string format = "pso";  ///< the webhook's payload: pso | alertmanager
  bool send_resolved = true;   ///< notify when the alert resolves too
  /// At most one scale action: the system to scale up, scale down or hold
  /// while the alert fires ("$subject": the system the alert fires for).
  std::string scale_up;
  std::string scale_down;
  std::string hold;
  int64_t step = 1;  ///< replicas per scale_up / scale_down
};

/// How the controller delivers webhook notifications (an outbox in the store:
/// a receiver that is down gets them once it is back).
struct WebhookConfig {
  /// A file whose first line is the HMAC-SHA256 key; empty: no signature header.
  std::string secret_file;
  Duration timeout{std::chrono::seconds(5)};       ///< one delivery attempt
  Duration max_backoff{std::chrono::minutes(5)};   ///< longest wait between attempts
  Duration give_up_after{std::chrono::hours(24)};  ///< a notification older is dropped, counted
  /// The dashboard's base URL in notifications' links; empty: http://<controller.http>.
  std::string dashboard_url;
};

/// Forwarding of the stored telemetry to a Prometheus remote_write receiver
/// (docs/operations.md "Remote write"); off while url is empty.
struct RemoteWriteConfig {
  std::string url;  ///< e.g. http://127.0.0.1:9090/api/v1/write
  /// A file whose first line is the bearer token; empty: no Authorization header.
  std::string bearer_token_file;
  Duration timeout{std::chrono::seconds(10)};  ///< one request, connect included
  int64_t max_samples_per_send = 2000;
  /// Samples waiting for the receiver beyond this are dropped, oldest first, and counted.
  int64_t max_queued_samples = 200000;
  Duration max_backoff{std::chrono::seconds(30)};  ///< longest wait between attempts
};

/// Engine tuning the controller passes to the decision engine.
struct EngineConfig {
  Duration scale_down_stabilization{std::chrono::minutes(5)};
  int64_t max_step_up = 0;    ///< most replicas added per decision, 0 = unlimited
  int64_t max_step_down = 0;  ///< most replicas removed per decision, 0 = unlimited
  Duration cooldown{std::chrono::seconds(0)};  ///< per system, between engine actions
  double interval_coverage = 0.9;  ///< central prediction interval reported with forecasts
  /// The predictive policy's cost/risk knob, in (0, 0.5): the chance per step
  /// the planner accepts that demand rises above the target utilisation. Lower
  /// buys more replicas and fewer overloads.
  double risk = 0.2;
  /// A step down of the predictive policy frees more than this share of the
  /// running replicas, or the count stays: it comes down in fewer, larger
  /// steps. In [0, 1).
  double scale_down_min_share = 0.25;
  /// How far beyond the warm-up the predictive plan looks (at most the
  /// warm-up, at least one cycle); engine::EngineSettings::plan_margin_s.
  Duration plan_margin{std::chrono::minutes(5)};
  /// Threads that plan a cycle's systems side by side; 0 = one per core, at
  /// most 4 (engine::EngineSettings::decide_threads).
  int64_t decide_threads = 0;
};

/// HTTPS for the HTTP API: both files or neither (then the API speaks plain HTTP).
struct HttpTlsConfig {
  std::string cert_file;  ///< PEM certificate chain, the server's certificate first
  std::string key_file;   ///< PEM private key of that certificate
  bool enabled() const { return !cert_file.empty() || !key_file.empty(); }
};

/// What the controller accepts from agents (docs/security.md): telemetry
/// outside these windows is refused and counted, never stored.
struct IngestConfig {
  /// Samples older than this (by the controller's clock) are refused. Raise it
  /// to take the backlog of agents that were cut off for longer.
  Duration max_sample_age{std::chrono::hours(24)};
  Duration max_sample_ahead{std::chrono::minutes(5)};  ///< samples this far ahead are refused
  /// Most batches one telemetry batch may move an agent's position forward
  /// (and span from its oldest_seq); a hello's spool position may move it further.
  int64_t max_seq_advance = 1000000;
};

/// Where the controller's store lives (docs/operations.md "PostgreSQL"):
/// SQLite in the file `controller.db` (the default), or a PostgreSQL
/// database reached with a libpq connection string.
struct StoreConfig {
  std::string backend = "sqlite";  ///< sqlite | postgresql
  /// libpq connection string, e.g. "host=db.internal dbname=pso user=pso";
  /// required with backend postgresql, unused with sqlite.
  std::string dsn;
  /// With postgresql: the term of the leader lease the acting controller
  /// renews. A standby takes over at most this long (plus a poll of at most
  /// 1 s) after the acting controller died or lost the database.
  Duration lease_ttl{std::chrono::seconds(5)};
};

struct ControllerConfig {
  std::string id = "pso-controller";
  std::string bind = "tcp://127.0.0.1:7450";
  std::string http = "127.0.0.1:7460";
  std::string db = "/var/lib/pso/controller.db";  ///< the SQLite store's file
  Duration cycle_interval{std::chrono::seconds(15)};
  std::string mode = "act";  ///< act | forecast-only
  int64_t actions_per_hour = 1000;
  /// One "TOKEN [read|operate]" per line; empty: only the anonymous role.
  std::string api_tokens_file;
  /// When true, anonymous callers hold no role: reading the API needs a token.
  bool api_read_requires_token = false;
  Duration heartbeat_interval{std::chrono::seconds(5)};
  Duration agent_timeout{std::chrono::seconds(30)};  ///< agent considered down after
  Duration directive_deadline{std::chrono::seconds(60)};
  Duration retention{std::chrono::hours(24 * 14)};  ///< raw samples kept this long
  /// 1-minute rollups (min/mean/max/count per series) kept this long.
  Duration rollup_retention_minute{std::chrono::hours(24 * 30)};
  /// 1-hour rollups kept this long (the history of long-horizon forecasts).
  Duration rollup_retention_hour{std::chrono::hours(24 * 400)};
  /// Cycle records (every system's decision) kept this long.
  Duration cycle_retention{std::chrono::hours(24 * 30)};
  /// Directives kept this long (not those awaiting their agent, nor holds in force).
  Duration directive_retention{std::chrono::hours(24 * 90)};
  /// Scenarios kept this long (not those a learner's attempt refers to).
  Duration scenario_retention{std::chrono::hours(24 * 90)};
  /// Cycles and scenarios older than this are rewritten into compact blocks,
  /// an hour of them at a time (reads return them unchanged).
  Duration compact_after{std::chrono::hours(1)};
  std::string log_level = "info";
  common::CurveConfig curve;
  StoreConfig store;
  HttpTlsConfig http_tls;
  IngestConfig ingest;
  EngineConfig engine;
  WebhookConfig webhooks;
  RemoteWriteConfig remote_write;
  std::vector<PoolConfig> pools;
  std::vector<AlertRuleConfig> alerts;
};

/// Loads a controller config file. A missing file is an Error (code "io").
[[nodiscard]] Result<ControllerConfig> loadControllerConfig(const std::string& path);
/// Parses controller config YAML text; `origin` names the source in messages.
[[nodiscard]] Result<ControllerConfig> parseControllerConfig(const std::string& yaml,
                                                             const std::string& origin);

/// Every section of the controller's config file and the keys it accepts, for
/// documentation and for checking the example file against the declarations.
std::vector<common::SectionDoc> describeControllerConfig();

}  // namespace pso::controller
