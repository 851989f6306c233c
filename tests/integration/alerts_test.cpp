// An alert rule on a live fleet: a real pso-agent probes an HTTP health
// endpoint on loopback, a real pso-controller evaluates "health_score < 95"
// every 1 s cycle and posts its webhook to a real receiver on loopback, which
// is down (503) for its first answers.

#include <gtest/gtest.h>
#include <signal.h>

#include <atomic>
#include <chrono>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>

#include "common/http_transfer.h"
#include "common/trace.h"
#include "tests/agent/http_test_server.h"
#include "tests/support/controller_process.h"
#include "tests/support/loopback_http_server.h"
#include "tests/support/process.h"

namespace pso::testing {
namespace {

using agent::testing::HttpTestServer;
using nlohmann::json;
using std::chrono::seconds;

constexpr int64_t kCycleMs = 1000;  // ControllerProcess's cycle_interval
// Beyond the two cycles the rule may take: the agent's batching and the
// controller's store on a busy machine.
constexpr int64_t kSlackMs = 1500;

// Epoch ms of the controller's ISO 8601 times ("2026-12-03T12:00:00.250Z").
int64_t isoMs(const std::string& text) {
  if (text.size() < 24) return 0;
  auto seconds = common::parseTimestamp(text.substr(0, 19) + "Z");
  if (!seconds) return 0;
  return seconds.value() * 1000 + std::stoll(text.substr(20, 3));
}

class AlertsEndToEnd : public ::testing::Test {
 protected:
  void TearDown() override {
    if (agent_) {
      agent_->signal(SIGTERM);
      agent_->wait(seconds(10));
    }
  }

  // The bodies the receiver accepted (answered 200), in order.
  std::vector<json> accepted() {
    std::vector<json> out;
    const auto requests = receiver_.requests();
    for (std::size_t i = 0; i < requests.size(); ++i) {
      if (i >= kRefusedAnswers) out.push_back(json::parse(requests[i].body));
    }
    return out;
  }

  std::string logs() const {
    return "agent log:\n" + readFile(dir_.file("agent.log")) + "\ncontroller log:\n" +
           readFile(dir_.file("controller.log"));
  }

  static constexpr std::size_t kRefusedAnswers = 2;
  TempDir dir_;
  std::atomic<bool> healthy_{false};
  std::atomic<std::size_t> answered_{0};
  LoopbackHttpServer receiver_{[this](const LoopbackHttpServer::Request&) {
                                 LoopbackHttpServer::Answer answer;
                                 answer.status = answered_++ < kRefusedAnswers ? 503 : 200;
                                 return answer;
                               },
                               "webhook receiver"};
  std::unique_ptr<ChildProcess> agent_;
};

TEST_F(AlertsEndToEnd, AWebhookArrivesWithinTwoCyclesOnceAndAgainWhenResolved) {
  HttpTestServer app([this](const HttpTestServer::Request&) {
    return healthy_ ? HttpTestServer::Response{200, "ok\n"}
                    : HttpTestServer::Response{500, "down\n"};
  });
  ControllerProcess controller(dir_, {PSO_CONTROLLER_BIN, PSOCTL_BIN}, "tcp://127.0.0.1:0",
                               "  webhooks: {max_backoff: 1s}\n"
                               "alerts:\n"
                               "  - name: web-unhealthy\n"
                               "    when: \"health_score < 95\"\n"
                               "    notify: " +
                                   receiver_.base() + "/hook\n");
  ASSERT_TRUE(controller.started());
  std::ofstream(dir_.file("web.csv")) << "timestamp,value\n1700000000,10\n1700000060,10\n";
  std::ofstream(dir_.file("agent.yaml"))
      << "agent:\n"
      << "  id: agent-alerts\n"
      << "  sample_interval: 250ms\n"
      << "  heartbeat_interval: 1s\n"
      << "systems:\n"
      << "  - name: web\n"
      << "    initial_replicas: 1\n"
      << "    demand: {source: replay, file: " << dir_.file("web.csv") << ", loop: true}\n"
      << "    actuator: {kind: exec, command: [\"/bin/true\"]}\n"
      << "    health:\n"
      << "      - http: " << app.url("/healthz") << "\n"
      << "        interval: 250ms\n"
      << "        timeout: 400ms\n"
      << "        failure_threshold: 1\n";
  agent_ = std::make_unique<ChildProcess>(
      std::vector<std::string>{PSO_AGENT_BIN, "--config", dir_.file("agent.yaml"), "--controller",
                               controller.zmqEndpoint(), "--spool", dir_.file("spool.db")},
      dir_.file("agent.out"), dir_.file("agent.log"));

  // Delivered despite the receiver's first two 503s.
  ASSERT_TRUE(waitFor([&] { return !accepted().empty(); }, seconds(60))) << logs();
  const json firing = accepted().front();
  EXPECT_EQ(firing["status"], "firing");
  EXPECT_EQ(firing["system"], "web");
  EXPECT_EQ(firing["agent"], "agent-alerts");
  EXPECT_EQ(firing["value"], 0.0);

  // The condition held from the first stored score below 95; the rule fired
  // within two cycles of it.
  const json samples = controller.psoctlJson({"samples", "web", "--metric", "health_score"});
  int64_t first_bad_ms = 0;
  for (const json& s : samples.value("samples", json::array())) {  // [ts_ms, value], oldest first
    if (s.at(1).is_number() && s.at(1).get<double>() < 95.0) {
      first_bad_ms = s.at(0).get<int64_t>();
      break;
    }
  }
  ASSERT_GT(first_bad_ms, 0) << samples.dump();
  const int64_t fired_ms = isoMs(firing.value("fired_at", ""));
  EXPECT_GE(fired_ms, first_bad_ms);
  EXPECT_LE(fired_ms - first_bad_ms, 2 * kCycleMs + kSlackMs)
      << "first bad sample " << first_bad_ms << ", fired " << fired_ms;

  // Five more cycles with the condition still holding: no second notification.
  const int64_t later = fired_ms + 5 * kCycleMs;
  ASSERT_TRUE(waitFor(
      [&] {
        const json cycles = controller.tryPsoctlJson({"cycles", "--limit", "1"});
        for (const json& c : cycles.value("cycles", json::array())) {
          if (isoMs(c.value("time", "")) >= later) return true;
        }
        return false;
      },
      seconds(30)));
  EXPECT_EQ(accepted().size(), 1u);

  healthy_ = true;
  ASSERT_TRUE(waitFor([&] { return accepted().size() >= 2; }, seconds(30))) << logs();
  const auto bodies = accepted();
  ASSERT_EQ(bodies.size(), 2u);
  EXPECT_EQ(bodies[1]["status"], "resolved");
  EXPECT_EQ(bodies[1]["fingerprint"], firing["fingerprint"]);
  common::HttpTransfer get;
  get.url = controller.api() + "/api/v1/alerts?state=all";
  auto reply = common::performTransfer(get);
  ASSERT_TRUE(reply) << reply.error().message;
  const json alerts = json::parse(reply->body);
  ASSERT_EQ(alerts.value("alerts", json::array()).size(), 1u) << alerts.dump();
  EXPECT_EQ(alerts["alerts"][0]["state"], "resolved");
}

}  // namespace
}  // namespace pso::testing
