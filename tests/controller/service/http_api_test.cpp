// The HTTP API over a real socket: JSON shapes, auth, validation, errors.

#include <gtest/gtest.h>

#include <cmath>
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

// A daily cycle around 100 (amplitude 40) by UTC hour of day.
double dailyDemand(int64_t ts_ms) {
  constexpr int64_t kHour = 3600LL * 1000;
  const double hour = static_cast<double>((ts_ms / kHour) % 24);
  return 100.0 + 40.0 * std::sin(2.0 * 3.14159265358979323846 * hour / 24.0);
}

TEST_F(HttpApiTest, LongHorizonForecastIsServedFromHourlyRollups) {
  ASSERT_NO_FATAL_FAILURE(startController());
  auto agent = connectWebAgent("agent-1", {100, 100, 100}, 2);
  ASSERT_TRUE(agent);

  // Three weeks of demand every 10 minutes up to now, with six hours missing.
  constexpr int64_t kHour = 3600LL * 1000;
  constexpr int64_t kStep = 10LL * 60 * 1000;
  const int64_t now = common::wallMs();
  const int64_t start = now / kHour * kHour - 21 * 24 * kHour;
  const int64_t gap_from = start + 10 * 24 * kHour;
  const int64_t gap_to = gap_from + 6 * kHour;
  std::vector<double> values;
  for (int64_t t = start; t < now - 3 * 60 * 1000; t += kStep) {
    values.push_back(t >= gap_from && t < gap_to ? std::nan("") : dailyDemand(t));
  }
  agent->send(demandHistory("agent-1", 2, start, kStep, values));
  auto ack = agent->receiveA<protocol::Ack>();
  ASSERT_TRUE(ack.has_value());
  ASSERT_EQ(ack->seq, 2u);

  // Nothing is rolled up before the first cycle.
  const HttpReply early = get("/api/v1/systems/web/forecast?horizon=168h");
  EXPECT_EQ(early.status, 404) << early.body;
  EXPECT_NE(early.json()["error"].get<std::string>().find("hourly"), std::string::npos);

  // The cycle runner rolls the samples up.
  auto report = controller().runCycleOnce(now);
  ASSERT_TRUE(report.ok()) << report.error().message;
  const int64_t origin = (now - 2 * 60 * 1000) / kHour * kHour;

  const HttpReply reply = get("/api/v1/systems/web/forecast?horizon=168h");
  ASSERT_EQ(reply.status, 200) << reply.body;
  const json f = reply.json();
  EXPECT_EQ(f["system"], "web");
  EXPECT_EQ(f["resolution"], "1h");
  EXPECT_EQ(f["step_s"], 3600.0);
  ASSERT_TRUE(f["model"].is_string());
  EXPECT_FALSE(f["model"].get<std::string>().empty());
  EXPECT_EQ(f["origin"], common::formatIso8601(origin));
  EXPECT_EQ(f["history"]["since"], common::formatIso8601(start));
  EXPECT_EQ(f["history"]["hours"], (origin - start) / kHour);
  EXPECT_EQ(f["history"]["missing_hours"], 6);
  // Capacity planning asks about the most the system can serve: 20 x 10.
  EXPECT_EQ(f["capacity"], 200.0);
  EXPECT_TRUE(f["breach"].is_null()) << f["breach"].dump();
  ASSERT_EQ(f["points"].size(), 168u);
  double abs_error = 0.0;
  for (std::size_t i = 0; i < 168; ++i) {
    const json& p = f["points"][i];
    const int64_t step = static_cast<int64_t>(i) + 1;
    EXPECT_EQ(p["step"], step);
    EXPECT_EQ(p["time"], common::formatIso8601(origin + step * kHour));
    ASSERT_TRUE(p["point"].is_number() && p["lo"].is_number() && p["hi"].is_number()) << p.dump();
    EXPECT_LE(p["lo"].get<double>(), p["point"].get<double>());
    EXPECT_GE(p["hi"].get<double>(), p["point"].get<double>());
    // Each point is the mean over the hour ending at its time.
    abs_error += std::abs(p["point"].get<double>() - dailyDemand(origin + (step - 1) * kHour));
  }
  EXPECT_LT(abs_error / 168.0, 5.0) << f["model"];

  // A capacity the daily peaks exceed: the breach is the first peak hour.
  const json tight = get("/api/v1/systems/web/forecast?horizon=168h&capacity=120").json();
  ASSERT_TRUE(tight["breach"].is_object()) << tight.dump();
  const int64_t steps_ahead = tight["breach"]["steps_ahead"].get<int64_t>();
  EXPECT_GE(steps_ahead, 1);
  EXPECT_LE(steps_ahead, 24);
  EXPECT_EQ(tight["breach"]["eta"], common::formatIso8601(origin + steps_ahead * kHour));
  EXPECT_GT(tight["breach"]["predicted_demand"].get<double>(), 120.0);

  // resolution=1h with a step count; a duration up to an hour stays on the
  // operational cycle-step forecast.
  const json day = get("/api/v1/systems/web/forecast?resolution=1h&horizon=24").json();
  EXPECT_EQ(day["resolution"], "1h");
  EXPECT_EQ(day["points"].size(), 24u);
  const json hourly_default = get("/api/v1/systems/web/forecast?resolution=1h").json();
  EXPECT_EQ(hourly_default["points"].size(), 168u);
  const json short_term = get("/api/v1/systems/web/forecast?horizon=4").json();
  EXPECT_EQ(short_term["resolution"], "cycle");
  EXPECT_EQ(short_term["points"].size(), 4u);
  const json half_hour = get("/api/v1/systems/web/forecast?horizon=30m").json();
  EXPECT_EQ(half_hour["resolution"], "cycle") << half_hour.dump();

  for (const char* bad : {"horizon=169h", "resolution=1h&horizon=169", "resolution=5m",
                          "horizon=soon", "horizon=0", "horizon=168h&capacity=-1"}) {
    const HttpReply refused = get(std::string("/api/v1/systems/web/forecast?") + bad);
    EXPECT_EQ(refused.status, 400) << bad << ": " << refused.body;
    EXPECT_TRUE(refused.json()["error"].is_string()) << bad;
  }
  EXPECT_EQ(get("/api/v1/systems/nope/forecast?horizon=168h").status, 404);

  // psoctl's online form asks the same endpoint.
  const std::string api = "http://127.0.0.1:" + std::to_string(controller().httpPort());
  const auto cli = pso::testing::runCommand({PSO_PSOCTL_BIN, "--api", api, "--json", "forecast",
                                             "web", "--horizon", "48h", "--capacity", "120"});
  ASSERT_EQ(cli.exit_code, 0) << cli.err;
  const json printed = json::parse(cli.out);
  EXPECT_EQ(printed["resolution"], "1h");
  EXPECT_EQ(printed["points"].size(), 48u);
  EXPECT_EQ(printed["breach"], tight["breach"]);
  const auto table = pso::testing::runCommand(
      {PSO_PSOCTL_BIN, "--api", api, "forecast", "web", "--horizon", "168h"});
  ASSERT_EQ(table.exit_code, 0) << table.err;
  EXPECT_NE(table.out.find("168 steps of 1h (1h)"), std::string::npos) << table.out;
  EXPECT_NE(table.out.find("no breach within the horizon"), std::string::npos) << table.out;
  const auto refused = pso::testing::runCommand(
      {PSO_PSOCTL_BIN, "--api", api, "forecast", "web", "--horizon", "200h"});
  EXPECT_EQ(refused.exit_code, 1);
  EXPECT_NE(refused.err.find("168h"), std::string::npos) << refused.err;
}

}  // namespace
}  // namespace pso::controller::service::testing
