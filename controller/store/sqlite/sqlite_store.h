#pragma once

// The controller's store on SQLite: one database file in WAL mode, one
// connection serialised by one mutex (SqliteContext), and one class per
// aggregate with its own statements and tables:
//   SqliteFleetStore      agents, systems, health
//   SqliteTelemetryStore  series, samples, rollups
//   SqliteDirectiveStore  directives (and operator holds)
//   SqliteCycleStore      cycles, engine state
//   SqliteScenarioStore   scenarios, learners, attempts
//   SqliteAlertStore      alerts, notifications
// The schema history (one ordered list of migrations) is schema.cpp.

#include <cstdint>
#include <memory>
#include <string>

#include "common/result.h"
#include "controller/store/sqlite/sqlite_alert_store.h"
#include "controller/store/sqlite/sqlite_context.h"
#include "controller/store/sqlite/sqlite_cycle_store.h"
#include "controller/store/sqlite/sqlite_directive_store.h"
#include "controller/store/sqlite/sqlite_fleet_store.h"
#include "controller/store/sqlite/sqlite_scenario_store.h"
#include "controller/store/sqlite/sqlite_telemetry_store.h"
#include "controller/store/store.h"

namespace pso::controller::store {

/// The SQLite Store: the union of the aggregate classes. Each aggregate class
/// implements its interface, a virtual base it shares with Store, so its
/// overrides are the Store's (see store.h).
class SqliteStore final : public Store,
                          public SqliteFleetStore,
                          public SqliteTelemetryStore,
                          public SqliteDirectiveStore,
                          public SqliteCycleStore,
                          public SqliteScenarioStore,
                          public SqliteAlertStore {
 public:
  /// Opens or creates the database at `path`, applies migrations and
  /// prepares every aggregate's statements (the contract of Store::open).
  [[nodiscard]] static Result<std::unique_ptr<Store>> open(const std::string& path);

  int64_t schemaVersion() override;
  Result<bool> integrityCheck() override;
  const std::string& path() const override;

 private:
  explicit SqliteStore(std::unique_ptr<SqliteContext> context);

  /// Owned here; the aggregate bases hold references to it, which the
  /// constructor takes before moving the pointer in (the object stays put).
  std::unique_ptr<SqliteContext> context_;
};

}  // namespace pso::controller::store
