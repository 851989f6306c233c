#pragma once

// The PostgreSQL store's schema history: the one ordered list of migrations,
// applied by PgContext::open in one transaction, with the version kept in
// meta under "schema_version". The meta table itself is created before them.

#include <string>
#include <vector>

namespace pso::controller::store {

/// Migration i brings a database from schema version i to i + 1. Which tables
/// each aggregate owns is listed at the top of its pg_*_store.h.
const std::vector<std::string>& postgresqlMigrations();

}  // namespace pso::controller::store
