#pragma once

// A small HTTP/1.1 server (Boost.Beast on Asio) that hands each request to one
// handler function. Transport only: routing, auth and JSON live in api.h.

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "common/metrics.h"
#include "common/result.h"

namespace pso::controller::service {

/// Requests with a larger body are answered 413 without reaching the handler.
inline constexpr std::size_t kMaxRequestBodyBytes = 1024 * 1024;

struct HttpRequest {
  std::string method;         ///< "GET", "POST", ...
  std::string target;         ///< path and query, as sent ("/api/v1/cycles?limit=5")
  std::string authorization;  ///< the Authorization header, empty if absent
  std::string body;
};

struct HttpResponse {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;  ///< extra headers
};

using HttpHandler = std::function<HttpResponse(const HttpRequest&)>;

/// Serves HTTP on one io_context thread. Keep-alive is honoured; reads time out
/// after 30 s; a malformed request gets 400 and the connection is closed. Each
/// response is counted in pso_http_requests_total{code}. A handler that throws
/// produces a 500 with the exception's message.
class HttpServer {
 public:
  HttpServer(HttpHandler handler, common::MetricsRegistry& metrics);
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  /// Binds "host:port" (port 0 picks a free port; "[::1]:port" for IPv6) and
  /// starts serving. Error code "bind" names the address.
  [[nodiscard]] Status start(const std::string& address);
  /// Closes the listener and every connection, and joins the thread. Idempotent.
  void stop();

  /// The bound port (after start()).
  uint16_t port() const;
  /// "host:port" with the bound port.
  std::string address() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace pso::controller::service
