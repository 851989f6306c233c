#include "controller/store/store.h"

#include "controller/store/postgresql/pg_schema.h"
#include "controller/store/postgresql/pg_store.h"
#include "controller/store/sqlite/schema.h"
#include "controller/store/sqlite/sqlite_store.h"
#include "controller/store/telemetry_store.h"

namespace pso::controller::store {

std::string hostSeriesSystem(const std::string& agent_id) {
  return "@host:" + agent_id;
}

bool isPostgresqlUri(const std::string& text) {
  return text.rfind("postgresql://", 0) == 0 || text.rfind("postgres://", 0) == 0;
}

Result<std::unique_ptr<Store>> Store::open(const std::string& path) {
  if (isPostgresqlUri(path)) return PgStore::open(path);
  return SqliteStore::open(path);
}

Result<std::unique_ptr<Store>> Store::open(const StoreLocation& location) {
  if (location.backend == StoreBackend::kPostgresql) return PgStore::open(location.dsn);
  return SqliteStore::open(location.path);
}

int64_t Store::latestSchemaVersion() {
  return latestSchemaVersion(StoreBackend::kSqlite);
}

int64_t Store::latestSchemaVersion(StoreBackend backend) {
  const auto& migrations =
      backend == StoreBackend::kPostgresql ? postgresqlMigrations() : sqliteMigrations();
  return static_cast<int64_t>(migrations.size());
}

const char* storeBackendName(StoreBackend backend) {
  return backend == StoreBackend::kPostgresql ? "postgresql" : "sqlite";
}

std::optional<StoreBackend> parseStoreBackend(const std::string& name) {
  if (name == "sqlite") return StoreBackend::kSqlite;
  if (name == "postgresql") return StoreBackend::kPostgresql;
  return std::nullopt;
}

}  // namespace pso::controller::store
