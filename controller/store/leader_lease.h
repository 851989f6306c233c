#pragma once

// A leader lease: at most one controller at a time holds a named lease in the
// shared database, for a time-to-live it renews; another takes it over only
// once it has expired. Expiry is judged by the database's clock alone, so the
// controllers' clocks may disagree. Not wired into the controller yet: the
// seam standby controllers on PostgreSQL will use (docs/scale.md "Beyond one
// controller").

#include <cstdint>
#include <memory>
#include <string>

#include "common/result.h"

namespace pso::controller::store {

/// The lease as the database saw it at the call, all times by its clock.
struct LeaseState {
  std::string holder;      ///< empty when nobody ever took the lease
  int64_t expires_ms = 0;  ///< the holder's term ends then (epoch ms)
  int64_t now_ms = 0;      ///< the database's clock at the call (epoch ms)
  /// True when `holder` holds it and its term has not ended.
  bool heldBy(const std::string& who) const { return holder == who && now_ms < expires_ms; }
};

/// One lease name in one database. Implementations are thread-safe.
class LeaderLease {
 public:
  virtual ~LeaderLease() = default;

  /// Takes the lease for `holder` for ttl_ms when it is free or expired, or
  /// extends it when `holder` holds it already. Returns the lease after the
  /// call: another holder still in its term means it was not taken
  /// (LeaseState::heldBy tells). ttl_ms <= 0 is code "invalid".
  [[nodiscard]] virtual Result<LeaseState> acquire(const std::string& holder, int64_t ttl_ms) = 0;
  /// Extends the term of a lease `holder` holds by ttl_ms from now. A lease
  /// that expired or was taken over is code "lost" (the caller must stop
  /// acting as leader); it is not taken back.
  [[nodiscard]] virtual Result<LeaseState> renew(const std::string& holder, int64_t ttl_ms) = 0;
  /// The lease as it stands, without changing it.
  [[nodiscard]] virtual Result<LeaseState> observe() = 0;
  /// Gives the lease up at once if `holder` holds it (a clean stop, so a
  /// standby need not wait for the term to end); otherwise does nothing.
  [[nodiscard]] virtual Status release(const std::string& holder) = 0;
};

/// The lease `name` in the PostgreSQL database of the libpq connection string
/// `dsn` (its own connection; the store's migrations are applied if needed).
[[nodiscard]] Result<std::unique_ptr<LeaderLease>> openPostgresqlLeaderLease(
    const std::string& dsn, const std::string& name);

}  // namespace pso::controller::store
