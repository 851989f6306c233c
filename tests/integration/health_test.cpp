// End-to-end health checks (issue 5): a real pso-agent probes a live HTTP
// server on loopback and a closed loopback port, a real pso-controller stores
// the results, and the real psoctl reports them per check with the system's
// health score.

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>

#include "tests/agent/http_test_server.h"
#include "tests/support/controller_process.h"
#include "tests/support/process.h"

namespace pso::testing {
namespace {

using agent::testing::HttpTestServer;
using nlohmann::json;
using std::chrono::milliseconds;
using std::chrono::seconds;

constexpr milliseconds kInterval{500};
// Beyond the two intervals the issue allows: the agent's forwarding, the
// controller's store, and one psoctl process per poll (each ~100 ms on a busy
// machine).
constexpr milliseconds kSlack{1500};

// The newest state of each check of `system` in `psoctl systems --json`,
// keyed by check name; empty while the controller does not know the system.
std::map<std::string, json> checksOf(const json& systems, const std::string& system) {
  std::map<std::string, json> checks;
  for (const json& s : systems.value("systems", json::array())) {
    if (s.value("name", "") != system) continue;
    for (const json& c : s.value("health", json::array())) checks[c.value("check", "")] = c;
  }
  return checks;
}

json systemOf(const json& systems, const std::string& system) {
  for (const json& s : systems.value("systems", json::array())) {
    if (s.value("name", "") == system) return s;
  }
  return json::object();
}

std::string status(const std::map<std::string, json>& checks, const std::string& check) {
  auto it = checks.find(check);
  return it == checks.end() ? "" : it->second.value("status", "");
}

class HealthEndToEnd : public ::testing::Test {
 protected:
  // An agent managing system "web" (exec actuator, constant replayed demand)
  // with two HTTP checks every kInterval, failing after one failed probe.
  void startAgent(const std::string& live_url, const std::string& dead_url) {
    std::ofstream(dir_.file("web.csv")) << "timestamp,value\n1700000000,10\n1700000060,10\n";
    std::ofstream(dir_.file("agent.yaml"))
        << "agent:\n"
        << "  id: agent-health\n"
        << "  sample_interval: 250ms\n"
        << "  heartbeat_interval: 1s\n"
        << "systems:\n"
        << "  - name: web\n"
        << "    initial_replicas: 1\n"
        << "    demand: {source: replay, file: " << dir_.file("web.csv") << ", loop: true}\n"
        << "    actuator: {kind: exec, command: [\"/bin/true\"]}\n"
        << "    health:\n"
        << "      - http: " << live_url << "\n"
        << "        interval: " << kInterval.count() << "ms\n"
        << "        timeout: 400ms\n"
        << "        failure_threshold: 1\n"
        << "      - http: " << dead_url << "\n"
        << "        interval: " << kInterval.count() << "ms\n"
        << "        timeout: 400ms\n"
        << "        failure_threshold: 1\n";
    agent_ = std::make_unique<ChildProcess>(
        std::vector<std::string>{PSO_AGENT_BIN, "--config", dir_.file("agent.yaml"), "--controller",
                                 controller_.zmqEndpoint(), "--spool", dir_.file("spool.db")},
        dir_.file("agent.out"), dir_.file("agent.log"));
  }

  void TearDown() override {
    if (agent_) {
      agent_->signal(SIGTERM);
      agent_->wait(seconds(10));
    }
  }

  std::string logs() const {
    return "agent log:\n" + readFile(dir_.file("agent.log")) + "\ncontroller log:\n" +
           readFile(dir_.file("controller.log"));
  }

  TempDir dir_;
  ControllerProcess controller_{dir_, {PSO_CONTROLLER_BIN, PSOCTL_BIN}};
  std::unique_ptr<ChildProcess> agent_;
};

TEST_F(HealthEndToEnd, LiveServerIsOkClosedPortIsFailingAndScoreIsHalf) {
  ASSERT_TRUE(controller_.started());
  HttpTestServer server([](const HttpTestServer::Request& request) {
    if (request.target == "/healthz") return HttpTestServer::Response{200, "ok\n"};
    return HttpTestServer::Response{404, "no such page\n"};
  });
  const int dead_port = unusedLoopbackPort();
  const std::string live = server.url("/healthz");
  const std::string dead = "http://127.0.0.1:" + std::to_string(dead_port) + "/healthz";
  const std::string live_check = "http:" + live;
  const std::string dead_check = "http:" + dead;
  startAgent(live, dead);

  // The controller learns the system from the agent's hello; the health
  // snapshot follows the welcome.
  json systems;
  ASSERT_TRUE(waitFor(
      [&] {
        systems = controller_.tryPsoctlJson({"systems"});
        return systemOf(systems, "web").is_object() && !systemOf(systems, "web").empty();
      },
      seconds(20)))
      << systems.dump() << "\n"
      << logs();

  std::map<std::string, json> checks;
  const auto known_at = std::chrono::steady_clock::now();
  const bool reported = waitFor(
      [&] {
        systems = controller_.tryPsoctlJson({"systems"});
        checks = checksOf(systems, "web");
        return status(checks, live_check) == "ok" && status(checks, dead_check) == "failing";
      },
      2 * kInterval + kSlack);
  ASSERT_TRUE(reported) << "after "
                        << std::chrono::duration_cast<milliseconds>(
                               std::chrono::steady_clock::now() - known_at)
                               .count()
                        << " ms: " << systems.dump(2) << "\n"
                        << logs();

  EXPECT_TRUE(checks[live_check]["error"].is_null()) << checks[live_check].dump();
  const json& dead_error = checks[dead_check]["error"];
  ASSERT_TRUE(dead_error.is_string()) << checks[dead_check].dump();
  const std::string error = dead_error.get<std::string>();
  // curl's reason names the refused connection and the port it tried.
  EXPECT_NE(error.find("Connection refused"), std::string::npos) << error;
  EXPECT_NE(error.find(std::to_string(dead_port)), std::string::npos) << error;
  EXPECT_GT(server.requests().size(), 0u);

  // One of two checks passing: the score (percent of passing checks) is 50,
  // both in the system's view and as the health_score series the agent
  // samples for the engine's rules.
  EXPECT_EQ(systemOf(systems, "web")["health_score"], json(50.0)) << systems.dump(2);
  json samples;
  ASSERT_TRUE(waitFor(
      [&] {
        samples = controller_.tryPsoctlJson({"samples", "web", "--metric", "health_score"});
        for (const json& s : samples.value("samples", json::array())) {
          if (s.is_array() && s.size() >= 2 && s[1] == json(50.0)) return true;
        }
        return false;
      },
      seconds(10)))
      << samples.dump();

  // The live server goes away: its check fails within two intervals too.
  server.close();
  const auto closed_at = std::chrono::steady_clock::now();
  const bool turned = waitFor(
      [&] {
        systems = controller_.tryPsoctlJson({"systems"});
        checks = checksOf(systems, "web");
        return status(checks, live_check) == "failing";
      },
      2 * kInterval + kSlack);
  ASSERT_TRUE(turned) << "after "
                      << std::chrono::duration_cast<milliseconds>(std::chrono::steady_clock::now() -
                                                                  closed_at)
                             .count()
                      << " ms: " << systems.dump(2) << "\n"
                      << logs();
  EXPECT_TRUE(checks[live_check]["error"].is_string()) << checks[live_check].dump();
  EXPECT_EQ(status(checks, dead_check), "failing");
  EXPECT_EQ(systemOf(systems, "web")["health_score"], json(0.0)) << systems.dump(2);
}

}  // namespace
}  // namespace pso::testing
