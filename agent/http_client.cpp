#include "agent/http_client.h"

#include <nlohmann/json.hpp>
#include <string_view>

#include "agent/http/connection.h"
#include "agent/http/curl_loader.h"
#include "agent/http/response_parser.h"
#include "agent/http/url.h"
#include "common/clock.h"

namespace pso::agent {
namespace {

bool startsWith(const std::string& text, std::string_view prefix) {
  return text.compare(0, prefix.size(), prefix) == 0;
}

bool sendsBody(const HttpRequest& request) {
  return !request.body.empty() || request.method == "POST" || request.method == "PATCH" ||
         request.method == "PUT";
}

// The request line, headers and body of one exchange on its own connection.
std::string requestMessage(const HttpRequest& request, const http::PlainUrl& url) {
  std::string message = request.method + " " + url.target + " HTTP/1.1\r\nHost: " + url.authority +
                        "\r\nUser-Agent: pso-agent\r\nAccept: */*\r\nConnection: close\r\n";
  for (const std::string& header : request.headers) message += header + "\r\n";
  if (sendsBody(request)) {
    message += "Content-Length: " + std::to_string(request.body.size()) + "\r\n";
  }
  message += "\r\n";
  message += request.body;
  return message;
}

// One HTTP/1.1 exchange on its own connection ("Connection: close"): the
// built-in client for http:// URLs and unix sockets, so that an agent
// probing or scraping plain HTTP never loads libcurl.
Status performPlain(const HttpRequest& request, HttpResponse& response) {
  Result<http::PlainUrl> url = http::parsePlainUrl(request.url);
  if (!url) return url.error();
  const http::Deadline deadline(request.timeout);
  Result<http::Connection> connection =
      request.unix_socket.empty() ? http::Connection::connectTcp(url->host, url->port, deadline)
                                  : http::Connection::connectUnix(request.unix_socket, deadline);
  if (!connection) return connection.error();
  if (Status sent = connection->sendAll(requestMessage(request, *url), deadline); !sent) {
    return sent;
  }

  http::ResponseParser parser(response.body, request.method == "HEAD",
                              http::ResponseLimits{.max_body = request.max_body});
  Status outcome;
  char buffer[16384];
  while (outcome && !parser.done()) {
    Result<std::size_t> received = connection->receive(buffer, sizeof buffer, deadline);
    if (!received) {
      outcome = received.error();
    } else if (*received == 0) {
      outcome = parser.finish();
      break;
    } else {
      outcome = parser.feed({buffer, *received});
    }
  }
  // The status is kept even when the body failed, for the caller's message.
  if (parser.headComplete()) response.status = parser.head().status;
  return outcome;
}

// Stops libcurl with CURLE_WRITE_ERROR once the body would pass `max`.
struct BodySink {
  std::string* body;
  std::size_t max;
  bool overflow = false;
};

size_t writeBody(char* data, size_t size, size_t count, void* user) {
  auto* sink = static_cast<BodySink*>(user);
  const size_t bytes = size * count;
  if (sink->body->size() + bytes > sink->max) {
    sink->overflow = true;
    return 0;
  }
  sink->body->append(data, bytes);
  return bytes;
}

// One exchange through libcurl on `curl`, whose options are reset first (not
// the handle: its connection cache survives between requests).
Status performCurl(const http::CurlApi& api, CURL* curl, const HttpRequest& request,
                   HttpResponse& response) {
  api.easy_reset(curl);
  char error_buffer[CURL_ERROR_SIZE] = {};
  BodySink sink{&response.body, request.max_body};
  http::CurlHeaderList headers(api);
  for (const std::string& header : request.headers) headers.add(header);

  api.easy_setopt(curl, CURLOPT_URL, request.url.c_str());
  api.easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  api.easy_setopt(curl, CURLOPT_ERRORBUFFER, error_buffer);
  api.easy_setopt(curl, CURLOPT_TIMEOUT_MS, static_cast<long>(request.timeout.count()));
  api.easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(request.timeout.count()));
  api.easy_setopt(curl, CURLOPT_WRITEFUNCTION, &writeBody);
  api.easy_setopt(curl, CURLOPT_WRITEDATA, &sink);
  api.easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "https");
  api.easy_setopt(curl, CURLOPT_USERAGENT, "pso-agent");
  if (headers.get() != nullptr) api.easy_setopt(curl, CURLOPT_HTTPHEADER, headers.get());
  if (!request.unix_socket.empty()) {
    api.easy_setopt(curl, CURLOPT_UNIX_SOCKET_PATH, request.unix_socket.c_str());
  }
  if (!request.ca_file.empty()) api.easy_setopt(curl, CURLOPT_CAINFO, request.ca_file.c_str());
  if (request.method == "GET") {
    api.easy_setopt(curl, CURLOPT_HTTPGET, 1L);
  } else {
    api.easy_setopt(curl, CURLOPT_CUSTOMREQUEST, request.method.c_str());
  }
  if (sendsBody(request)) {
    api.easy_setopt(curl, CURLOPT_POSTFIELDS, request.body.c_str());
    api.easy_setopt(curl, CURLOPT_POSTFIELDSIZE, static_cast<long>(request.body.size()));
  }

  const CURLcode code = api.easy_perform(curl);
  if (code != CURLE_OK) {
    if (sink.overflow) {
      return makeError("too_large",
                       "response body larger than " + std::to_string(request.max_body) + " bytes");
    }
    std::string reason = api.easy_strerror(code);
    if (error_buffer[0] != '\0') reason += std::string(" (") + error_buffer + ")";
    return makeError(code == CURLE_OPERATION_TIMEDOUT ? "timeout" : "http", reason);
  }
  api.easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &response.status);
  return {};
}

}  // namespace

Status loadCurl() {
  Result<const http::CurlApi*> api = http::processCurl();
  if (!api) return api.error();
  return {};
}

Status checkHttpSupport(const std::string& url) {
  if (startsWith(url, "http://")) {
    Result<http::PlainUrl> parsed = http::parsePlainUrl(url);
    if (!parsed) return parsed.error();
    return {};
  }
  if (startsWith(url, "https://")) return loadCurl();
  return makeError("invalid", "URL " + url + ": expected http:// or https://");
}

HttpClient::HttpClient() = default;

HttpClient::~HttpClient() {
  // A handle exists only once libcurl was loaded.
  if (handle_ != nullptr) (*http::processCurl())->easy_cleanup(static_cast<CURL*>(handle_));
}

Status HttpClient::perform(const HttpRequest& request, HttpResponse& response) {
  const std::string what = request.method + " " + request.url;
  response.status = 0;
  response.body.clear();
  response.latency_ms = 0.0;
  const bool plain = startsWith(request.url, "http://");
  if (!plain && !startsWith(request.url, "https://")) {
    return makeError("unsupported", what + ": only http:// and https:// URLs are supported");
  }
  const http::CurlApi* api = nullptr;
  if (!plain) {
    Result<const http::CurlApi*> loaded = http::processCurl();
    if (!loaded) return makeError("unsupported", what + ": " + loaded.error().message);
    api = *loaded;
    // Made on the first https request and kept, so keep-alive connections
    // and buffers are reused.
    if (handle_ == nullptr) handle_ = api->easy_init();
    if (handle_ == nullptr) return makeError("unsupported", what + ": curl_easy_init failed");
  }
  const int64_t started = common::steadyMs();
  Status status = plain ? performPlain(request, response)
                        : performCurl(*api, static_cast<CURL*>(handle_), request, response);
  response.latency_ms = static_cast<double>(common::steadyMs() - started);
  if (!status) return makeError(status.error().code, what + ": " + status.error().message);
  return {};
}

std::string describeHttpError(const HttpRequest& request, const HttpResponse& response) {
  std::string reason;
  nlohmann::json body = nlohmann::json::parse(response.body, nullptr, false);
  if (body.is_object() && body.contains("message") && body["message"].is_string()) {
    reason = body["message"].get<std::string>();
  } else {
    reason = response.body.substr(0, response.body.find('\n'));
  }
  if (reason.size() > 200) reason = reason.substr(0, 200) + "...";
  std::string text =
      request.method + " " + request.url + ": HTTP " + std::to_string(response.status);
  if (!reason.empty()) text += ": " + reason;
  return text;
}

}  // namespace pso::agent
