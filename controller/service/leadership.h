#pragma once

// Which of the controllers sharing one PostgreSQL database acts: the one that
// holds the leader lease (store/leader_lease.h). The others stand by and take
// over once the lease of a controller that died has expired
// (docs/scale.md "Beyond one controller").

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "common/metrics.h"
#include "common/result.h"
#include "controller/store/leader_lease.h"

namespace pso::controller::service {

struct LeadershipSettings {
  /// This process's name in the lease: unique among the controllers of one
  /// database, and new on every start (Leadership::uniqueHolder).
  std::string holder;
  /// The lease's term: a controller that stops renewing it (dead, cut off
  /// from the database) is replaced this long after its last renewal at most,
  /// plus one standby poll.
  int64_t ttl_ms = 5000;
};

/// Keeps this controller's claim on the leader lease and starts or stops the
/// controller's active parts (ingest, cycles, API) by it.
///
/// Two threads, so that a database call that hangs never keeps a controller
/// acting past its term:
/// - the lease thread makes the database calls: while standing by it tries
///   to take the lease every poll (ttl / 6, at most 1 s); while holding it,
///   renews it every ttl / 3. Each success moves the term's end, by the local
///   steady clock, to (when the call was sent) + ttl - ttl / 6. Since the
///   database counts the term from when it ran the call, later, and standbys
///   judge expiry by the database's clock, this controller stops acting
///   before any standby may start (clock rates assumed equal, not clocks).
/// - the role thread compares the steady clock with that end every 50 ms:
///   within the term it calls `activate` (once), past it `fence` (once), and
///   goes back to standing by. A lease another holder took ("lost") ends the
///   term at once.
///
/// When `activate` fails (its port taken, the store unreachable), the lease
/// is given up so that another controller can act, and taken again no sooner
/// than one term later.
class Leadership {
 public:
  /// Starts the parts that act; an error gives the lease up (see above).
  using Activate = std::function<Status()>;
  /// Stops them; `reason` says why, for the log.
  using Fence = std::function<void(const std::string& reason)>;

  Leadership(std::unique_ptr<store::LeaderLease> lease, LeadershipSettings settings,
             common::MetricsRegistry& metrics);
  ~Leadership();
  Leadership(const Leadership&) = delete;
  Leadership& operator=(const Leadership&) = delete;

  /// A holder name for this process: "<controller id>@<host>/<pid>/<random>".
  static std::string uniqueHolder(const std::string& controller_id);

  /// Tries to take the lease once and, when it is free, runs `activate` on
  /// the calling thread, so a lone controller starts acting before start()
  /// returns; then starts both threads. An error only when `activate` failed
  /// on this first attempt (the lease is given up) or ttl_ms is below 600.
  [[nodiscard]] Status start(Activate activate, Fence fence);
  /// Stops both threads (waiting for a database call under way), fences the
  /// active parts and gives the lease up, so a standby takes over at once.
  void stop();

  /// True between a successful `activate` and the next `fence`.
  bool active() const { return active_.load(); }
  /// The holder this controller last saw in the lease ("" when none).
  std::string observedHolder() const;

 private:
  void leaseLoop();
  void roleLoop();
  /// One acquire or renew; updates the term.
  void callLease();
  void becomeActive();
  void fence(const std::string& reason);
  bool waitFor(int64_t ms);

  std::unique_ptr<store::LeaderLease> lease_;
  LeadershipSettings settings_;
  common::MetricsRegistry& metrics_;
  Activate activate_;
  Fence fence_;

  /// The term's end by common::steadyMs(); 0 while not holding the lease.
  std::atomic<int64_t> term_end_ms_{0};
  std::atomic<bool> active_{false};
  /// Set by the role thread after a failed activate: the lease thread gives
  /// the lease up and waits until then before taking it again.
  std::atomic<int64_t> back_off_until_ms_{0};
  std::atomic<bool> release_wanted_{false};

  mutable std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;
  std::string observed_holder_;
  std::string last_logged_holder_;
  std::thread lease_thread_;
  std::thread role_thread_;
};

}  // namespace pso::controller::service
