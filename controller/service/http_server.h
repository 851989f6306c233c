#pragma once

// A small HTTP/1.1 server (Boost.Beast on Asio) that hands each request to one
// handler function, over plain TCP or TLS. Transport only: routing, auth and
// JSON live in api.h.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
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
  /// Extra headers. Values may come from data: the server passes every name
  /// and value through headerValue()/isHeaderName() before it writes them.
  std::vector<std::pair<std::string, std::string>> headers;
};

using HttpHandler = std::function<HttpResponse(const HttpRequest&)>;

/// `value` made safe for one header line: every control character (CR, LF,
/// NUL, ... and DEL; a horizontal tab is kept) becomes a space, so nothing a
/// client or an agent sent can end the line and start another header.
std::string headerValue(std::string_view value);

/// Whether `name` is an RFC 9110 token (letters, digits and !#$%&'*+-.^_`|~).
bool isHeaderName(std::string_view name);

/// How the server listens. The defaults serve plain HTTP.
struct HttpServerOptions {
  /// PEM files; both empty: plain HTTP. With both set the listener speaks
  /// HTTPS only (TLS 1.2 or later).
  std::string tls_cert_file;
  std::string tls_key_file;
  /// A connection must complete its TLS handshake within this time, or it is
  /// closed (and counted as a failed handshake).
  std::chrono::milliseconds tls_handshake_timeout{std::chrono::seconds(10)};
  /// A request must arrive within this time of the connection's previous one.
  std::chrono::milliseconds read_timeout{std::chrono::seconds(30)};

  bool tls() const { return !tls_cert_file.empty() || !tls_key_file.empty(); }
};

/// Serves HTTP or HTTPS on one io_context thread. Keep-alive is honoured; a
/// malformed request gets 400 and the connection is closed. Each response is
/// counted in pso_http_requests_total{code}. A handler that throws produces a
/// 500 with the exception's message.
///
/// With TLS, a client whose first bytes are not a TLS ClientHello (plain
/// HTTP) gets an HTTP 400 telling it to use https:// and is disconnected; it
/// (reason "not_tls"), every handshake that fails ("handshake") and every
/// connection that has not completed one within tls_handshake_timeout
/// ("timeout") is counted in pso_http_tls_handshake_failures_total{reason} and
/// never reaches the handler.
///
/// When accept() fails for want of file descriptors (EMFILE, ENFILE) the
/// server waits before it accepts again, 100 ms doubling to 1 s, so the
/// pending connection does not make it spin; such a failure is logged at most
/// once a second, the line saying how many were left out since the last one.
/// Every accept failure is counted in pso_http_accept_failures_total{reason},
/// those left out of the log also in pso_http_accept_failures_unlogged_total.
class HttpServer {
 public:
  HttpServer(HttpHandler handler, common::MetricsRegistry& metrics, HttpServerOptions options = {});
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  /// Loads the TLS certificate and key (when configured), binds "host:port"
  /// (port 0 picks a free port; "[::1]:port" for IPv6) and starts serving.
  /// Error codes: "tls" (one line naming the file that cannot be read or is
  /// not a usable certificate or key), "bind" (names the address).
  [[nodiscard]] Status start(const std::string& address);
  /// Closes the listener and every connection, and joins the thread. Idempotent.
  void stop();

  /// The bound port (after start()).
  uint16_t port() const;
  /// "host:port" with the bound port.
  std::string address() const;
  /// Whether the listener speaks HTTPS.
  bool tls() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace pso::controller::service
