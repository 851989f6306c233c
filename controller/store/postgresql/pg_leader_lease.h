#pragma once

// LeaderLease on PostgreSQL. Table: controller_lease (one row per lease name:
// holder, expires), judged by the database's clock_timestamp().

#include <memory>
#include <string>

#include "controller/store/leader_lease.h"
#include "controller/store/postgresql/pg_context.h"

namespace pso::controller::store {

class PgLeaderLease final : public LeaderLease {
 public:
  /// Connects with `dsn` (applying the store's migrations) and prepares the
  /// lease's statements.
  [[nodiscard]] static Result<std::unique_ptr<LeaderLease>> open(const std::string& dsn,
                                                                 const std::string& name);

  Result<LeaseState> acquire(const std::string& holder, int64_t ttl_ms) override;
  Result<LeaseState> renew(const std::string& holder, int64_t ttl_ms) override;
  Result<LeaseState> observe() override;
  Status release(const std::string& holder) override;

 private:
  PgLeaderLease(std::unique_ptr<PgContext> context, std::string name)
      : context_(std::move(context)), name_(std::move(name)) {}
  Result<LeaseState> observeLocked();

  std::unique_ptr<PgContext> context_;
  const std::string name_;
};

}  // namespace pso::controller::store
