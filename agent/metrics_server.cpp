#include "agent/metrics_server.h"

#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <utility>

#include "agent/http/request_parser.h"
#include "common/clock.h"
#include "common/text.h"

namespace pso::agent {
namespace {

// After the answer is written, what the client still sends is read and
// dropped for at most this long before closing: closing a socket with unread
// bytes resets the connection, which can destroy the answer before the
// client has read it (an oversize request is the usual case).
constexpr int64_t kDrainMs = 500;
constexpr std::size_t kDrainMaxBytes = 64 * 1024;
constexpr int kBacklog = 16;

const char* reasonPhrase(int status) {
  switch (status) {
    case 200:
      return "OK";
    case 400:
      return "Bad Request";
    case 404:
      return "Not Found";
    case 405:
      return "Method Not Allowed";
    case 408:
      return "Request Timeout";
    case 503:
      return "Service Unavailable";
    default:
      return "Unknown";
  }
}

void closeFd(int& fd) {
  if (fd >= 0) ::close(fd);
  fd = -1;
}

}  // namespace

struct MetricsServer::Connection {
  enum class State { kReading, kWriting, kDraining };
  int fd = -1;
  State state = State::kReading;
  int64_t deadline_ms = 0;
  std::string in;   ///< the request head as received so far
  std::string out;  ///< the answer
  std::size_t written = 0;
  std::size_t drained = 0;

  ~Connection() { closeFd(fd); }
};

Result<std::unique_ptr<MetricsServer>> MetricsServer::start(MetricsServerOptions options,
                                                            std::vector<HttpRoute> routes,
                                                            common::MetricsRegistry* metrics) {
  std::string why;
  std::optional<common::HostPort> where = common::splitHostPort(options.address, true, &why);
  if (!where) return makeError("invalid", "metrics listener " + options.address + ": " + why);
  sockaddr_storage storage{};
  socklen_t length = 0;
  int family = AF_INET;
  auto* v4 = reinterpret_cast<sockaddr_in*>(&storage);
  auto* v6 = reinterpret_cast<sockaddr_in6*>(&storage);
  if (::inet_pton(AF_INET, where->host.c_str(), &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    v4->sin_port = htons(where->port);
    length = sizeof *v4;
  } else if (::inet_pton(AF_INET6, where->host.c_str(), &v6->sin6_addr) == 1) {
    family = AF_INET6;
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons(where->port);
    length = sizeof *v6;
  } else {
    return makeError("invalid", "metrics listener " + options.address + ": not an IP address");
  }

  std::unique_ptr<MetricsServer> server(
      new MetricsServer(std::move(options), std::move(routes), metrics));
  const std::string& address = server->options_.address;
  auto failed = [&](const char* what) {
    return makeError(
        "io", "metrics listener " + address + ": cannot " + what + ": " + std::strerror(errno));
  };
  if (::pipe2(server->wake_, O_NONBLOCK | O_CLOEXEC) != 0) return failed("create a pipe");
  server->listen_fd_ = ::socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (server->listen_fd_ < 0) return failed("create a socket");
  const int one = 1;
  ::setsockopt(server->listen_fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (::bind(server->listen_fd_, reinterpret_cast<sockaddr*>(&storage), length) != 0) {
    return failed("bind");
  }
  if (::listen(server->listen_fd_, kBacklog) != 0) return failed("listen");
  length = sizeof storage;
  ::getsockname(server->listen_fd_, reinterpret_cast<sockaddr*>(&storage), &length);
  server->port_ = ntohs(family == AF_INET ? v4->sin_port : v6->sin6_port);

  if (metrics != nullptr) {
    metrics->describe("pso_agent_metrics_http_requests_total", "counter",
                      "Answers of the metrics listener, by status code");
    metrics->describe("pso_agent_metrics_http_refused_total", "counter",
                      "Requests the metrics listener refused: malformed, too_large, timeout");
  }
  MetricsServer* self = server.get();
  server->thread_ = std::thread([self] { self->run(); });
  return server;
}

MetricsServer::MetricsServer(MetricsServerOptions options, std::vector<HttpRoute> routes,
                             common::MetricsRegistry* metrics)
    : options_(std::move(options)), routes_(std::move(routes)), metrics_(metrics) {}

MetricsServer::~MetricsServer() {
  stop();
  closeFd(listen_fd_);
  for (int& fd : wake_) closeFd(fd);
}

void MetricsServer::stop() {
  if (!thread_.joinable()) return;
  char byte = 1;
  ssize_t ignored = ::write(wake_[1], &byte, 1);
  (void)ignored;
  thread_.join();
  connections_.clear();
}

void MetricsServer::run() {
  std::vector<pollfd> fds;
  for (;;) {
    const int64_t now = common::steadyMs();
    // Deadlines first, so a timed-out connection frees its slot this turn.
    for (auto& connection : connections_) {
      if (now < connection->deadline_ms) continue;
      if (connection->state == Connection::State::kReading) {
        refuse(*connection, now, 408, "timeout", "request head not complete in time");
      } else {
        closeFd(connection->fd);
      }
    }
    std::erase_if(connections_, [](const auto& c) { return c->fd < 0; });

    fds.clear();
    fds.push_back(pollfd{wake_[0], POLLIN, 0});
    // A full table leaves new clients in the kernel's backlog until a slot frees.
    const bool accepting = connections_.size() < options_.max_connections;
    fds.push_back(pollfd{accepting ? listen_fd_ : -1, POLLIN, 0});
    int64_t wake_at = now + 60 * 1000;
    for (const auto& connection : connections_) {
      const short events = connection->state == Connection::State::kWriting ? POLLOUT : POLLIN;
      fds.push_back(pollfd{connection->fd, events, 0});
      wake_at = std::min(wake_at, connection->deadline_ms);
    }
    const int ready =
        ::poll(fds.data(), fds.size(), static_cast<int>(std::max<int64_t>(0, wake_at - now)));
    if (ready < 0) {
      if (errno == EINTR) continue;
      spdlog::error("metrics listener: poll failed: {}", std::strerror(errno));
      return;
    }
    if ((fds[0].revents & POLLIN) != 0) return;
    const int64_t polled = common::steadyMs();
    // Index-based: acceptAll() below appends to connections_.
    const std::size_t polled_count = fds.size() - 2;
    for (std::size_t i = 0; i < polled_count; ++i) {
      Connection& connection = *connections_[i];
      const short revents = fds[i + 2].revents;
      if (revents == 0) continue;
      if (connection.state == Connection::State::kWriting) {
        onWritable(connection, polled);
      } else {
        onReadable(connection, polled);
      }
    }
    std::erase_if(connections_, [](const auto& c) { return c->fd < 0; });
    if ((fds[1].revents & POLLIN) != 0) acceptAll();
  }
}

void MetricsServer::acceptAll() {
  while (connections_.size() < options_.max_connections) {
    const int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR && errno != ECONNABORTED) {
        spdlog::warn("metrics listener: accept failed: {}", std::strerror(errno));
      }
      return;
    }
    auto connection = std::make_unique<Connection>();
    connection->fd = fd;
    connection->deadline_ms = common::steadyMs() + options_.timeout.count();
    connections_.push_back(std::move(connection));
  }
}

void MetricsServer::onReadable(Connection& connection, int64_t now) {
  char buffer[2048];
  for (;;) {
    const ssize_t got = ::recv(connection.fd, buffer, sizeof buffer, 0);
    if (got < 0) {
      if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) return;
      closeFd(connection.fd);
      return;
    }
    if (got == 0) {
      // The client is gone (or, draining, done sending): nothing to answer.
      closeFd(connection.fd);
      return;
    }
    if (connection.state == Connection::State::kDraining) {
      connection.drained += static_cast<std::size_t>(got);
      if (connection.drained > kDrainMaxBytes) closeFd(connection.fd);
      if (connection.fd < 0) return;
      continue;
    }
    // One byte past the limit is enough to know the head is too large.
    const std::size_t room = options_.max_head_bytes + 1 - connection.in.size();
    connection.in.append(buffer, std::min(room, static_cast<std::size_t>(got)));
    respond(connection, now);
    if (connection.state != Connection::State::kReading) {
      if (connection.state == Connection::State::kWriting) onWritable(connection, now);
      return;
    }
  }
}

void MetricsServer::respond(Connection& connection, int64_t now) {
  Result<std::optional<http::RequestHead>> parsed =
      http::parseRequestHead(connection.in, {.max_head_bytes = options_.max_head_bytes});
  if (!parsed) {
    refuse(connection, now, 400, parsed.error().code, parsed.error().message);
    return;
  }
  if (!parsed->has_value()) return;
  const http::RequestHead& head = **parsed;
  const auto route = std::find_if(routes_.begin(), routes_.end(),
                                  [&](const HttpRoute& r) { return r.path == head.path; });
  if (route == routes_.end()) {
    answer(connection, now, HttpAnswer{404, "text/plain; charset=utf-8", "not found\n"});
  } else if (head.method != "GET") {
    answer(connection, now,
           HttpAnswer{405, "text/plain; charset=utf-8", "method not allowed: use GET\n"},
           "Allow: GET\r\n");
  } else {
    answer(connection, now, route->answer());
  }
}

void MetricsServer::refuse(Connection& connection, int64_t now, int status,
                           const std::string& reason, const std::string& why) {
  if (metrics_ != nullptr) {
    metrics_->increment("pso_agent_metrics_http_refused_total", {{"reason", reason}});
  }
  spdlog::debug("metrics listener: refused a request ({}): {}", reason, why);
  answer(connection, now, HttpAnswer{status, "text/plain; charset=utf-8", why + "\n"});
}

void MetricsServer::answer(Connection& connection, int64_t now, const HttpAnswer& answer,
                           const std::string& extra_headers) {
  if (metrics_ != nullptr) {
    metrics_->increment("pso_agent_metrics_http_requests_total",
                        {{"code", std::to_string(answer.status)}});
  }
  connection.out = "HTTP/1.1 " + std::to_string(answer.status) + " " + reasonPhrase(answer.status) +
                   "\r\nContent-Type: " + answer.content_type +
                   "\r\nContent-Length: " + std::to_string(answer.body.size()) +
                   "\r\nCache-Control: no-store\r\nConnection: close\r\n" + extra_headers + "\r\n" +
                   answer.body;
  connection.written = 0;
  connection.state = Connection::State::kWriting;
  connection.deadline_ms = now + options_.timeout.count();
  // The head buffer is no longer needed while the answer is held.
  std::string().swap(connection.in);
}

void MetricsServer::onWritable(Connection& connection, int64_t now) {
  while (connection.written < connection.out.size()) {
    const ssize_t sent = ::send(connection.fd, connection.out.data() + connection.written,
                                connection.out.size() - connection.written, MSG_NOSIGNAL);
    if (sent < 0) {
      if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) return;
      closeFd(connection.fd);
      return;
    }
    connection.written += static_cast<std::size_t>(sent);
  }
  std::string().swap(connection.out);
  ::shutdown(connection.fd, SHUT_WR);
  connection.state = Connection::State::kDraining;
  connection.deadline_ms = now + kDrainMs;
}

}  // namespace pso::agent
