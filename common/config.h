#pragma once

// Configuration of pso-agent and pso-controller, loaded from YAML
// (ARCHITECTURE.md section 7). Every key is optional and has the default written
// here; config/agent.yaml and config/controller.yaml document each key. An
// unknown key, a duplicate key, a wrong type, a YAML syntax error or a bad value
// (e.g. min_replicas > max_replicas, an unknown actuator kind) is an Error with
// code "invalid" whose message names the file, the 1-based line and the key, e.g.
//   "/etc/pso/agent.yaml:12: systems[0].max_replicas: expected an integer, got 'ten'".
// A key that is present but empty (null) keeps its default. A relative replay
// `file` is resolved against the directory of the config file (for the parse*
// functions: the directory part of `origin`).

#include <chrono>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "common/result.h"

namespace pso::common {

using Duration = std::chrono::milliseconds;

/// Parses "500ms", "5s", "2m", "1h", "1d" (also bare numbers as seconds and
/// decimals such as "1.5s"; rounded to whole milliseconds). Negative values
/// and unknown units are Error code "invalid".
[[nodiscard]] Result<Duration> parseDuration(const std::string& text);

/// Formats a duration the way parseDuration reads it ("1500ms" -> "1.5s").
std::string formatDuration(Duration d);

struct CurveConfig {
  std::string server_public_key;    ///< agent: the controller's public key (Z85)
  std::string secret_key_file;      ///< file holding this process's key pair
  std::string authorized_keys_dir;  ///< controller: one agent public key per file
  bool enabled() const { return !secret_key_file.empty(); }
};

/// Where a system's demand series comes from.
struct DemandSourceConfig {
  std::string source = "replay";              ///< prometheus | command | replay | host | cgroup
  std::string url;                            ///< prometheus: scrape URL
  std::string metric;                         ///< prometheus/host/cgroup: metric name
  std::map<std::string, std::string> labels;  ///< prometheus: label matchers
  std::vector<std::string> command;           ///< command: argv printing a number
  std::string file;                           ///< replay: trace CSV path
  double speed = 1.0;                         ///< replay: trace seconds played per wall second
  bool loop = true;                           ///< replay: start again at the end of the trace
  double scale = 1.0;                         ///< replay: multiply every value
  Duration timeout{std::chrono::seconds(5)};  ///< prometheus/command
  /// prometheus/command: turn the value into a per-second rate of change.
  /// "auto": when the exposition declares the metric a counter (or, without a
  /// TYPE line, its name ends in _total); "true": always; "false": never.
  std::string rate = "auto";
};

struct HealthCheckConfig {
  std::string kind;                  ///< http | tcp | command
  std::string target;                ///< URL, host:port, or the command line (kind command)
  std::vector<std::string> command;  ///< command: argv
  Duration interval{std::chrono::seconds(10)};
  Duration timeout{std::chrono::seconds(2)};
  int64_t failure_threshold = 1;  ///< consecutive failures before "failing"
  int64_t status_min = 200;       ///< http: accepted status range
  int64_t status_max = 399;
  std::string body_contains;  ///< http: optional substring
};

struct ActuatorConfig {
  std::string kind =
      "process-pool";  ///< exec | process-pool | systemd | cgroup | docker | kubernetes
  /// process-pool: argv of one worker; "{index}" becomes the worker's index.
  /// exec: argv run per directive with "{replicas}", "{cpu}", "{memory}",
  /// "{system}" substituted.
  std::vector<std::string> command;
  /// exec: argv that prints the current replica count (optional).
  std::vector<std::string> status_command;
  Duration timeout{std::chrono::seconds(30)};
  Duration cooldown{std::chrono::seconds(0)};
  bool dry_run = false;
  Duration stop_grace{
      std::chrono::seconds(5)};  ///< process-pool: SIGTERM -> SIGKILL; docker: stop timeout

  /// systemd: the template unit's name; replica i runs as "<unit>@<i>.service".
  std::string unit;
  std::string systemctl = "systemctl";  ///< systemd: the systemctl program

  /// cgroup (vertical scaling, directive action "limits"): local bounds of
  /// what a directive may set. cpu in cores, memory in bytes; a max of 0
  /// means the host's CPU count / memory size.
  double min_cpu = 0.01;
  double max_cpu = 0.0;
  int64_t min_memory = 4 * 1024 * 1024;
  int64_t max_memory = 0;
  int64_t cpu_period_us = 100000;  ///< cgroup: the period written to cpu.max

  /// docker: keep N containers of `image` (with `labels`, plus
  /// pso.system=<system>) running; `command` is the container's Cmd.
  std::string socket = "/var/run/docker.sock";
  std::string image;
  std::map<std::string, std::string> labels;
  std::string api_version = "v1.41";

  /// kubernetes: the scale subresource of one Deployment or StatefulSet.
  /// Empty api_server/namespace/token_file/ca_file: the in-cluster service
  /// account (KUBERNETES_SERVICE_HOST/PORT and
  /// /var/run/secrets/kubernetes.io/serviceaccount/{namespace,token,ca.crt}).
  std::string api_server;
  std::string namespace_;  ///< config key "namespace"
  std::string deployment;
  std::string statefulset;
  std::string token_file;
  std::string ca_file;
};

/// One managed system, as configured on its agent.
struct SystemConfig {
  std::string name;
  double capacity_per_replica = 1.0;  ///< demand units one replica serves at 100%
  double target_utilization = 0.7;
  int64_t min_replicas = 1;
  int64_t max_replicas = 10;
  int64_t initial_replicas = -1;  ///< -1: min_replicas
  Duration warmup{std::chrono::seconds(30)};
  int64_t priority = 0;
  std::vector<std::string> depends_on;
  /// cgroup v2 directory of the system, relative to <sys_root>/fs/cgroup
  /// (e.g. "system.slice/web.service"); empty: no cgroup sampling.
  std::string cgroup;
  DemandSourceConfig demand;
  std::vector<HealthCheckConfig> health;
  ActuatorConfig actuator;
};

struct AgentConfig {
  std::string id;  ///< default: the host name
  std::string controller = "tcp://127.0.0.1:7450";
  std::string spool = "/var/lib/pso/agent-spool.db";
  Duration sample_interval{std::chrono::seconds(5)};
  Duration heartbeat_interval{std::chrono::seconds(5)};
  int64_t batch_max_samples = 5000;    ///< flush a telemetry batch at this many points
  int64_t spool_max_batches = 100000;  ///< bound; the oldest batches are dropped past it
  std::string proc_root = "/proc";
  std::string sys_root = "/sys";  ///< cgroup v2 tree is <sys_root>/fs/cgroup
  /// Mount points whose usage is sampled (fs.size_bytes:<path>, ...).
  std::vector<std::string> filesystems = {"/"};
  std::string log_level = "info";
  CurveConfig curve;
  std::vector<SystemConfig> systems;
};

struct PoolConfig {
  std::string name;
  int64_t capacity_replicas = 0;
  std::vector<std::string> systems;
};

struct AlertRuleConfig {
  std::string when;      ///< "<metric> <op> <number>", e.g. "health_score < 95"
  std::string notify;    ///< webhook URL, or empty
  std::string scale_up;  ///< system to scale up, or empty
  std::string system;    ///< restrict to one system, or empty for all
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
};

struct ControllerConfig {
  std::string id = "pso-controller";
  std::string bind = "tcp://127.0.0.1:7450";
  std::string http = "127.0.0.1:7460";
  std::string db = "/var/lib/pso/controller.db";
  Duration cycle_interval{std::chrono::seconds(15)};
  std::string mode = "act";  ///< act | forecast-only
  int64_t actions_per_hour = 1000;
  std::string api_tokens_file;  ///< one token per line; empty: mutating API disabled
  Duration heartbeat_interval{std::chrono::seconds(5)};
  Duration agent_timeout{std::chrono::seconds(30)};  ///< agent considered down after
  Duration directive_deadline{std::chrono::seconds(60)};
  Duration retention{std::chrono::hours(24 * 14)};  ///< raw samples kept this long
  /// 1-minute rollups (min/mean/max/count per series) kept this long.
  Duration rollup_retention_minute{std::chrono::hours(24 * 30)};
  /// 1-hour rollups kept this long (the history of long-horizon forecasts).
  Duration rollup_retention_hour{std::chrono::hours(24 * 400)};
  std::string log_level = "info";
  CurveConfig curve;
  EngineConfig engine;
  std::vector<PoolConfig> pools;
  std::vector<AlertRuleConfig> alerts;
};

/// Loads an agent config file. A missing file is an Error (code "io").
[[nodiscard]] Result<AgentConfig> loadAgentConfig(const std::string& path);
/// Parses agent config YAML text; `origin` names the source in messages.
[[nodiscard]] Result<AgentConfig> parseAgentConfig(const std::string& yaml,
                                                   const std::string& origin);

[[nodiscard]] Result<ControllerConfig> loadControllerConfig(const std::string& path);
[[nodiscard]] Result<ControllerConfig> parseControllerConfig(const std::string& yaml,
                                                             const std::string& origin);

}  // namespace pso::common
