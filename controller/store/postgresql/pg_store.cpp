#include "controller/store/postgresql/pg_store.h"

#include <utility>

#include "controller/store/postgresql/pg_schema.h"

namespace pso::controller::store {

// The fleet base is constructed before the telemetry and directive bases
// (declaration order), so they may take a reference to it.
PgStore::PgStore(std::unique_ptr<PgContext> context)
    : PgFleetStore(*context),
      PgTelemetryStore(*context, *this),
      PgDirectiveStore(*context, *this),
      PgCycleStore(*context),
      PgScenarioStore(*context),
      PgAlertStore(*context),
      context_(std::move(context)) {}

Result<std::unique_ptr<Store>> PgStore::open(const std::string& dsn) {
  auto context = PgContext::open(dsn);
  if (!context.ok()) return context.error();
  std::unique_ptr<PgStore> store(new PgStore(std::move(*context)));
  for (Status prepared : {store->PgFleetStore::prepare(), store->PgTelemetryStore::prepare(),
                          store->PgDirectiveStore::prepare(), store->PgCycleStore::prepare(),
                          store->PgScenarioStore::prepare(), store->PgAlertStore::prepare()}) {
    if (!prepared.ok()) return prepared.error();
  }
  return std::unique_ptr<Store>(std::move(store));
}

int64_t PgStore::schemaVersion() {
  std::lock_guard lock(context_->mutex());
  return context_->schemaVersionLocked();
}

Result<bool> PgStore::integrityCheck() {
  std::lock_guard lock(context_->mutex());
  auto version = context_->metaIntLocked("schema_version", 0);
  if (!version.ok()) return version.error();
  return *version == static_cast<int64_t>(postgresqlMigrations().size());
}

const std::string& PgStore::path() const {
  return context_->description();
}

}  // namespace pso::controller::store
