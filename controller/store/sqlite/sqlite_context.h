#pragma once

// What every aggregate of the SQLite store shares: the one connection, the
// one mutex that serialises it, and the meta table of named integers.
//
// Locking: each public method of an aggregate takes mutex() for its whole
// call; methods named *Locked expect the caller to hold it already (and, when
// they write, to have a transaction open when the write must join one).

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>

#include "common/result.h"
#include "common/sqlite.h"

namespace pso::controller::store {

class SqliteContext {
 public:
  /// Opens the database at `path` and applies sqliteMigrations().
  [[nodiscard]] static Result<std::unique_ptr<SqliteContext>> open(const std::string& path);

  common::Database& db() { return *db_; }
  std::mutex& mutex() { return mutex_; }

  /// The integer stored under `key` in meta, `fallback` when there is none.
  [[nodiscard]] Result<int64_t> metaIntLocked(const std::string& key, int64_t fallback);
  [[nodiscard]] Status setMetaIntLocked(const std::string& key, int64_t value);

 private:
  explicit SqliteContext(std::unique_ptr<common::Database> db) : db_(std::move(db)) {}

  std::mutex mutex_;
  std::unique_ptr<common::Database> db_;
  common::Statement select_meta_;
  common::Statement upsert_meta_;
};

/// SQLite reports a UNIQUE / PRIMARY KEY violation only in its message;
/// callers get the stable code "exists" naming `what` for it, other errors
/// unchanged.
Error asExists(const Error& error, const std::string& what);

}  // namespace pso::controller::store
