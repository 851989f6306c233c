#pragma once

// What every aggregate of the PostgreSQL store shares: the one libpq
// connection, the one mutex that serialises it, the prepared statements by
// name, and the meta table of named integers (schema version, rollup and
// retention marks, the cycle counter).
//
// Locking: each public method of an aggregate takes mutex() for its whole
// call; methods named *Locked expect the caller to hold it already (and, when
// they write, to have a transaction open when the write must join one).
//
// Errors: libpq's failures become Results with a one-line message: a unique
// violation is code "exists", a connection that cannot be made or is lost
// "io", a database written by a newer build "schema", any other "io".
// Nothing here throws.

#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "common/result.h"

struct pg_conn;
struct pg_result;

namespace pso::controller::store {

/// The parameters of one statement, as text (or bytes for bytea); a missing
/// value is SQL NULL.
class PgParams {
 public:
  PgParams& add(const std::string& text);
  PgParams& add(const char* text) { return add(std::string(text)); }
  PgParams& add(int64_t number);
  PgParams& add(uint64_t number) { return add(static_cast<int64_t>(number)); }
  PgParams& add(int number) { return add(static_cast<int64_t>(number)); }
  PgParams& add(bool flag);
  PgParams& add(double number);
  PgParams& add(const std::optional<double>& number);
  /// A LIMIT: NULL (no limit) when `limit` <= 0.
  PgParams& addLimit(int64_t limit);
  /// A bytea parameter, sent in binary (any bytes, NULs included).
  PgParams& addBytes(const std::string& bytes);
  /// An array of bigint or double precision ('{1,2,3}'), for unnest().
  PgParams& addArray(const std::vector<int64_t>& numbers);
  PgParams& addArray(const std::vector<double>& numbers);
  PgParams& addArray(const std::vector<std::string>& texts);

  std::size_t size() const { return values_.size(); }
  std::vector<const char*> pointers() const;
  std::vector<int> lengths() const;
  std::vector<int> formats() const;

 private:
  std::vector<std::optional<std::string>> values_;
  std::vector<int> formats_;
};

/// The rows of one statement's result (text format); owns the libpq result.
class PgRows {
 public:
  PgRows() = default;
  explicit PgRows(pg_result* result);
  PgRows(PgRows&&) noexcept = default;
  PgRows& operator=(PgRows&&) noexcept = default;

  int size() const;
  bool empty() const { return size() == 0; }
  /// Rows an INSERT, UPDATE or DELETE touched.
  int64_t affected() const;
  bool isNull(int row, int column) const;
  std::string text(int row, int column) const;
  int64_t int64(int row, int column) const;
  double real(int row, int column) const;
  bool flag(int row, int column) const;
  /// A bytea column's bytes.
  std::string bytes(int row, int column) const;

 private:
  struct Clear {
    void operator()(pg_result* result) const;
  };
  std::unique_ptr<pg_result, Clear> result_;
};

class PgContext {
 public:
  /// Connects with the libpq connection string `dsn`, applies
  /// postgresqlMigrations() and prepares the meta statements.
  [[nodiscard]] static Result<std::unique_ptr<PgContext>> open(const std::string& dsn);
  ~PgContext();
  PgContext(const PgContext&) = delete;
  PgContext& operator=(const PgContext&) = delete;

  std::mutex& mutex() { return mutex_; }
  /// The connection string without its password, for logs and Store::path().
  const std::string& description() const { return description_; }

  /// Prepares the statements, each under its name (unique per connection);
  /// they are prepared again if the connection is re-established.
  [[nodiscard]] Status prepareAll(
      const std::vector<std::pair<std::string, std::string>>& statements);
  /// Runs a prepared statement.
  [[nodiscard]] Result<PgRows> runLocked(const std::string& name, const PgParams& params = {});
  /// Runs SQL text (no parameters; several statements allowed).
  [[nodiscard]] Status execLocked(const std::string& sql);
  /// Runs SQL text with parameters, unprepared (statements built per call).
  [[nodiscard]] Result<PgRows> queryLocked(const std::string& sql, const PgParams& params = {});

  /// The integer stored under `key` in meta, `fallback` when there is none.
  [[nodiscard]] Result<int64_t> metaIntLocked(const std::string& key, int64_t fallback);
  [[nodiscard]] Status setMetaIntLocked(const std::string& key, int64_t value);

  /// The schema version of the connected database (meta "schema_version").
  int64_t schemaVersionLocked();

  /// Runs `step` (a prepared DELETE of at most kPruneBatchRows rows with the
  /// parameters `params`, returning how many it removed) again and again,
  /// each run in one transaction under mutex(), released between runs so
  /// ingest and the API are not stopped behind a long retention pass. Stops
  /// when a run removes fewer than kPruneBatchRows. Takes mutex() itself.
  [[nodiscard]] Result<int64_t> deleteInBatches(const std::string& step, const PgParams& params);
  static constexpr int64_t kPruneBatchRows = 500;

 private:
  PgContext(pg_conn* conn, std::string description);
  /// A lost connection is re-established (and its statements prepared
  /// again) before the next statement; false when it cannot be.
  Status ensureConnectedLocked();
  Result<PgRows> checked(pg_result* result, const std::string& what);

  std::mutex mutex_;
  pg_conn* conn_ = nullptr;
  std::string description_;
  std::vector<std::pair<std::string, std::string>> prepared_;
  /// Set by PgTransaction: a connection lost inside a transaction is an
  /// error, not re-established (the statements after it would run outside
  /// the transaction).
  bool in_transaction_ = false;
  friend class PgTransaction;
};

/// A transaction on the context's connection, rolled back unless committed.
/// The caller holds the context's mutex for its life.
class PgTransaction {
 public:
  explicit PgTransaction(PgContext& context);
  ~PgTransaction();
  PgTransaction(const PgTransaction&) = delete;
  PgTransaction& operator=(const PgTransaction&) = delete;

  const Status& beginStatus() const { return begin_; }
  [[nodiscard]] Status commit();

 private:
  PgContext& context_;
  Status begin_;
  bool open_ = false;
};

/// Every row of a statement's result, each read by `read(rows, index)`.
template <typename T, typename Read>
Result<std::vector<T>> pgAllRows(Result<PgRows> rows, Read&& read) {
  if (!rows.ok()) return rows.error();
  std::vector<T> out;
  out.reserve(static_cast<std::size_t>(rows->size()));
  for (int i = 0; i < rows->size(); ++i) out.push_back(read(*rows, i));
  return out;
}

/// The first row of a statement's result, if any.
template <typename T, typename Read>
Result<std::optional<T>> pgFirstRow(Result<PgRows> rows, Read&& read) {
  if (!rows.ok()) return rows.error();
  if (rows->empty()) return std::optional<T>();
  return std::optional<T>(read(*rows, 0));
}

/// Ok when the statement touched a row; code "not_found" with `what` when
/// it touched none (an UPDATE of an unknown id).
[[nodiscard]] Status pgChangedOne(const Result<PgRows>& rows, const std::string& what);

/// A statement's outcome without its rows.
[[nodiscard]] Status pgDone(const Result<PgRows>& rows);

/// A libpq connection error's text on one line.
std::string oneLine(const std::string& text);

}  // namespace pso::controller::store
