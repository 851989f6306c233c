#pragma once

// psoctl's --db: the controller's store a command reads or writes, an SQLite
// file or, given as a postgresql:// URI, the controller's PostgreSQL database.

#include <memory>
#include <string>

#include "common/result.h"
#include "controller/store/store.h"

namespace pso::cli {

/// Opens the store --db names that must exist already: an SQLite file that
/// is not there is code "not_found" ("--db: no database at PATH"), where
/// Store::open would create an empty one; any error of the store's own is
/// prefixed "--db PATH: ". A PostgreSQL URI is opened as it is (its
/// migrations applied, as the controller would).
[[nodiscard]] Result<std::unique_ptr<controller::store::Store>> openExistingStore(
    const std::string& db);

}  // namespace pso::cli
