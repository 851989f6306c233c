// The agent's /metrics and /healthz listener end to end (issue 14 item 4): a
// real pso-agent with agent.metrics_listen set, sending to a real
// pso-controller, scraped over loopback like Prometheus would.

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <optional>
#include <sstream>
#include <string>

#include "tests/support/agent_process.h"
#include "tests/support/controller_process.h"
#include "tests/support/process.h"

namespace pso::testing {
namespace {

using std::chrono::seconds;

struct HttpReply {
  int status = 0;
  std::string body;
};

// One GET over a fresh connection; status 0 when nothing answers (yet).
HttpReply httpGet(int port, const std::string& path) {
  HttpReply reply;
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(static_cast<uint16_t>(port));
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    ::close(fd);
    return reply;
  }
  const std::string request = "GET " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";
  (void)::send(fd, request.data(), request.size(), MSG_NOSIGNAL);
  std::string response;
  char buffer[4096];
  for (;;) {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, 5000) <= 0) break;
    const ssize_t n = ::recv(fd, buffer, sizeof buffer, 0);
    if (n <= 0) break;
    response.append(buffer, static_cast<std::size_t>(n));
  }
  ::close(fd);
  const std::size_t end = response.find("\r\n\r\n");
  if (response.rfind("HTTP/1.1 ", 0) != 0 || end == std::string::npos) return reply;
  reply.status = std::stoi(response.substr(9, 3));
  reply.body = response.substr(end + 4);
  return reply;
}

// The value of an unlabelled sample `name` in a Prometheus exposition.
std::optional<double> sample(const std::string& exposition, const std::string& name) {
  std::istringstream lines(exposition);
  for (std::string line; std::getline(lines, line);) {
    if (line.rfind(name + " ", 0) == 0) return std::stod(line.substr(name.size() + 1));
  }
  return std::nullopt;
}

TEST(AgentMetricsEndpoint, ShowsAckedBatchesAndIsHealthyWithALiveController) {
  TempDir dir;
  ControllerProcess controller(dir, {PSO_CONTROLLER_BIN, PSOCTL_BIN});
  ASSERT_TRUE(controller.started());
  const int port = unusedLoopbackPort();
  AgentProcess agent(
      dir, {.binary = PSO_AGENT_BIN,
            .id = "agent-metrics",
            .system = "web",
            .controller = controller.zmqEndpoint(),
            .extra_agent_yaml = "  metrics_listen: \"127.0.0.1:" + std::to_string(port) + "\"\n"});

  std::string metrics;
  ASSERT_TRUE(waitFor(
      [&] {
        HttpReply reply = httpGet(port, "/metrics");
        metrics = reply.body;
        return reply.status == 200 &&
               sample(metrics, "pso_agent_batches_acked_total").value_or(0) > 0;
      },
      seconds(30)))
      << "last /metrics:\n"
      << metrics << "\nagent log:\n"
      << agent.log();
  EXPECT_GT(sample(metrics, "pso_agent_samples_total").value_or(0), 0);
  EXPECT_GT(sample(metrics, "pso_agent_batches_sent_total").value_or(0), 0);
  EXPECT_EQ(sample(metrics, "pso_agent_controller_welcomed").value_or(0), 1);
  EXPECT_TRUE(sample(metrics, "pso_agent_controller_last_contact_age_seconds").has_value());
  EXPECT_EQ(sample(metrics, "pso_agent_healthy").value_or(0), 1);
  EXPECT_NE(metrics.find("# TYPE pso_agent_batches_acked_total counter"), std::string::npos);

  const HttpReply health = httpGet(port, "/healthz");
  EXPECT_EQ(health.status, 200);
  EXPECT_EQ(health.body, "{\"status\":\"ok\"}\n");
  EXPECT_EQ(httpGet(port, "/nope").status, 404);
}

TEST(AgentMetricsEndpoint, AgentRefusesToStartWhenThePortIsTaken) {
  TempDir dir;
  // A listening socket holds the port.
  const int holder = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::bind(holder, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  ASSERT_EQ(::listen(holder, 1), 0);
  socklen_t len = sizeof addr;
  ::getsockname(holder, reinterpret_cast<sockaddr*>(&addr), &len);
  const std::string address = "127.0.0.1:" + std::to_string(ntohs(addr.sin_port));

  AgentProcess agent(dir, {.binary = PSO_AGENT_BIN,
                           .id = "agent-taken",
                           .system = "web",
                           .controller = "tcp://127.0.0.1:9",
                           .extra_agent_yaml = "  metrics_listen: \"" + address + "\"\n"});
  EXPECT_EQ(agent.process().wait(seconds(20)), 2);
  EXPECT_NE(agent.log().find("agent.metrics_listen: metrics listener " + address +
                             ": cannot bind: Address already in use"),
            std::string::npos)
      << agent.log();
  ::close(holder);
}

}  // namespace
}  // namespace pso::testing
