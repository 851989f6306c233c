// psoctl runbook run, alerts, notifications and --watch, run as the real
// binary against a real Controller on loopback (cycles run when a test calls
// runCycleOnce; a TestAgent reports the replicas a runbook waits for).

#include <gtest/gtest.h>

#include <chrono>
#include <csignal>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "common/clock.h"
#include "controller/service/controller.h"
#include "tests/controller/service/service_test_support.h"
#include "tests/support/process.h"

namespace pso::controller::service::testing {
namespace {

using nlohmann::json;
using pso::testing::CommandOutput;
using pso::testing::linesOf;
using pso::testing::runCommand;

// Terminal columns of a line of psoctl's tables: its UTF-8 code points (a
// cut cell ends in the three-byte "…"), not its bytes.
std::size_t columns(const std::string& line) {
  std::size_t n = 0;
  for (unsigned char ch : line) n += (ch & 0xC0) != 0x80 ? 1 : 0;
  return n;
}

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

/// A refusal before anything ran: exit 2 and one line naming `mentions`.
void expectRefusedRunbook(const CommandOutput& r, const std::string& mentions) {
  EXPECT_EQ(r.exit_code, 2) << r.out << r.err;
  EXPECT_TRUE(contains(r.err, mentions)) << r.err;
  EXPECT_EQ(linesOf(r.err).size(), 1u) << r.err;
}

class RunbookTest : public ServiceTest {
 protected:
  void SetUp() override {
    // Operator directives expire by the wall clock: the API answers by it.
    HarnessOptions options;
    AlertRuleConfig rule;
    rule.name = "web-busy";
    rule.when = "demand > 50";
    rule.system = "web";
    // Nothing listens there: the notification stays queued, listed as such.
    rule.notify = "http://127.0.0.1:9/hook";
    options.alerts.push_back(rule);
    ASSERT_NO_FATAL_FAILURE(startController(options));
  }

  std::string api() const { return "http://127.0.0.1:" + std::to_string(controller_->httpPort()); }

  CommandOutput psoctl(std::vector<std::string> args) {
    args.insert(args.begin(), {PSOCTL_BIN, "--api", api(), "--token", kToken});
    return runCommand(args);
  }

  std::string writeRunbook(const std::string& name, const std::string& text) {
    const std::string path = dir_.file(name);
    std::ofstream(path) << text;
    return path;
  }

  std::size_t operatorDirectives() {
    std::size_t n = 0;
    const json doc = get("/api/v1/directives").json();
    for (const auto& d : doc.value("directives", json::array())) {
      if (d["source"] == "operator") ++n;
    }
    return n;
  }
};

constexpr const char* kFullRunbook = R"(name: game day
steps:
  - scale: {system: web, replicas: 4, reason: "game day", hold: 10m}
  - wait_for: {system: web, condition: "replicas >= 4", timeout: 20s}
  - forecast_only: on
  - wait: 100ms
  - forecast_only: off
  - hold: {system: web, for: 5m, reason: "keep it"}
  - release: {system: web, reason: "game day over"}
)";

TEST_F(RunbookTest, DryRunPrintsThePlanAndChangesNothing) {
  auto agent = connectWebAgent("agent-1", {70, 70, 70}, 2);
  ASSERT_TRUE(agent);
  const std::string file = writeRunbook("day.yaml", kFullRunbook);
  const auto r = psoctl({"runbook", "run", file, "--dry-run"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(contains(r.out, "runbook 'game day': 7 steps")) << r.out;
  EXPECT_TRUE(contains(r.out, "1. scale web to 4 replicas, held 10m (game day)")) << r.out;
  EXPECT_TRUE(contains(r.out, "2. wait up to 20s for web replicas >= 4")) << r.out;
  EXPECT_TRUE(contains(r.out, "3. switch the controller to forecast-only")) << r.out;
  EXPECT_TRUE(contains(r.out, "7. release the hold on web (game day over)")) << r.out;
  EXPECT_TRUE(contains(r.out, "dry run: nothing was changed")) << r.out;
  EXPECT_EQ(operatorDirectives(), 0u);
  EXPECT_EQ(get("/api/v1/status").json()["mode"], "act");
  // A run without --yes and without a terminal is refused, nothing done.
  expectRefusedRunbook(psoctl({"runbook", "run", file}), "give --yes");
  EXPECT_EQ(operatorDirectives(), 0u);
}

TEST_F(RunbookTest, TheExampleRunbookPassesItsDryRun) {
  auto agent = connectWebAgent("agent-1", {70, 70, 70}, 2);
  ASSERT_TRUE(agent);
  const auto r = psoctl({"runbook", "run",
                         std::string(PSO_SOURCE_DIR) + "/config/examples/runbook-evening-peak.yaml",
                         "--dry-run"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(contains(r.out, "runbook 'evening peak'")) << r.out;
  EXPECT_EQ(operatorDirectives(), 0u);
}

TEST_F(RunbookTest, ScalesWaitsForTheReplicasSwitchesModeAndReleases) {
  auto agent = connectWebAgent("agent-1", {70, 70, 70}, 2);
  ASSERT_TRUE(agent);
  const std::string file = writeRunbook("day.yaml", kFullRunbook);
  CommandOutput run;
  std::thread runner([&] { run = psoctl({"runbook", "run", file, "--yes"}); });
  // The agent "applies" the directive: once it is issued, the replicas it
  // reports are the four asked for.
  const bool issued = waitFor([&] { return operatorDirectives() >= 1; }, std::chrono::seconds(15));
  EXPECT_TRUE(issued);
  agent->send(telemetry("agent-1", 50, {70}, 4, now()));
  runner.join();
  ASSERT_EQ(run.exit_code, 0) << run.out << run.err;
  EXPECT_TRUE(contains(run.out, "step 1/7 scale: ok: directive ")) << run.out;
  EXPECT_TRUE(contains(run.out, "step 2/7 wait_for: ok: met after")) << run.out;
  EXPECT_TRUE(contains(run.out, "step 3/7 forecast_only: ok: controller mode forecast-only"))
      << run.out;
  EXPECT_TRUE(contains(run.out, "step 5/7 forecast_only: ok: controller mode act")) << run.out;
  EXPECT_TRUE(contains(run.out, "step 6/7 hold: ok: directive ")) << run.out;
  EXPECT_TRUE(contains(run.out, "step 7/7 release: ok: directive ")) << run.out;
  EXPECT_TRUE(get("/api/v1/systems/web").json()["hold"].is_null());
  const json directives = get("/api/v1/directives?system=web").json()["directives"];
  ASSERT_GE(directives.size(), 3u);
  EXPECT_EQ(directives[0]["action"], "release");
  EXPECT_EQ(directives[1]["replicas"], 4);  // the hold kept the count reported
  EXPECT_EQ(get("/api/v1/status").json()["mode"], "act");
}

TEST_F(RunbookTest, AWaitForThatTimesOutStopsWithTheStepsExitCode) {
  auto agent = connectWebAgent("agent-1", {70, 70, 70}, 2);
  ASSERT_TRUE(agent);
  const std::string file = writeRunbook("slow.yaml", R"(steps:
  - wait: 10ms
  - wait_for: {system: web, condition: "replicas >= 9", timeout: 1s}
  - scale: {system: web, replicas: 9, reason: "never"}
)");
  const auto r = psoctl({"runbook", "run", file, "--yes"});
  EXPECT_EQ(r.exit_code, 12) << r.out << r.err;  // 10 + step 2
  EXPECT_TRUE(contains(r.out, "step 2/3 wait_for: FAILED: timed out after 1s: replicas is 2"))
      << r.out;
  EXPECT_FALSE(contains(r.out, "step 3/3")) << r.out;
  EXPECT_EQ(linesOf(r.err).size(), 1u) << r.err;
  EXPECT_TRUE(contains(r.err, file + ": step 2 (wait_for) failed: timed out")) << r.err;
  EXPECT_TRUE(contains(r.err, "1 later step not run")) << r.err;
  EXPECT_EQ(operatorDirectives(), 0u);
}

TEST_F(RunbookTest, EveryMistakeIsRefusedBeforeAnythingRuns) {
  auto agent = connectWebAgent("agent-1", {70, 70, 70}, 2);
  ASSERT_TRUE(agent);
  const std::string scale_first = "steps:\n  - scale: {system: web, replicas: 3, reason: a}\n";
  const auto refused = [&](const std::string& step, const std::string& mentions) {
    const std::string file = writeRunbook("bad.yaml", scale_first + "  - " + step + "\n");
    expectRefusedRunbook(psoctl({"runbook", "run", file, "--yes"}), file + ": " + mentions);
  };
  refused("jump: {system: web}", "step 2 (jump): unknown step kind");
  refused("scale: {system: web, replicas: 3, reason: a, colour: red}",
          "step 2 (scale): colour: unknown key");
  refused("wait: soon", "step 2 (wait): wait: 'soon' is not a duration");
  refused("wait_for: {system: web, condition: \"replicas >= 2\", timeout: 2 minutes}",
          "step 2 (wait_for): timeout: '2 minutes' is not a duration");
  refused("wait_for: {system: web, condition: \"latency > 2\", timeout: 1m}",
          "step 2 (wait_for): condition: unknown figure 'latency'");
  refused("scale: {system: web, replicas: 3}", "step 2 (scale): reason: missing");
  refused("scale: {system: web, replicas: -1, reason: a}", "step 2 (scale): replicas:");
  refused("forecast_only: maybe", "step 2 (forecast_only): forecast_only: must be on or off");
  // What only the controller knows: its systems and their bounds.
  refused("release: {system: nope}",
          "step 2 (release): system: the controller manages no system 'nope'");
  refused("scale: {system: web, replicas: 21, reason: a}",
          "step 2 (scale): replicas: 21 is outside web's bounds 1-20");
  expectRefusedRunbook(psoctl({"runbook", "run", writeRunbook("x.yaml", "steps: [\n"), "--yes"}),
                       "not valid YAML");
  expectRefusedRunbook(psoctl({"runbook", "run", dir_.file("missing.yaml"), "--yes"}),
                       "cannot read the runbook");
  // The first step was never run.
  EXPECT_EQ(operatorDirectives(), 0u);
}

TEST_F(RunbookTest, ModeSwitchesAtRunTimeAndTheApiRefusesOtherModes) {
  auto agent = connectWebAgent("agent-1", {70, 70, 70}, 2);
  ASSERT_TRUE(agent);
  EXPECT_EQ(post("/api/v1/mode", R"({"mode":"forecast-only"})").status, 200);
  EXPECT_EQ(get("/api/v1/status").json()["mode"], "forecast-only");
  // The next cycle decides in the new mode: recorded, nothing dispatched.
  auto cycle = controller().runCycleOnce(now() + 1000);
  ASSERT_TRUE(cycle.ok()) << cycle.error().message;
  EXPECT_EQ(cycle->cycle.mode, "forecast-only");
  for (const auto& d : cycle->directives) EXPECT_EQ(d.status, "not_dispatched") << d.id;
  EXPECT_EQ(get("/api/v1/cycles?limit=1").json()["cycles"][0]["mode"], "forecast-only");
  EXPECT_EQ(post("/api/v1/mode", R"({"mode":"sleep"})").status, 400);
  EXPECT_EQ(post("/api/v1/mode", "not json").status, 400);
  EXPECT_EQ(post("/api/v1/mode", R"({"mode":"act"})", "").status, 401);
  const HttpReply back = post("/api/v1/mode", R"({"mode":"act"})");
  EXPECT_EQ(back.status, 200);
  EXPECT_EQ(back.json()["previous"], "forecast-only");
  EXPECT_EQ(get("/api/v1/status").json()["mode"], "act");
}

TEST_F(RunbookTest, AlertsAndNotificationsAreListed) {
  auto agent = connectWebAgent("agent-1", {70, 70, 70}, 2);
  ASSERT_TRUE(agent);
  ASSERT_TRUE(controller().runCycleOnce(now() + 1000).ok());
  const auto table = psoctl({"alerts"});
  ASSERT_EQ(table.exit_code, 0) << table.err;
  const auto lines = linesOf(table.out);
  ASSERT_EQ(lines.size(), 2u) << table.out;
  EXPECT_EQ(lines[0].rfind("RULE", 0), 0u) << table.out;
  EXPECT_TRUE(contains(lines[1], "web-busy") && contains(lines[1], "firing")) << table.out;
  for (const auto& line : lines) EXPECT_LE(columns(line), 120u) << line;
  EXPECT_EQ(psoctl({"-o", "name", "alerts", "--state", "firing"}).out, "web-busy/web\n");
  EXPECT_EQ(psoctl({"-o", "name", "alerts", "--state", "resolved"}).out, "");
  const json doc = json::parse(psoctl({"-o", "json", "alerts"}).out);
  EXPECT_EQ(doc["alerts"][0]["state"], "firing");
  const auto unknown = psoctl({"alerts", "--state", "burning"});
  EXPECT_EQ(unknown.exit_code, 1);
  EXPECT_TRUE(contains(unknown.err, "--state: unknown 'burning'; accepted: inactive, pending, firing"))
      << unknown.err;
  EXPECT_EQ(linesOf(unknown.err).size(), 1u);
  EXPECT_EQ(get("/api/v1/alerts?state=burning").status, 400);

  const auto notifications = psoctl({"notifications"});
  ASSERT_EQ(notifications.exit_code, 0) << notifications.err;
  ASSERT_EQ(linesOf(notifications.out).size(), 2u) << notifications.out;
  EXPECT_TRUE(contains(notifications.out, "web-busy")) << notifications.out;
  for (const auto& line : linesOf(notifications.out)) EXPECT_LE(columns(line), 120u) << line;
  const json listed = json::parse(psoctl({"-o", "json", "notifications", "--limit", "1"}).out);
  ASSERT_EQ(listed["notifications"].size(), 1u);
  EXPECT_EQ(psoctl({"-o", "name", "notifications"}).out,
            listed["notifications"][0]["id"].dump() + "\n");
  EXPECT_EQ(psoctl({"notifications", "--limit", "0"}).exit_code, 1);
}

TEST_F(RunbookTest, WatchPrintsATableOnlyWhenItChangesAndJsonLinesEachRefresh) {
  auto agent = connectWebAgent("agent-1", {70, 70, 70}, 2);
  ASSERT_TRUE(agent);
  const auto table = psoctl({"systems", "--watch-count", "3", "--interval", "100ms"});
  ASSERT_EQ(table.exit_code, 0) << table.err;
  const auto lines = linesOf(table.out);
  // Unchanged: one timestamp line and the table once.
  ASSERT_EQ(lines.size(), 3u) << table.out;
  EXPECT_EQ(lines[0].rfind("# ", 0), 0u) << table.out;
  EXPECT_TRUE(contains(lines[0], " UTC")) << table.out;
  EXPECT_EQ(lines[1].rfind("SYSTEM", 0), 0u) << table.out;

  const auto jsonl = psoctl({"-o", "json", "cycles", "--watch-count", "2", "--interval", "100ms"});
  ASSERT_EQ(jsonl.exit_code, 0) << jsonl.err;
  const auto docs = linesOf(jsonl.out);
  ASSERT_EQ(docs.size(), 2u) << jsonl.out;
  for (const auto& line : docs) EXPECT_TRUE(json::parse(line).contains("cycles")) << line;

  const auto alerts = psoctl({"alerts", "-w", "--watch-count", "1"});
  EXPECT_EQ(alerts.exit_code, 0) << alerts.err;
  const auto bad = psoctl({"systems", "-w", "--interval", "0s"});
  EXPECT_EQ(bad.exit_code, 1);
  EXPECT_TRUE(contains(bad.err, "--interval must be longer than 0")) << bad.err;
}

TEST_F(RunbookTest, WatchEndsWithExitZeroOnSigint) {
  auto agent = connectWebAgent("agent-1", {70, 70, 70}, 2);
  ASSERT_TRUE(agent);
  const std::string out = dir_.file("watch.out");
  pso::testing::ChildProcess watch(
      {PSOCTL_BIN, "--api", api(), "systems", "--watch", "--interval", "100ms"}, out,
      dir_.file("watch.err"));
  ASSERT_TRUE(waitFor([&] { return contains(pso::testing::readFile(out), "SYSTEM"); },
                      std::chrono::seconds(10)));
  watch.signal(SIGINT);
  EXPECT_EQ(watch.wait(std::chrono::seconds(5)), 0);
}

}  // namespace
}  // namespace pso::controller::service::testing
