#pragma once

// The controller's store: one object that is every aggregate interface
// (fleet_store.h, telemetry_store.h, directive_store.h, cycle_store.h,
// scenario_store.h, alert_store.h) over one database, plus what belongs to the database as
// a whole (schema version, integrity, path).
//
// Store inherits the aggregate interfaces as virtual bases, so callers keep
// calling `store.agents()` or `store.ingestTelemetry(...)` on one object, and
// a backend implements each aggregate in a class of its own that inherits the
// same virtual base: in the backend's final class, each aggregate class's
// overrides are the ones that count, and no method is written a third time
// to forward. Code that needs one aggregate only can take that interface
// (e.g. `FleetStore&`). The SQLite backend is controller/store/sqlite/, the
// PostgreSQL backend controller/store/postgresql/; what does not depend on
// the backend (checks, ingest rules, record encodings) is shared, in
// record_rules.h and ingest_rules.h.

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "common/result.h"
#include "controller/store/alert_store.h"
#include "controller/store/cycle_store.h"
#include "controller/store/directive_store.h"
#include "controller/store/fleet_store.h"
#include "controller/store/records.h"
#include "controller/store/scenario_store.h"
#include "controller/store/telemetry_store.h"

namespace pso::controller::store {

/// The database a store lives in (controller.store in the controller's
/// config): SQLite, a file; PostgreSQL, a libpq connection string.
enum class StoreBackend { kSqlite, kPostgresql };

/// "sqlite" or "postgresql".
const char* storeBackendName(StoreBackend backend);
/// The backend of a name ("sqlite", "postgresql"); nullopt for any other.
std::optional<StoreBackend> parseStoreBackend(const std::string& name);

/// True for a libpq connection URI, "postgresql://..." or "postgres://...":
/// where a path to an SQLite file is expected, it names a PostgreSQL store.
bool isPostgresqlUri(const std::string& text);

struct StoreLocation {
  StoreBackend backend = StoreBackend::kSqlite;
  std::string path;  ///< SQLite: the database file
  std::string dsn;   ///< PostgreSQL: e.g. "host=db.internal dbname=pso user=pso"
};

/// The whole store. Thread-safe: a backend serialises the calls that share
/// its connection (the SQLite backend uses WAL, so external readers such as
/// `psoctl scenarios export --db` are not blocked).
class Store : public virtual FleetStore,
              public virtual TelemetryStore,
              public virtual DirectiveStore,
              public virtual CycleStore,
              public virtual ScenarioStore,
              public virtual AlertStore {
 public:
  /// Opens or creates the SQLite database at `path` and applies migrations. A
  /// database written by a newer build (higher schema version) is refused,
  /// code "schema"; a path that cannot be opened or is not a database, "io".
  /// A postgresql:// URI (isPostgresqlUri) opens that PostgreSQL database
  /// instead, as open(StoreLocation) does: psoctl's --db takes either.
  [[nodiscard]] static Result<std::unique_ptr<Store>> open(const std::string& path);
  /// Opens the store at `location` with its backend. PostgreSQL: connects
  /// with the DSN and applies that backend's migrations; a server that
  /// cannot be reached or refuses the login is code "io", a database of a
  /// newer schema "schema". The tables are created in the connection's
  /// current schema (search_path), so one database can hold several stores.
  [[nodiscard]] static Result<std::unique_ptr<Store>> open(const StoreLocation& location);

  /// The SQLite schema version this build creates (the number of migrations).
  static int64_t latestSchemaVersion();
  /// The schema version this build creates for a backend.
  static int64_t latestSchemaVersion(StoreBackend backend);
  /// The schema version of the open database.
  virtual int64_t schemaVersion() = 0;
  /// True when the database's own consistency check passes.
  [[nodiscard]] virtual Result<bool> integrityCheck() = 0;
  /// Where the database lives (a file path for SQLite; for PostgreSQL
  /// "postgresql://user@host:port/database", without the password).
  virtual const std::string& path() const = 0;
};

}  // namespace pso::controller::store
