#include "controller/config/controller_config.h"

#include <gtest/gtest.h>

#include <filesystem>

#include "controller/config/engine_inputs.h"
#include "tests/common/documented_keys.h"
#include "tests/common/temp_dir.h"

namespace pso::controller {
namespace {

using common::testing::TempDir;
using std::chrono::seconds;

constexpr const char* kFullController = R"(controller:
  id: ctl-1
  bind: tcp://0.0.0.0:7450
  http: 0.0.0.0:8080
  db: /var/lib/pso/test-controller.db
  cycle_interval: 30s
  mode: forecast-only
  actions_per_hour: 20
  api_tokens_file: /etc/pso/tokens
  heartbeat_interval: 3s
  agent_timeout: 1m
  directive_deadline: 90s
  retention: 7d
  log_level: warn
  curve: {secret_key_file: /etc/pso/controller.key, authorized_keys_dir: /etc/pso/agents.d}
  engine:
    scale_down_stabilization: 10m
    max_step_up: 4
    max_step_down: 2
    cooldown: 1m
    interval_coverage: 0.8
    risk: 0.1
    scale_down_min_share: 0.1
    plan_margin: 2m
    decide_threads: 3
pools:
  - {name: site-a, capacity_replicas: 64, systems: [web, api, db]}
alerts:
  - {when: "health_score < 95", notify: "http://127.0.0.1:9000/hook"}
  - {when: "p95_latency_ms > 100", scale_up: web, system: web}
)";

Error controllerError(const std::string& yaml) {
  auto parsed = parseControllerConfig(yaml, "controller.yaml");
  EXPECT_FALSE(parsed.ok()) << "config was accepted";
  return parsed.ok() ? Error{"accepted", ""} : parsed.error();
}

TEST(ControllerConfig, ParsesEveryKey) {
  auto parsed = parseControllerConfig(kFullController, "controller.yaml");
  ASSERT_TRUE(parsed.ok()) << parsed.error().message;
  const ControllerConfig& c = *parsed;
  EXPECT_EQ(c.id, "ctl-1");
  EXPECT_EQ(c.bind, "tcp://0.0.0.0:7450");
  EXPECT_EQ(c.http, "0.0.0.0:8080");
  EXPECT_EQ(c.db, "/var/lib/pso/test-controller.db");
  EXPECT_EQ(c.cycle_interval, seconds(30));
  EXPECT_EQ(c.mode, "forecast-only");
  EXPECT_EQ(c.actions_per_hour, 20);
  EXPECT_EQ(c.api_tokens_file, "/etc/pso/tokens");
  EXPECT_EQ(c.heartbeat_interval, seconds(3));
  EXPECT_EQ(c.agent_timeout, seconds(60));
  EXPECT_EQ(c.directive_deadline, seconds(90));
  EXPECT_EQ(c.retention, std::chrono::hours(24 * 7));
  EXPECT_EQ(c.log_level, "warn");
  EXPECT_EQ(c.curve.secret_key_file, "/etc/pso/controller.key");
  EXPECT_EQ(c.curve.authorized_keys_dir, "/etc/pso/agents.d");
  EXPECT_EQ(c.engine.scale_down_stabilization, std::chrono::minutes(10));
  EXPECT_EQ(c.engine.max_step_up, 4);
  EXPECT_EQ(c.engine.max_step_down, 2);
  EXPECT_EQ(c.engine.cooldown, seconds(60));
  EXPECT_DOUBLE_EQ(c.engine.interval_coverage, 0.8);
  EXPECT_DOUBLE_EQ(c.engine.risk, 0.1);
  EXPECT_DOUBLE_EQ(c.engine.scale_down_min_share, 0.1);
  EXPECT_EQ(c.engine.plan_margin, std::chrono::minutes(2));
  EXPECT_DOUBLE_EQ(engineSettingsFrom(c).plan_margin_s, 120.0);
  EXPECT_EQ(engineSettingsFrom(c).decide_threads, 3);
  ControllerConfig defaults;  // 0: one thread per core, from 1 to 4
  EXPECT_GE(engineSettingsFrom(defaults).decide_threads, 1);
  EXPECT_LE(engineSettingsFrom(defaults).decide_threads, 4);
  ASSERT_EQ(c.pools.size(), 1u);
  EXPECT_EQ(c.pools[0].name, "site-a");
  EXPECT_EQ(c.pools[0].capacity_replicas, 64);
  EXPECT_EQ(c.pools[0].systems, (std::vector<std::string>{"web", "api", "db"}));
  ASSERT_EQ(c.alerts.size(), 2u);
  EXPECT_EQ(c.alerts[0].when, "health_score < 95");
  EXPECT_EQ(c.alerts[0].notify, "http://127.0.0.1:9000/hook");
  EXPECT_TRUE(c.alerts[0].scale_up.empty());
  EXPECT_EQ(c.alerts[1].scale_up, "web");
  EXPECT_EQ(c.alerts[1].system, "web");
}

TEST(ControllerConfig, EmptyDocumentGivesDefaults) {
  auto parsed = parseControllerConfig("# nothing\n", "controller.yaml");
  ASSERT_TRUE(parsed.ok()) << parsed.error().message;
  EXPECT_EQ(parsed->bind, "tcp://127.0.0.1:7450");
  EXPECT_EQ(parsed->cycle_interval, seconds(15));
  EXPECT_EQ(parsed->mode, "act");
  EXPECT_EQ(parsed->engine.scale_down_stabilization, std::chrono::minutes(5));
}

TEST(ControllerConfig, RefusesBadValuesNamingTheKey) {
  EXPECT_EQ(controllerError("controller:\n  mode: yolo\n").message,
            "controller.yaml:2: controller.mode: 'yolo' is not one of act | forecast-only");
  EXPECT_EQ(controllerError("controller:\n  engine:\n    interval_coverage: 1.2\n").message,
            "controller.yaml:3: controller.engine.interval_coverage: must be in (0, 1)");
  EXPECT_EQ(controllerError("controller:\n  engine:\n    risk: 0.7\n").message,
            "controller.yaml:3: controller.engine.risk: must be in (0, 0.5)");
  EXPECT_EQ(controllerError("controller:\n  engine:\n    scale_down_min_share: 1\n").message,
            "controller.yaml:3: controller.engine.scale_down_min_share: must be in [0, 1)");
  EXPECT_EQ(controllerError("controller:\n  engine:\n    plan_margin: 2h\n").message,
            "controller.yaml:3: controller.engine.plan_margin: must be between 0s and 1h");
  EXPECT_EQ(controllerError("controller:\n  engine:\n    decide_threads: 65\n").message,
            "controller.yaml:3: controller.engine.decide_threads: must be in [0, 64]");
  EXPECT_EQ(controllerError("controller:\n  cycle_interval: soon\n").code, "invalid");
  EXPECT_EQ(controllerError("pools:\n  - {name: a, capacity_replicas: 4, systems: [x]}\n"
                            "  - {name: a, capacity_replicas: 4, systems: [y]}\n")
                .message,
            "controller.yaml:3: pools[1].name: duplicate pool name 'a'");
  EXPECT_EQ(controllerError("alerts:\n  - {when: \"latency is high\", notify: x}\n").message,
            "controller.yaml:2: alerts[0].when: expected '<metric> <op> <number>' with op one of "
            "< <= > >= == != and a finite number, got 'latency is high'");
  EXPECT_EQ(controllerError("alerts:\n  - {when: \"x > 1\"}\n").message,
            "controller.yaml:2: alerts[0].notify: an alert needs notify, scale_up, scale_down or "
            "hold");
  EXPECT_EQ(controllerError("controller:\n  curve: {server_public_key: k}\n").message,
            "controller.yaml:2: controller.curve.server_public_key: unknown key");
}

TEST(ControllerConfig, TheStoreIsSqliteUnlessPostgresqlIsChosenWithADsn) {
  auto defaults = parseControllerConfig("# nothing\n", "controller.yaml");
  ASSERT_TRUE(defaults.ok()) << defaults.error().message;
  EXPECT_EQ(defaults->store.backend, "sqlite");
  EXPECT_EQ(defaults->store.dsn, "");

  auto pg = parseControllerConfig(
      "controller:\n  store: {backend: postgresql, dsn: \"host=db.internal dbname=pso\"}\n",
      "controller.yaml");
  ASSERT_TRUE(pg.ok()) << pg.error().message;
  EXPECT_EQ(pg->store.backend, "postgresql");
  EXPECT_EQ(pg->store.dsn, "host=db.internal dbname=pso");

  EXPECT_EQ(controllerError("controller:\n  store: {backend: postgresql}\n").message,
            "controller.yaml:2: controller.store.dsn: backend postgresql needs a dsn (a libpq "
            "connection string)");
  EXPECT_EQ(controllerError("controller:\n  store: {backend: mysql}\n").message,
            "controller.yaml:2: controller.store.backend: 'mysql' is not one of sqlite | "
            "postgresql");
}

TEST(ControllerConfig, MissingFileIsIo) {
  TempDir dir;
  auto loaded = loadControllerConfig(dir.file("nope.yaml"));
  ASSERT_FALSE(loaded.ok());
  EXPECT_EQ(loaded.error().code, "io");
}

TEST(ControllerConfig, ReadsAlertRulesAndWebhookSettings) {
  auto parsed = parseControllerConfig(
      "controller:\n"
      "  webhooks: {max_backoff: 1m, give_up_after: 2h, dashboard_url: https://pso.example}\n"
      "alerts:\n"
      "  - {when: \"health_score < 95\", for: 2m, hysteresis: 2, notify: http://h/hook,\n"
      "     format: alertmanager, send_resolved: false}\n"
      "  - {name: slow, when: \"p95_latency_ms > 100\", scale_up: $subject, step: 2}\n",
      "controller.yaml");
  ASSERT_TRUE(parsed.ok()) << parsed.error().message;
  ASSERT_EQ(parsed->alerts.size(), 2u);
  const AlertRuleConfig& health = parsed->alerts[0];
  EXPECT_EQ(health.name, "health_score < 95");  // the condition names an unnamed rule
  EXPECT_EQ(health.for_duration, std::chrono::minutes(2));
  EXPECT_EQ(health.hysteresis, 2.0);
  EXPECT_EQ(health.format, "alertmanager");
  EXPECT_FALSE(health.send_resolved);
  EXPECT_EQ(parsed->alerts[1].scale_up, "$subject");
  EXPECT_EQ(parsed->alerts[1].step, 2);
  EXPECT_EQ(parsed->webhooks.max_backoff, std::chrono::minutes(1));
  EXPECT_EQ(parsed->webhooks.give_up_after, std::chrono::hours(2));
  EXPECT_EQ(parsed->webhooks.timeout, std::chrono::seconds(5));
  EXPECT_EQ(parsed->webhooks.dashboard_url, "https://pso.example");
}

TEST(ControllerConfig, RefusesAlertRulesThatCannotWork) {
  EXPECT_EQ(controllerError("alerts:\n  - {when: \"x > 1\", scale_up: a, hold: a}\n").message,
            "controller.yaml:2: alerts[0].notify: give one of scale_up, scale_down and hold");
  EXPECT_EQ(controllerError("alerts:\n  - {when: \"x > 1\", notify: ftp://h/}\n").message,
            "controller.yaml:2: alerts[0].notify: notify must be an http:// or https:// URL, got "
            "'ftp://h/'");
  EXPECT_EQ(
      controllerError("alerts:\n  - {when: \"agent_last_seen_s > 60\", system: web, notify: "
                      "http://h/}\n")
          .message,
      "controller.yaml:2: alerts[0].system: agent_last_seen_s is an agent figure: filter with "
      "agent, not system");
  EXPECT_EQ(
      controllerError("alerts:\n  - {when: \"demand > 1\", agent: edge, notify: http://h/}\n")
          .message,
      "controller.yaml:2: alerts[0].agent: demand is a system figure: filter with system, not "
      "agent");
  EXPECT_EQ(
      controllerError("alerts:\n  - {when: \"agent_connected == 0\", scale_up: $subject}\n")
          .message,
      "controller.yaml:2: alerts[0].scale_up: $subject names a system, and agent_connected is an "
      "agent figure: name the system to scale");
  EXPECT_EQ(controllerError("alerts:\n  - {when: \"x > 1\", hold: web}\n"
                            "  - {when: \"x > 1\", hold: api}\n")
                .message,
            "controller.yaml:3: alerts[1].name: duplicate alert name 'x > 1'");
  EXPECT_EQ(controllerError("alerts:\n  - {when: \"x > 1\", hold: web, step: 0}\n").code,
            "invalid");
  EXPECT_EQ(
      controllerError("alerts:\n  - {when: \"x > 1\", notify: http://h/, format: xml}\n").code,
      "invalid");
  EXPECT_EQ(controllerError("controller:\n  webhooks: {timeout: 0s}\n").message,
            "controller.yaml:2: controller.webhooks.timeout: must be positive");
}

TEST(ControllerConfig, RefusesPoolsAndAlertsThatCannotWork) {
  EXPECT_EQ(controllerError("pools:\n  - {capacity_replicas: 4, systems: [x]}\n").message,
            "controller.yaml:2: pools[0].name: required");
  EXPECT_EQ(controllerError("pools:\n  - {name: a, capacity_replicas: 4, systems: []}\n").message,
            "controller.yaml:2: pools[0].systems: must list at least one system");
  EXPECT_EQ(controllerError("pools:\n  -\n").message,
            "controller.yaml:3: pools[0]: expected a mapping, got nothing");
  EXPECT_EQ(controllerError("controller:\n  http: localhost\n").message,
            "controller.yaml:2: controller.http: expected address:port, got 'localhost'");
}

TEST(ExampleConfigs, ControllerExampleLoads) {
  const auto path = std::filesystem::path(PSO_SOURCE_DIR) / "config" / "controller.yaml";
  auto loaded = loadControllerConfig(path.string());
  ASSERT_TRUE(loaded.ok()) << loaded.error().message;
}

TEST(ExampleConfigs, ControllerExampleDocumentsEveryDeclaredKeyWithItsDefault) {
  const auto path = std::filesystem::path(PSO_SOURCE_DIR) / "config" / "controller.yaml";
  testing::DocumentedKeys example(path.string(), describeControllerConfig());
  for (const std::string& problem : example.problems()) ADD_FAILURE() << problem;
}

TEST(ExampleConfigs, DemoControllerConfigsLoad) {
  const auto dir = std::filesystem::path(PSO_SOURCE_DIR) / "config" / "demo";
  ASSERT_TRUE(std::filesystem::is_directory(dir)) << dir;
  int checked = 0;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    const std::string name = entry.path().filename().string();
    if (entry.path().extension() != ".yaml" || name.rfind("controller", 0) != 0) continue;
    auto loaded = loadControllerConfig(entry.path().string());
    EXPECT_TRUE(loaded.ok()) << loaded.error().message;
    ++checked;
  }
  EXPECT_GT(checked, 0);
}

}  // namespace
}  // namespace pso::controller
