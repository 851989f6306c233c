// The built-in client's socket: TCP and unix-socket connects on loopback,
// refusals named as curl names them, and the deadline bounding every read.

#include "agent/http/connection.h"

#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <filesystem>
#include <string>
#include <thread>

#include "http_loopback_port.h"

namespace pso::agent::http {
namespace {

using namespace std::chrono_literals;
using testing::LoopbackPort;

// Two connected stream sockets: the test holds the peer end.
struct SocketPair {
  SocketPair() { EXPECT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds), 0); }
  ~SocketPair() {
    if (fds[1] >= 0) ::close(fds[1]);
  }
  int fds[2] = {-1, -1};
};

TEST(Connection, ConnectsOverTcpAndCarriesBytesBothWays) {
  LoopbackPort server(/*listening=*/true);
  const Deadline deadline(2s);
  Result<Connection> connection = Connection::connectTcp("127.0.0.1", server.port(), deadline);
  ASSERT_TRUE(connection.ok()) << connection.error().message;
  const int peer = ::accept(server.fd(), nullptr, nullptr);
  ASSERT_GE(peer, 0);

  // More than the socket buffers hold, so sendAll has to wait for the reader.
  const std::string sent(4 * 1024 * 1024, 'x');
  std::string read_by_peer;
  std::thread reader([&] {
    char buffer[65536];
    while (read_by_peer.size() < sent.size()) {
      const ssize_t n = ::recv(peer, buffer, sizeof buffer, 0);
      if (n <= 0) break;
      read_by_peer.append(buffer, static_cast<std::size_t>(n));
    }
    ::send(peer, "pong", 4, MSG_NOSIGNAL);
    ::close(peer);
  });
  Status status = connection->sendAll(sent, deadline);
  reader.join();
  ASSERT_TRUE(status.ok()) << status.error().message;
  EXPECT_EQ(read_by_peer.size(), sent.size());

  std::string received;
  char buffer[16];
  for (;;) {
    Result<std::size_t> n = connection->receive(buffer, sizeof buffer, deadline);
    ASSERT_TRUE(n.ok()) << n.error().message;
    if (*n == 0) break;
    received.append(buffer, *n);
  }
  EXPECT_EQ(received, "pong");
}

TEST(Connection, ARefusedConnectNamesTheHostAndPort) {
  // Bound but not listening: the kernel refuses connections to it.
  LoopbackPort closed(/*listening=*/false);
  Result<Connection> connection = Connection::connectTcp("127.0.0.1", closed.port(), Deadline(2s));
  ASSERT_FALSE(connection.ok());
  EXPECT_EQ(connection.error().code, "http");
  EXPECT_EQ(connection.error().message,
            "Couldn't connect to server (Failed to connect to 127.0.0.1 port " +
                std::to_string(closed.port()) + ": Connection refused)");
}

TEST(Connection, ConnectsToAUnixSocketAndNamesAMissingOne) {
  const std::filesystem::path dir =
      std::filesystem::temp_directory_path() / ("pso-http-conn-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  const std::string path = (dir / "api.sock").string();
  const int listener = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::strncpy(addr.sun_path, path.c_str(), sizeof addr.sun_path - 1);
  ASSERT_EQ(::bind(listener, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  ASSERT_EQ(::listen(listener, 4), 0);

  EXPECT_TRUE(Connection::connectUnix(path, Deadline(2s)).ok());
  Result<Connection> missing = Connection::connectUnix((dir / "none.sock").string(), Deadline(2s));
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().code, "http");
  EXPECT_NE(missing.error().message.find("none.sock: No such file or directory"), std::string::npos)
      << missing.error().message;
  Result<Connection> too_long = Connection::connectUnix(std::string(200, 'a'), Deadline(2s));
  ASSERT_FALSE(too_long.ok());
  EXPECT_NE(too_long.error().message.find("unix socket path too long"), std::string::npos);

  ::close(listener);
  std::filesystem::remove_all(dir);
}

TEST(Connection, ASilentPeerTimesOutAtTheDeadline) {
  SocketPair pair;
  Connection connection(pair.fds[0]);
  char buffer[16];
  Result<std::size_t> n = connection.receive(buffer, sizeof buffer, Deadline(50ms));
  ASSERT_FALSE(n.ok());
  EXPECT_EQ(n.error().code, "timeout");
  EXPECT_EQ(n.error().message, "Timeout was reached (Operation timed out after 50 milliseconds)");
}

TEST(Connection, ReceiveReportsThePeersClose) {
  SocketPair pair;
  Connection connection(pair.fds[0]);
  ASSERT_EQ(::send(pair.fds[1], "ab", 2, 0), 2);
  ::close(pair.fds[1]);
  pair.fds[1] = -1;
  char buffer[16];
  Result<std::size_t> first = connection.receive(buffer, sizeof buffer, Deadline(2s));
  ASSERT_TRUE(first.ok());
  EXPECT_EQ(*first, 2u);
  Result<std::size_t> end = connection.receive(buffer, sizeof buffer, Deadline(2s));
  ASSERT_TRUE(end.ok());
  EXPECT_EQ(*end, 0u);
  // Writing to a peer that has gone is an error, not a SIGPIPE.
  Status sent = connection.sendAll(std::string(1 << 20, 'x'), Deadline(2s));
  ASSERT_FALSE(sent.ok());
  EXPECT_NE(sent.error().message.find("Send failure"), std::string::npos);
}

}  // namespace
}  // namespace pso::agent::http
