#pragma once

// A small RAII wrapper over SQLite: prepared statements, transactions, WAL,
// versioned migrations through PRAGMA user_version. Not thread-safe: one
// Database per thread, or a caller-held mutex.

#include <sqlite3.h>

#include <concepts>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"

namespace pso::common {

class Statement {
 public:
  Statement() = default;
  explicit Statement(sqlite3_stmt* stmt);
  Statement(Statement&&) noexcept;
  Statement& operator=(Statement&&) noexcept;
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;
  ~Statement();

  /// Binds parameters, 1-based like SQLite.
  Statement& bind(int index, int64_t value);
  Statement& bind(int index, double value);
  Statement& bind(int index, std::string_view text);
  Statement& bindBlob(int index, const void* data, std::size_t size);
  Statement& bindNull(int index);
  /// Any other integer type (int, unsigned, uint64_t, bool) binds as int64, so
  /// `bind(1, 5)` is not ambiguous between the int64 and double overloads.
  /// uint64 values above INT64_MAX wrap; SQLite has no unsigned type.
  template <std::integral T>
  Statement& bind(int index, T value) {
    return bind(index, static_cast<int64_t>(value));
  }

  /// Steps once: true when a row is available, false when done; Error on failure.
  [[nodiscard]] Result<bool> step();
  /// Steps to completion, discarding rows (INSERT/UPDATE/DELETE).
  [[nodiscard]] Status run();
  /// Resets the statement and clears its bindings so it can be reused.
  void reset();

  int64_t columnInt64(int index) const;
  double columnDouble(int index) const;
  std::string columnText(int index) const;
  std::string columnBlob(int index) const;
  bool columnIsNull(int index) const;

  sqlite3_stmt* raw() const { return stmt_; }

 private:
  sqlite3_stmt* stmt_ = nullptr;
};

class Database {
 public:
  /// Opens (creating if needed) a database file in WAL mode with a busy timeout
  /// of 5 s, foreign keys on and synchronous=NORMAL. Error code "io" names the
  /// path. A read-only open never creates the file and keeps its journal mode.
  /// Other failures of this class carry code "sqlite" and a message holding
  /// sqlite3_errmsg and the first words of the SQL.
  [[nodiscard]] static Result<std::unique_ptr<Database>> open(const std::string& path,
                                                              bool read_only = false);
  ~Database();
  Database(const Database&) = delete;
  Database& operator=(const Database&) = delete;

  /// Executes one or more statements without results.
  [[nodiscard]] Status exec(std::string_view sql);
  [[nodiscard]] Result<Statement> prepare(std::string_view sql);

  /// Applies migrations[i] for every i >= PRAGMA user_version, each in its own
  /// transaction, bumping user_version after each. Refuses a database whose
  /// user_version is newer than migrations.size() (code "schema").
  [[nodiscard]] Status migrate(const std::vector<std::string>& migrations);
  int64_t userVersion();

  [[nodiscard]] Status begin();  ///< BEGIN IMMEDIATE
  [[nodiscard]] Status commit();
  void rollback();

  int64_t lastInsertRowid() const;
  int64_t changes() const;
  /// Runs PRAGMA integrity_check; true when it answers "ok".
  [[nodiscard]] Result<bool> integrityCheck();
  sqlite3* raw() const { return db_; }
  const std::string& path() const { return path_; }

 private:
  Database(sqlite3* db, std::string path) : db_(db), path_(std::move(path)) {}
  sqlite3* db_ = nullptr;
  std::string path_;
};

/// Rolls back unless commit() was called; use for exception- and early-return-safe
/// transactions.
class Transaction {
 public:
  explicit Transaction(Database& db);
  ~Transaction();
  [[nodiscard]] Status commit();
  bool active() const { return active_; }
  const Status& beginStatus() const { return begin_status_; }

 private:
  Database& db_;
  Status begin_status_;
  bool active_ = false;
};

}  // namespace pso::common
