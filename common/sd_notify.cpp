#include "common/sd_notify.h"

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstddef>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <optional>

#include "common/text.h"

namespace pso::common {

namespace {

// Closes the socket on every path out of notify().
class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return fd_; }

 private:
  int fd_;
};

std::string environment(const char* name) {
  const char* value = std::getenv(name);
  return value == nullptr ? std::string() : std::string(value);
}

}  // namespace

ServiceNotifier::ServiceNotifier(std::string socket_path, int64_t watchdog_timeout_ms)
    : socket_path_(std::move(socket_path)),
      watchdog_timeout_ms_(watchdog_timeout_ms > 0 ? watchdog_timeout_ms : 0) {}

ServiceNotifier ServiceNotifier::fromEnvironment() {
  const std::string socket_path = environment("NOTIFY_SOCKET");
  const std::string usec = environment("WATCHDOG_USEC");
  const std::string pid = environment("WATCHDOG_PID");
  ::unsetenv("NOTIFY_SOCKET");
  ::unsetenv("WATCHDOG_USEC");
  ::unsetenv("WATCHDOG_PID");

  int64_t timeout_ms = 0;
  const std::optional<uint64_t> micros = parseUint64(usec);
  // systemd sets WATCHDOG_PID to the main process; a forked child that still
  // carries it must not ping for its parent.
  const std::optional<int64_t> owner = parseInt64(pid);
  const bool ours = pid.empty() || (owner && *owner == static_cast<int64_t>(::getpid()));
  if (micros && *micros > 0 && ours) {
    timeout_ms = static_cast<int64_t>(std::max<uint64_t>(*micros / 1000, 1));
  }
  return ServiceNotifier(socket_path, timeout_ms);
}

int64_t ServiceNotifier::keepAlivePeriodMs() const {
  if (!watchdogEnabled()) return 0;
  return std::max<int64_t>(watchdog_timeout_ms_ / 2, 1);
}

Status ServiceNotifier::ready() {
  return notify("READY=1");
}

Status ServiceNotifier::stopping() {
  return notify("STOPPING=1");
}

Status ServiceNotifier::status(std::string_view text) {
  std::string line(text);
  // One assignment per line: a newline in the text would start another.
  for (char& c : line) {
    if (c == '\n' || c == '\r') c = ' ';
  }
  return notify("STATUS=" + line);
}

Status ServiceNotifier::keepAlive(int64_t now_ms) {
  if (!watchdogEnabled() || now_ms < nextKeepAliveMs()) return {};
  // The time is taken even when the send fails: a dead notify socket is
  // reported once per period, not on every turn of the loop.
  pinged_ = true;
  last_ping_ms_ = now_ms;
  return notify("WATCHDOG=1");
}

int64_t ServiceNotifier::nextKeepAliveMs() const {
  if (!watchdogEnabled()) return std::numeric_limits<int64_t>::max();
  if (!pinged_) return std::numeric_limits<int64_t>::min();
  return last_ping_ms_ + keepAlivePeriodMs();
}

Status ServiceNotifier::notify(std::string_view state) {
  if (!enabled()) return {};
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  // An abstract socket's name starts with a NUL byte where systemd writes '@'.
  if (socket_path_.size() >= sizeof(address.sun_path) || socket_path_.size() < 2 ||
      (socket_path_[0] != '/' && socket_path_[0] != '@')) {
    return makeError("invalid", "NOTIFY_SOCKET '" + socket_path_ + "' is not a unix socket path");
  }
  std::memcpy(address.sun_path, socket_path_.data(), socket_path_.size());
  if (address.sun_path[0] == '@') address.sun_path[0] = '\0';
  const auto length = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + socket_path_.size());

  Fd fd(::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  if (fd.get() < 0) return makeError("io", std::string("notify socket: ") + std::strerror(errno));
  const ssize_t sent = ::sendto(fd.get(), state.data(), state.size(), MSG_NOSIGNAL,
                                reinterpret_cast<const sockaddr*>(&address), length);
  if (sent < 0) {
    return makeError("io", "notify " + socket_path_ + ": " + std::strerror(errno));
  }
  return {};
}

}  // namespace pso::common
