#include "agent/agent_config.h"

#include <arpa/inet.h>
#include <unistd.h>
#include <yaml-cpp/yaml.h>

#include "agent/actuator.h"
#include "agent/demand_source.h"
#include "agent/health_check.h"
#include "common/text.h"
#include "common/zmq_socket.h"

namespace pso::agent {
namespace {

namespace checks = common::checks;
using common::ConfigKey;
using common::ConfigReader;
using common::Finding;
using common::KeyList;
using common::Problem;

const KeyList<common::CurveConfig>& curveKeys() {
  using C = common::CurveConfig;
  static const KeyList<C> keys = {
      {"server_public_key", &C::server_public_key,
       "the controller's public key (Z85, its .pub file's text), pinned"},
      {"secret_key_file", &C::secret_key_file,
       "this agent's key file from psoctl keygen (mode 0600); empty: plain TCP"},
  };
  return keys;
}

// The listener serves unauthenticated figures, so only this host may reach it:
// an IPv4 loopback address (127.0.0.0/8) or ::1, with a fixed port.
Finding checkMetricsListen(const std::string& listen, const AgentConfig& /*c*/) {
  if (listen.empty()) return std::nullopt;
  const std::string expected =
      "must be a loopback address and port (127.0.0.0/8 or [::1]), e.g. 127.0.0.1:9465";
  std::optional<common::HostPort> where = common::splitHostPort(listen);
  if (!where) return Problem::invalid(expected + ", got '" + listen + "'");
  in_addr v4{};
  in6_addr v6{};
  if (::inet_pton(AF_INET, where->host.c_str(), &v4) == 1) {
    if ((ntohl(v4.s_addr) >> 24) == 127) return std::nullopt;
  } else if (::inet_pton(AF_INET6, where->host.c_str(), &v6) == 1) {
    if (IN6_IS_ADDR_LOOPBACK(&v6)) return std::nullopt;
  }
  return Problem::invalid(expected + ", got '" + listen + "'");
}

// One endpoint, or the endpoints of a controller pair separated by commas.
Finding checkControllerEndpoints(const std::string& controller, const AgentConfig& /*a*/) {
  for (const std::string& endpoint : common::splitEndpoints(controller)) {
    if (endpoint.empty()) {
      return Problem::invalid("expected an endpoint, or endpoints separated by commas, got '" +
                              controller + "'");
    }
  }
  return std::nullopt;
}

const KeyList<AgentConfig>& agentKeys() {
  using A = AgentConfig;
  static const KeyList<A> keys = {
      ConfigKey<A>("id", &A::id, "this agent's id, unique in the fleet")
          .emptyMeans("the host name"),
      {"controller", &A::controller,
       "the controller's ROUTER endpoint; for a controller pair on PostgreSQL, each one's, "
       "separated by commas (the agent follows the one that acts)",
       &checkControllerEndpoints},
      {"spool", &A::spool, "SQLite store-and-forward of telemetry", checks::notEmpty()},
      {"sample_interval", &A::sample_interval, "how often samplers run", checks::positive()},
      {"heartbeat_interval", &A::heartbeat_interval, "how often a heartbeat is sent",
       checks::positive()},
      {"batch_max_samples", &A::batch_max_samples, "a telemetry batch is sent at this many points",
       checks::positive()},
      {"spool_max_batches", &A::spool_max_batches,
       "spool bound; past it the oldest batches are dropped", checks::positive()},
      {"proc_root", &A::proc_root, "where host metrics are read"},
      {"sys_root", &A::sys_root, "the cgroup v2 tree is <sys_root>/fs/cgroup"},
      {"filesystems", &A::filesystems, "mount points whose usage is sampled"},
      {"log_level", &A::log_level, "trace | debug | info | warn | error | critical | off",
       checks::logLevel()},
      ConfigKey<A>("metrics_listen", &A::metrics_listen,
                   "loopback address:port serving GET /metrics and /healthz", &checkMetricsListen)
          .emptyMeans("off"),
      ConfigKey<A>::section(
          "curve",
          "CurveZMQ encryption and authentication of the controller link (docs/security.md)"),
  };
  return keys;
}

Finding checkMaxReplicas(int64_t max_replicas, const SystemConfig& s) {
  if (max_replicas >= s.min_replicas) return std::nullopt;
  return Problem::invalid("must not be less than min_replicas (" + std::to_string(s.min_replicas) +
                          ")");
}

Finding checkInitialReplicas(int64_t initial, const SystemConfig& s) {
  if (initial == -1 || (initial >= s.min_replicas && initial <= s.max_replicas)) {
    return std::nullopt;
  }
  return Problem::invalid("must be -1 or between min_replicas and max_replicas");
}

Finding checkTargetUtilization(double target, const SystemConfig& /*s*/) {
  if (target > 0 && target <= 1) return std::nullopt;
  return Problem::invalid("must be in (0, 1]");
}

Finding checkDependencies(const std::vector<std::string>& depends_on, const SystemConfig& s) {
  for (const std::string& dep : depends_on) {
    if (dep == s.name) return Problem::invalid("a system cannot depend on itself");
  }
  return std::nullopt;
}

Finding checkCgroup(const std::string& cgroup, const SystemConfig& /*s*/) {
  if (cgroup.find("..") == std::string::npos) return std::nullopt;
  return Problem::invalid("must not contain '..' (it is relative to the cgroup root)");
}

const KeyList<SystemConfig>& systemKeys() {
  using S = SystemConfig;
  static const KeyList<S> keys = {
      {"name", &S::name, "unique on this agent", checks::required()},
      {"capacity_per_replica", &S::capacity_per_replica, "demand units one replica serves at 100%",
       checks::positive()},
      {"target_utilization", &S::target_utilization, "planned utilisation, in (0, 1]",
       &checkTargetUtilization},
      {"min_replicas", &S::min_replicas, "local lower bound", checks::notNegative()},
      {"max_replicas", &S::max_replicas, "local upper bound", &checkMaxReplicas},
      {"initial_replicas", &S::initial_replicas,
       "replicas started with the agent; -1 means min_replicas", &checkInitialReplicas},
      {"warmup", &S::warmup, "time from launch to serving"},
      {"priority", &S::priority, "higher wins under shared capacity"},
      {"depends_on", &S::depends_on, "systems this one calls", &checkDependencies},
      {"cgroup", &S::cgroup, "the system's cgroup v2 directory under <sys_root>/fs/cgroup",
       &checkCgroup},
      ConfigKey<S>::section("demand", "the series that measures this system's load"),
      ConfigKey<S>::section("health", "health checks", "none"),
      ConfigKey<S>::section("actuator", "how a directive becomes a change"),
  };
  return keys;
}

const KeyList<AgentConfig>& rootKeys() {
  using A = AgentConfig;
  static const KeyList<A> keys = {
      ConfigKey<A>::section("agent", "this agent"),
      ConfigKey<A>::section("systems", "the systems this agent manages", "none"),
  };
  return keys;
}

std::string defaultAgentId() {
  char buf[256] = {};
  if (gethostname(buf, sizeof(buf) - 1) != 0 || buf[0] == '\0') return "pso-agent";
  return buf;
}

void readHealth(ConfigReader& r, const YAML::Node& node, const std::string& path,
                HealthCheckConfig& h) {
  const auto& section = healthCheckSection();
  if (!ConfigReader::present(node)) {
    r.fail(node, path,
           "expected a mapping with " + section.registry->nameList(", ", " or ") + ", got nothing");
    return;
  }
  const HealthCheckKind* kind = section.read(r, node, path, h);
  if (kind != nullptr && kind->complete != nullptr) kind->complete(h);
}

void readSystem(ConfigReader& r, const YAML::Node& node, const std::string& path, SystemConfig& s) {
  if (!ConfigReader::present(node)) {
    r.fail(node, path, "expected a mapping, got nothing");
    return;
  }
  if (!common::readSection(r, node, path, systemKeys(), s)) return;
  demandSection().read(r, ConfigReader::at(node, "demand"), ConfigReader::child(path, "demand"),
                       s.demand);
  const YAML::Node health = ConfigReader::at(node, "health");
  const std::string health_path = ConfigReader::child(path, "health");
  if (r.sequence(health, health_path)) {
    s.health.resize(health.size());
    for (std::size_t i = 0; i < health.size() && !r.failed(); ++i) {
      readHealth(r, health[i], ConfigReader::index(health_path, i), s.health[i]);
    }
  }
  actuatorSection().read(r, ConfigReader::at(node, "actuator"),
                         ConfigReader::child(path, "actuator"), s.actuator);
  if (r.failed()) return;
  // Samplers and actuators alike find the system through its cgroup.
  const ActuatorKind* actuator = actuatorRegistry().find(s.actuator.kind);
  r.check(actuator == nullptr || !actuator->needs_cgroup || !s.cgroup.empty(), node, path, "cgroup",
          "required for actuator kind " + s.actuator.kind);
  const DemandSourceKind* demand = demandSourceRegistry().find(s.demand.source);
  r.check(demand == nullptr || !demand->needs_cgroup || !s.cgroup.empty(), node, path, "cgroup",
          "required for demand source " + s.demand.source);
}

void readAgent(ConfigReader& r, const YAML::Node& root, AgentConfig& c) {
  if (!ConfigReader::present(root) || !r.map(root, "", common::keyNames(rootKeys()))) return;
  const YAML::Node agent = ConfigReader::at(root, "agent");
  if (common::readSection(r, agent, "agent", agentKeys(), c)) {
    common::readSection(r, ConfigReader::at(agent, "curve"), "agent.curve", curveKeys(), c.curve);
  }
  const YAML::Node systems = ConfigReader::at(root, "systems");
  if (!r.sequence(systems, "systems")) return;
  c.systems.resize(systems.size());
  std::map<std::string, std::size_t> names;
  for (std::size_t i = 0; i < systems.size() && !r.failed(); ++i) {
    const std::string path = ConfigReader::index("systems", i);
    readSystem(r, systems[i], path, c.systems[i]);
    if (r.failed()) break;
    const auto [it, inserted] = names.emplace(c.systems[i].name, i);
    r.check(inserted, systems[i], path, "name",
            "duplicate system name '" + c.systems[i].name + "' (also systems[" +
                std::to_string(it->second) + "])");
  }
}

}  // namespace

Result<AgentConfig> parseAgentConfig(const std::string& yaml, const std::string& origin) {
  AgentConfig config;
  Status read = common::readConfigDocument(
      yaml, origin, [&](ConfigReader& r, const YAML::Node& root) { readAgent(r, root, config); });
  if (!read) return read.error();
  if (config.id.empty()) config.id = defaultAgentId();
  return config;
}

Result<AgentConfig> loadAgentConfig(const std::string& path) {
  Result<std::string> text = common::readConfigFile(path);
  if (!text) return text.error();
  return parseAgentConfig(*text, path);
}

Status checkAgentSettings(const AgentConfig& config) {
  if (std::optional<std::string> refused = common::refusal(config, {&agentKeys()}, "agent")) {
    return makeError("invalid", *refused);
  }
  return {};
}

std::vector<common::SectionDoc> describeAgentConfig() {
  return {
      common::sectionDoc("", rootKeys()),
      common::sectionDoc("agent", agentKeys()),
      common::sectionDoc("agent.curve", curveKeys()),
      common::sectionDoc("systems", systemKeys()),
      common::SectionDoc{"systems.demand", demandSection().describe()},
      common::SectionDoc{"systems.health", healthCheckSection().describe()},
      common::SectionDoc{"systems.actuator", actuatorSection().describe()},
  };
}

}  // namespace pso::agent
