#include "agent/agent_config.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <map>
#include <set>

#include "agent/actuator.h"
#include "agent/demand_source.h"
#include "agent/health_check.h"
#include "common/trace.h"
#include "tests/common/documented_keys.h"
#include "tests/common/temp_dir.h"

namespace pso::agent {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

constexpr const char* kFullAgent = R"(agent:
  id: edge-07
  controller: tcp://10.0.0.5:7450
  spool: /var/lib/pso/test-spool.db
  sample_interval: 500ms
  heartbeat_interval: 2s
  batch_max_samples: 100
  spool_max_batches: 50
  proc_root: /fixture/proc
  sys_root: /fixture/sys
  log_level: debug
  curve: {server_public_key: "rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7", secret_key_file: /etc/pso/agent.key}
systems:
  - name: web
    capacity_per_replica: 120.5
    target_utilization: 0.75
    min_replicas: 2
    max_replicas: 20
    initial_replicas: 3
    warmup: 1m
    priority: 10
    depends_on: [api, db]
    demand:
      source: prometheus
      url: http://127.0.0.1:9100/metrics
      metric: http_requests_per_second
      labels: {job: web, env: prod}
      timeout: 3s
    health:
      - {http: "http://127.0.0.1:8080/healthz", interval: 10s, timeout: 2s, failure_threshold: 3, status_min: 200, status_max: 299, body_contains: ok}
      - {tcp: "127.0.0.1:5432", interval: 15s}
      - {command: ["/bin/check", "--fast"], interval: 1m}
    actuator:
      kind: exec
      command: ["/usr/local/bin/scale", "{system}", "{replicas}"]
      status_command: ["/usr/local/bin/count", "{system}"]
      timeout: 45s
      cooldown: 2m
      dry_run: true
      stop_grace: 1s
  - name: api
    demand: {source: replay, file: traces/api.csv, speed: 300, loop: false, scale: 2.5}
    actuator: {kind: process-pool, command: [sleep, "1000"]}
)";

Error agentError(const std::string& yaml) {
  auto parsed = parseAgentConfig(yaml, "agent.yaml");
  EXPECT_FALSE(parsed.ok()) << "config was accepted";
  return parsed.ok() ? Error{"accepted", ""} : parsed.error();
}

TEST(AgentConfig, ParsesEveryKey) {
  auto parsed = parseAgentConfig(kFullAgent, "/etc/pso/agent.yaml");
  ASSERT_TRUE(parsed.ok()) << parsed.error().message;
  const AgentConfig& c = *parsed;
  EXPECT_EQ(c.id, "edge-07");
  EXPECT_EQ(c.controller, "tcp://10.0.0.5:7450");
  EXPECT_EQ(c.spool, "/var/lib/pso/test-spool.db");
  EXPECT_EQ(c.sample_interval, milliseconds(500));
  EXPECT_EQ(c.heartbeat_interval, seconds(2));
  EXPECT_EQ(c.batch_max_samples, 100);
  EXPECT_EQ(c.spool_max_batches, 50);
  EXPECT_EQ(c.proc_root, "/fixture/proc");
  EXPECT_EQ(c.sys_root, "/fixture/sys");
  EXPECT_EQ(c.log_level, "debug");
  EXPECT_EQ(c.curve.server_public_key, "rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7");
  EXPECT_EQ(c.curve.secret_key_file, "/etc/pso/agent.key");
  EXPECT_TRUE(c.curve.enabled());
  ASSERT_EQ(c.systems.size(), 2u);

  const SystemConfig& web = c.systems[0];
  EXPECT_EQ(web.name, "web");
  EXPECT_DOUBLE_EQ(web.capacity_per_replica, 120.5);
  EXPECT_DOUBLE_EQ(web.target_utilization, 0.75);
  EXPECT_EQ(web.min_replicas, 2);
  EXPECT_EQ(web.max_replicas, 20);
  EXPECT_EQ(web.initial_replicas, 3);
  EXPECT_EQ(web.warmup, seconds(60));
  EXPECT_EQ(web.priority, 10);
  EXPECT_EQ(web.depends_on, (std::vector<std::string>{"api", "db"}));
  EXPECT_EQ(web.demand.source, "prometheus");
  EXPECT_EQ(web.demand.url, "http://127.0.0.1:9100/metrics");
  EXPECT_EQ(web.demand.metric, "http_requests_per_second");
  EXPECT_EQ(web.demand.labels,
            (std::map<std::string, std::string>{{"env", "prod"}, {"job", "web"}}));
  EXPECT_EQ(web.demand.timeout, seconds(3));
  ASSERT_EQ(web.health.size(), 3u);
  EXPECT_EQ(web.health[0].kind, "http");
  EXPECT_EQ(web.health[0].target, "http://127.0.0.1:8080/healthz");
  EXPECT_EQ(web.health[0].interval, seconds(10));
  EXPECT_EQ(web.health[0].timeout, seconds(2));
  EXPECT_EQ(web.health[0].failure_threshold, 3);
  EXPECT_EQ(web.health[0].status_min, 200);
  EXPECT_EQ(web.health[0].status_max, 299);
  EXPECT_EQ(web.health[0].body_contains, "ok");
  EXPECT_EQ(web.health[1].kind, "tcp");
  EXPECT_EQ(web.health[1].target, "127.0.0.1:5432");
  EXPECT_EQ(web.health[1].interval, seconds(15));
  EXPECT_EQ(web.health[1].timeout, seconds(2));  // default
  EXPECT_EQ(web.health[2].kind, "command");
  EXPECT_EQ(web.health[2].command, (std::vector<std::string>{"/bin/check", "--fast"}));
  EXPECT_EQ(web.health[2].target, "/bin/check --fast");
  EXPECT_EQ(web.actuator.kind, "exec");
  EXPECT_EQ(web.actuator.command,
            (std::vector<std::string>{"/usr/local/bin/scale", "{system}", "{replicas}"}));
  EXPECT_EQ(web.actuator.status_command,
            (std::vector<std::string>{"/usr/local/bin/count", "{system}"}));
  EXPECT_EQ(web.actuator.timeout, seconds(45));
  EXPECT_EQ(web.actuator.cooldown, seconds(120));
  EXPECT_TRUE(web.actuator.dry_run);
  EXPECT_EQ(web.actuator.stop_grace, seconds(1));

  const SystemConfig& api = c.systems[1];
  EXPECT_EQ(api.name, "api");
  EXPECT_EQ(api.min_replicas, 1);  // defaults
  EXPECT_EQ(api.max_replicas, 10);
  EXPECT_EQ(api.initial_replicas, -1);
  EXPECT_EQ(api.demand.source, "replay");
  // A relative replay file is resolved against the config file's directory.
  EXPECT_EQ(api.demand.file, "/etc/pso/traces/api.csv");
  EXPECT_DOUBLE_EQ(api.demand.speed, 300);
  EXPECT_FALSE(api.demand.loop);
  EXPECT_DOUBLE_EQ(api.demand.scale, 2.5);
  EXPECT_EQ(api.actuator.kind, "process-pool");
  EXPECT_EQ(api.actuator.command, (std::vector<std::string>{"sleep", "1000"}));
}

TEST(AgentConfig, ParsesSamplerActuatorAndDemandKeysOfEveryKind) {
  auto parsed = parseAgentConfig(R"(agent:
  sys_root: /fixture/sys
  filesystems: [/, /var/lib/pso]
systems:
  - name: web
    cgroup: system.slice/web.service
    demand: {source: cgroup, metric: cpu.usage}
    actuator: {kind: cgroup, min_cpu: 0.25, max_cpu: 4, min_memory: 67108864, max_memory: 8589934592, cpu_period_us: 50000}
  - name: api
    demand: {source: prometheus, url: "http://127.0.0.1:9100/metrics", metric: http_requests_total, rate: "true"}
    actuator: {kind: kubernetes, api_server: "https://10.0.0.1:6443", namespace: shop, deployment: api, token_file: /etc/pso/k8s-token, ca_file: /etc/pso/k8s-ca.crt}
  - name: worker
    demand: {source: command, command: [/usr/local/bin/queue-depth], rate: "false"}
    actuator: {kind: docker, socket: /run/docker.sock, image: "shop/worker:2", labels: {team: shop}, api_version: v1.43, command: [work, --fast], stop_grace: 20s}
  - name: batch
    demand: {source: command, command: [echo, "1"]}
    actuator: {kind: systemd, unit: batch, systemctl: /usr/bin/systemctl}
  - name: cache
    demand: {source: command, command: [echo, "1"]}
    actuator: {kind: kubernetes, statefulset: cache}
)",
                                 "agent.yaml");
  ASSERT_TRUE(parsed.ok()) << parsed.error().message;
  const AgentConfig& c = *parsed;
  EXPECT_EQ(c.filesystems, (std::vector<std::string>{"/", "/var/lib/pso"}));
  ASSERT_EQ(c.systems.size(), 5u);
  const ActuatorConfig& cg = c.systems[0].actuator;
  EXPECT_EQ(c.systems[0].cgroup, "system.slice/web.service");
  EXPECT_DOUBLE_EQ(cg.min_cpu, 0.25);
  EXPECT_DOUBLE_EQ(cg.max_cpu, 4);
  EXPECT_EQ(cg.min_memory, 67108864);
  EXPECT_EQ(cg.max_memory, 8589934592);
  EXPECT_EQ(cg.cpu_period_us, 50000);
  EXPECT_EQ(c.systems[1].demand.rate, "true");
  const ActuatorConfig& k8s = c.systems[1].actuator;
  EXPECT_EQ(k8s.api_server, "https://10.0.0.1:6443");
  EXPECT_EQ(k8s.namespace_, "shop");
  EXPECT_EQ(k8s.deployment, "api");
  EXPECT_EQ(k8s.token_file, "/etc/pso/k8s-token");
  EXPECT_EQ(k8s.ca_file, "/etc/pso/k8s-ca.crt");
  EXPECT_EQ(c.systems[2].demand.rate, "false");
  const ActuatorConfig& docker = c.systems[2].actuator;
  EXPECT_EQ(docker.socket, "/run/docker.sock");
  EXPECT_EQ(docker.image, "shop/worker:2");
  EXPECT_EQ(docker.labels, (std::map<std::string, std::string>{{"team", "shop"}}));
  EXPECT_EQ(docker.api_version, "v1.43");
  EXPECT_EQ(docker.command, (std::vector<std::string>{"work", "--fast"}));
  EXPECT_EQ(c.systems[3].actuator.unit, "batch");
  EXPECT_EQ(c.systems[3].actuator.systemctl, "/usr/bin/systemctl");
  EXPECT_EQ(c.systems[3].demand.rate, "auto");  // default
  EXPECT_EQ(c.systems[4].actuator.statefulset, "cache");
  EXPECT_EQ(c.systems[4].actuator.socket, "/var/run/docker.sock");  // default
}

TEST(AgentConfig, RefusesActuatorAndDemandSettingsThatCannotWork) {
  EXPECT_EQ(agentError("systems:\n  - name: web\n    actuator: {kind: cgroup}\n").message,
            "agent.yaml:2: systems[0].cgroup: required for actuator kind cgroup");
  EXPECT_EQ(agentError("systems:\n  - name: web\n    actuator: {kind: kubernetes, deployment: a, "
                       "statefulset: b}\n")
                .message,
            "agent.yaml:3: systems[0].actuator.deployment: kind kubernetes needs exactly one of "
            "deployment or statefulset");
  EXPECT_NE(
      agentError("systems:\n  - name: web\n    actuator: {kind: systemd, unit: web@.service}\n")
          .message.find("systems[0].actuator.unit: required for kind systemd"),
      std::string::npos);
  EXPECT_EQ(agentError("systems:\n  - name: web\n    actuator: {kind: docker}\n").message,
            "agent.yaml:3: systems[0].actuator.image: required for kind docker");
  EXPECT_NE(agentError("systems:\n  - name: web\n    actuator: {kind: cgroup, max_cpu: 0.001}\n"
                       "    cgroup: web\n")
                .message.find("systems[0].actuator.max_cpu: must be 0"),
            std::string::npos);
  EXPECT_NE(
      agentError("systems:\n  - name: web\n    demand: {source: command, command: [x], "
                 "rate: sometimes}\n")
          .message.find("systems[0].demand.rate: 'sometimes' is not one of auto | true | false"),
      std::string::npos);
  EXPECT_NE(agentError("systems:\n  - name: web\n    cgroup: ../../etc\n")
                .message.find("must not contain '..'"),
            std::string::npos);
  EXPECT_EQ(agentError("agent:\n  filesystems: /\n").message,
            "agent.yaml:2: agent.filesystems: expected a list, got '/'");
}

TEST(AgentConfig, EmptyDocumentGivesDefaultsAndHostNameAsId) {
  auto parsed = parseAgentConfig("", "agent.yaml");
  ASSERT_TRUE(parsed.ok()) << parsed.error().message;
  char host[256] = {};
  ASSERT_EQ(gethostname(host, sizeof(host) - 1), 0);
  EXPECT_EQ(parsed->id, host);
  EXPECT_EQ(parsed->controller, "tcp://127.0.0.1:7450");
  EXPECT_EQ(parsed->sample_interval, seconds(5));
  EXPECT_TRUE(parsed->systems.empty());
  EXPECT_FALSE(parsed->curve.enabled());
}

TEST(AgentConfig, UnknownKeyNamesFileLineAndKey) {
  const Error e = agentError("agent:\n  id: a\n  sampel_interval: 5s\n");
  EXPECT_EQ(e.code, "invalid");
  EXPECT_EQ(e.message, "agent.yaml:3: agent.sampel_interval: unknown key");
}

TEST(AgentConfig, TakesAControllerPairAndRefusesAnEmptyEntryInTheList) {
  auto pair = parseAgentConfig("agent:\n  controller: tcp://10.0.0.5:7450, tcp://10.0.0.6:7450\n",
                               "agent.yaml");
  ASSERT_TRUE(pair.ok()) << pair.error().message;
  EXPECT_EQ(pair->controller, "tcp://10.0.0.5:7450, tcp://10.0.0.6:7450");
  const Error e = agentError("agent:\n  controller: \"tcp://10.0.0.5:7450,\"\n");
  EXPECT_EQ(e.code, "invalid");
  EXPECT_NE(e.message.find("agent.yaml:2: agent.controller"), std::string::npos) << e.message;
  EXPECT_NE(e.message.find("separated by commas"), std::string::npos) << e.message;
}

TEST(AgentConfig, UnknownNestedKeyNamesItsPath) {
  const Error e = agentError(
      "systems:\n  - name: web\n    actuator:\n      kind: exec\n      command: [x]\n"
      "      retries: 3\n");
  EXPECT_EQ(e.message, "agent.yaml:6: systems[0].actuator.retries: unknown key");
  EXPECT_EQ(agentError("agnet:\n  id: a\n").message, "agent.yaml:1: agnet: unknown key");
}

TEST(AgentConfig, WrongTypeNamesTheKey) {
  const Error e = agentError("systems:\n  - name: web\n    max_replicas: ten\n");
  EXPECT_EQ(e.code, "invalid");
  EXPECT_EQ(e.message, "agent.yaml:3: systems[0].max_replicas: expected an integer, got 'ten'");
  EXPECT_EQ(agentError("agent:\n  id: [a, b]\n").message,
            "agent.yaml:2: agent.id: expected a string, got a list");
  EXPECT_EQ(agentError("systems: {name: web}\n").message,
            "agent.yaml:1: systems: expected a list, got a mapping");
  EXPECT_EQ(agentError("systems:\n  - name: web\n    actuator: {kind: exec, command: [a], "
                       "dry_run: maybe}\n")
                .message,
            "agent.yaml:3: systems[0].actuator.dry_run: expected true or false, got 'maybe'");
}

TEST(AgentConfig, BadDurationNamesTheKey) {
  const Error e = agentError("agent:\n  sample_interval: 5 minutes\n");
  EXPECT_EQ(e.message,
            "agent.yaml:2: agent.sample_interval: bad duration '5 minutes' (expected e.g. 500ms, "
            "5s, 2m, 1h, 1d)");
  EXPECT_EQ(agentError("agent:\n  sample_interval: 0s\n").message,
            "agent.yaml:2: agent.sample_interval: must be positive");
}

TEST(AgentConfig, RefusesMinAboveMax) {
  const Error e = agentError("systems:\n  - name: web\n    min_replicas: 5\n    max_replicas: 2\n");
  EXPECT_EQ(e.message,
            "agent.yaml:4: systems[0].max_replicas: must not be less than min_replicas (5)");
}

TEST(AgentConfig, RefusesBadValues) {
  EXPECT_EQ(agentError("systems:\n  - name: web\n    target_utilization: 1.5\n").message,
            "agent.yaml:3: systems[0].target_utilization: must be in (0, 1]");
  EXPECT_EQ(agentError("systems:\n  - name: web\n    capacity_per_replica: 0\n").message,
            "agent.yaml:3: systems[0].capacity_per_replica: must be positive");
  EXPECT_EQ(agentError("systems:\n  - name: web\n    actuator: {kind: teleport}\n").message,
            "agent.yaml:3: systems[0].actuator.kind: 'teleport' is not one of process-pool | "
            "exec | systemd | cgroup | docker | kubernetes");
  EXPECT_EQ(agentError("systems:\n  - name: web\n    demand: {source: oracle}\n").message,
            "agent.yaml:3: systems[0].demand.source: 'oracle' is not one of replay | host | cgroup "
            "| prometheus | command");
  EXPECT_EQ(agentError("systems:\n  - name: web\n    demand:\n      source: prometheus\n"
                       "      metric: rps\n")
                .message,
            "agent.yaml:4: systems[0].demand.url: required for source prometheus");
  EXPECT_EQ(agentError("systems:\n  - name: web\n    health:\n      - {tcp: localhost}\n").message,
            "agent.yaml:4: systems[0].health[0].tcp: expected host:port, got 'localhost'");
  EXPECT_EQ(agentError("systems:\n  - name: web\n    health:\n      - {interval: 5s}\n").message,
            "agent.yaml:4: systems[0].health[0]: exactly one of http, tcp or command is required");
  EXPECT_EQ(agentError("agent:\n  log_level: loud\n").message,
            "agent.yaml:2: agent.log_level: 'loud' is not one of trace | debug | info | warn | "
            "warning | error | critical | off");
  EXPECT_EQ(agentError("systems:\n  - max_replicas: 3\n").message,
            "agent.yaml:2: systems[0].name: required");
}

TEST(AgentConfig, MetricsListenIsOffByDefaultAndAcceptsOnlyLoopback) {
  auto defaults = parseAgentConfig("", "agent.yaml");
  ASSERT_TRUE(defaults.ok());
  EXPECT_EQ(defaults->metrics_listen, "");
  for (const char* address : {"127.0.0.1:9465", "127.1.2.3:9465", "[::1]:9465"}) {
    auto parsed =
        parseAgentConfig(std::string("agent:\n  metrics_listen: \"") + address + "\"\n", "a.yaml");
    ASSERT_TRUE(parsed.ok()) << address << ": " << parsed.error().message;
    EXPECT_EQ(parsed->metrics_listen, address);
  }
  for (const char* address : {"0.0.0.0:9465", "10.0.0.1:9465", "[::]:9465", "localhost:9465",
                              "127.0.0.1", "127.0.0.1:0", "[::ffff:127.0.0.1]:9465"}) {
    EXPECT_EQ(agentError(std::string("agent:\n  metrics_listen: \"") + address + "\"\n").message,
              std::string("agent.yaml:2: agent.metrics_listen: must be a loopback address and port "
                          "(127.0.0.0/8 or [::1]), e.g. 127.0.0.1:9465, got '") +
                  address + "'");
  }
  // Set in code (as flags do), it is checked the same way.
  AgentConfig config;
  config.metrics_listen = "192.168.1.1:9465";
  Status checked = checkAgentSettings(config);
  ASSERT_FALSE(checked.ok());
  EXPECT_EQ(checked.error().message.rfind("agent: metrics_listen: must be a loopback", 0), 0u)
      << checked.error().message;
}

TEST(AgentConfig, RefusesDuplicateSystem) {
  const Error e = agentError("systems:\n  - name: web\n  - name: api\n  - name: web\n");
  EXPECT_EQ(e.message,
            "agent.yaml:4: systems[2].name: duplicate system name 'web' (also systems[0])");
}

TEST(AgentConfig, RefusesDuplicateKey) {
  EXPECT_EQ(agentError("agent:\n  id: a\n  id: b\n").message,
            "agent.yaml:3: agent.id: duplicate key");
}

TEST(AgentConfig, ReportsYamlSyntaxErrorWithLine) {
  const Error e = agentError("agent:\n  id: a\n  controller: [unclosed\n");
  EXPECT_EQ(e.code, "invalid");
  EXPECT_EQ(e.message.rfind("agent.yaml:", 0), 0u) << e.message;
  EXPECT_NE(e.message.find("YAML syntax error"), std::string::npos);
}

TEST(AgentConfig, MissingFileIsIo) {
  common::testing::TempDir dir;
  auto loaded = loadAgentConfig(dir.file("absent.yaml"));
  ASSERT_FALSE(loaded.ok());
  EXPECT_EQ(loaded.error().code, "io");
  EXPECT_NE(loaded.error().message.find("absent.yaml"), std::string::npos);
  auto directory = loadAgentConfig(dir.path().string());
  ASSERT_FALSE(directory.ok());
  EXPECT_EQ(directory.error().code, "io");
}

TEST(AgentConfig, LoadNamesTheFileInErrors) {
  common::testing::TempDir dir;
  const std::string path = dir.write("agent.yaml", "agent:\n  bogus: 1\n");
  auto loaded = loadAgentConfig(path);
  ASSERT_FALSE(loaded.ok());
  EXPECT_EQ(loaded.error().message, path + ":2: agent.bogus: unknown key");
}

TEST(AgentConfig, AcceptsKeysOfOtherKindsButChecksOnlyTheChosenOnes) {
  // One section may carry every kind's keys (config/agent.yaml does): only
  // the chosen kind's checks apply.
  auto parsed = parseAgentConfig(
      "systems:\n  - name: web\n    demand: {source: command, command: [x], speed: 0}\n"
      "    actuator: {kind: exec, command: [x], unit: web@.service, min_cpu: 0}\n",
      "agent.yaml");
  ASSERT_TRUE(parsed.ok()) << parsed.error().message;
  EXPECT_EQ(parsed->systems[0].actuator.unit, "web@.service");
  EXPECT_EQ(agentError("systems:\n  - name: web\n    demand: {source: replay, file: x.csv, "
                       "speed: 0}\n")
                .message,
            "agent.yaml:3: systems[0].demand.speed: must be positive");
  EXPECT_EQ(agentError("systems:\n  - name: web\n    actuator: {kind: exec}\n").message,
            "agent.yaml:3: systems[0].actuator.command: required for kind exec");
}

TEST(AgentConfig, RefusesAnUnknownHostOrCgroupMetricWhenRead) {
  EXPECT_NE(agentError("systems:\n  - name: web\n    demand: {source: host, metric: load.7}\n")
                .message.find("systems[0].demand.metric: unknown metric 'load.7' (known: "),
            std::string::npos);
  EXPECT_EQ(agentError("systems:\n  - name: web\n    demand: {source: host}\n").message,
            "agent.yaml:3: systems[0].demand.metric: required for source host");
}

TEST(AgentConfig, HealthEntriesNameTheirKindByItsKey) {
  EXPECT_EQ(
      agentError("systems:\n  - name: web\n    health:\n      - {tcp: a:1, http: x}\n").message,
      "agent.yaml:4: systems[0].health[0]: exactly one of http, tcp or command is required");
  EXPECT_EQ(agentError("systems:\n  - name: web\n    health:\n      - ~\n").message,
            "agent.yaml:4: systems[0].health[0]: expected a mapping with http, tcp or command, "
            "got nothing");
  EXPECT_EQ(agentError("systems:\n  - name: web\n    health:\n      - {http: x, status_max: 100}\n")
                .message,
            "agent.yaml:4: systems[0].health[0].status_max: must be between status_min and 599");
}

TEST(AgentSettings, FlagsAreCheckedLikeTheFile) {
  AgentConfig config;
  EXPECT_TRUE(checkAgentSettings(config).ok());
  config.sample_interval = milliseconds(0);
  Status refused = checkAgentSettings(config);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code, "invalid");
  EXPECT_EQ(refused.error().message, "agent: sample_interval: must be positive");
  config.sample_interval = seconds(1);
  config.log_level = "loud";
  EXPECT_EQ(checkAgentSettings(config).error().message,
            "agent: log_level: 'loud' is not one of trace | debug | info | warn | warning | "
            "error | critical | off");
}

// A key several kinds read is one member: its declarations must agree on its type.
template <typename Entry>
void expectOneTypePerKey(const common::Registry<Entry>& registry) {
  std::map<std::string, common::ValueType> types;
  for (const Entry& entry : registry.entries()) {
    for (const auto& key : entry.keys) {
      auto [it, inserted] = types.emplace(key.name(), key.type());
      EXPECT_EQ(it->second, key.type()) << entry.name << "." << key.name();
    }
  }
}

TEST(AgentConfigSchema, EveryKindDeclaresDocumentedKeysOfOneType) {
  expectOneTypePerKey(actuatorRegistry());
  expectOneTypePerKey(demandSourceRegistry());
  expectOneTypePerKey(healthCheckRegistry());
  for (const common::SectionDoc& section : describeAgentConfig()) {
    std::set<std::string> names;
    for (const common::KeyDoc& key : section.keys) {
      EXPECT_TRUE(names.insert(key.name).second) << section.path << "." << key.name;
      EXPECT_FALSE(key.doc.empty()) << section.path << "." << key.name;
    }
  }
}

TEST(AgentConfigSchema, DescribesEachKeyWithItsDefaultAndReaders) {
  std::map<std::string, common::KeyDoc> actuator;
  for (const common::SectionDoc& section : describeAgentConfig()) {
    if (section.path != "systems.actuator") continue;
    for (const common::KeyDoc& key : section.keys) actuator[key.name] = key;
  }
  ASSERT_TRUE(actuator.count("socket"));
  EXPECT_EQ(actuator["socket"].default_text, "/var/run/docker.sock");
  EXPECT_EQ(actuator["socket"].readers, std::vector<std::string>{"docker"});
  EXPECT_EQ(actuator["command"].readers,
            (std::vector<std::string>{"process-pool", "exec", "docker"}));
  EXPECT_EQ(actuator["timeout"].default_text, "30s");
  EXPECT_TRUE(actuator["timeout"].readers.empty());  // every kind's
  EXPECT_EQ(actuator["min_cpu"].default_text, "0.01");
  EXPECT_EQ(actuator["namespace"].default_text, "the service account's namespace file");
}

// The example files in config/ document every key; they must stay loadable.
TEST(ExampleConfigs, AgentExampleLoads) {
  const auto path = std::filesystem::path(PSO_SOURCE_DIR) / "config" / "agent.yaml";
  auto loaded = loadAgentConfig(path.string());
  ASSERT_TRUE(loaded.ok()) << loaded.error().message;
  // A replay trace is found relative to the example file.
  for (const SystemConfig& system : loaded->systems) {
    if (system.demand.source != "replay") continue;
    auto trace = common::readTrace(system.demand.file);
    EXPECT_TRUE(trace.ok()) << trace.error().message;
  }
}

TEST(ExampleConfigs, AgentExampleDocumentsEveryDeclaredKeyWithItsDefault) {
  const auto path = std::filesystem::path(PSO_SOURCE_DIR) / "config" / "agent.yaml";
  pso::testing::DocumentedKeys example(path.string(), describeAgentConfig());
  for (const std::string& problem : example.problems()) ADD_FAILURE() << problem;
}

TEST(ExampleConfigs, DemoAgentConfigsLoad) {
  const auto dir = std::filesystem::path(PSO_SOURCE_DIR) / "config" / "demo";
  ASSERT_TRUE(std::filesystem::is_directory(dir)) << dir;
  int checked = 0;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    const std::string name = entry.path().filename().string();
    if (entry.path().extension() != ".yaml" || name.rfind("agent", 0) != 0) continue;
    auto loaded = loadAgentConfig(entry.path().string());
    EXPECT_TRUE(loaded.ok()) << loaded.error().message;
    ++checked;
  }
  EXPECT_GT(checked, 0);
}

}  // namespace
}  // namespace pso::agent
