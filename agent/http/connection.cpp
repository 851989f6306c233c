#include "agent/http/connection.h"

#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <utility>

#include "common/clock.h"

namespace pso::agent::http {
namespace {

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

Error connectFailed(const std::string& target, const std::string& reason) {
  return makeError(
      reason == "timed out" ? "timeout" : "http",
      "Couldn't connect to server (Failed to connect to " + target + ": " + reason + ")");
}

}  // namespace

Deadline::Deadline(common::Duration timeout)
    : timeout_ms_(timeout.count()), end_ms_(common::steadyMs() + timeout.count()) {}

int Deadline::remainingMs() const {
  return static_cast<int>(std::clamp<int64_t>(end_ms_ - common::steadyMs(), 0, INT32_MAX));
}

Error Deadline::timedOut() const {
  return makeError("timeout", "Timeout was reached (Operation timed out after " +
                                  std::to_string(timeout_ms_) + " milliseconds)");
}

Connection::Connection(int fd) : fd_(fd) {
  if (fd_ >= 0) ::fcntl(fd_, F_SETFL, ::fcntl(fd_, F_GETFL) | O_NONBLOCK);
}

Connection::~Connection() {
  if (fd_ >= 0) ::close(fd_);
}

Connection::Connection(Connection&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}

Connection& Connection::operator=(Connection&& other) noexcept {
  std::swap(fd_, other.fd_);
  return *this;
}

Result<Connection> Connection::connectTcp(const std::string& host, uint16_t port,
                                          const Deadline& deadline) {
  const std::string service = std::to_string(port);
  const std::string target = host + " port " + service;
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* addresses = nullptr;
  if (int rc = ::getaddrinfo(host.c_str(), service.c_str(), &hints, &addresses); rc != 0) {
    return makeError("http", "Couldn't resolve host name (Could not resolve host: " + host + ": " +
                                 ::gai_strerror(rc) + ")");
  }
  std::string reason = "no address";
  for (addrinfo* a = addresses; a != nullptr; a = a->ai_next) {
    Connection connection(
        ::socket(a->ai_family, a->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, a->ai_protocol));
    if (connection.fd_ < 0) {
      reason = std::strerror(errno);
      continue;
    }
    if (connectWithin(connection.fd_, a->ai_addr, a->ai_addrlen, deadline, reason)) {
      ::freeaddrinfo(addresses);
      return connection;
    }
    if (deadline.remainingMs() == 0) break;
  }
  ::freeaddrinfo(addresses);
  return connectFailed(target, reason);
}

Result<Connection> Connection::connectUnix(const std::string& path, const Deadline& deadline) {
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  if (path.size() >= sizeof address.sun_path) {
    return makeError("http", "unix socket path too long: " + path);
  }
  std::memcpy(address.sun_path, path.c_str(), path.size() + 1);
  Connection connection(::socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (connection.fd_ < 0) return connectFailed(path, std::strerror(errno));
  std::string reason;
  if (!connectWithin(connection.fd_, reinterpret_cast<sockaddr*>(&address), sizeof address,
                     deadline, reason)) {
    return connectFailed(path, reason);
  }
  return connection;
}

Status Connection::sendAll(std::string_view bytes, const Deadline& deadline) {
  for (std::size_t sent = 0; sent < bytes.size();) {
    const ssize_t n = ::send(fd_, bytes.data() + sent, bytes.size() - sent, MSG_NOSIGNAL);
    if (n >= 0) {
      sent += static_cast<std::size_t>(n);
    } else if (errno == EAGAIN || errno == EWOULDBLOCK) {
      if (!waitReady(fd_, POLLOUT, deadline)) return deadline.timedOut();
    } else if (errno != EINTR) {
      return makeError("http", std::string("Send failure: ") + std::strerror(errno));
    }
  }
  return {};
}

Result<std::size_t> Connection::receive(char* buffer, std::size_t size, const Deadline& deadline) {
  for (;;) {
    const ssize_t n = ::recv(fd_, buffer, size, 0);
    if (n >= 0) return static_cast<std::size_t>(n);
    if (errno == EAGAIN || errno == EWOULDBLOCK) {
      if (!waitReady(fd_, POLLIN, deadline)) return deadline.timedOut();
    } else if (errno != EINTR) {
      return makeError("http", std::string("Recv failure: ") + std::strerror(errno));
    }
  }
}

}  // namespace pso::agent::http
