#include "controller/store/postgresql/pg_leader_lease.h"

namespace pso::controller::store {
namespace {

// The lease's columns as epoch milliseconds, with the database's clock.
const std::string kPgLeaseColumns =
    "holder, (extract(epoch FROM expires) * 1000)::bigint, "
    "(extract(epoch FROM clock_timestamp()) * 1000)::bigint";

LeaseState pgLeaseAt(const PgRows& rows, int i) {
  return LeaseState{rows.text(i, 0), rows.int64(i, 1), rows.int64(i, 2)};
}

}  // namespace

Result<std::unique_ptr<LeaderLease>> openPostgresqlLeaderLease(const std::string& dsn,
                                                               const std::string& name) {
  return PgLeaderLease::open(dsn, name);
}

Result<std::unique_ptr<LeaderLease>> PgLeaderLease::open(const std::string& dsn,
                                                         const std::string& name) {
  auto context = PgContext::open(dsn);
  if (!context.ok()) return context.error();
  std::unique_ptr<PgLeaderLease> lease(new PgLeaderLease(std::move(*context), name));
  std::lock_guard lock(lease->context_->mutex());
  // clock_timestamp(), not now(): now() is the transaction's start.
  if (auto st = lease->context_->prepareAll({
          {"lease_acquire",
           "INSERT INTO controller_lease (name, holder, expires) "
           "VALUES ($1, $2, clock_timestamp() + $3::bigint * interval '1 millisecond') "
           "ON CONFLICT (name) DO UPDATE SET holder = EXCLUDED.holder, "
           "expires = EXCLUDED.expires WHERE controller_lease.holder = EXCLUDED.holder "
           "OR controller_lease.expires <= clock_timestamp() RETURNING " +
               kPgLeaseColumns},
          {"lease_renew",
           "UPDATE controller_lease SET expires = clock_timestamp() + $3::bigint * interval "
           "'1 millisecond' WHERE name = $1 AND holder = $2 AND expires > clock_timestamp() "
           "RETURNING " +
               kPgLeaseColumns},
          {"lease_observe", "SELECT " + kPgLeaseColumns + " FROM controller_lease WHERE name = $1"},
          {"lease_release",
           "UPDATE controller_lease SET expires = clock_timestamp() WHERE name = $1 "
           "AND holder = $2 AND expires > clock_timestamp()"},
      });
      !st.ok()) {
    return st.error();
  }
  return std::unique_ptr<LeaderLease>(std::move(lease));
}

Result<LeaseState> PgLeaderLease::observeLocked() {
  auto state = pgFirstRow<LeaseState>(context_->runLocked("lease_observe", PgParams().add(name_)),
                                      pgLeaseAt);
  if (!state.ok()) return state.error();
  if (state->has_value()) return **state;
  // Nobody ever took it: free, as of the database's clock.
  auto now = context_->queryLocked("SELECT (extract(epoch FROM clock_timestamp()) * 1000)::bigint");
  if (!now.ok()) return now.error();
  return LeaseState{"", 0, now->int64(0, 0)};
}

Result<LeaseState> PgLeaderLease::acquire(const std::string& holder, int64_t ttl_ms) {
  if (ttl_ms <= 0 || holder.empty()) {
    return makeError("invalid", "a lease needs a holder and a positive ttl");
  }
  std::lock_guard lock(context_->mutex());
  auto taken = pgFirstRow<LeaseState>(
      context_->runLocked("lease_acquire", PgParams().add(name_).add(holder).add(ttl_ms)),
      pgLeaseAt);
  if (!taken.ok()) return taken.error();
  if (taken->has_value()) return **taken;
  return observeLocked();
}

Result<LeaseState> PgLeaderLease::renew(const std::string& holder, int64_t ttl_ms) {
  if (ttl_ms <= 0 || holder.empty()) {
    return makeError("invalid", "a lease needs a holder and a positive ttl");
  }
  std::lock_guard lock(context_->mutex());
  auto renewed = pgFirstRow<LeaseState>(
      context_->runLocked("lease_renew", PgParams().add(name_).add(holder).add(ttl_ms)), pgLeaseAt);
  if (!renewed.ok()) return renewed.error();
  if (renewed->has_value()) return **renewed;
  auto now = observeLocked();
  if (!now.ok()) return now.error();
  return makeError("lost",
                   "lease '" + name_ + "' of '" + holder + "' is " +
                       (now->holder == holder ? "expired" : "held by '" + now->holder + "'"));
}

Result<LeaseState> PgLeaderLease::observe() {
  std::lock_guard lock(context_->mutex());
  return observeLocked();
}

Status PgLeaderLease::release(const std::string& holder) {
  std::lock_guard lock(context_->mutex());
  return pgDone(context_->runLocked("lease_release", PgParams().add(name_).add(holder)));
}

}  // namespace pso::controller::store
