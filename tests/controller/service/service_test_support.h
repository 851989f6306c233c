#pragma once

// Test support for the controller service: a real Controller on loopback with
// a temp database, a DEALER playing an agent, and a small HTTP client.

#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>
#include <zmq.hpp>

#include "common/clock.h"
#include "common/zmq_socket.h"
#include "controller/service/controller.h"
#include "protocol/messages.h"
#include "tests/support/process.h"

namespace pso::controller::service::testing {

using pso::testing::TempDir;
using pso::testing::waitFor;

inline constexpr const char* kToken = "service-test-token";
inline constexpr auto kReplyTimeout = std::chrono::seconds(10);

struct HttpReply {
  int status = 0;
  std::string content_type;
  std::string body;
  /// The body parsed as JSON (discarded value when it is not JSON).
  nlohmann::json json() const;
};

/// One HTTP/1.1 request to 127.0.0.1:port on a fresh connection.
HttpReply httpRequest(uint16_t port, const std::string& method, const std::string& target,
                      const std::string& body = "", const std::string& token = "");

/// Sends raw bytes to 127.0.0.1:port and returns everything the server answers
/// until it closes the connection.
std::string rawHttp(uint16_t port, const std::string& bytes);

/// A DEALER socket playing agent `id` (the ROUTER assigns the connection's
/// routing id; `dealer` may carry CurveZMQ keys).
class TestAgent {
 public:
  TestAgent(const std::string& endpoint, const std::string& id,
            const common::DealerOptions& dealer = {});
  void send(const protocol::Message& message);
  /// Sends without waiting: false when no connection is up to take it (the
  /// DEALER queues nothing without one).
  bool trySend(const protocol::Message& message);
  /// Sends the frames as one multipart message.
  void sendFrames(const std::vector<std::string>& frames);
  /// The frames of the next message, undecoded; empty after `timeout`.
  std::vector<std::string> receiveFrames(std::chrono::milliseconds timeout = kReplyTimeout);
  /// The next message, decoded; nullopt after `timeout` without one.
  std::optional<protocol::Message> receive(std::chrono::milliseconds timeout = kReplyTimeout);
  /// Receives until a message of type T arrives (others are dropped); nullopt
  /// after `timeout`.
  template <typename T>
  std::optional<T> receiveA(std::chrono::milliseconds timeout = kReplyTimeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) return std::nullopt;
      auto message = receive(left);
      if (!message) return std::nullopt;
      if (auto* wanted = std::get_if<T>(&*message)) return *wanted;
    }
  }
  /// hello -> welcome.
  std::optional<protocol::Welcome> sayHello(const std::vector<protocol::SystemInfo>& systems);

  const std::string& id() const { return id_; }

 private:
  std::string id_;
  zmq::context_t context_;
  zmq::socket_t socket_;
};

/// The system most tests manage: 10 demand units per replica at 70% target.
protocol::SystemInfo webSystem(int64_t replicas = 2);

/// A telemetry batch with `demand` samples one second apart ending at `end_ms`,
/// plus the replica count at each of them.
protocol::TelemetryBatch telemetry(const std::string& agent_id, uint64_t seq,
                                   const std::vector<double>& demand, int64_t replicas,
                                   int64_t end_ms, const std::string& system = "web");

/// A telemetry batch of `system`'s demand only: values[i] at start_ms + i *
/// step_ms (NaN: no sample at that time).
protocol::TelemetryBatch demandHistory(const std::string& agent_id, uint64_t seq, int64_t start_ms,
                                       int64_t step_ms, const std::vector<double>& values,
                                       const std::string& system = "web");

struct HarnessOptions {
  std::string mode = "act";
  bool tokens_file = true;
  common::Duration agent_timeout{std::chrono::seconds(30)};
  common::Duration directive_deadline{std::chrono::minutes(5)};
  /// CurveZMQ on the agent link (key files and the authorized-keys directory).
  common::CurveConfig curve;
  /// The wall clock the controller's HTTP API answers by; fixedClock() pins it.
  WallClock clock = common::wallMs;
  std::vector<AlertRuleConfig> alerts;
  WebhookConfig webhooks;
  RemoteWriteConfig remote_write;
};

/// A clock that always reads `epoch_ms`.
WallClock fixedClock(int64_t epoch_ms);

/// A fixture with a real Controller. The cycle interval is an hour, so cycles
/// run only when a test calls runCycleOnce().
class ServiceTest : public ::testing::Test {
 protected:
  void TearDown() override { controller_.reset(); }

  /// Starts (or restarts, on the same database) the controller.
  void startController(const HarnessOptions& options = {});
  void stopController() { controller_.reset(); }

  Controller& controller() { return *controller_; }
  std::string endpoint() const { return controller_->zmqEndpoint(); }
  HttpReply get(const std::string& target) {
    return httpRequest(controller_->httpPort(), "GET", target);
  }
  HttpReply post(const std::string& target, const std::string& body,
                 const std::string& token = kToken) {
    return httpRequest(controller_->httpPort(), "POST", target, body, token);
  }
  /// A value of the controller's /metrics, 0 when absent.
  double metric(const std::string& name, const common::Labels& labels = {}) {
    return controller_->metrics().value(name, labels);
  }
  /// Now on the clock the controller was started with.
  int64_t now() const { return clock_(); }
  /// Registers agent `id` with webSystem() and feeds `demand` samples ending
  /// now(); returns the connected agent.
  std::unique_ptr<TestAgent> connectWebAgent(const std::string& id,
                                             const std::vector<double>& demand,
                                             int64_t replicas = 2);

  TempDir dir_;
  WallClock clock_ = common::wallMs;
  std::unique_ptr<Controller> controller_;
};

}  // namespace pso::controller::service::testing
