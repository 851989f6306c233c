#include "agent/http_client.h"

#include <curl/curl.h>
#include <dlfcn.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <string_view>
#include <utility>

#include "common/clock.h"

namespace pso::agent {
namespace {

// The libcurl functions the agent uses, resolved from the loaded library.
struct CurlApi {
  CURLcode (*global_init)(long) = nullptr;
  CURL* (*easy_init)() = nullptr;
  void (*easy_cleanup)(CURL*) = nullptr;
  void (*easy_reset)(CURL*) = nullptr;
  CURLcode (*easy_setopt)(CURL*, CURLoption, ...) = nullptr;
  CURLcode (*easy_perform)(CURL*) = nullptr;
  CURLcode (*easy_getinfo)(CURL*, CURLINFO, ...) = nullptr;
  const char* (*easy_strerror)(CURLcode) = nullptr;
  curl_slist* (*slist_append)(curl_slist*, const char*) = nullptr;
  void (*slist_free_all)(curl_slist*) = nullptr;
};

CurlApi g_curl;
Status g_load_status = makeError("unsupported", "libcurl not loaded yet");
std::once_flag g_load_once;

template <typename F>
bool resolve(void* library, const char* name, F& out) {
  out = reinterpret_cast<F>(::dlsym(library, name));
  return out != nullptr;
}

Status loadOnce() {
  // libcurl.so.4 is the OpenSSL build; the GnuTLS build has the same ABI.
  void* library = nullptr;
  std::string tried;
  for (const char* name : {"libcurl.so.4", "libcurl-gnutls.so.4"}) {
    library = ::dlopen(name, RTLD_NOW | RTLD_LOCAL);
    if (library != nullptr) break;
    const char* reason = ::dlerror();
    tried += tried.empty() ? "" : "; ";
    tried += reason != nullptr ? reason : name;
  }
  if (library == nullptr) {
    return makeError("unsupported", "HTTP needs libcurl, which could not be loaded (" + tried +
                                        "): install libcurl4");
  }
  CurlApi api;
  const bool complete = resolve(library, "curl_global_init", api.global_init) &&
                        resolve(library, "curl_easy_init", api.easy_init) &&
                        resolve(library, "curl_easy_cleanup", api.easy_cleanup) &&
                        resolve(library, "curl_easy_reset", api.easy_reset) &&
                        resolve(library, "curl_easy_setopt", api.easy_setopt) &&
                        resolve(library, "curl_easy_perform", api.easy_perform) &&
                        resolve(library, "curl_easy_getinfo", api.easy_getinfo) &&
                        resolve(library, "curl_easy_strerror", api.easy_strerror) &&
                        resolve(library, "curl_slist_append", api.slist_append) &&
                        resolve(library, "curl_slist_free_all", api.slist_free_all);
  if (!complete) return makeError("unsupported", "the loaded libcurl lacks a needed function");
  // Not thread-safe in libcurl: done here, under call_once, before any handle.
  if (CURLcode code = api.global_init(CURL_GLOBAL_DEFAULT); code != CURLE_OK) {
    return makeError("unsupported",
                     std::string("curl_global_init failed: ") + api.easy_strerror(code));
  }
  g_curl = api;
  return {};
}

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
    return 0;  // makes libcurl stop with CURLE_WRITE_ERROR
  }
  sink->body->append(data, bytes);
  return bytes;
}

// Frees a header list on every return path.
class HeaderList {
 public:
  ~HeaderList() {
    if (list_ != nullptr) g_curl.slist_free_all(list_);
  }
  void add(const std::string& header) { list_ = g_curl.slist_append(list_, header.c_str()); }
  curl_slist* get() const { return list_; }

 private:
  curl_slist* list_ = nullptr;
};

bool startsWith(const std::string& text, const char* prefix) {
  return text.rfind(prefix, 0) == 0;
}

std::string lowerCase(std::string text) {
  for (char& c : text) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return text;
}

// The parts of an http:// URL a request needs.
struct PlainUrl {
  std::string host;         ///< without IPv6 brackets
  std::string port = "80";  ///< as text, for getaddrinfo
  std::string authority;    ///< host[:port] as written, sent as Host
  std::string target;       ///< path and query, "/" at least
};

Result<PlainUrl> parsePlainUrl(const std::string& url) {
  PlainUrl parts;
  const std::string rest = url.substr(std::strlen("http://"));
  const std::size_t slash = rest.find_first_of("/?#");
  parts.authority = rest.substr(0, slash);
  parts.target = slash == std::string::npos ? "/" : rest.substr(slash);
  if (const std::size_t hash = parts.target.find('#'); hash != std::string::npos) {
    parts.target.erase(hash);
  }
  if (parts.target.empty() || parts.target.front() != '/') parts.target.insert(0, "/");
  if (parts.authority.empty() || parts.authority.find('@') != std::string::npos) {
    return makeError("invalid", "URL " + url + ": expected http://host[:port]/path");
  }
  std::string host = parts.authority;
  std::size_t colon = std::string::npos;
  if (host.front() == '[') {
    const std::size_t close = host.find(']');
    if (close == std::string::npos) return makeError("invalid", "URL " + url + ": unclosed '['");
    if (close + 1 < host.size()) {
      if (host[close + 1] != ':') return makeError("invalid", "URL " + url + ": bad port");
      colon = close + 1;
    }
    parts.host = host.substr(1, close - 1);
  } else {
    colon = host.rfind(':');
    parts.host = host.substr(0, colon);
  }
  if (colon != std::string::npos) {
    parts.port = host.substr(colon + 1);
    int value = 0;
    auto [ptr, ec] =
        std::from_chars(parts.port.data(), parts.port.data() + parts.port.size(), value);
    if (ec != std::errc() || ptr != parts.port.data() + parts.port.size() || value <= 0 ||
        value > 65535) {
      return makeError("invalid", "URL " + url + ": bad port '" + parts.port + "'");
    }
  }
  if (parts.host.empty()) return makeError("invalid", "URL " + url + ": no host");
  return parts;
}

// A point in time every step of one exchange must finish by.
class Deadline {
 public:
  explicit Deadline(common::Duration timeout) : end_ms_(common::steadyMs() + timeout.count()) {}
  int remainingMs() const {
    return static_cast<int>(std::max<int64_t>(0, end_ms_ - common::steadyMs()));
  }

 private:
  int64_t end_ms_;
};

// Closes the descriptor on every return path.
class Socket {
 public:
  Socket() = default;
  explicit Socket(int fd) : fd_(fd) {}
  ~Socket() {
    if (fd_ >= 0) ::close(fd_);
  }
  Socket(const Socket&) = delete;
  Socket& operator=(const Socket&) = delete;
  Socket(Socket&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}
  Socket& operator=(Socket&& other) noexcept {
    std::swap(fd_, other.fd_);
    return *this;
  }
  int fd() const { return fd_; }

 private:
  int fd_ = -1;
};

// Polls `fd` for `events` until the deadline; false on timeout.
bool waitReady(int fd, short events, const Deadline& deadline) {
  for (;;) {
    pollfd p{fd, events, 0};
    const int rc = ::poll(&p, 1, deadline.remainingMs());
    if (rc > 0) return true;
    if (rc == 0 || errno != EINTR) return false;
  }
}

// A non-blocking connect bounded by the deadline; on failure `reason` says
// why ("Connection refused", "timed out").
bool connectWithin(int fd, const sockaddr* address, socklen_t length, const Deadline& deadline,
                   std::string& reason) {
  if (::connect(fd, address, length) == 0) return true;
  if (errno != EINPROGRESS) {
    reason = std::strerror(errno);
    return false;
  }
  if (!waitReady(fd, POLLOUT, deadline)) {
    reason = "timed out";
    return false;
  }
  int error = 0;
  socklen_t size = sizeof error;
  ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &size);
  if (error != 0) reason = std::strerror(error);
  return error == 0;
}

// The response parser of the built-in client: fed the bytes as they arrive,
// it fills the status and the body (Content-Length, chunked, or up to the
// end of the connection) and says when the response is complete.
class ResponseReader {
 public:
  ResponseReader(bool head_request, std::size_t max_body)
      : head_request_(head_request), max_body_(max_body) {}

  bool done() const { return state_ == State::kDone; }

  /// Consumes `bytes`; an Error (code "malformed" or "too_large") ends the
  /// exchange.
  Status feed(std::string_view bytes, HttpResponse& response) {
    pending_.append(bytes);
    for (;;) {
      switch (state_) {
        case State::kHeaders: {
          const std::size_t end = pending_.find("\r\n\r\n");
          if (end == std::string::npos) {
            if (pending_.size() > kMaxHeaderBytes) return malformed("headers longer than 64 KiB");
            return {};
          }
          if (Status status = parseHeaders(pending_.substr(0, end), response); !status) {
            return status;
          }
          pending_.erase(0, end + 4);
          break;
        }
        case State::kLength: {
          const std::size_t take = std::min<std::size_t>(pending_.size(), remaining_);
          if (Status status = append(pending_.substr(0, take), response); !status) return status;
          pending_.erase(0, take);
          remaining_ -= take;
          if (remaining_ == 0) state_ = State::kDone;
          if (pending_.empty() || state_ == State::kDone) return {};
          break;
        }
        case State::kUntilClose: {
          Status status = append(pending_, response);
          pending_.clear();
          return status;
        }
        case State::kChunkSize: {
          const std::size_t end = pending_.find("\r\n");
          if (end == std::string::npos) return {};
          const std::string line = pending_.substr(0, pending_.find_first_of(";\r"));
          std::size_t size = 0;
          auto [ptr, ec] = std::from_chars(line.data(), line.data() + line.size(), size, 16);
          if (line.empty() || ec != std::errc() || ptr != line.data() + line.size()) {
            return malformed("bad chunk size '" + line + "'");
          }
          pending_.erase(0, end + 2);
          remaining_ = size;
          state_ = size == 0 ? State::kTrailers : State::kChunkData;
          break;
        }
        case State::kChunkData: {
          const std::size_t take = std::min<std::size_t>(pending_.size(), remaining_);
          if (Status status = append(pending_.substr(0, take), response); !status) return status;
          pending_.erase(0, take);
          remaining_ -= take;
          if (remaining_ > 0) return {};
          state_ = State::kChunkEnd;
          break;
        }
        case State::kChunkEnd: {
          if (pending_.size() < 2) return {};
          if (pending_.compare(0, 2, "\r\n") != 0) return malformed("chunk not ended by CRLF");
          pending_.erase(0, 2);
          state_ = State::kChunkSize;
          break;
        }
        case State::kTrailers: {
          const std::size_t end = pending_.find("\r\n");
          if (end == std::string::npos) return {};
          pending_.erase(0, end + 2);
          if (end == 0) state_ = State::kDone;
          break;
        }
        case State::kDone:
          return {};
      }
    }
  }

  /// The server closed the connection: complete only when the body was
  /// delimited by the close (or already complete).
  Status finish(bool received_any) {
    if (state_ == State::kUntilClose) state_ = State::kDone;
    if (state_ == State::kDone) return {};
    if (!received_any) return makeError("http", "Empty reply from server");
    return makeError("http", "connection closed before the response was complete");
  }

 private:
  enum class State {
    kHeaders,
    kLength,
    kUntilClose,
    kChunkSize,
    kChunkData,
    kChunkEnd,
    kTrailers,
    kDone
  };
  static constexpr std::size_t kMaxHeaderBytes = 64 * 1024;

  static Status malformed(const std::string& why) {
    return makeError("malformed", "malformed HTTP response: " + why);
  }

  Status append(std::string_view bytes, HttpResponse& response) const {
    if (response.body.size() + bytes.size() > max_body_) {
      return makeError("too_large",
                       "response body larger than " + std::to_string(max_body_) + " bytes");
    }
    response.body.append(bytes);
    return {};
  }

  Status parseHeaders(const std::string& block, HttpResponse& response) {
    // "HTTP/1.1 200 OK"
    const std::size_t line_end = std::min(block.find("\r\n"), block.size());
    const std::string status_line = block.substr(0, line_end);
    long status = 0;
    if (status_line.rfind("HTTP/1.", 0) != 0 || status_line.size() < 12 ||
        std::from_chars(status_line.data() + 9, status_line.data() + 12, status).ptr !=
            status_line.data() + 12) {
      return malformed("bad status line '" + status_line.substr(0, 80) + "'");
    }
    // An interim answer (100 Continue): the real one follows.
    if (status >= 100 && status < 200) return {};
    response.status = status;
    bool chunked = false;
    std::optional<std::size_t> length;
    std::size_t pos = line_end + 2;
    while (pos < block.size()) {
      std::size_t end = std::min(block.find("\r\n", pos), block.size());
      const std::string line = block.substr(pos, end - pos);
      pos = end + 2;
      const std::size_t colon = line.find(':');
      if (colon == std::string::npos) continue;
      const std::string name = lowerCase(line.substr(0, colon));
      std::string value = line.substr(colon + 1);
      value.erase(0, value.find_first_not_of(" \t"));
      value.erase(value.find_last_not_of(" \t") + 1);
      if (name == "transfer-encoding") {
        chunked = lowerCase(value).find("chunked") != std::string::npos;
      } else if (name == "content-length") {
        std::size_t n = 0;
        auto [ptr, ec] = std::from_chars(value.data(), value.data() + value.size(), n);
        if (ec != std::errc() || ptr != value.data() + value.size()) {
          return malformed("bad Content-Length '" + value + "'");
        }
        length = n;
      }
    }
    if (head_request_ || status == 204 || status == 304) {
      state_ = State::kDone;
    } else if (chunked) {
      state_ = State::kChunkSize;
    } else if (length) {
      if (*length > max_body_) {
        return makeError("too_large",
                         "response body larger than " + std::to_string(max_body_) + " bytes");
      }
      remaining_ = *length;
      state_ = remaining_ == 0 ? State::kDone : State::kLength;
    } else {
      state_ = State::kUntilClose;
    }
    return {};
  }

  bool head_request_;
  std::size_t max_body_;
  State state_ = State::kHeaders;
  std::string pending_;
  std::size_t remaining_ = 0;
};

// Opens the connection for `url`: the request's unix socket, or TCP to each
// resolved address in turn. The error names the target as curl would.
Result<Socket> connectTo(const HttpRequest& request, const PlainUrl& url,
                         const Deadline& deadline) {
  if (!request.unix_socket.empty()) {
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    if (request.unix_socket.size() >= sizeof address.sun_path) {
      return makeError("http", "unix socket path too long: " + request.unix_socket);
    }
    std::memcpy(address.sun_path, request.unix_socket.c_str(), request.unix_socket.size() + 1);
    Socket socket(::socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
    std::string reason = socket.fd() < 0 ? std::strerror(errno) : "";
    if (socket.fd() >= 0 && connectWithin(socket.fd(), reinterpret_cast<sockaddr*>(&address),
                                          sizeof address, deadline, reason)) {
      return socket;
    }
    return makeError(reason == "timed out" ? "timeout" : "http",
                     "Couldn't connect to server (Failed to connect to " + request.unix_socket +
                         ": " + reason + ")");
  }
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* addresses = nullptr;
  if (int rc = ::getaddrinfo(url.host.c_str(), url.port.c_str(), &hints, &addresses); rc != 0) {
    return makeError("http", "Couldn't resolve host name (Could not resolve host: " + url.host +
                                 ": " + ::gai_strerror(rc) + ")");
  }
  std::string reason = "no address";
  for (addrinfo* a = addresses; a != nullptr; a = a->ai_next) {
    Socket socket(
        ::socket(a->ai_family, a->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, a->ai_protocol));
    if (socket.fd() < 0) {
      reason = std::strerror(errno);
      continue;
    }
    if (connectWithin(socket.fd(), a->ai_addr, a->ai_addrlen, deadline, reason)) {
      ::freeaddrinfo(addresses);
      return socket;
    }
    if (deadline.remainingMs() == 0) break;
  }
  ::freeaddrinfo(addresses);
  return makeError(reason == "timed out" ? "timeout" : "http",
                   "Couldn't connect to server (Failed to connect to " + url.host + " port " +
                       url.port + ": " + reason + ")");
}

// One HTTP/1.1 exchange on its own connection ("Connection: close"): the
// built-in client for http:// URLs and unix sockets, so that an agent
// probing or scraping plain HTTP never loads libcurl and its TLS stack
// (about 7 MB of resident memory, see docs/agent.md "Footprint").
Status performPlain(const HttpRequest& request, HttpResponse& response) {
  Result<PlainUrl> url = parsePlainUrl(request.url);
  if (!url) return url.error();
  const Deadline deadline(request.timeout);
  const auto timedOut = [&] {
    return makeError("timeout", "Timeout was reached (Operation timed out after " +
                                    std::to_string(request.timeout.count()) + " milliseconds)");
  };
  Result<Socket> socket = connectTo(request, *url, deadline);
  if (!socket) return socket.error();
  const int fd = socket->fd();

  std::string message = request.method + " " + url->target +
                        " HTTP/1.1\r\nHost: " + url->authority +
                        "\r\nUser-Agent: pso-agent\r\nAccept: */*\r\n" + "Connection: close\r\n";
  for (const std::string& header : request.headers) message += header + "\r\n";
  if (!request.body.empty() || request.method == "POST" || request.method == "PATCH" ||
      request.method == "PUT") {
    message += "Content-Length: " + std::to_string(request.body.size()) + "\r\n";
  }
  message += "\r\n";
  message += request.body;
  for (std::size_t sent = 0; sent < message.size();) {
    const ssize_t n = ::send(fd, message.data() + sent, message.size() - sent, MSG_NOSIGNAL);
    if (n >= 0) {
      sent += static_cast<std::size_t>(n);
    } else if (errno == EAGAIN || errno == EWOULDBLOCK) {
      if (!waitReady(fd, POLLOUT, deadline)) return timedOut();
    } else if (errno != EINTR) {
      return makeError("http", std::string("Send failure: ") + std::strerror(errno));
    }
  }

  ResponseReader reader(request.method == "HEAD", request.max_body);
  char buffer[16384];
  bool received_any = false;
  while (!reader.done()) {
    const ssize_t n = ::recv(fd, buffer, sizeof buffer, 0);
    if (n > 0) {
      received_any = true;
      if (Status status = reader.feed({buffer, static_cast<std::size_t>(n)}, response); !status) {
        return status;
      }
    } else if (n == 0) {
      return reader.finish(received_any);
    } else if (errno == EAGAIN || errno == EWOULDBLOCK) {
      if (!waitReady(fd, POLLIN, deadline)) return timedOut();
    } else if (errno != EINTR) {
      return makeError("http", std::string("Recv failure: ") + std::strerror(errno));
    }
  }
  return {};
}

}  // namespace

Status loadCurl() {
  std::call_once(g_load_once, [] { g_load_status = loadOnce(); });
  return g_load_status;
}

Status checkHttpSupport(const std::string& url) {
  if (startsWith(url, "http://")) {
    Result<PlainUrl> parsed = parsePlainUrl(url);
    if (!parsed) return parsed.error();
    return {};
  }
  if (startsWith(url, "https://")) return loadCurl();
  return makeError("invalid", "URL " + url + ": expected http:// or https://");
}

HttpClient::HttpClient() = default;

HttpClient::~HttpClient() {
  if (handle_ != nullptr) g_curl.easy_cleanup(static_cast<CURL*>(handle_));
}

Status HttpClient::perform(const HttpRequest& request, HttpResponse& response) {
  const std::string what = request.method + " " + request.url;
  response.status = 0;
  response.body.clear();
  response.latency_ms = 0.0;
  if (startsWith(request.url, "http://")) {
    const int64_t started = common::steadyMs();
    Status status = performPlain(request, response);
    response.latency_ms = static_cast<double>(common::steadyMs() - started);
    if (!status) return makeError(status.error().code, what + ": " + status.error().message);
    return {};
  }
  if (!startsWith(request.url, "https://")) {
    return makeError("unsupported", what + ": only http:// and https:// URLs are supported");
  }
  if (Status loaded = loadCurl(); !loaded)
    return makeError("unsupported", what + ": " + loaded.error().message);
  // The easy handle is made on the first https request, so a client that
  // only speaks plain HTTP never loads libcurl.
  if (handle_ == nullptr) handle_ = g_curl.easy_init();
  if (handle_ == nullptr) return makeError("unsupported", what + ": curl_easy_init failed");
  CURL* curl = static_cast<CURL*>(handle_);
  // Reset options, not the handle: its connection cache survives.
  g_curl.easy_reset(curl);

  char error_buffer[CURL_ERROR_SIZE] = {};
  BodySink sink{&response.body, request.max_body};
  HeaderList headers;
  for (const std::string& header : request.headers) headers.add(header);

  g_curl.easy_setopt(curl, CURLOPT_URL, request.url.c_str());
  g_curl.easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  g_curl.easy_setopt(curl, CURLOPT_ERRORBUFFER, error_buffer);
  g_curl.easy_setopt(curl, CURLOPT_TIMEOUT_MS, static_cast<long>(request.timeout.count()));
  g_curl.easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(request.timeout.count()));
  g_curl.easy_setopt(curl, CURLOPT_WRITEFUNCTION, &writeBody);
  g_curl.easy_setopt(curl, CURLOPT_WRITEDATA, &sink);
  g_curl.easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "https");
  g_curl.easy_setopt(curl, CURLOPT_USERAGENT, "pso-agent");
  if (headers.get() != nullptr) g_curl.easy_setopt(curl, CURLOPT_HTTPHEADER, headers.get());
  if (!request.unix_socket.empty()) {
    g_curl.easy_setopt(curl, CURLOPT_UNIX_SOCKET_PATH, request.unix_socket.c_str());
  }
  if (!request.ca_file.empty()) g_curl.easy_setopt(curl, CURLOPT_CAINFO, request.ca_file.c_str());
  if (request.method == "GET") {
    g_curl.easy_setopt(curl, CURLOPT_HTTPGET, 1L);
  } else {
    g_curl.easy_setopt(curl, CURLOPT_CUSTOMREQUEST, request.method.c_str());
  }
  if (!request.body.empty() || request.method == "POST" || request.method == "PATCH" ||
      request.method == "PUT") {
    g_curl.easy_setopt(curl, CURLOPT_POSTFIELDS, request.body.c_str());
    g_curl.easy_setopt(curl, CURLOPT_POSTFIELDSIZE, static_cast<long>(request.body.size()));
  }

  const int64_t started = common::steadyMs();
  const CURLcode code = g_curl.easy_perform(curl);
  response.latency_ms = static_cast<double>(common::steadyMs() - started);
  if (code != CURLE_OK) {
    if (sink.overflow) {
      return makeError("too_large", what + ": response body larger than " +
                                        std::to_string(request.max_body) + " bytes");
    }
    std::string reason = g_curl.easy_strerror(code);
    if (error_buffer[0] != '\0') reason += std::string(" (") + error_buffer + ")";
    return makeError(code == CURLE_OPERATION_TIMEDOUT ? "timeout" : "http", what + ": " + reason);
  }
  g_curl.easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &response.status);
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

std::string urlEncode(const std::string& text) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(text.size() * 3);
  for (unsigned char c : text) {
    if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
        c == '_' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

}  // namespace pso::agent
