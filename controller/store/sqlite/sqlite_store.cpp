#include "controller/store/sqlite/sqlite_store.h"

#include <utility>

namespace pso::controller::store {

// The fleet base is constructed before the telemetry and directive bases
// (declaration order), so they may take a reference to it.
SqliteStore::SqliteStore(std::unique_ptr<SqliteContext> context)
    : SqliteFleetStore(*context),
      SqliteTelemetryStore(*context, *this),
      SqliteDirectiveStore(*context, *this),
      SqliteCycleStore(*context),
      SqliteScenarioStore(*context),
      SqliteAlertStore(*context),
      context_(std::move(context)) {}

Result<std::unique_ptr<Store>> SqliteStore::open(const std::string& path) {
  auto context = SqliteContext::open(path);
  if (!context.ok()) return context.error();
  std::unique_ptr<SqliteStore> store(new SqliteStore(std::move(*context)));
  for (Status prepared :
       {store->SqliteFleetStore::prepare(), store->SqliteTelemetryStore::prepare(),
        store->SqliteDirectiveStore::prepare(), store->SqliteCycleStore::prepare(),
        store->SqliteScenarioStore::prepare(), store->SqliteAlertStore::prepare()}) {
    if (!prepared.ok()) return prepared.error();
  }
  return std::unique_ptr<Store>(std::move(store));
}

int64_t SqliteStore::schemaVersion() {
  std::lock_guard lock(context_->mutex());
  return context_->db().userVersion();
}

Result<bool> SqliteStore::integrityCheck() {
  std::lock_guard lock(context_->mutex());
  return context_->db().integrityCheck();
}

const std::string& SqliteStore::path() const {
  return context_->db().path();
}

}  // namespace pso::controller::store
