#include "controller/store/store.h"

#include "controller/store/sqlite/schema.h"
#include "controller/store/sqlite/sqlite_store.h"
#include "controller/store/telemetry_store.h"

namespace pso::controller::store {

std::string hostSeriesSystem(const std::string& agent_id) {
  return "@host:" + agent_id;
}

Result<std::unique_ptr<Store>> Store::open(const std::string& path) {
  return SqliteStore::open(path);
}

int64_t Store::latestSchemaVersion() {
  return static_cast<int64_t>(sqliteMigrations().size());
}

}  // namespace pso::controller::store
