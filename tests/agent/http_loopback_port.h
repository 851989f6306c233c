#pragma once

// A TCP socket on 127.0.0.1 at an ephemeral port, for the HTTP client tests:
// listening, it is a server's socket to accept on; not listening, the kernel
// refuses every connection to it, which is how the tests get a refused port
// without guessing one.

#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <arpa/inet.h>

#include <cstdint>
#include <string>

namespace pso::agent::testing {

class LoopbackPort {
 public:
  explicit LoopbackPort(bool listening) {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    EXPECT_EQ(::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
    socklen_t len = sizeof addr;
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
    if (listening) {
      EXPECT_EQ(::listen(fd_, 4), 0);
    }
  }
  ~LoopbackPort() { ::close(fd_); }
  LoopbackPort(const LoopbackPort&) = delete;
  LoopbackPort& operator=(const LoopbackPort&) = delete;

  int fd() const { return fd_; }
  uint16_t port() const { return port_; }
  /// "<scheme>://127.0.0.1:<port><path>"
  std::string url(const std::string& scheme, const std::string& path) const {
    return scheme + "://127.0.0.1:" + std::to_string(port_) + path;
  }

 private:
  int fd_ = -1;
  uint16_t port_ = 0;
};

}  // namespace pso::agent::testing
