#pragma once

// The sd_notify(3) protocol without libsystemd: a unit of Type=notify learns
// from its service process when it is ready, that it is still alive (the
// unit's WatchdogSec=) and that it is stopping, through one datagram per
// message to the unix socket systemd names in $NOTIFY_SOCKET.

#include <cstdint>
#include <string>
#include <string_view>

#include "common/result.h"

namespace pso::common {

/// Reports this process's state to its service manager. Outside systemd
/// (no $NOTIFY_SOCKET) every call does nothing and succeeds, so callers need
/// not know how they were started. Not thread-safe: one loop owns it.
class ServiceNotifier {
 public:
  /// A notifier that reports nothing.
  ServiceNotifier() = default;
  /// @param socket_path the notify socket: a file path, or "@name" for a
  ///        socket in the abstract namespace; empty reports nothing.
  /// @param watchdog_timeout_ms the unit's watchdog timeout; 0 for none.
  ServiceNotifier(std::string socket_path, int64_t watchdog_timeout_ms);

  /// From $NOTIFY_SOCKET, $WATCHDOG_USEC and $WATCHDOG_PID (a watchdog meant
  /// for another process is ignored), which are then removed from the
  /// environment so that the processes this one starts (pool workers, checks,
  /// commands) never talk to systemd on its behalf. Call it before any thread
  /// starts: it changes the environment.
  static ServiceNotifier fromEnvironment();

  bool enabled() const { return !socket_path_.empty(); }
  bool watchdogEnabled() const { return enabled() && watchdog_timeout_ms_ > 0; }
  /// How often keepAlive() pings: half the watchdog timeout, as sd_watchdog_enabled(3)
  /// advises; 0 without a watchdog.
  int64_t keepAlivePeriodMs() const;

  /// READY=1: start-up is complete; systemd's start job finishes here.
  [[nodiscard]] Status ready();
  /// STOPPING=1: shutting down; the stop is expected, not a failure.
  [[nodiscard]] Status stopping();
  /// STATUS=<text>: one line shown by `systemctl status`.
  [[nodiscard]] Status status(std::string_view text);

  /// Sends WATCHDOG=1 when a keep-alive period has passed since the last one
  /// (or none was sent yet), and does nothing otherwise, so a loop may call it
  /// on every turn. `now_ms` is a monotonic clock (common/clock.h steadyMs()).
  [[nodiscard]] Status keepAlive(int64_t now_ms);
  /// When the next keepAlive() is due on the same clock; INT64_MAX without a
  /// watchdog. A loop waits no longer than this.
  int64_t nextKeepAliveMs() const;

  /// Sends one datagram of newline-separated "KEY=value" assignments. Error
  /// code "io" when the socket cannot be reached.
  [[nodiscard]] Status notify(std::string_view state);

 private:
  std::string socket_path_;
  int64_t watchdog_timeout_ms_ = 0;
  bool pinged_ = false;
  int64_t last_ping_ms_ = 0;
};

}  // namespace pso::common
