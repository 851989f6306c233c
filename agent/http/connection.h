#pragma once

// The socket under one exchange of the agent's built-in HTTP/1.1 client: a
// TCP or unix-socket stream connected, written and read without ever
// blocking past one deadline shared by every step of the exchange.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "common/config.h"
#include "common/result.h"

namespace pso::agent::http {

/// The point in (monotonic) time every step of one exchange must finish by.
class Deadline {
 public:
  explicit Deadline(common::Duration timeout);
  /// Milliseconds left, 0 once passed.
  int remainingMs() const;
  /// The Error for a step that did not finish in time (code "timeout", in
  /// curl's words: "Timeout was reached (Operation timed out after N
  /// milliseconds)").
  Error timedOut() const;

 private:
  int64_t timeout_ms_;
  int64_t end_ms_;
};

/// A connected, non-blocking stream socket, closed on destruction. Errors
/// name the target as curl would ("Couldn't connect to server (Failed to
/// connect to 127.0.0.1 port 9: Connection refused)"), with code "timeout"
/// when the deadline passed and "http" otherwise.
class Connection {
 public:
  /// Adopts `fd`, which must be a stream socket; it is made non-blocking.
  explicit Connection(int fd);
  ~Connection();
  Connection(Connection&& other) noexcept;
  Connection& operator=(Connection&& other) noexcept;
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  /// Resolves `host` and connects to each address in turn until one accepts.
  [[nodiscard]] static Result<Connection> connectTcp(const std::string& host, uint16_t port,
                                                     const Deadline& deadline);
  /// Connects to the AF_UNIX stream socket at `path`.
  [[nodiscard]] static Result<Connection> connectUnix(const std::string& path,
                                                      const Deadline& deadline);

  /// Writes all of `bytes` (a peer that has gone away is an Error, never a
  /// SIGPIPE).
  [[nodiscard]] Status sendAll(std::string_view bytes, const Deadline& deadline);

  /// Reads what has arrived into `buffer`, waiting for something if nothing
  /// has. @return the number of bytes read, 0 when the peer closed its side.
  [[nodiscard]] Result<std::size_t> receive(char* buffer, std::size_t size,
                                            const Deadline& deadline);

  int fd() const { return fd_; }

 private:
  int fd_ = -1;
};

}  // namespace pso::agent::http
