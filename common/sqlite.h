#pragma once

// A small RAII wrapper over SQLite: prepared statements, transactions, WAL,
// versioned migrations through PRAGMA user_version, and the loops every
// query repeats (every row, the first row, a cached statement's reset). Not
// thread-safe: one Database per thread, or a caller-held mutex.

#include <sqlite3.h>

#include <concepts>
#include <cstdint>
#include <initializer_list>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
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
  /// Steps to completion and returns how many rows the statement inserted,
  /// updated or deleted (sqlite3_changes64 right after it finished).
  [[nodiscard]] Result<int64_t> runCountingChanges();
  /// Resets the statement and clears its bindings so it can be reused.
  void reset();

  int64_t columnInt64(int index) const;
  double columnDouble(int index) const;
  std::string columnText(int index) const;
  std::string columnBlob(int index) const;
  /// The blob without a copy: valid until the next step(), reset() or
  /// column call on the same column.
  std::string_view columnBlobView(int index) const;
  bool columnIsNull(int index) const;

  sqlite3_stmt* raw() const { return stmt_; }

 private:
  sqlite3_stmt* stmt_ = nullptr;
};

/// Resets a cached statement on entry and on exit of a scope: bindings never
/// leak from one use to the next, and a SELECT stopped early does not keep a
/// read transaction open (which would stall WAL checkpoints).
class ScopedStatement {
 public:
  explicit ScopedStatement(Statement& statement) : statement_(statement) { statement_.reset(); }
  ~ScopedStatement() { statement_.reset(); }
  ScopedStatement(const ScopedStatement&) = delete;
  ScopedStatement& operator=(const ScopedStatement&) = delete;
  Statement& operator*() { return statement_; }
  Statement* operator->() { return &statement_; }

 private:
  Statement& statement_;
};

/// Calls `on_row(statement)` for every row; stops at the first step error.
template <typename OnRow>
[[nodiscard]] Status forEachRow(Statement& statement, OnRow&& on_row) {
  while (true) {
    auto row = statement.step();
    if (!row.ok()) return row.error();
    if (!*row) return Status();
    on_row(static_cast<const Statement&>(statement));
  }
}

/// Every row of `statement`, each turned into a T by `read(const Statement&)`.
template <typename T, typename Read>
[[nodiscard]] Result<std::vector<T>> collectRows(Statement& statement, Read&& read) {
  std::vector<T> out;
  if (auto st = forEachRow(statement, [&](const Statement& row) { out.push_back(read(row)); });
      !st.ok()) {
    return st.error();
  }
  return out;
}

/// The first row of `statement` turned into a T by `read`, or nothing when
/// there is no row.
template <typename T, typename Read>
[[nodiscard]] Result<std::optional<T>> firstRow(Statement& statement, Read&& read) {
  auto row = statement.step();
  if (!row.ok()) return row.error();
  if (!*row) return std::optional<T>();
  return std::optional<T>(read(static_cast<const Statement&>(statement)));
}

/// Row readers of one-column queries, for collectRows and firstRow.
inline int64_t firstColumnInt64(const Statement& row) {
  return row.columnInt64(0);
}
inline std::string firstColumnText(const Statement& row) {
  return row.columnText(0);
}

/// The value to bind to a `LIMIT ?` for an API where limit <= 0 means "no
/// limit": SQLite reads a negative LIMIT as none.
constexpr int64_t sqlLimit(int64_t limit) {
  return limit > 0 ? limit : -1;
}

/// One statement to prepare into `target`: see Database::prepareAll.
struct StatementSql {
  Statement* target;
  std::string sql;
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
  /// Prepares each statement into its target, in order; stops at the first
  /// that fails and returns its error (which names the statement's SQL).
  [[nodiscard]] Status prepareAll(std::initializer_list<StatementSql> statements);

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
