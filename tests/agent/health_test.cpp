#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <arpa/inet.h>

#include <chrono>
#include <cmath>
#include <string>
#include <vector>

#include "agent/agent.h"
#include "agent/health_check.h"
#include "agent/health_monitor.h"
#include "agent_test_util.h"
#include "http_test_server.h"

namespace pso::agent {
namespace {

using namespace std::chrono_literals;
using testing::HttpTestServer;
using testing::TempDir;
using testing::TestController;
using testing::waitUntil;

// A loopback port with nothing listening: bound, then closed.
int closedPort() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  socklen_t len = sizeof addr;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  ::close(fd);
  return ntohs(addr.sin_port);
}

HealthCheckConfig httpCheck(const std::string& url) {
  HealthCheckConfig config;
  config.kind = "http";
  config.target = url;
  config.timeout = 2s;
  return config;
}

HttpTestServer healthyServer() {
  return HttpTestServer([](const HttpTestServer::Request& request) {
    if (request.target == "/healthz") return HttpTestServer::Response{200, "status: ok\n"};
    if (request.target == "/degraded") return HttpTestServer::Response{503, "overloaded\n"};
    return HttpTestServer::Response{404, "no such page\n"};
  });
}

TEST(HttpHealthCheck, LiveEndpointIsOkAndNamedByItsUrl) {
  HttpTestServer server = healthyServer();
  auto check = makeHealthCheck(httpCheck(server.url("/healthz")));
  ASSERT_TRUE(check.ok()) << check.error().message;
  EXPECT_EQ((*check)->name(), "http:" + server.url("/healthz"));
  ProbeResult result = (*check)->probe();
  EXPECT_TRUE(result.ok) << result.error;
  EXPECT_TRUE(result.error.empty());
  ASSERT_EQ(server.requests().size(), 1u);
  EXPECT_EQ(server.requests()[0].method, "GET");
  EXPECT_EQ(server.requests()[0].target, "/healthz");
}

TEST(HttpHealthCheck, StatusOutsideTheRangeAndMissingBodyTextFail) {
  HttpTestServer server = healthyServer();
  auto degraded = makeHealthCheck(httpCheck(server.url("/degraded")));
  ASSERT_TRUE(degraded.ok());
  ProbeResult result = (*degraded)->probe();
  EXPECT_FALSE(result.ok);
  EXPECT_NE(result.error.find("HTTP status 503 outside 200-399"), std::string::npos)
      << result.error;

  HealthCheckConfig wide = httpCheck(server.url("/degraded"));
  wide.status_max = 503;
  EXPECT_TRUE((*makeHealthCheck(wide))->probe().ok);

  HealthCheckConfig body = httpCheck(server.url("/healthz"));
  body.body_contains = "status: ok";
  EXPECT_TRUE((*makeHealthCheck(body))->probe().ok);
  body.body_contains = "status: ready";
  result = (*makeHealthCheck(body))->probe();
  EXPECT_FALSE(result.ok);
  EXPECT_NE(result.error.find("body does not contain 'status: ready'"), std::string::npos);
}

TEST(HttpHealthCheck, ClosedPortFailsWithTheConnectionError) {
  const std::string url = "http://127.0.0.1:" + std::to_string(closedPort()) + "/healthz";
  auto check = makeHealthCheck(httpCheck(url));
  ASSERT_TRUE(check.ok());
  ProbeResult result = (*check)->probe();
  EXPECT_FALSE(result.ok);
  EXPECT_NE(result.error.find("GET " + url), std::string::npos) << result.error;
  EXPECT_NE(result.error.find("Couldn't connect"), std::string::npos) << result.error;
}

TEST(TcpHealthCheck, ConnectsToAListenerAndFailsOnAClosedPort) {
  HttpTestServer server = healthyServer();
  HealthCheckConfig config;
  config.kind = "tcp";
  config.target = "127.0.0.1:" + std::to_string(server.port());
  auto open = makeHealthCheck(config);
  ASSERT_TRUE(open.ok()) << open.error().message;
  EXPECT_EQ((*open)->name(), "tcp:" + config.target);
  EXPECT_TRUE((*open)->probe().ok);

  config.target = "127.0.0.1:" + std::to_string(closedPort());
  ProbeResult closed = (*makeHealthCheck(config))->probe();
  EXPECT_FALSE(closed.ok);
  EXPECT_NE(closed.error.find("Connection refused"), std::string::npos) << closed.error;

  config.target = "no-port-here";
  auto bad = makeHealthCheck(config);
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().message.find("expected host:port"), std::string::npos);
}

TEST(CommandHealthCheck, ExitStatusAndTimeoutDecide) {
  HealthCheckConfig config;
  config.kind = "command";
  config.command = {"sh", "-c", "exit 0"};
  config.target = "sh -c exit 0";
  EXPECT_TRUE((*makeHealthCheck(config))->probe().ok);

  config.command = {"sh", "-c", "echo database unreachable; exit 2"};
  ProbeResult failed = (*makeHealthCheck(config))->probe();
  EXPECT_FALSE(failed.ok);
  EXPECT_NE(failed.error.find("exit 2: database unreachable"), std::string::npos) << failed.error;

  config.command = {"sleep", "10"};
  config.timeout = 200ms;
  ProbeResult slow = (*makeHealthCheck(config))->probe();
  EXPECT_FALSE(slow.ok);
  EXPECT_NE(slow.error.find("timed out"), std::string::npos) << slow.error;
}

SystemConfig systemWithChecks(const std::string& name,
                                      std::vector<HealthCheckConfig> checks) {
  SystemConfig system;
  system.name = name;
  system.health = std::move(checks);
  return system;
}

TEST(HealthMonitor, LiveCheckReadsOkAndClosedPortFailingWithinTwoIntervals) {
  HttpTestServer server = healthyServer();
  HealthCheckConfig live = httpCheck(server.url("/healthz"));
  live.interval = 1s;
  HealthCheckConfig dead =
      httpCheck("http://127.0.0.1:" + std::to_string(closedPort()) + "/healthz");
  dead.interval = 1s;
  auto monitor = HealthMonitor::create({systemWithChecks("web", {live, dead})});
  ASSERT_TRUE(monitor.ok()) << monitor.error().message;
  EXPECT_EQ((*monitor)->score("web"), std::nullopt);  // nothing probed yet
  ASSERT_TRUE((*monitor)->start().ok());

  // The bound: both states are known within two intervals.
  auto states = [&] { return (*monitor)->snapshot(); };
  ASSERT_TRUE(waitUntil(
      [&] {
        auto s = states();
        return s[0].status == "ok" && s[1].status == "failing";
      },
      2 * live.interval));
  auto s = states();
  EXPECT_EQ(s[0].check, "http:" + server.url("/healthz"));
  EXPECT_TRUE(s[0].error.empty());
  EXPECT_NE(s[1].error.find("Couldn't connect"), std::string::npos) << s[1].error;
  EXPECT_GT(s[1].ts_ms, 0);
  ASSERT_TRUE((*monitor)->score("web").has_value());
  EXPECT_DOUBLE_EQ(*(*monitor)->score("web"), 50.0);

  std::vector<protocol::HealthCheckResult> results;
  (*monitor)->takeResults(results);
  EXPECT_GE(results.size(), 2u);
  (*monitor)->stop();
}

TEST(HealthMonitor, FailingOnlyAfterTheThresholdAndOkAgainAfterRecovery) {
  TempDir dir;
  const std::string flag = dir.file("down");
  HealthCheckConfig config;
  config.kind = "command";
  config.command = {"sh", "-c", "test ! -e " + flag};
  config.target = "flag";
  config.interval = 50ms;
  config.failure_threshold = 3;
  auto monitor = HealthMonitor::create({systemWithChecks("db", {config})});
  ASSERT_TRUE(monitor.ok());
  ASSERT_TRUE((*monitor)->start().ok());
  ASSERT_TRUE(waitUntil([&] { return (*monitor)->snapshot()[0].status == "ok"; }, 5s));

  testing::writeFile(flag, "");
  // Below the threshold the state stays ok while the error is reported.
  ASSERT_TRUE(waitUntil([&] { return !(*monitor)->snapshot()[0].error.empty(); }, 5s));
  std::vector<protocol::HealthCheckResult> results;
  ASSERT_TRUE(waitUntil([&] { return (*monitor)->snapshot()[0].status == "failing"; }, 5s));
  (*monitor)->takeResults(results);
  // The first failed probe after an ok one did not flip the state.
  bool saw_ok_with_error = false;
  for (const auto& r : results) saw_ok_with_error |= r.status == "ok" && !r.error.empty();
  EXPECT_TRUE(saw_ok_with_error);
  EXPECT_DOUBLE_EQ(*(*monitor)->score("db"), 0.0);

  std::filesystem::remove(flag);
  ASSERT_TRUE(waitUntil([&] { return (*monitor)->snapshot()[0].status == "ok"; }, 5s));
  EXPECT_DOUBLE_EQ(*(*monitor)->score("db"), 100.0);
  (*monitor)->stop();
}

TEST(HealthMonitor, NamesTheSystemOfACheckItCannotBuild) {
  HealthCheckConfig config;
  config.kind = "tcp";
  config.target = "localhost";
  auto monitor = HealthMonitor::create({systemWithChecks("cache", {config})});
  ASSERT_FALSE(monitor.ok());
  EXPECT_NE(monitor.error().message.find("system cache: health check tcp"), std::string::npos)
      << monitor.error().message;
}

// End to end: the agent's checks travel to the controller in health messages,
// and the share of passing checks arrives as the metric health_score.
TEST(AgentHealth, ResultsAndScoreReachTheController) {
  TempDir dir;
  zmq::context_t context(1);
  TestController controller(context);
  HttpTestServer server = healthyServer();

  AgentConfig config;
  config.id = "edge-health";
  config.controller = controller.endpoint();
  config.spool = dir.file("spool.db");
  config.sample_interval = 200ms;
  config.heartbeat_interval = 1s;
  config.proc_root = dir.file("proc");  // no host files: the host sampler reports, not stops
  config.filesystems = {dir.path().string()};
  SystemConfig web;
  web.name = "web";
  web.demand.source = "command";
  web.demand.command = {"echo", "42"};
  web.actuator.kind = "exec";
  web.actuator.command = {"true"};
  web.initial_replicas = 1;
  HealthCheckConfig live = httpCheck(server.url("/healthz"));
  live.interval = 1s;
  HealthCheckConfig dead;
  dead.kind = "tcp";
  dead.target = "127.0.0.1:" + std::to_string(closedPort());
  dead.interval = 1s;
  web.health = {live, dead};
  config.systems.push_back(web);

  auto agent = Agent::create(config);
  ASSERT_TRUE(agent.ok()) << agent.error().message;
  std::thread loop([&] { (void)(*agent)->run(); });

  // Play the controller: welcome the hello, then collect.
  ASSERT_TRUE(waitUntil([&] { return controller.count<protocol::Hello>() > 0; }, 10s,
                        [&] { controller.drain(50); }));
  protocol::Welcome welcome;
  welcome.controller_id = "test";
  controller.send("edge-health", welcome);

  auto latest = [&](const std::string& check) {
    protocol::HealthCheckResult found;
    for (const protocol::Health& h : controller.all<protocol::Health>()) {
      EXPECT_EQ(h.agent_id, "edge-health");
      for (const auto& c : h.checks) {
        if (c.check == check) found = c;
      }
    }
    return found;
  };
  const std::string live_name = "http:" + server.url("/healthz");
  const std::string dead_name = "tcp:" + dead.target;
  ASSERT_TRUE(waitUntil(
      [&] { return latest(live_name).status == "ok" && latest(dead_name).status == "failing"; },
      10s, [&] { controller.drain(50); }));
  EXPECT_EQ(latest(live_name).system, "web");
  EXPECT_NE(latest(dead_name).error.find("Connection refused"), std::string::npos);

  auto score = [&]() -> std::optional<double> {
    std::optional<double> value;
    for (const auto& batch : controller.all<protocol::TelemetryBatch>()) {
      for (std::size_t i = 0; i < batch.series.size(); ++i) {
        if (batch.series[i] == protocol::SeriesKey{"web", "health_score"}) {
          for (double v : batch.values[i]) {
            if (!std::isnan(v)) value = v;
          }
        }
      }
    }
    return value;
  };
  ASSERT_TRUE(waitUntil([&] { return score().has_value(); }, 10s, [&] { controller.drain(50); }));
  EXPECT_DOUBLE_EQ(*score(), 50.0);

  // The command source's value is the demand. The source runs off the sampling
  // loop, so the first batches may go out before its first reading: await it.
  auto saw_demand = [&] {
    for (const auto& batch : controller.all<protocol::TelemetryBatch>()) {
      for (std::size_t i = 0; i < batch.series.size(); ++i) {
        if (batch.series[i] != protocol::SeriesKey{"web", "demand"}) continue;
        for (double v : batch.values[i]) {
          if (v == 42.0) return true;
        }
      }
    }
    return false;
  };
  EXPECT_TRUE(waitUntil(saw_demand, 10s, [&] { controller.drain(50); }));

  (*agent)->requestStop();
  loop.join();
}

}  // namespace
}  // namespace pso::agent
