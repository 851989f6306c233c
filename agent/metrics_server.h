#pragma once

// The agent's optional loopback HTTP listener for /metrics and /healthz
// (agent.metrics_listen, docs/agent.md "Metrics and health endpoint").

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "common/metrics.h"
#include "common/result.h"

namespace pso::agent {

/// What a route answers.
struct HttpAnswer {
  int status = 200;
  std::string content_type = "text/plain; charset=utf-8";
  std::string body;
};

/// One path the server answers GET on; `answer` runs on the server's thread.
struct HttpRoute {
  std::string path;
  std::function<HttpAnswer()> answer;
};

struct MetricsServerOptions {
  /// "127.0.0.1:9465" or "[::1]:9465"; port 0 asks the kernel for one (tests).
  std::string address;
  /// The whole request head must arrive within this, and the answer must be
  /// taken by the client within it again; past it the connection is answered
  /// 408 (head) or dropped (answer).
  std::chrono::milliseconds timeout{2000};
  std::size_t max_connections = 4;        ///< open at once; more wait in the backlog
  std::size_t max_head_bytes = 8 * 1024;  ///< request line and headers
};

/// A tiny HTTP/1.1 server on one listening socket, run by one thread that
/// sleeps in poll(): one request per connection (`Connection: close`), the
/// head parsed by http::parseRequestHead(), bodies never read.
///
/// Answers: a route's answer to GET on its path (the query is ignored); 404
/// for any other path; 405 (with `Allow: GET`) for another method on a
/// route's path; 400 for a malformed or oversize head, 408 for a head not
/// complete within `timeout`, then the connection is closed. Every answer is
/// counted in pso_agent_metrics_http_requests_total{code}; refusals also in
/// pso_agent_metrics_http_refused_total{reason} (malformed, too_large,
/// timeout). A slow client holds only its own connection: sockets are
/// non-blocking and each connection has its own deadline, so at most
/// `max_connections` slow clients can delay the others, each by at most
/// `timeout`. Nothing a client sends can crash or block the agent.
class MetricsServer {
 public:
  /// Binds and listens on `options.address` and starts the thread. An Error
  /// (code "io") names the address when it cannot listen (port in use, an
  /// address not on this host); code "invalid" for an unparsable address.
  [[nodiscard]] static Result<std::unique_ptr<MetricsServer>> start(
      MetricsServerOptions options, std::vector<HttpRoute> routes,
      common::MetricsRegistry* metrics = nullptr);
  /// Stops and joins the thread, closing every connection.
  ~MetricsServer();
  MetricsServer(const MetricsServer&) = delete;
  MetricsServer& operator=(const MetricsServer&) = delete;

  /// The port listened on (the kernel's choice when asked for 0).
  uint16_t port() const { return port_; }
  /// Stops and joins the thread. Idempotent.
  void stop();

 private:
  struct Connection;

  MetricsServer(MetricsServerOptions options, std::vector<HttpRoute> routes,
                common::MetricsRegistry* metrics);
  void run();
  void acceptAll();
  void onReadable(Connection& connection, int64_t now);
  void onWritable(Connection& connection, int64_t now);
  void respond(Connection& connection, int64_t now);
  void refuse(Connection& connection, int64_t now, int status, const std::string& reason,
              const std::string& why);
  void answer(Connection& connection, int64_t now, const HttpAnswer& answer,
              const std::string& extra_headers = {});

  MetricsServerOptions options_;
  std::vector<HttpRoute> routes_;
  common::MetricsRegistry* metrics_;
  int listen_fd_ = -1;
  int wake_[2] = {-1, -1};
  uint16_t port_ = 0;
  std::vector<std::unique_ptr<Connection>> connections_;
  std::thread thread_;
};

}  // namespace pso::agent
