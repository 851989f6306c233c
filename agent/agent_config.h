#pragma once

// pso-agent's configuration (config/agent.yaml documents every key). The
// structs hold the values; the keys are declared once beside what reads them:
// the agent's and a system's own keys in agent_config.cpp, each actuator's,
// demand source's and health check's in its own file, where it registers
// itself (agent/actuator.h, demand_source.h, health_check.h). A struct
// member's initialiser is the key's default.
//
// A relative replay `file` is resolved against the directory of the config
// file (for parseAgentConfig: the directory part of `origin`).

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "common/config.h"
#include "common/config_schema.h"
#include "common/result.h"

namespace pso::agent {

using common::Duration;

/// Where a system's demand series comes from. `source` names a registered
/// demand source; the other members are the keys the sources declare.
struct DemandSourceConfig {
  std::string source = "replay";
  std::string url;
  std::string metric;
  std::map<std::string, std::string> labels;
  std::vector<std::string> command;
  std::string file;
  double speed = 1.0;
  bool loop = true;
  double scale = 1.0;
  Duration timeout{std::chrono::seconds(5)};
  std::string rate = "auto";  ///< auto | true | false
};

/// One health check. `kind` names a registered check; in YAML it is the key
/// holding the target ("http: URL", "tcp: host:port", "command: [argv]").
struct HealthCheckConfig {
  std::string kind;
  std::string target;                ///< URL, host:port, or the command line (kind command)
  std::vector<std::string> command;  ///< kind command: argv
  Duration interval{std::chrono::seconds(10)};
  Duration timeout{std::chrono::seconds(2)};
  int64_t failure_threshold = 1;
  int64_t status_min = 200;
  int64_t status_max = 399;
  std::string body_contains;
};

/// How a system is changed. `kind` names a registered actuator; the other
/// members are the keys the actuators declare (a key several kinds read, such
/// as `command`, is one member).
struct ActuatorConfig {
  std::string kind = "process-pool";
  std::vector<std::string> command;
  std::vector<std::string> status_command;
  Duration timeout{std::chrono::seconds(30)};
  Duration cooldown{std::chrono::seconds(0)};
  bool dry_run = false;
  Duration stop_grace{std::chrono::seconds(5)};

  std::string unit;
  std::string systemctl = "systemctl";

  double min_cpu = 0.01;
  double max_cpu = 0.0;
  int64_t min_memory = 4 * 1024 * 1024;
  int64_t max_memory = 0;
  int64_t cpu_period_us = 100000;

  std::string socket = "/var/run/docker.sock";
  std::string image;
  std::map<std::string, std::string> labels;
  std::string api_version = "v1.41";

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
  /// cgroup v2 directory of the system, relative to <sys_root>/fs/cgroup;
  /// empty: no cgroup sampling.
  std::string cgroup;
  DemandSourceConfig demand;
  std::vector<HealthCheckConfig> health;
  ActuatorConfig actuator;
};

struct AgentConfig {
  std::string id;  ///< empty: the host name
  std::string controller = "tcp://127.0.0.1:7450";
  std::string spool = "/var/lib/pso/agent-spool.db";
  Duration sample_interval{std::chrono::seconds(5)};
  Duration heartbeat_interval{std::chrono::seconds(5)};
  int64_t batch_max_samples = 5000;
  int64_t spool_max_batches = 100000;
  std::string proc_root = "/proc";
  std::string sys_root = "/sys";  ///< the cgroup v2 tree is <sys_root>/fs/cgroup
  std::vector<std::string> filesystems = {"/"};
  std::string log_level = "info";
  /// Loopback address and port of the /metrics and /healthz listener
  /// ("127.0.0.1:9465", "[::1]:9465"); empty: no listener at all.
  std::string metrics_listen;
  common::CurveConfig curve;
  std::vector<SystemConfig> systems;
};

/// Loads an agent config file. A missing file is an Error (code "io").
[[nodiscard]] Result<AgentConfig> loadAgentConfig(const std::string& path);
/// Parses agent config YAML text; `origin` names the source in messages.
/// An empty `id` becomes the host name.
[[nodiscard]] Result<AgentConfig> parseAgentConfig(const std::string& yaml,
                                                   const std::string& origin);

/// Checks the `agent:` section's values of a config built or changed in code
/// (command-line flags), with the checks the reader runs. Error code
/// "invalid": "agent: sample_interval: must be positive".
[[nodiscard]] Status checkAgentSettings(const AgentConfig& config);

/// Every section of the agent's config file and the keys it accepts, for
/// documentation and for checking the example file against the declarations.
std::vector<common::SectionDoc> describeAgentConfig();

}  // namespace pso::agent
