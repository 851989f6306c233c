#include "common/sd_notify.h"

#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <cerrno>
#include <cstddef>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <limits>
#include <optional>
#include <string>

namespace pso::common {
namespace {

// Plays systemd's side of the protocol: a unix datagram socket that receives
// what the notifier sends, either at a path in a fresh temp directory or in
// the abstract namespace.
class FakeServiceManager {
 public:
  explicit FakeServiceManager(bool abstract) {
    fd_ = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    EXPECT_GE(fd_, 0);
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    if (abstract) {
      name_ = "@pso-notify-test-" + std::to_string(::getpid());
    } else {
      char pattern[] = "/tmp/pso-notify-XXXXXX";
      EXPECT_NE(::mkdtemp(pattern), nullptr);
      dir_ = pattern;
      name_ = dir_ + "/notify";
    }
    std::memcpy(address.sun_path, name_.data(), name_.size());
    if (abstract) address.sun_path[0] = '\0';
    const auto length = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + name_.size());
    EXPECT_EQ(::bind(fd_, reinterpret_cast<const sockaddr*>(&address), length), 0)
        << std::strerror(errno);
  }
  ~FakeServiceManager() {
    ::close(fd_);
    if (!dir_.empty()) std::filesystem::remove_all(dir_);
  }

  const std::string& name() const { return name_; }

  /// The next datagram, or nullopt when none arrives within `timeout_ms`.
  std::optional<std::string> receive(int timeout_ms = 5000) {
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, timeout_ms) != 1) return std::nullopt;
    char buffer[4096];
    const ssize_t n = ::recv(fd_, buffer, sizeof buffer, 0);
    if (n < 0) return std::nullopt;
    return std::string(buffer, static_cast<std::size_t>(n));
  }

 private:
  int fd_ = -1;
  std::string dir_;
  std::string name_;
};

TEST(ServiceNotifier, SendsReadyStatusAndStoppingToAPathSocket) {
  FakeServiceManager systemd(false);
  ServiceNotifier notifier(systemd.name(), 0);
  ASSERT_TRUE(notifier.enabled());
  ASSERT_TRUE(notifier.ready().ok());
  EXPECT_EQ(systemd.receive(), "READY=1");
  ASSERT_TRUE(notifier.status("connected to\ntcp://c:7450").ok());
  EXPECT_EQ(systemd.receive(), "STATUS=connected to tcp://c:7450");
  ASSERT_TRUE(notifier.stopping().ok());
  EXPECT_EQ(systemd.receive(), "STOPPING=1");
}

TEST(ServiceNotifier, ReachesAnAbstractSocket) {
  FakeServiceManager systemd(true);
  ServiceNotifier notifier(systemd.name(), 0);
  ASSERT_TRUE(notifier.ready().ok());
  EXPECT_EQ(systemd.receive(), "READY=1");
}

TEST(ServiceNotifier, PingsTheWatchdogAtHalfItsTimeout) {
  FakeServiceManager systemd(false);
  ServiceNotifier notifier(systemd.name(), 4000);
  ASSERT_TRUE(notifier.watchdogEnabled());
  EXPECT_EQ(notifier.keepAlivePeriodMs(), 2000);

  const int64_t start = 1'000'000;
  EXPECT_LE(notifier.nextKeepAliveMs(), start);
  ASSERT_TRUE(notifier.keepAlive(start).ok());
  EXPECT_EQ(systemd.receive(), "WATCHDOG=1");
  EXPECT_EQ(notifier.nextKeepAliveMs(), start + 2000);

  // Not due yet: nothing is sent.
  ASSERT_TRUE(notifier.keepAlive(start + 1999).ok());
  EXPECT_EQ(systemd.receive(100), std::nullopt);

  ASSERT_TRUE(notifier.keepAlive(start + 2000).ok());
  EXPECT_EQ(systemd.receive(), "WATCHDOG=1");
  EXPECT_EQ(notifier.nextKeepAliveMs(), start + 4000);
}

TEST(ServiceNotifier, DoesNothingOutsideSystemd) {
  ServiceNotifier notifier;
  EXPECT_FALSE(notifier.enabled());
  EXPECT_FALSE(notifier.watchdogEnabled());
  EXPECT_TRUE(notifier.ready().ok());
  EXPECT_TRUE(notifier.keepAlive(0).ok());
  EXPECT_EQ(notifier.nextKeepAliveMs(), std::numeric_limits<int64_t>::max());
}

TEST(ServiceNotifier, ReportsAnUnreachableSocket) {
  FakeServiceManager systemd(false);
  const std::string gone = systemd.name() + "-gone";
  ServiceNotifier notifier(gone, 0);
  Status status = notifier.ready();
  ASSERT_FALSE(status.ok());
  EXPECT_EQ(status.error().code, "io");
  EXPECT_NE(status.error().message.find(gone), std::string::npos);

  ServiceNotifier relative("notify", 0);
  EXPECT_EQ(relative.ready().error().code, "invalid");
}

TEST(ServiceNotifier, TakesItsSocketAndWatchdogFromTheEnvironmentAndClearsThem) {
  FakeServiceManager systemd(false);
  ::setenv("NOTIFY_SOCKET", systemd.name().c_str(), 1);
  ::setenv("WATCHDOG_USEC", "3000000", 1);
  ::setenv("WATCHDOG_PID", std::to_string(::getpid()).c_str(), 1);
  ServiceNotifier notifier = ServiceNotifier::fromEnvironment();
  // Children started afterwards must not inherit the service manager's socket.
  EXPECT_EQ(std::getenv("NOTIFY_SOCKET"), nullptr);
  EXPECT_EQ(std::getenv("WATCHDOG_USEC"), nullptr);
  EXPECT_EQ(std::getenv("WATCHDOG_PID"), nullptr);
  EXPECT_EQ(notifier.keepAlivePeriodMs(), 1500);
  ASSERT_TRUE(notifier.ready().ok());
  EXPECT_EQ(systemd.receive(), "READY=1");
}

TEST(ServiceNotifier, IgnoresAWatchdogMeantForAnotherProcess) {
  FakeServiceManager systemd(false);
  ::setenv("NOTIFY_SOCKET", systemd.name().c_str(), 1);
  ::setenv("WATCHDOG_USEC", "3000000", 1);
  ::setenv("WATCHDOG_PID", std::to_string(::getpid() + 1).c_str(), 1);
  ServiceNotifier notifier = ServiceNotifier::fromEnvironment();
  EXPECT_TRUE(notifier.enabled());
  EXPECT_FALSE(notifier.watchdogEnabled());
}

}  // namespace
}  // namespace pso::common
