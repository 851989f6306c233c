// The HTTP API over a real socket: JSON shapes, auth, validation, errors.

#include <gtest/gtest.h>

#include <fstream>

#include "common/clock.h"
#include "controller/service/api.h"
#include "controller/service/http_server.h"
#include "tests/controller/service/service_test_support.h"

namespace pso::controller::service::testing {
namespace {

using nlohmann::json;
using std::chrono::seconds;

class HttpApiTest : public ServiceTest {};

TEST_F(HttpApiTest, StatusAgentsAndSystemsDescribeTheFleet) {
  ASSERT_NO_FATAL_FAILURE(startController());
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
  auto report = controller().runCycleOnce(common::wallMs());
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
  EXPECT_TRUE(s["demand"]["time"].is_string());
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
  EXPECT_TRUE(forecast["points"][3]["time"].is_string());
}

TEST_F(HttpApiTest, SamplesAcceptEpochIsoAndRelativeTimes) {
  ASSERT_NO_FATAL_FAILURE(startController());
  TestAgent agent(endpoint(), "agent-1");
  ASSERT_TRUE(agent.sayHello({webSystem()}));
  const int64_t now = common::wallMs();
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
  ASSERT_EQ(iso["samples"].size(), 3u) << iso.dump();
  EXPECT_DOUBLE_EQ(iso["samples"][2][1].get<double>(), 3.0);

  const json replicas = get("/api/v1/systems/web/samples?metric=replicas&since=1h").json();
  ASSERT_EQ(replicas["samples"].size(), 5u);
  EXPECT_DOUBLE_EQ(replicas["samples"][0][1].get<double>(), 2.0);

  EXPECT_EQ(get("/api/v1/systems/nope/samples").status, 404);
  const HttpReply bad = get("/api/v1/systems/web/samples?since=yesterday");
  EXPECT_EQ(bad.status, 400);
  EXPECT_NE(bad.json()["error"].get<std::string>().find("since"), std::string::npos);
  EXPECT_EQ(get("/api/v1/systems/web/samples?limit=0").status, 400);
}

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
  ASSERT_NO_FATAL_FAILURE(startController(options));
  const HttpReply refused = post("/api/v1/directives", R"({"system":"web","replicas":2})", kToken);
  EXPECT_EQ(refused.status, 403);
  EXPECT_EQ(refused.json()["error"], "mutating API disabled: no api_tokens_file configured");
  EXPECT_EQ(get("/api/v1/directives").status, 200);
}

TEST_F(HttpApiTest, InvalidDirectivesAreRefusedWithAReason) {
  ASSERT_NO_FATAL_FAILURE(startController());
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

  // hold_s is accepted as a number of seconds.
  const HttpReply held = post("/api/v1/directives", R"({"system":"web","replicas":2,"hold_s":90})");
  ASSERT_EQ(held.status, 201) << held.body;
  EXPECT_TRUE(held.json()["directive"]["hold_until"].is_string());
}

TEST_F(HttpApiTest, CyclesAndScenariosAreListedShownAndExported) {
  ASSERT_NO_FATAL_FAILURE(startController());
  auto agent = connectWebAgent("agent-1", {100, 100, 100}, 2);
  ASSERT_TRUE(agent);
  auto first = controller().runCycleOnce(common::wallMs());
  ASSERT_TRUE(first.ok()) << first.error().message;
  auto second = controller().runCycleOnce(common::wallMs() + 1000);
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
  const HttpReply unknown = get("/api/v1/scenarios/export?format=pdf");
  EXPECT_EQ(unknown.status, 400);
  EXPECT_NE(unknown.json()["error"].get<std::string>().find("jsonl"), std::string::npos);
}

TEST_F(HttpApiTest, MetricsAreServedAsPrometheusText) {
  ASSERT_NO_FATAL_FAILURE(startController());
  auto agent = connectWebAgent("agent-1", {100, 100, 100}, 2);
  ASSERT_TRUE(agent);
  ASSERT_TRUE(controller().runCycleOnce(common::wallMs()).ok());
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
}

TEST_F(HttpApiTest, BadRequestsGetOneLineErrorsAndTheServerKeepsServing) {
  ASSERT_NO_FATAL_FAILURE(startController());
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

TEST(ApiHelpers, HostPortIsSplitAndValidated) {
  EXPECT_EQ(splitHostPort("127.0.0.1:7460").value(),
            std::make_pair(std::string("127.0.0.1"), uint16_t{7460}));
  EXPECT_EQ(splitHostPort("[::1]:0").value(), std::make_pair(std::string("::1"), uint16_t{0}));
  for (const char* bad : {"127.0.0.1", ":80", "host:", "host:65536", "host:http", "[::1]80"}) {
    EXPECT_FALSE(splitHostPort(bad).ok()) << bad;
  }
}

TEST(ApiHelpers, TokensFileSkipsCommentsAndBlankLines) {
  TempDir dir;
  const std::string path = dir.file("tokens");
  std::ofstream(path) << "# comment\n\n  alpha  \n\t# indented comment\nbeta\n";
  auto tokens = loadApiTokens(path);
  ASSERT_TRUE(tokens.ok());
  EXPECT_EQ(tokens.value(), (std::vector<std::string>{"alpha", "beta"}));
  auto missing = loadApiTokens(dir.file("missing"));
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().code, "io");
  EXPECT_NE(missing.error().message.find("missing"), std::string::npos);
}

}  // namespace
}  // namespace pso::controller::service::testing
