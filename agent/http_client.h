#pragma once

// HTTP for the agent (health checks, Prometheus scrapes, the Docker Engine
// and Kubernetes APIs).
//
// Plain http:// (over TCP or a unix socket) is spoken by a small built-in
// HTTP/1.1 client, one connection per request, assembled from the parts in
// agent/http/: URL splitting (url.h), the socket and its deadline
// (connection.h) and the response parser (response_parser.h, fuzzed in
// tests/fuzz). https:// goes through libcurl, which is loaded with dlopen()
// on the first https request, not linked (http/curl_loader.h): with the ~30
// libraries and the TLS stack it pulls in it costs about 7 MB of resident
// memory, which an agent that only probes or scrapes plain HTTP on loopback
// should not pay (the budget is 10 MB, docs/architecture.md section 3; figures in
// docs/agent.md, "Footprint").

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "common/config.h"
#include "common/result.h"

namespace pso::agent {

struct HttpRequest {
  std::string method = "GET";        ///< GET, POST, PATCH, PUT, DELETE
  std::string url;                   ///< with a unix socket the host part is only sent as Host
  std::vector<std::string> headers;  ///< "Name: value"
  std::string body;                  ///< sent when not empty (or for POST/PATCH/PUT)
  common::Duration timeout{std::chrono::seconds(5)};  ///< whole exchange, connect included
  std::string unix_socket;                 ///< connect through this AF_UNIX socket instead of TCP
  std::string ca_file;                     ///< https: trust these CAs instead of the system's
  std::size_t max_body = 4 * 1024 * 1024;  ///< a longer body is an error ("too_large")
};

struct HttpResponse {
  long status = 0;
  std::string body;
  double latency_ms = 0.0;  ///< request sent to last byte received
};

/// Loads libcurl once per process. An Error (code "unsupported") says which
/// libraries were tried when none could be loaded.
[[nodiscard]] Status loadCurl();

/// Whether this process can send requests to `url`: plain http:// (over TCP
/// or a unix socket) is built in and needs nothing loaded; https:// needs
/// libcurl, which this loads (loadCurl()). An Error (code "invalid") for any
/// other scheme or a malformed http:// URL, "unsupported" when libcurl is
/// missing.
[[nodiscard]] Status checkHttpSupport(const std::string& url);

/// An HTTP client: plain http:// requests are built in (a new connection per
/// request, "Connection: close"); https:// ones use one libcurl easy handle,
/// made on the first such request and reused so keep-alive connections and
/// buffers are too. Not thread-safe; one per thread.
class HttpClient {
 public:
  HttpClient();
  ~HttpClient();
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;

  /// Performs `request`, filling `response` (its body buffer is reused;
  /// Content-Length, chunked and close-delimited bodies are read). Any HTTP
  /// status is a success here; an Error (code "http", "timeout", "malformed",
  /// "too_large", "invalid" or "unsupported") is a transfer that did not
  /// complete, with a message naming the method, URL and the reason in
  /// curl's words, e.g. "GET http://127.0.0.1:9/healthz: Couldn't connect to
  /// server (Failed to connect to 127.0.0.1 port 9: Connection refused)".
  [[nodiscard]] Status perform(const HttpRequest& request, HttpResponse& response);

 private:
  void* handle_ = nullptr;
};

/// "<METHOD> <url>: HTTP <status>: <reason>" for a response with an error
/// status; the reason is the JSON body's "message" (the Docker Engine and
/// Kubernetes APIs both answer errors that way) or the body's first line.
std::string describeHttpError(const HttpRequest& request, const HttpResponse& response);

}  // namespace pso::agent
