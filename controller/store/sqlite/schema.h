#pragma once

// The SQLite store's schema history: the one ordered list of migrations,
// applied through PRAGMA user_version (common::Database::migrate).

#include <string>
#include <vector>

namespace pso::controller::store {

/// Migration i brings a database from user_version i to i + 1. Which tables
/// each aggregate owns is listed at the top of its sqlite_*_store.h.
const std::vector<std::string>& sqliteMigrations();

}  // namespace pso::controller::store
