// The agent's /metrics and /healthz listener (agent/metrics_server.h) over
// real loopback sockets, and the /healthz rule (agent/agent_liveness.h).

#include "agent/metrics_server.h"

#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <arpa/inet.h>

#include <chrono>
#include <string>

#include "agent/agent_liveness.h"
#include "common/clock.h"
#include "tests/agent/http_loopback_port.h"

namespace pso::agent {
namespace {

using std::chrono::milliseconds;

// A client socket connected to 127.0.0.1:`port`, closed by the destructor.
class Client {
 public:
  explicit Client(uint16_t port) {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = htons(port);
    EXPECT_EQ(::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  }
  ~Client() { ::close(fd_); }
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  void send(const std::string& bytes) {
    std::size_t sent = 0;
    while (sent < bytes.size()) {
      const ssize_t n = ::send(fd_, bytes.data() + sent, bytes.size() - sent, MSG_NOSIGNAL);
      if (n <= 0) return;  // the server may close on an oversize request
      sent += static_cast<std::size_t>(n);
    }
  }
  /// Everything the server sends until it closes, within `timeout`.
  std::string readAll(milliseconds timeout = milliseconds(10000)) {
    std::string out;
    const int64_t deadline = common::steadyMs() + timeout.count();
    for (;;) {
      const int64_t left = deadline - common::steadyMs();
      if (left <= 0) {
        ADD_FAILURE() << "no close within " << timeout.count() << " ms; got: " << out;
        return out;
      }
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, static_cast<int>(left)) <= 0) continue;
      char buffer[4096];
      const ssize_t n = ::recv(fd_, buffer, sizeof buffer, 0);
      if (n <= 0) return out;
      out.append(buffer, static_cast<std::size_t>(n));
    }
  }
  /// Whether anything (data or a close) is waiting, without waiting.
  bool readable() {
    pollfd p{fd_, POLLIN, 0};
    return ::poll(&p, 1, 0) == 1;
  }

 private:
  int fd_ = -1;
};

std::string exchange(uint16_t port, const std::string& request) {
  Client client(port);
  client.send(request);
  return client.readAll();
}

int statusOf(const std::string& response) {
  if (response.rfind("HTTP/1.1 ", 0) != 0 || response.size() < 12) return 0;
  return std::stoi(response.substr(9, 3));
}

std::string bodyOf(const std::string& response) {
  const std::size_t end = response.find("\r\n\r\n");
  return end == std::string::npos ? "" : response.substr(end + 4);
}

std::string getPath(const std::string& path) {
  return "GET " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";
}

class MetricsServerTest : public ::testing::Test {
 protected:
  void start(MetricsServerOptions options = {}) {
    if (options.address.empty()) options.address = "127.0.0.1:0";
    std::vector<HttpRoute> routes;
    routes.push_back(
        {"/metrics", [this] {
           return HttpAnswer{200, "text/plain; version=0.0.4", registry_.renderPrometheus()};
         }});
    routes.push_back({"/healthz", [] {
                        return HttpAnswer{200, "application/json", "{\"status\":\"ok\"}\n"};
                      }});
    auto server = MetricsServer::start(options, std::move(routes), &registry_);
    ASSERT_TRUE(server.ok()) << server.error().message;
    server_ = std::move(server).value();
  }

  uint16_t port() const { return server_->port(); }

  common::MetricsRegistry registry_;
  std::unique_ptr<MetricsServer> server_;
};

TEST_F(MetricsServerTest, AnswersGetOnItsRoutesAndClosesTheConnection) {
  registry_.describe("pso_agent_samples_total", "counter", "Sampling steps taken");
  registry_.increment("pso_agent_samples_total", {}, 3);
  start();
  const std::string metrics = exchange(port(), getPath("/metrics?x=1"));
  EXPECT_EQ(statusOf(metrics), 200) << metrics;
  EXPECT_NE(metrics.find("Content-Type: text/plain; version=0.0.4\r\n"), std::string::npos);
  EXPECT_NE(metrics.find("Connection: close\r\n"), std::string::npos);
  EXPECT_NE(bodyOf(metrics).find("# TYPE pso_agent_samples_total counter\n"
                                 "pso_agent_samples_total 3\n"),
            std::string::npos)
      << metrics;
  const std::string health = exchange(port(), getPath("/healthz"));
  EXPECT_EQ(statusOf(health), 200);
  EXPECT_EQ(bodyOf(health), "{\"status\":\"ok\"}\n");
  EXPECT_NE(health.find("Content-Length: 16\r\n"), std::string::npos) << health;
  EXPECT_EQ(registry_.value("pso_agent_metrics_http_requests_total", {{"code", "200"}}), 2);
}

TEST_F(MetricsServerTest, UnknownPathIs404AndAnotherMethodIs405) {
  start();
  EXPECT_EQ(statusOf(exchange(port(), getPath("/nope"))), 404);
  EXPECT_EQ(statusOf(exchange(port(), getPath("/metrics/"))), 404);
  const std::string post =
      exchange(port(), "POST /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\nhi");
  EXPECT_EQ(statusOf(post), 405) << post;
  EXPECT_NE(post.find("Allow: GET\r\n"), std::string::npos) << post;
  EXPECT_EQ(statusOf(exchange(port(), "HEAD /healthz HTTP/1.1\r\nHost: x\r\n\r\n")), 405);
  EXPECT_EQ(registry_.value("pso_agent_metrics_http_requests_total", {{"code", "404"}}), 2);
  EXPECT_EQ(registry_.value("pso_agent_metrics_http_requests_total", {{"code", "405"}}), 2);
}

TEST_F(MetricsServerTest, MalformedRequestIs400AndCounted) {
  start();
  const std::string response = exchange(port(), "GET /metrics\r\n\r\n");
  EXPECT_EQ(statusOf(response), 400) << response;
  EXPECT_NE(bodyOf(response).find("malformed HTTP request"), std::string::npos) << response;
  EXPECT_EQ(statusOf(exchange(port(), std::string("\x16\x03\x01\x02\x00\x01\x00\r\n\r\n", 11))),
            400);
  EXPECT_EQ(registry_.value("pso_agent_metrics_http_refused_total", {{"reason", "malformed"}}), 2);
  // The listener is still serving.
  EXPECT_EQ(statusOf(exchange(port(), getPath("/healthz"))), 200);
}

TEST_F(MetricsServerTest, OversizeHeadIs400AndCounted) {
  start({.address = "127.0.0.1:0", .max_head_bytes = 1024});
  const std::string big =
      "GET /metrics HTTP/1.1\r\nHost: x\r\nX-Big: " + std::string(64 * 1024, 'a') + "\r\n\r\n";
  const std::string response = exchange(port(), big);
  EXPECT_EQ(statusOf(response), 400) << response.substr(0, 200);
  EXPECT_NE(bodyOf(response).find("request head longer than 1024 bytes"), std::string::npos);
  EXPECT_EQ(registry_.value("pso_agent_metrics_http_refused_total", {{"reason", "too_large"}}), 1);
  EXPECT_EQ(statusOf(exchange(port(), getPath("/healthz"))), 200);
}

TEST_F(MetricsServerTest, SlowClientDoesNotBlockOthers) {
  start({.address = "127.0.0.1:0", .timeout = milliseconds(30000)});
  Client slow(port());
  slow.send("GET /metrics HTTP/1.1\r\nHo");
  // Served while the slow client's head is still incomplete.
  for (int i = 0; i < 3; ++i) EXPECT_EQ(statusOf(exchange(port(), getPath("/healthz"))), 200);
  EXPECT_FALSE(slow.readable());
  slow.send("st: x\r\n\r\n");
  EXPECT_EQ(statusOf(slow.readAll()), 200);
}

TEST_F(MetricsServerTest, HeadNotCompleteInTimeIs408AndCounted) {
  start({.address = "127.0.0.1:0", .timeout = milliseconds(200)});
  Client slow(port());
  slow.send("GET /metrics HTTP/1.1\r\n");
  const std::string response = slow.readAll();
  EXPECT_EQ(statusOf(response), 408) << response;
  EXPECT_EQ(registry_.value("pso_agent_metrics_http_refused_total", {{"reason", "timeout"}}), 1);
}

TEST_F(MetricsServerTest, ConnectionsPastTheLimitWaitForAFreeSlot) {
  start({.address = "127.0.0.1:0", .timeout = milliseconds(300), .max_connections = 2});
  Client idle1(port());
  Client idle2(port());
  // Accepted once an idle connection times out (408), then answered.
  EXPECT_EQ(statusOf(exchange(port(), getPath("/healthz"))), 200);
  EXPECT_EQ(statusOf(idle1.readAll()), 408);
  EXPECT_EQ(statusOf(idle2.readAll()), 408);
}

TEST_F(MetricsServerTest, PortInUseIsAnErrorNamingTheAddress) {
  testing::LoopbackPort taken(true);
  const std::string address = "127.0.0.1:" + std::to_string(taken.port());
  auto server = MetricsServer::start({.address = address}, {}, nullptr);
  ASSERT_FALSE(server.ok());
  EXPECT_EQ(server.error().code, "io");
  EXPECT_NE(server.error().message.find(address), std::string::npos) << server.error().message;
  EXPECT_EQ(MetricsServer::start({.address = "localhost:80"}, {}, nullptr).error().code, "invalid");
}

TEST(MetricsServerIpv6, ServesOnTheIpv6Loopback) {
  auto server = MetricsServer::start({.address = "[::1]:0"},
                                     {{"/healthz",
                                       [] {
                                         return HttpAnswer{200, "text/plain", "ok\n"};
                                       }}},
                                     nullptr);
  if (!server.ok()) GTEST_SKIP() << "no IPv6 loopback here: " << server.error().message;
  const int fd = ::socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in6 addr{};
  addr.sin6_family = AF_INET6;
  addr.sin6_addr = in6addr_loopback;
  addr.sin6_port = htons((*server)->port());
  ASSERT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  const std::string request = getPath("/healthz");
  ASSERT_EQ(::send(fd, request.data(), request.size(), MSG_NOSIGNAL),
            static_cast<ssize_t>(request.size()));
  std::string response;
  char buffer[512];
  for (ssize_t n; (n = ::recv(fd, buffer, sizeof buffer, 0)) > 0;) response.append(buffer, n);
  ::close(fd);
  EXPECT_EQ(statusOf(response), 200) << response;
}

TEST(AgentLiveness, HealthyWhileTheLoopTurnsAndTelemetryIsAcked) {
  LoopLiveness liveness;
  const LivenessRule rule{.loop_stall_ms = 30000, .ack_stall_ms = 60000};
  EXPECT_EQ(unhealthyReason(liveness, rule, 1000).value_or(""), "agent loop has not started");
  liveness.loop_ms = 100000;
  EXPECT_FALSE(unhealthyReason(liveness, rule, 100000));
  EXPECT_FALSE(unhealthyReason(liveness, rule, 130000));
  EXPECT_EQ(unhealthyReason(liveness, rule, 175000).value_or(""),
            "agent loop has not run for 75 s");

  liveness.unacked_since = 100000;
  liveness.pending = 12;
  liveness.loop_ms = 160000;
  EXPECT_FALSE(unhealthyReason(liveness, rule, 100000 + 60000));
  liveness.loop_ms = 164000;
  EXPECT_EQ(unhealthyReason(liveness, rule, 164000).value_or(""),
            "no ack from the controller for 64 s, 12 batch(es) pending");
  liveness.unacked_since = 0;
  EXPECT_FALSE(unhealthyReason(liveness, rule, 164000));
}

TEST(AgentLiveness, RuleFollowsHeartbeatsAndActuatorTimeouts) {
  AgentConfig config;
  EXPECT_EQ(livenessRule(config).ack_stall_ms, 60000);
  EXPECT_EQ(livenessRule(config).loop_stall_ms, 30000);
  config.heartbeat_interval = std::chrono::seconds(20);
  config.systems.resize(2);
  config.systems[0].actuator.timeout = std::chrono::seconds(30);
  config.systems[1].actuator.timeout = std::chrono::seconds(90);
  EXPECT_EQ(livenessRule(config).ack_stall_ms, 120000);
  EXPECT_EQ(livenessRule(config).loop_stall_ms, 120000);
}

}  // namespace
}  // namespace pso::agent
