#pragma once

// The controller's store on PostgreSQL: one libpq connection serialised by
// one mutex (PgContext), and one class per aggregate with its own prepared
// statements and tables:
//   PgFleetStore      agents, systems, health
//   PgTelemetryStore  series, samples (partitioned by day), rollups
//   PgDirectiveStore  directives (and operator holds)
//   PgCycleStore      cycles, engine state
//   PgScenarioStore   scenarios, learners, attempts
//   PgAlertStore      alerts, notifications
// The schema history (one ordered list of migrations) is pg_schema.cpp.

#include <cstdint>
#include <memory>
#include <string>

#include "common/result.h"
#include "controller/store/postgresql/pg_alert_store.h"
#include "controller/store/postgresql/pg_context.h"
#include "controller/store/postgresql/pg_cycle_store.h"
#include "controller/store/postgresql/pg_directive_store.h"
#include "controller/store/postgresql/pg_fleet_store.h"
#include "controller/store/postgresql/pg_scenario_store.h"
#include "controller/store/postgresql/pg_telemetry_store.h"
#include "controller/store/store.h"

namespace pso::controller::store {

/// The PostgreSQL Store: the union of the aggregate classes (see store.h).
class PgStore final : public Store,
                      public PgFleetStore,
                      public PgTelemetryStore,
                      public PgDirectiveStore,
                      public PgCycleStore,
                      public PgScenarioStore,
                      public PgAlertStore {
 public:
  /// Connects with the libpq connection string `dsn`, applies migrations and
  /// prepares every aggregate's statements (the contract of Store::open).
  [[nodiscard]] static Result<std::unique_ptr<Store>> open(const std::string& dsn);

  int64_t schemaVersion() override;
  /// PostgreSQL keeps its own pages consistent; this checks that the
  /// connection answers and the schema is the one this build expects.
  Result<bool> integrityCheck() override;
  /// "postgresql://user@host:port/database" (never the password).
  const std::string& path() const override;

 private:
  explicit PgStore(std::unique_ptr<PgContext> context);

  /// Owned here; the aggregate bases hold references to it.
  std::unique_ptr<PgContext> context_;
};

}  // namespace pso::controller::store
