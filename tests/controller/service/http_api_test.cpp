// The HTTP API over a real socket: JSON shapes, auth, validation, errors; the
// router on its own; the long-horizon forecast at several hours of the day.
// The API answers by a fixed clock, so no assertion depends on when it runs.

#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <fstream>
#include <limits>
#include <memory>
#include <optional>
#include <ostream>
#include <sstream>
#include <string>
#include <vector>

#include "common/clock.h"
#include "common/process_memory.h"
#include "controller/service/api.h"
#include "controller/service/api/access.h"
#include "controller/service/api/query.h"
#include "controller/service/api/response.h"
#include "controller/service/api/router.h"
#include "controller/service/http_server.h"
#include "tests/controller/service/service_test_support.h"

namespace pso::controller::service::testing {
namespace {

using nlohmann::json;
using std::chrono::seconds;

constexpr int64_t kMinuteMs = 60LL * 1000;
constexpr int64_t kHourMs = 60 * kMinuteMs;
// 2026-01-01T00:00:00Z.
constexpr int64_t kNewYear2026Ms = 1'767'225'600'000;
// The instant the API tests run at.
constexpr int64_t kNow = kNewYear2026Ms + 12 * kHourMs + 30 * kMinuteMs;

/// The test agents stamp samples by the API's fixed clock (or send weeks of
/// history at once) while ingest compares them with the wall clock: the
/// store takes samples of any time here. The windows are tested in
/// tests/controller/store/telemetry_store_test.cpp.
void disableIngestWindow(store::Store& store) {
  store::IngestLimits limits;
  limits.max_age_ms = std::numeric_limits<int64_t>::max();
  limits.max_ahead_ms = std::numeric_limits<int64_t>::max();
  store.setIngestLimits(limits);
}

class HttpApiTest : public ServiceTest {
 protected:
  /// Starts the controller with its API's clock fixed at `now_ms`.
  void startAt(int64_t now_ms, HarnessOptions options = {}) {
    options.clock = fixedClock(now_ms);
    ASSERT_NO_FATAL_FAILURE(startController(options));
    disableIngestWindow(controller().store());
  }

  pso::testing::CommandOutput psoctl(std::vector<std::string> args) {
    args.insert(args.begin(), {PSO_PSOCTL_BIN, "--api",
                               "http://127.0.0.1:" + std::to_string(controller().httpPort())});
    return pso::testing::runCommand(args);
  }
};

TEST_F(HttpApiTest, StatusAgentsAndSystemsDescribeTheFleet) {
  ASSERT_NO_FATAL_FAILURE(startAt(kNow));
  const json empty = get("/api/v1/status").json();
  EXPECT_EQ(empty["controller_id"], "test-controller");
  EXPECT_EQ(empty["version"], controllerVersion());
  EXPECT_EQ(empty["mode"], "act");
  EXPECT_TRUE(empty["uptime_s"].is_number());
  EXPECT_EQ(empty["agents"]["total"], 0);
  EXPECT_EQ(empty["systems"], 0);
  EXPECT_EQ(empty["cycles"], 0);
  EXPECT_TRUE(empty["last_cycle"].is_null());
  EXPECT_EQ(empty["rejected_messages"], 0);

  auto agent = connectWebAgent("agent-1", {70, 70, 70}, 2);
  ASSERT_TRUE(agent);
  auto report = controller().runCycleOnce(kNow);
  ASSERT_TRUE(report.ok()) << report.error().message;

  const HttpReply status_reply = get("/api/v1/status");
  EXPECT_EQ(status_reply.status, 200);
  EXPECT_EQ(status_reply.content_type, "application/json");
  const json status = status_reply.json();
  EXPECT_EQ(status["agents"]["total"], 1);
  EXPECT_EQ(status["agents"]["connected"], 1);
  EXPECT_EQ(status["systems"], 1);
  EXPECT_EQ(status["cycles"], 1);
  EXPECT_EQ(status["last_cycle"]["id"], report->cycle.id);
  EXPECT_EQ(status["last_cycle"]["time"], common::formatIso8601(report->cycle.ts_ms));

  const json agents = get("/api/v1/agents").json();
  ASSERT_EQ(agents["agents"].size(), 1u);
  const json& a = agents["agents"][0];
  EXPECT_EQ(a["id"], "agent-1");
  EXPECT_EQ(a["version"], "test-agent 1.0");
  EXPECT_EQ(a["connected"], true);
  EXPECT_EQ(a["last_seq"], 1);
  EXPECT_TRUE(a["last_seen"].is_string());
  EXPECT_EQ(a["host"]["hostname"], "test-host");
  EXPECT_EQ(a["systems"], json::array({"web"}));

  const json systems = get("/api/v1/systems").json();
  ASSERT_EQ(systems["systems"].size(), 1u);
  const json& s = systems["systems"][0];
  EXPECT_EQ(s["name"], "web");
  EXPECT_EQ(s["agent"], "agent-1");
  EXPECT_EQ(s["actuator"], "process-pool");
  EXPECT_EQ(s["replicas"], 2);
  EXPECT_EQ(s["min_replicas"], 1);
  EXPECT_EQ(s["max_replicas"], 20);
  EXPECT_DOUBLE_EQ(s["capacity_per_replica"].get<double>(), 10.0);
  EXPECT_DOUBLE_EQ(s["target_utilization"].get<double>(), 0.7);
  EXPECT_DOUBLE_EQ(s["warmup_s"].get<double>(), 0.0);
  EXPECT_EQ(s["priority"], 5);
  EXPECT_EQ(s["depends_on"], json::array({"db"}));
  EXPECT_DOUBLE_EQ(s["demand"]["value"].get<double>(), 70.0);
  EXPECT_EQ(s["demand"]["time"], common::formatIso8601(kNow));
  EXPECT_EQ(s["desired"], report->decisions.systems[0].desired_replicas);
  EXPECT_EQ(s["last_rule"], report->decisions.systems[0].rule);
  EXPECT_TRUE(s["last_rationale"].is_string());
  EXPECT_TRUE(s["hold"].is_null());
  EXPECT_EQ(s["health"], json::array());
  EXPECT_TRUE(s["health_score"].is_null());
  if (!report->decisions.systems[0].forecast.point.empty()) {
    EXPECT_TRUE(s["forecast"]["point"].is_number()) << s.dump();
    EXPECT_TRUE(s["forecast"].contains("hi"));
    EXPECT_TRUE(s["forecast"].contains("model"));
  } else {
    EXPECT_TRUE(s["forecast"].is_null());
  }

  EXPECT_EQ(get("/api/v1/systems/web").json(), s);
  const HttpReply missing = get("/api/v1/systems/nope");
  EXPECT_EQ(missing.status, 404);
  EXPECT_EQ(missing.json()["error"], "unknown system 'nope'");

  const json forecast = get("/api/v1/systems/web/forecast?horizon=4").json();
  EXPECT_EQ(forecast["system"], "web");
  ASSERT_EQ(forecast["points"].size(), 4u) << forecast.dump();
  EXPECT_EQ(forecast["points"][0]["step"], 1);
  EXPECT_EQ(forecast["origin"], common::formatIso8601(kNow));
  EXPECT_TRUE(forecast["points"][3]["time"].is_string());
}

TEST_F(HttpApiTest, SamplesAcceptEpochIsoAndRelativeTimes) {
  ASSERT_NO_FATAL_FAILURE(startAt(kNow));
  TestAgent agent(endpoint(), "agent-1");
  ASSERT_TRUE(agent.sayHello({webSystem()}));
  const int64_t now = kNow;
  // Five samples, one second apart, the last one now.
  agent.send(telemetry("agent-1", 1, {1, 2, 3, 4, 5}, 2, now));
  ASSERT_TRUE(agent.receiveA<protocol::Ack>());

  const json all = get("/api/v1/systems/web/samples?metric=demand&since=10m").json();
  EXPECT_EQ(all["system"], "web");
  EXPECT_EQ(all["metric"], "demand");
  ASSERT_EQ(all["samples"].size(), 5u);
  EXPECT_EQ(all["samples"][0][0], now - 4000);
  EXPECT_DOUBLE_EQ(all["samples"][0][1].get<double>(), 1.0);

  const std::string epoch = std::to_string(now - 1500);
  const json last_two = get("/api/v1/systems/web/samples?since=" + epoch).json();
  ASSERT_EQ(last_two["samples"].size(), 2u);
  EXPECT_DOUBLE_EQ(last_two["samples"][1][1].get<double>(), 5.0);

  // ISO 8601 bounds; until is exclusive.
  const std::string since_iso = common::formatIso8601((now - 60000) / 1000 * 1000);
  const std::string until_iso = common::formatIso8601(now + 60000);
  const json iso =
      get("/api/v1/systems/web/samples?since=" + since_iso + "&until=" + until_iso + "&limit=3")
          .json();
  // A limit keeps the newest samples of the range, oldest first.
  ASSERT_EQ(iso["samples"].size(), 3u) << iso.dump();
  EXPECT_DOUBLE_EQ(iso["samples"][0][1].get<double>(), 3.0);
  EXPECT_DOUBLE_EQ(iso["samples"][2][1].get<double>(), 5.0);

  const json replicas = get("/api/v1/systems/web/samples?metric=replicas&since=1h").json();
  ASSERT_EQ(replicas["samples"].size(), 5u);
  EXPECT_DOUBLE_EQ(replicas["samples"][0][1].get<double>(), 2.0);

  EXPECT_EQ(get("/api/v1/systems/nope/samples").status, 404);
  const HttpReply bad = get("/api/v1/systems/web/samples?since=yesterday");
  EXPECT_EQ(bad.status, 400);
  EXPECT_NE(bad.json()["error"].get<std::string>().find("since"), std::string::npos);
  EXPECT_EQ(get("/api/v1/systems/web/samples?limit=0").status, 400);

  // Relative times count back from the API's clock: 3.5 s before now leaves
  // the samples 3, 2, 1 and 0 s before it; the default window is the last hour.
  const json recent = get("/api/v1/systems/web/samples?since=3.5s").json();
  ASSERT_EQ(recent["samples"].size(), 4u) << recent.dump();
  EXPECT_EQ(recent["samples"][0][0], now - 3000);
  EXPECT_EQ(get("/api/v1/systems/web/samples").json()["samples"].size(), 5u);
  EXPECT_EQ(get("/api/v1/systems/web/samples?until=1s").json()["samples"].size(), 3u);
}

// Host metrics are kept per agent and served per agent; a system belongs to
// the first agent that declared it, and the others' conflicts are listed.
TEST_F(HttpApiTest, AgentsListTheirConflictsAndServeTheirOwnHostSamples) {
  ASSERT_NO_FATAL_FAILURE(startAt(kNow));
  auto owner = connectWebAgent("agent-1", {70, 70, 70}, 2);
  ASSERT_TRUE(owner);
  TestAgent other(endpoint(), "agent-2");
  ASSERT_TRUE(other.sayHello({webSystem(9)}));

  auto host = [](const std::string& agent, uint64_t seq, double cpu, double demand) {
    protocol::TelemetryBatch b;
    b.agent_id = agent;
    b.seq = seq;
    b.oldest_seq = seq;
    b.series = {{"", "cpu.usage"}, {"web", "demand"}};
    b.timestamps_ms = {kNow - 1000, kNow};
    b.values = {{cpu, cpu}, {demand, demand}};
    return b;
  };
  owner->send(host("agent-1", 2, 0.25, 71));
  auto owner_ack = owner->receiveA<protocol::Ack>();
  ASSERT_TRUE(owner_ack.has_value());
  EXPECT_EQ(owner_ack->seq, 2u);
  other.send(host("agent-2", 1, 0.75, 999));
  auto other_ack = other.receiveA<protocol::Ack>();
  ASSERT_TRUE(other_ack.has_value());
  EXPECT_EQ(other_ack->seq, 1u);

  const json agents = get("/api/v1/agents").json();
  ASSERT_EQ(agents["agents"].size(), 2u) << agents.dump();
  EXPECT_EQ(agents["agents"][0]["conflicts"], json::array());
  EXPECT_EQ(agents["agents"][0]["systems"], json::array({"web"}));
  EXPECT_EQ(agents["agents"][1]["conflicts"],
            json::parse(R"([{"system": "web", "owner": "agent-1"}])"));
  EXPECT_EQ(agents["agents"][1]["systems"], json::array());
  // The owner's bounds and samples stand; agent-2's demand for web is refused.
  const json web = get("/api/v1/systems/web").json();
  EXPECT_EQ(web["agent"], "agent-1");
  EXPECT_EQ(web["replicas"], 2);
  const json demand = get("/api/v1/systems/web/samples?since=1h").json();
  for (const auto& sample : demand["samples"]) EXPECT_NE(sample[1], 999.0) << demand.dump();

  const json one = get("/api/v1/agents/agent-1/samples?metric=cpu.usage").json();
  EXPECT_EQ(one, json::parse("{\"agent\": \"agent-1\", \"metric\": \"cpu.usage\", "
                             "\"samples\": [[" +
                             std::to_string(kNow - 1000) + ", 0.25], [" + std::to_string(kNow) +
                             ", 0.25]]}"));
  const json two = get("/api/v1/agents/agent-2/samples?metric=cpu.usage&limit=1").json();
  EXPECT_EQ(two["agent"], "agent-2");
  ASSERT_EQ(two["samples"].size(), 1u) << two.dump();
  EXPECT_DOUBLE_EQ(two["samples"][0][1].get<double>(), 0.75);
  EXPECT_EQ(get("/api/v1/agents/agent-2/samples?metric=cpu.usage&since=" + std::to_string(kNow + 1))
                .json()["samples"],
            json::array());

  const HttpReply unknown = get("/api/v1/agents/nobody/samples?metric=cpu.usage");
  EXPECT_EQ(unknown.status, 404);
  EXPECT_EQ(unknown.json()["error"], "unknown agent 'nobody'");
  const HttpReply no_metric = get("/api/v1/agents/agent-1/samples");
  EXPECT_EQ(no_metric.status, 400);
  EXPECT_EQ(no_metric.json()["error"], "metric: required");
  EXPECT_EQ(get("/api/v1/agents/agent-1/samples?metric=cpu.usage&until=soon").status, 400);

  // psoctl reads the same, and lists the conflicts.
  const auto cli = psoctl({"--json", "samples", "--agent", "agent-2", "--metric", "cpu.usage"});
  ASSERT_EQ(cli.exit_code, 0) << cli.err;
  const json cli_doc = json::parse(cli.out);
  EXPECT_EQ(cli_doc["agent"], "agent-2");
  ASSERT_EQ(cli_doc["samples"].size(), 2u);
  EXPECT_DOUBLE_EQ(cli_doc["samples"][1][1].get<double>(), 0.75);
  const auto table = psoctl({"samples", "--agent", "agent-1", "--metric", "cpu.usage"});
  ASSERT_EQ(table.exit_code, 0) << table.err;
  EXPECT_NE(table.out.find(common::formatTimestamp(kNow)), std::string::npos) << table.out;
  EXPECT_NE(table.out.find("0.25"), std::string::npos) << table.out;
  EXPECT_EQ(table.out.find("0.75"), std::string::npos) << table.out;
  const auto system = psoctl({"samples", "web", "--metric", "demand"});
  ASSERT_EQ(system.exit_code, 0) << system.err;
  EXPECT_NE(system.out.find("71"), std::string::npos) << system.out;
  const auto listed = psoctl({"agents"});
  ASSERT_EQ(listed.exit_code, 0) << listed.err;
  EXPECT_NE(listed.out.find("CONFLICTS"), std::string::npos) << listed.out;
  EXPECT_NE(listed.out.find("web (owner agent-1)"), std::string::npos) << listed.out;

  // Exactly one of SYSTEM and --agent; --agent needs --metric.
  const auto neither = psoctl({"samples", "--metric", "cpu.usage"});
  EXPECT_NE(neither.exit_code, 0);
  EXPECT_NE(neither.err.find("exactly one"), std::string::npos) << neither.err;
  const auto both = psoctl({"samples", "web", "--agent", "agent-1", "--metric", "cpu.usage"});
  EXPECT_NE(both.exit_code, 0);
  EXPECT_NE(both.err.find("exactly one"), std::string::npos) << both.err;
  const auto metricless = psoctl({"samples", "--agent", "agent-1"});
  EXPECT_NE(metricless.exit_code, 0);
  EXPECT_NE(metricless.err.find("--metric"), std::string::npos) << metricless.err;
}

// The directive has to reach the agent, and Ingest expires a directive whose
// deadline is behind the wall clock: the API runs on the wall clock here, and
// nothing below depends on its hour.
TEST_F(HttpApiTest, PostingADirectiveNeedsAValidBearerToken) {
  ASSERT_NO_FATAL_FAILURE(startController());
  auto agent = connectWebAgent("agent-1", {5, 5, 5}, 2);
  ASSERT_TRUE(agent);
  const std::string body = R"({"system":"web","action":"scale","replicas":5,"reason":"runbook"})";

  const HttpReply anonymous = post("/api/v1/directives", body, "");
  EXPECT_EQ(anonymous.status, 401);
  EXPECT_TRUE(anonymous.json()["error"].is_string());
  EXPECT_EQ(post("/api/v1/directives", body, "wrong-token").status, 401);

  const HttpReply created = post("/api/v1/directives", body, "second-token");
  ASSERT_EQ(created.status, 201) << created.body;
  const json d = created.json()["directive"];
  EXPECT_EQ(d["system"], "web");
  EXPECT_EQ(d["agent"], "agent-1");
  EXPECT_EQ(d["action"], "scale");
  EXPECT_EQ(d["replicas"], 5);
  EXPECT_EQ(d["reason"], "runbook");
  EXPECT_EQ(d["source"], "operator");
  EXPECT_EQ(d["status"], "pending");
  EXPECT_TRUE(d["cycle_id"].is_null());
  EXPECT_TRUE(d["created"].is_string());
  EXPECT_TRUE(d["hold_until"].is_null());

  auto directive = agent->receiveA<protocol::Directive>();
  ASSERT_TRUE(directive);
  EXPECT_EQ(directive->id, d["id"]);
  EXPECT_EQ(*directive->replicas, 5);
  EXPECT_EQ(directive->reason, "runbook");

  ASSERT_TRUE(waitFor(
      [&] {
        const json list = get("/api/v1/directives?system=web&limit=5").json();
        return list["directives"].size() == 1 && list["directives"][0]["status"] == "sent";
      },
      seconds(10)));
  const json listed = get("/api/v1/directives").json()["directives"][0];
  EXPECT_EQ(listed["id"], d["id"]);
  EXPECT_TRUE(listed["sent"].is_string());
  EXPECT_TRUE(listed.contains("result_time"));
  EXPECT_TRUE(listed.contains("result_message"));
  EXPECT_EQ(get("/api/v1/directives?system=other").json()["directives"], json::array());
}

TEST_F(HttpApiTest, MutatingApiIsDisabledWithoutATokensFile) {
  HarnessOptions options;
  options.tokens_file = false;
  ASSERT_NO_FATAL_FAILURE(startAt(kNow, options));
  const HttpReply refused = post("/api/v1/directives", R"({"system":"web","replicas":2})", kToken);
  EXPECT_EQ(refused.status, 403);
  EXPECT_EQ(refused.json()["error"], "mutating API disabled: no api_tokens_file configured");
  EXPECT_EQ(get("/api/v1/directives").status, 200);
}

TEST_F(HttpApiTest, InvalidDirectivesAreRefusedWithAReason) {
  ASSERT_NO_FATAL_FAILURE(startAt(kNow));
  auto agent = connectWebAgent("agent-1", {5, 5, 5}, 2);
  ASSERT_TRUE(agent);
  struct Case {
    std::string body;
    int status;
    std::string mentions;
  };
  const std::vector<Case> cases = {
      {R"({"system":"web","replicas":50})", 422, "[1, 20]"},
      {R"({"system":"web","replicas":0})", 422, "outside"},
      {R"({"system":"nope","replicas":2})", 422, "nope"},
      {R"({"system":"web","action":"reboot","replicas":2})", 422, "reboot"},
      {R"({"system":"web"})", 400, "replicas"},
      {R"({"system":"web","replicas":"five"})", 400, "replicas"},
      {R"({"replicas":2})", 400, "system"},
      {R"({"system":"web","replicas":2,"hold":"forever"})", 400, "hold"},
      {R"({"system":"web","replicas":2,"hold_s":-5})", 400, "hold_s"},
      {R"({"system":"web","replicas":2,"hold":"1m","hold_s":60})", 400, "hold"},
      {R"([1,2,3])", 400, "object"},
      {R"({"system":"web",)", 400, "JSON"},
  };
  for (const auto& c : cases) {
    const HttpReply reply = post("/api/v1/directives", c.body);
    EXPECT_EQ(reply.status, c.status) << c.body << " -> " << reply.body;
    const json error = reply.json();
    ASSERT_TRUE(error.is_object() && error["error"].is_string()) << reply.body;
    const std::string message = error["error"];
    EXPECT_NE(message.find(c.mentions), std::string::npos) << c.body << " -> " << message;
    EXPECT_EQ(message.find('\n'), std::string::npos);
  }
  EXPECT_EQ(get("/api/v1/directives").json()["directives"], json::array());
  EXPECT_FALSE(agent->receive(std::chrono::milliseconds(200)).has_value());

  // hold_s is accepted as a number of seconds, counted from the API's clock.
  const HttpReply held = post("/api/v1/directives", R"({"system":"web","replicas":2,"hold_s":90})");
  ASSERT_EQ(held.status, 201) << held.body;
  EXPECT_EQ(held.json()["directive"]["created"], common::formatIso8601(kNow));
  EXPECT_EQ(held.json()["directive"]["hold_until"], common::formatIso8601(kNow + 90 * 1000));
}

TEST_F(HttpApiTest, CyclesAndScenariosAreListedShownAndExported) {
  ASSERT_NO_FATAL_FAILURE(startAt(kNow + 1000));
  auto agent = connectWebAgent("agent-1", {100, 100, 100}, 2);
  ASSERT_TRUE(agent);
  auto first = controller().runCycleOnce(kNow);
  ASSERT_TRUE(first.ok()) << first.error().message;
  auto second = controller().runCycleOnce(kNow + 1000);
  ASSERT_TRUE(second.ok()) << second.error().message;

  const json cycles = get("/api/v1/cycles?limit=5").json();
  ASSERT_EQ(cycles["cycles"].size(), 2u);
  EXPECT_EQ(cycles["cycles"][0]["id"], second->cycle.id);  // newest first
  EXPECT_EQ(cycles["cycles"][1]["id"], first->cycle.id);
  EXPECT_EQ(cycles["cycles"][1]["mode"], "act");
  EXPECT_TRUE(cycles["cycles"][1]["duration_ms"].is_number());
  const json& decision = cycles["cycles"][1]["decisions"][0];
  EXPECT_EQ(decision["system"], "web");
  EXPECT_DOUBLE_EQ(decision["demand"].get<double>(), 100.0);
  EXPECT_EQ(decision["current"], 2);
  EXPECT_EQ(decision["desired"], first->decisions.systems[0].desired_replicas);
  for (const char* key :
       {"forecast_point", "forecast_hi", "reactive", "rule", "guardrails", "dispatch"}) {
    EXPECT_TRUE(decision.contains(key)) << key;
  }
  EXPECT_EQ(get("/api/v1/cycles?limit=1").json()["cycles"].size(), 1u);

  const json list = get("/api/v1/scenarios").json();
  ASSERT_EQ(list["scenarios"].size(), 2u);
  const json& newest = list["scenarios"][0];
  EXPECT_EQ(newest["id"], second->scenario_id);
  EXPECT_EQ(newest["cycle_id"], second->cycle.id);
  EXPECT_TRUE(newest["time"].is_string());
  EXPECT_TRUE(newest["level"].is_string());
  EXPECT_TRUE(newest["events"].is_array());
  EXPECT_EQ(newest["systems"], json::array({"web"}));
  EXPECT_EQ(newest["outcome_filled"], false);
  EXPECT_EQ(get("/api/v1/scenarios?system=other").json()["scenarios"], json::array());
  EXPECT_EQ(get("/api/v1/scenarios?limit=1").json()["scenarios"].size(), 1u);
  const std::string level = newest["level"];
  EXPECT_GE(get("/api/v1/scenarios?level=" + level).json()["scenarios"].size(), 1u);
  EXPECT_EQ(get("/api/v1/scenarios?since=bad").status, 400);
  // "since=500ms" is 500 ms before the API's clock: only the second cycle.
  const json latest = get("/api/v1/scenarios?since=500ms").json();
  ASSERT_EQ(latest["scenarios"].size(), 1u) << latest.dump();
  EXPECT_EQ(latest["scenarios"][0]["id"], second->scenario_id);

  const json document = get("/api/v1/scenarios/" + first->scenario_id).json();
  EXPECT_EQ(document["id"], first->scenario_id);
  EXPECT_EQ(document["cycle_id"], first->cycle.id);
  EXPECT_EQ(get("/api/v1/scenarios/no-such-scenario").status, 404);

  const HttpReply exported = get("/api/v1/scenarios/export?format=jsonl");
  ASSERT_EQ(exported.status, 200) << exported.body;
  EXPECT_EQ(exported.content_type, "application/x-ndjson");
  std::vector<std::string> ids;
  std::size_t start = 0;
  while (start < exported.body.size()) {
    auto end = exported.body.find('\n', start);
    if (end == std::string::npos) end = exported.body.size();
    const std::string line = exported.body.substr(start, end - start);
    start = end + 1;
    if (line.empty()) continue;
    const json doc = json::parse(line, nullptr, false);
    ASSERT_TRUE(doc.is_object()) << line;
    ids.push_back(doc["id"]);
  }
  EXPECT_EQ(ids, (std::vector<std::string>{first->scenario_id, second->scenario_id}));
  // Every format streams over HTTP, the lessons as one document each.
  const std::vector<std::pair<std::string, std::string>> formats = {{"markdown", "text/markdown"},
                                                                    {"html", "text/html"},
                                                                    {"gift", "text/plain"},
                                                                    {"xapi", "application/json"}};
  for (const auto& [format, type] : formats) {
    const HttpReply reply = get("/api/v1/scenarios/export?format=" + format);
    ASSERT_EQ(reply.status, 200) << format << ": " << reply.body;
    EXPECT_EQ(reply.content_type.rfind(type, 0), 0u) << format << ": " << reply.content_type;
    EXPECT_FALSE(reply.body.empty()) << format;
    EXPECT_NE(reply.body.find(first->scenario_id), std::string::npos) << format;
  }
  // The course formats summarise and choose: the course page and document
  // over two cycles, and the cmi5 package as a zip (stored entries, so its
  // file names are readable in the body).
  for (const auto& [format, type] : std::vector<std::pair<std::string, std::string>>{
           {"course-html", "text/html"}, {"course-markdown", "text/markdown"}}) {
    const HttpReply reply = get("/api/v1/scenarios/export?format=" + format);
    ASSERT_EQ(reply.status, 200) << format << ": " << reply.body;
    EXPECT_EQ(reply.content_type.rfind(type, 0), 0u) << format << ": " << reply.content_type;
    EXPECT_NE(reply.body.find("Learning path"), std::string::npos) << format;
  }
  const HttpReply package = get("/api/v1/scenarios/export?format=cmi5");
  ASSERT_EQ(package.status, 200) << package.body;
  EXPECT_EQ(package.content_type, "application/zip");
  EXPECT_EQ(package.body.substr(0, 4), std::string("PK\x03\x04", 4));
  EXPECT_NE(package.body.find("cmi5.xml"), std::string::npos);
  EXPECT_NE(package.body.find("au/course-overview.html"), std::string::npos);
  ASSERT_GE(package.body.size(), 22u);
  EXPECT_EQ(package.body.substr(package.body.size() - 22, 4), std::string("PK\x05\x06", 4));
  const HttpReply unknown = get("/api/v1/scenarios/export?format=pdf");
  EXPECT_EQ(unknown.status, 400);
  EXPECT_NE(unknown.json()["error"].get<std::string>().find("jsonl"), std::string::npos);
}

TEST_F(HttpApiTest, MetricsAreServedAsPrometheusText) {
  ASSERT_NO_FATAL_FAILURE(startAt(kNow));
  auto agent = connectWebAgent("agent-1", {100, 100, 100}, 2);
  ASSERT_TRUE(agent);
  ASSERT_TRUE(controller().runCycleOnce(kNow).ok());
  ASSERT_EQ(get("/api/v1/nothing-here").status, 404);

  const HttpReply metrics = get("/metrics");
  ASSERT_EQ(metrics.status, 200);
  EXPECT_EQ(metrics.content_type.rfind("text/plain", 0), 0u);
  for (const char* expected :
       {"# TYPE pso_cycles_total counter", "pso_cycles_total 1", "pso_cycle_duration_ms",
        "pso_telemetry_batches_total{outcome=\"stored\"} 1", "pso_agents_connected 1",
        "pso_directives_total{status=\"pending\"} 1", "pso_http_requests_total{code=\"404\"} 1",
        "pso_messages_received_total{type=\"hello\"} 1", "pso_uptime_seconds"}) {
    EXPECT_NE(metrics.body.find(expected), std::string::npos) << expected << "\n" << metrics.body;
  }
  // This process's resident memory, as read when the page was served.
  const std::string rss_key = "\nprocess_resident_memory_bytes ";
  const auto at = metrics.body.find(rss_key);
  ASSERT_NE(at, std::string::npos) << metrics.body;
  const double served = std::stod(metrics.body.substr(at + rss_key.size()));
  const auto now = static_cast<double>(common::residentBytes());
  EXPECT_GT(served, 4e6);
  EXPECT_GT(served, 0.5 * now);
  EXPECT_LT(served, 2.0 * now);
}

TEST_F(HttpApiTest, MetricsNamedInTheQueryAreServedAlone) {
  ASSERT_NO_FATAL_FAILURE(startAt(kNow));
  auto agent = connectWebAgent("agent-1", {100, 100, 100}, 2);
  ASSERT_TRUE(agent);
  ASSERT_TRUE(controller().runCycleOnce(kNow).ok());

  const HttpReply some = get("/metrics?name=pso_cycles_total,pso_cycle_duration_seconds");
  ASSERT_EQ(some.status, 200) << some.body;
  EXPECT_EQ(some.content_type.rfind("text/plain", 0), 0u);
  for (const char* expected : {"# TYPE pso_cycles_total counter\npso_cycles_total 1\n",
                               "pso_cycle_duration_seconds_bucket{le=\"+Inf\"} 1\n",
                               "pso_cycle_duration_seconds_count 1\n"}) {
    EXPECT_NE(some.body.find(expected), std::string::npos) << expected << "\n" << some.body;
  }
  // Nothing else: every line belongs to one of the two families.
  std::istringstream lines(some.body);
  for (std::string line; std::getline(lines, line);) {
    EXPECT_TRUE(line.find("pso_cycles_total") != std::string::npos ||
                line.find("pso_cycle_duration_seconds") != std::string::npos)
        << line;
  }
  EXPECT_EQ(get("/metrics?name=pso_no_such_family").body, "");

  for (const char* bad : {"/metrics?name=", "/metrics?name=pso_cycles_total,",
                          "/metrics?name=9lives", "/metrics?name=pso_cycles_total,a%7Bb"}) {
    const HttpReply refused = get(bad);
    EXPECT_EQ(refused.status, 400) << bad;
    EXPECT_NE(refused.json()["error"].get<std::string>().find("is not a metric name"),
              std::string::npos)
        << bad << ": " << refused.body;
  }
  EXPECT_NE(get("/metrics?name=9lives").json()["error"].get<std::string>().find("'9lives'"),
            std::string::npos);
}
TEST_F(HttpApiTest, BadRequestsGetOneLineErrorsAndTheServerKeepsServing) {
  ASSERT_NO_FATAL_FAILURE(startAt(kNow));
  const uint16_t port = controller().httpPort();

  const HttpReply unknown = get("/api/v2/status");
  EXPECT_EQ(unknown.status, 404);
  EXPECT_TRUE(unknown.json()["error"].is_string());
  EXPECT_EQ(httpRequest(port, "DELETE", "/api/v1/status").status, 405);
  EXPECT_EQ(httpRequest(port, "PUT", "/api/v1/directives", "{}", kToken).status, 405);
  EXPECT_EQ(get("/api/v1/cycles?limit=abc").status, 400);
  EXPECT_EQ(get("/api/v1/directives?limit=%zz").status, 400);
  EXPECT_EQ(get("/api/v1/systems/%zz").status, 400);
  // An escaped '/' belongs to the name; a newline in it does not break the line.
  const HttpReply escaped = get("/api/v1/systems/a%2Fb%0Ac");
  EXPECT_EQ(escaped.status, 404);
  EXPECT_EQ(escaped.json()["error"], "unknown system 'a/b c'");

  // A declared body over 1 MiB is refused before it is read.
  const std::string oversize = rawHttp(port,
                                       "POST /api/v1/directives HTTP/1.1\r\nHost: x\r\n"
                                       "Content-Length: 2097152\r\n\r\n{");
  EXPECT_EQ(oversize.rfind("HTTP/1.1 413", 0), 0u) << oversize;
  EXPECT_NE(oversize.find("\"error\""), std::string::npos);

  const std::string garbage = rawHttp(port, "THIS IS NOT HTTP\r\n\r\n");
  EXPECT_EQ(garbage.rfind("HTTP/1.1 400", 0), 0u) << garbage;

  EXPECT_EQ(get("/api/v1/status").status, 200);
}

TEST(ApiHelpers, TimeParametersAcceptEpochMillisIsoAndDurations) {
  const int64_t now = 1'700'000'000'000;
  EXPECT_EQ(parseTimeParameter("since", "1699999999000", now).value(), 1699999999000);
  EXPECT_EQ(parseTimeParameter("since", "10m", now).value(), now - 600000);
  EXPECT_EQ(parseTimeParameter("since", "1.5s", now).value(), now - 1500);
  EXPECT_EQ(parseTimeParameter("since", "2023-11-14T22:13:20Z", now).value(), now);
  auto bad = parseTimeParameter("until", "soon", now);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().code, "invalid");
  EXPECT_NE(bad.error().message.find("until"), std::string::npos);
  EXPECT_FALSE(parseTimeParameter("since", "", now).ok());
}

TEST(HttpServerAddress, AMalformedAddressIsRefusedWithTheReason) {
  common::MetricsRegistry metrics;
  for (const char* bad :
       {"127.0.0.1", ":80", "host:", "127.0.0.1:65536", "127.0.0.1:http", "[::1]80"}) {
    HttpServer server([](const HttpRequest&) { return HttpResponse{}; }, metrics);
    const Status started = server.start(bad);
    ASSERT_FALSE(started.ok()) << bad;
    EXPECT_EQ(started.error().code, "bind") << bad;
    EXPECT_NE(started.error().message.find(std::string("'") + bad + "'"), std::string::npos)
        << started.error().message;
  }
}

TEST(ApiHelpers, TokensFileSkipsCommentsAndBlankLines) {
  TempDir dir;
  const std::string path = dir.file("tokens");
  std::ofstream(path) << "# comment\n\n  alpha  \n\t# indented comment\nbeta\n";
  auto tokens = loadApiTokens(path);
  ASSERT_TRUE(tokens.ok());
  EXPECT_EQ(tokens.value(),
            (std::vector<ApiToken>{{"alpha", Role::kOperate}, {"beta", Role::kOperate}}));
  auto missing = loadApiTokens(dir.file("missing"));
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().code, "io");
  EXPECT_NE(missing.error().message.find("missing"), std::string::npos);
}

std::optional<std::vector<ApiToken>> operateTokens(
    const std::optional<std::vector<std::string>>& secrets) {
  if (!secrets) return std::nullopt;
  std::vector<ApiToken> tokens;
  for (const std::string& secret : *secrets) tokens.push_back({secret, Role::kOperate});
  return tokens;
}

// A route table whose handlers answer with what the router handed them.
// `tokens` grant operate, as a line with a token alone does.
Router echoRouter(std::optional<std::vector<std::string>> tokens, Role anonymous) {
  auto echo = [](const char* route) {
    return [route](const ApiRequest& request) {
      return jsonResponse(200, {{"route", route},
                                {"path", request.path},
                                {"query", request.query},
                                {"now", request.now_ms}});
    };
  };
  return Router({{"GET", "/metrics", Role::kNone, echo("metrics")},
                 {"GET", "/api/v1/things", Role::kRead, echo("list")},
                 {"POST", "/api/v1/things", Role::kOperate, echo("create")},
                 {"GET", "/api/v1/things/special", Role::kRead, echo("special")},
                 {"GET", "/api/v1/things/{id}", Role::kRead, echo("show")},
                 {"GET", "/api/v1/things/{id}/parts/{part}", Role::kRead, echo("part")}},
                AccessPolicy(operateTokens(tokens), anonymous));
}

HttpRequest httpRequestFor(const std::string& method, const std::string& target,
                           const std::string& authorization = "") {
  return HttpRequest{method, target, authorization, ""};
}

std::string header(const HttpResponse& response, const std::string& name) {
  for (const auto& [key, value] : response.headers) {
    if (key == name) return value;
  }
  return "";
}

TEST(ApiRouter, MatchesLiteralsBeforeNamedSegmentsAndDecodesBoth) {
  const Router router = echoRouter(std::nullopt, Role::kRead);
  auto answer = [&](const std::string& target) {
    const HttpResponse response = router.handle(httpRequestFor("GET", target), kNow);
    EXPECT_EQ(response.status, 200) << target << ": " << response.body;
    return json::parse(response.body, nullptr, false);
  };
  EXPECT_EQ(answer("/api/v1/things")["route"], "list");
  EXPECT_EQ(answer("/api/v1/things/")["route"], "list");
  EXPECT_EQ(answer("/api/v1/things/special")["route"], "special");
  const json show = answer("/api/v1/things/a%2Fb");
  EXPECT_EQ(show["route"], "show");
  EXPECT_EQ(show["path"], json::object({{"id", "a/b"}}));
  EXPECT_EQ(show["now"], kNow);
  const json part = answer("/api/v1/things/x/parts/y%20z?q=a+b&r=%41&q2");
  EXPECT_EQ(part["route"], "part");
  EXPECT_EQ(part["path"], json::object({{"id", "x"}, {"part", "y z"}}));
  EXPECT_EQ(part["query"], json::object({{"q", "a b"}, {"r", "A"}, {"q2", ""}}));
  // A named segment is never empty.
  EXPECT_EQ(router.handle(httpRequestFor("GET", "/api/v1/things//parts/y"), kNow).status, 404);
}

TEST(ApiRouter, AnswersUnknownPathsAndMethodsAndMalformedTargetsItself) {
  const Router router = echoRouter(std::vector<std::string>{"t1"}, Role::kRead);
  const HttpResponse unknown = router.handle(httpRequestFor("GET", "/api/v1/nothing"), kNow);
  EXPECT_EQ(unknown.status, 404);
  EXPECT_EQ(json::parse(unknown.body)["error"], "no such endpoint: /api/v1/nothing");

  // 405 comes before any token check, with every method the path takes.
  const HttpResponse wrong = router.handle(httpRequestFor("DELETE", "/api/v1/things"), kNow);
  EXPECT_EQ(wrong.status, 405);
  EXPECT_EQ(header(wrong, "Allow"), "GET, POST");
  EXPECT_EQ(json::parse(wrong.body)["error"], "method not allowed; use GET, POST");
  const HttpResponse scrape = router.handle(httpRequestFor("POST", "/metrics"), kNow);
  EXPECT_EQ(scrape.status, 405);
  EXPECT_EQ(header(scrape, "Allow"), "GET");

  for (const char* bad : {"/api/v1/things/%zz", "/api/v1/things?x=%4", "things", ""}) {
    EXPECT_EQ(router.handle(httpRequestFor("GET", bad), kNow).status, 400) << bad;
  }
}

TEST(ApiRouter, AppliesTheRouteRoleBeforeTheHandler) {
  const Router open_reads = echoRouter(std::vector<std::string>{"t1", "t2"}, Role::kRead);
  EXPECT_EQ(open_reads.handle(httpRequestFor("GET", "/api/v1/things"), kNow).status, 200);
  // A token on an open route is not checked.
  EXPECT_EQ(open_reads.handle(httpRequestFor("GET", "/api/v1/things", "Bearer nope"), kNow).status,
            200);
  const HttpResponse anonymous = open_reads.handle(httpRequestFor("POST", "/api/v1/things"), kNow);
  EXPECT_EQ(anonymous.status, 401);
  EXPECT_EQ(header(anonymous, "WWW-Authenticate"), "Bearer");
  EXPECT_EQ(open_reads.handle(httpRequestFor("POST", "/api/v1/things", "Bearer t3"), kNow).status,
            401);
  EXPECT_EQ(open_reads.handle(httpRequestFor("POST", "/api/v1/things", "Basic t1"), kNow).status,
            401);
  const HttpResponse created =
      open_reads.handle(httpRequestFor("POST", "/api/v1/things", "  bearer  t2 "), kNow);
  EXPECT_EQ(created.status, 200) << created.body;
  EXPECT_EQ(json::parse(created.body)["route"], "create");

  const Router no_tokens = echoRouter(std::nullopt, Role::kRead);
  const HttpResponse disabled =
      no_tokens.handle(httpRequestFor("POST", "/api/v1/things", "Bearer t1"), kNow);
  EXPECT_EQ(disabled.status, 403);
  EXPECT_EQ(json::parse(disabled.body)["error"],
            "mutating API disabled: no api_tokens_file configured");

  // Closing reads is a matter of the anonymous role; scraping stays open.
  const Router closed_reads = echoRouter(std::vector<std::string>{"t1"}, Role::kNone);
  EXPECT_EQ(closed_reads.handle(httpRequestFor("GET", "/api/v1/things/1"), kNow).status, 401);
  EXPECT_EQ(
      closed_reads.handle(httpRequestFor("GET", "/api/v1/things/1", "Bearer t1"), kNow).status,
      200);
  EXPECT_EQ(closed_reads.handle(httpRequestFor("GET", "/metrics"), kNow).status, 200);
}

// A daily cycle around 100 (amplitude 40) by UTC hour of day.
double dailyDemand(int64_t ts_ms) {
  const double hour = static_cast<double>((ts_ms / kHourMs) % 24);
  return 100.0 + 40.0 * std::sin(2.0 * 3.14159265358979323846 * hour / 24.0);
}

struct TimeOfDay {
  int hour = 0;
  int minute = 0;
};

std::string formatTimeOfDay(const TimeOfDay& t, const char* pattern) {
  char text[16];
  std::snprintf(text, sizeof text, pattern, t.hour, t.minute);
  return text;
}

std::string timeOfDayName(const ::testing::TestParamInfo<TimeOfDay>& info) {
  return formatTimeOfDay(info.param, "At%02d%02dUTC");
}

void PrintTo(const TimeOfDay& t, std::ostream* out) {
  *out << formatTimeOfDay(t, "%02d:%02d UTC");
}

/// The long-horizon forecast with the controller's "now" at a fixed time of
/// day on 2026-01-01: where the history ends in the daily cycle changes the
/// model's history, so every assertion is checked at several hours.
class LongHorizonForecastTest : public ServiceTest,
                                public ::testing::WithParamInterface<TimeOfDay> {
 protected:
  void SetUp() override {
    now_ = kNewYear2026Ms + GetParam().hour * kHourMs + GetParam().minute * kMinuteMs;
    start_ = now_ / kHourMs * kHourMs - 21 * 24 * kHourMs;
    // The cycle rolls up the hours that ended two minutes before it.
    origin_ = (now_ - 2 * kMinuteMs) / kHourMs * kHourMs;
  }

  /// Starts the controller at now_ and sends three weeks of demand every 10
  /// minutes up to now_, with six hours missing.
  void feedHistory() {
    HarnessOptions options;
    options.clock = fixedClock(now_);
    ASSERT_NO_FATAL_FAILURE(startController(options));
    disableIngestWindow(controller().store());
    agent_ = connectWebAgent("agent-1", {100, 100, 100}, 2);
    ASSERT_TRUE(agent_);
    constexpr int64_t kStep = 10 * kMinuteMs;
    const int64_t gap_from = start_ + 10 * 24 * kHourMs;
    const int64_t gap_to = gap_from + 6 * kHourMs;
    std::vector<double> values;
    for (int64_t t = start_; t < now_ - 3 * kMinuteMs; t += kStep) {
      values.push_back(t >= gap_from && t < gap_to ? std::nan("") : dailyDemand(t));
    }
    agent_->send(demandHistory("agent-1", 2, start_, kStep, values));
    auto ack = agent_->receiveA<protocol::Ack>();
    ASSERT_TRUE(ack.has_value());
    ASSERT_EQ(ack->seq, 2u);
  }

  /// The cycle at now_, which rolls the samples up.
  void runCycle() {
    auto report = controller().runCycleOnce(now_);
    ASSERT_TRUE(report.ok()) << report.error().message;
  }

  json forecast(const std::string& query) {
    const HttpReply reply = get("/api/v1/systems/web/forecast?" + query);
    EXPECT_EQ(reply.status, 200) << query << ": " << reply.body;
    return reply.json();
  }

  pso::testing::CommandOutput psoctl(std::vector<std::string> args) {
    args.insert(args.begin(), {PSO_PSOCTL_BIN, "--api",
                               "http://127.0.0.1:" + std::to_string(controller().httpPort())});
    return pso::testing::runCommand(args);
  }

  int64_t now_ = 0;
  int64_t start_ = 0;
  int64_t origin_ = 0;
  std::unique_ptr<TestAgent> agent_;
};

TEST_P(LongHorizonForecastTest, IsServedFromHourlyRollups) {
  ASSERT_NO_FATAL_FAILURE(feedHistory());
  // Nothing is rolled up before the first cycle.
  const HttpReply early = get("/api/v1/systems/web/forecast?horizon=168h");
  EXPECT_EQ(early.status, 404) << early.body;
  EXPECT_NE(early.json()["error"].get<std::string>().find("hourly"), std::string::npos);
  ASSERT_NO_FATAL_FAILURE(runCycle());

  const json f = forecast("horizon=168h");
  EXPECT_EQ(f["system"], "web");
  EXPECT_EQ(f["resolution"], "1h");
  EXPECT_EQ(f["step_s"], 3600.0);
  ASSERT_TRUE(f["model"].is_string());
  EXPECT_FALSE(f["model"].get<std::string>().empty());
  EXPECT_EQ(f["origin"], common::formatIso8601(origin_));
  EXPECT_EQ(f["history"]["since"], common::formatIso8601(start_));
  EXPECT_EQ(f["history"]["hours"], (origin_ - start_) / kHourMs);
  EXPECT_EQ(f["history"]["missing_hours"], 6);
  // Capacity planning asks about the most the system can serve: 20 x 10.
  EXPECT_EQ(f["capacity"], 200.0);
  ASSERT_EQ(f["points"].size(), 168u);
  double abs_error = 0.0;
  for (std::size_t i = 0; i < 168; ++i) {
    const json& p = f["points"][i];
    const int64_t step = static_cast<int64_t>(i) + 1;
    EXPECT_EQ(p["step"], step);
    EXPECT_EQ(p["time"], common::formatIso8601(origin_ + step * kHourMs));
    ASSERT_TRUE(p["point"].is_number() && p["lo"].is_number() && p["hi"].is_number()) << p.dump();
    // The interval follows the tracked errors (controller/engine/horizon_errors.h):
    // on this noiseless history they are the hourly model's residue of a
    // seasonal fit a hair off, in units of its one-step error, which is as
    // small, so the point sits at an end of its interval to within a part in
    // ten thousand (seen: 1.4e-5).
    const double point = p["point"].get<double>();
    const double slack = 1e-4 * std::max(1.0, std::abs(point));
    EXPECT_LE(p["lo"].get<double>(), p["hi"].get<double>());
    EXPECT_LE(p["lo"].get<double>(), point + slack);
    EXPECT_GE(p["hi"].get<double>(), point - slack);
    // Each point is the mean over the hour ending at its time.
    abs_error += std::abs(p["point"].get<double>() - dailyDemand(origin_ + (step - 1) * kHourMs));
  }
  EXPECT_LT(abs_error / 168.0, 5.0) << f["model"];

  // A capacity the daily peaks exceed: the breach is the first peak hour.
  const json tight = forecast("horizon=168h&capacity=120");
  ASSERT_TRUE(tight["breach"].is_object()) << tight.dump();
  const int64_t steps_ahead = tight["breach"]["steps_ahead"].get<int64_t>();
  EXPECT_GE(steps_ahead, 1);
  EXPECT_LE(steps_ahead, 24);
  EXPECT_EQ(tight["breach"]["eta"], common::formatIso8601(origin_ + steps_ahead * kHourMs));
  EXPECT_GT(tight["breach"]["predicted_demand"].get<double>(), 120.0);

  // resolution=1h with a step count; a duration up to an hour stays on the
  // operational cycle-step forecast.
  const json day = forecast("resolution=1h&horizon=24");
  EXPECT_EQ(day["resolution"], "1h");
  EXPECT_EQ(day["points"].size(), 24u);
  EXPECT_EQ(forecast("resolution=1h")["points"].size(), 168u);
  const json short_term = forecast("horizon=4");
  EXPECT_EQ(short_term["resolution"], "cycle");
  EXPECT_EQ(short_term["points"].size(), 4u);
  const json half_hour = forecast("horizon=30m");
  EXPECT_EQ(half_hour["resolution"], "cycle") << half_hour.dump();

  for (const char* bad : {"horizon=169h", "resolution=1h&horizon=169", "resolution=5m",
                          "horizon=soon", "horizon=0", "horizon=168h&capacity=-1"}) {
    const HttpReply refused = get(std::string("/api/v1/systems/web/forecast?") + bad);
    EXPECT_EQ(refused.status, 400) << bad << ": " << refused.body;
    EXPECT_TRUE(refused.json()["error"].is_string()) << bad;
  }
  EXPECT_EQ(get("/api/v1/systems/nope/forecast?horizon=168h").status, 404);

  // psoctl's online form asks the same endpoint and prints its answer.
  const auto cli = psoctl({"--json", "forecast", "web", "--horizon", "48h", "--capacity", "120"});
  ASSERT_EQ(cli.exit_code, 0) << cli.err;
  const json printed = json::parse(cli.out);
  EXPECT_EQ(printed["resolution"], "1h");
  EXPECT_EQ(printed["points"].size(), 48u);
  EXPECT_EQ(printed["breach"], forecast("horizon=48h&capacity=120")["breach"]);
  const auto table = psoctl({"forecast", "web", "--horizon", "168h"});
  ASSERT_EQ(table.exit_code, 0) << table.err;
  EXPECT_NE(table.out.find("168 steps of 1h (1h)"), std::string::npos) << table.out;
  const auto refused = psoctl({"forecast", "web", "--horizon", "200h"});
  EXPECT_EQ(refused.exit_code, 1);
  EXPECT_NE(refused.err.find("168h"), std::string::npos) << refused.err;
}

// Demand never left 60..140 and the forecast follows it: the system's most,
// 200, is not at risk within the week.
TEST_P(LongHorizonForecastTest, NoBreachOfACapacityFarAboveEveryHourSeen) {
  ASSERT_NO_FATAL_FAILURE(feedHistory());
  ASSERT_NO_FATAL_FAILURE(runCycle());
  const json f = forecast("horizon=168h");
  EXPECT_EQ(f["capacity"], 200.0);
  EXPECT_TRUE(f["breach"].is_null()) << f["model"] << " breach " << f["breach"].dump();
  const auto table = psoctl({"forecast", "web", "--horizon", "168h"});
  ASSERT_EQ(table.exit_code, 0) << table.err;
  EXPECT_NE(table.out.find("no breach within the horizon"), std::string::npos) << table.out;
}

// The first breach lies within a day: a 48-hour and a 168-hour forecast of
// the same history report the same one.
TEST_P(LongHorizonForecastTest, TheBreachDoesNotDependOnTheHorizonAsked) {
  ASSERT_NO_FATAL_FAILURE(feedHistory());
  ASSERT_NO_FATAL_FAILURE(runCycle());
  const json week = forecast("horizon=168h&capacity=120");
  const json two_days = forecast("horizon=48h&capacity=120");
  ASSERT_TRUE(week["breach"].is_object()) << week.dump();
  EXPECT_EQ(two_days["breach"], week["breach"]) << week["model"] << " / " << two_days["model"];
  const auto cli = psoctl({"--json", "forecast", "web", "--horizon", "48h", "--capacity", "120"});
  ASSERT_EQ(cli.exit_code, 0) << cli.err;
  EXPECT_EQ(json::parse(cli.out)["breach"], week["breach"]);
}

INSTANTIATE_TEST_SUITE_P(HoursOfTheDay, LongHorizonForecastTest,
                         ::testing::Values(TimeOfDay{0, 30}, TimeOfDay{6, 30}, TimeOfDay{12, 30},
                                           TimeOfDay{16, 0}, TimeOfDay{18, 30}),
                         timeOfDayName);

}  // namespace
}  // namespace pso::controller::service::testing
