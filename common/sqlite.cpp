#include "common/sqlite.h"

#include <cctype>
#include <utility>

namespace pso::common {
namespace {

constexpr int kBusyTimeoutMs = 5000;

// The first few words of a statement, enough to tell which one failed without
// flooding the log with a whole migration.
std::string sqlHead(std::string_view sql) {
  std::string out;
  int words = 0;
  bool in_word = false;
  for (char ch : sql) {
    const bool space = std::isspace(static_cast<unsigned char>(ch)) != 0;
    if (space) {
      if (in_word && ++words == 4) break;
      in_word = false;
      continue;
    }
    if (!in_word && !out.empty()) out += ' ';
    in_word = true;
    out += ch;
    if (out.size() >= 60) {
      out += "...";
      break;
    }
  }
  return out;
}

Error sqliteError(sqlite3* db, std::string_view sql) {
  const char* message = db ? sqlite3_errmsg(db) : "out of memory";
  return makeError("sqlite", std::string(message) + " (in: " + sqlHead(sql) + ")");
}

}  // namespace

Statement::Statement(sqlite3_stmt* stmt) : stmt_(stmt) {}

Statement::Statement(Statement&& other) noexcept : stmt_(std::exchange(other.stmt_, nullptr)) {}

Statement& Statement::operator=(Statement&& other) noexcept {
  if (this != &other) {
    sqlite3_finalize(stmt_);
    stmt_ = std::exchange(other.stmt_, nullptr);
  }
  return *this;
}

Statement::~Statement() {
  sqlite3_finalize(stmt_);
}

Statement& Statement::bind(int index, int64_t value) {
  sqlite3_bind_int64(stmt_, index, value);
  return *this;
}

Statement& Statement::bind(int index, double value) {
  sqlite3_bind_double(stmt_, index, value);
  return *this;
}

Statement& Statement::bind(int index, std::string_view text) {
  sqlite3_bind_text64(stmt_, index, text.data(), text.size(), SQLITE_TRANSIENT, SQLITE_UTF8);
  return *this;
}

Statement& Statement::bindBlob(int index, const void* data, std::size_t size) {
  sqlite3_bind_blob64(stmt_, index, data, size, SQLITE_TRANSIENT);
  return *this;
}

Statement& Statement::bindNull(int index) {
  sqlite3_bind_null(stmt_, index);
  return *this;
}

Result<bool> Statement::step() {
  if (!stmt_) return makeError("sqlite", "step on an empty statement");
  const int rc = sqlite3_step(stmt_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  const char* sql = sqlite3_sql(stmt_);
  return sqliteError(sqlite3_db_handle(stmt_), sql ? sql : "");
}

Status Statement::run() {
  while (true) {
    auto row = step();
    if (!row) return row.error();
    if (!*row) return {};
  }
}

Result<int64_t> Statement::runCountingChanges() {
  if (auto st = run(); !st.ok()) return st.error();
  return sqlite3_changes64(sqlite3_db_handle(stmt_));
}

void Statement::reset() {
  sqlite3_reset(stmt_);
  sqlite3_clear_bindings(stmt_);
}

int64_t Statement::columnInt64(int index) const {
  return sqlite3_column_int64(stmt_, index);
}

double Statement::columnDouble(int index) const {
  return sqlite3_column_double(stmt_, index);
}

std::string Statement::columnText(int index) const {
  const auto* text = sqlite3_column_text(stmt_, index);
  if (!text) return {};
  return std::string(reinterpret_cast<const char*>(text),
                     static_cast<std::size_t>(sqlite3_column_bytes(stmt_, index)));
}

std::string Statement::columnBlob(int index) const {
  return std::string(columnBlobView(index));
}

std::string_view Statement::columnBlobView(int index) const {
  const void* blob = sqlite3_column_blob(stmt_, index);
  if (!blob) return {};
  return std::string_view(static_cast<const char*>(blob),
                          static_cast<std::size_t>(sqlite3_column_bytes(stmt_, index)));
}

bool Statement::columnIsNull(int index) const {
  return sqlite3_column_type(stmt_, index) == SQLITE_NULL;
}

Result<std::unique_ptr<Database>> Database::open(const std::string& path, bool read_only) {
  sqlite3* raw = nullptr;
  const int flags = read_only ? SQLITE_OPEN_READONLY : (SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE);
  const int rc = sqlite3_open_v2(path.c_str(), &raw, flags, nullptr);
  if (rc != SQLITE_OK) {
    std::string message = raw ? sqlite3_errmsg(raw) : sqlite3_errstr(rc);
    sqlite3_close(raw);
    return makeError("io", "cannot open database " + path + ": " + message);
  }
  std::unique_ptr<Database> db(new Database(raw, path));
  sqlite3_busy_timeout(raw, kBusyTimeoutMs);
  sqlite3_extended_result_codes(raw, 1);
  // The journal-mode pragma is the first statement that reads the file, so it
  // is where a file that is not a database is detected.
  const std::string pragmas = read_only ? "PRAGMA foreign_keys=ON;"
                                        : "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; "
                                          "PRAGMA foreign_keys=ON;";
  if (auto st = db->exec(read_only ? "SELECT count(*) FROM sqlite_schema; " + pragmas : pragmas);
      !st) {
    return makeError("io", "cannot open database " + path + ": " + st.error().message);
  }
  return db;
}

Database::~Database() {
  sqlite3_close_v2(db_);
}

Status Database::exec(std::string_view sql) {
  const std::string text(sql);
  char* message = nullptr;
  const int rc = sqlite3_exec(db_, text.c_str(), nullptr, nullptr, &message);
  if (rc != SQLITE_OK) {
    std::string reason = message ? message : sqlite3_errmsg(db_);
    sqlite3_free(message);
    return makeError("sqlite", reason + " (in: " + sqlHead(sql) + ")");
  }
  return {};
}

Result<Statement> Database::prepare(std::string_view sql) {
  sqlite3_stmt* stmt = nullptr;
  const int rc = sqlite3_prepare_v2(db_, sql.data(), static_cast<int>(sql.size()), &stmt, nullptr);
  if (rc != SQLITE_OK) {
    sqlite3_finalize(stmt);
    return sqliteError(db_, sql);
  }
  return Statement(stmt);
}

Status Database::prepareAll(std::initializer_list<StatementSql> statements) {
  for (const auto& [target, sql] : statements) {
    auto prepared = prepare(sql);
    if (!prepared.ok()) return prepared.error();
    *target = std::move(*prepared);
  }
  return {};
}

int64_t Database::userVersion() {
  auto stmt = prepare("PRAGMA user_version");
  if (!stmt) return 0;
  auto row = stmt->step();
  return (row && *row) ? stmt->columnInt64(0) : 0;
}

Status Database::migrate(const std::vector<std::string>& migrations) {
  const int64_t current = userVersion();
  const auto known = static_cast<int64_t>(migrations.size());
  if (current > known) {
    return makeError("schema", "database " + path_ + " has schema version " +
                                   std::to_string(current) + ", newer than this build's " +
                                   std::to_string(known) + "; upgrade the software");
  }
  for (int64_t i = current; i < known; ++i) {
    Transaction tx(*this);
    if (!tx.active()) return tx.beginStatus();
    if (auto st = exec(migrations[static_cast<std::size_t>(i)]); !st) {
      return makeError("schema", "migration " + std::to_string(i + 1) + " of " + path_ +
                                     " failed: " + st.error().message);
    }
    // PRAGMA takes no bound parameters; the version is a number we produced.
    if (auto st = exec("PRAGMA user_version = " + std::to_string(i + 1)); !st) return st;
    if (auto st = tx.commit(); !st) return st;
  }
  return {};
}

Status Database::begin() {
  return exec("BEGIN IMMEDIATE");
}

Status Database::commit() {
  return exec("COMMIT");
}

void Database::rollback() {
  // Some errors (e.g. SQLITE_FULL) already roll the transaction back; a second
  // ROLLBACK would only fail.
  if (!sqlite3_get_autocommit(db_)) sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
}

int64_t Database::lastInsertRowid() const {
  return sqlite3_last_insert_rowid(db_);
}

int64_t Database::changes() const {
  return sqlite3_changes64(db_);
}

Result<bool> Database::integrityCheck() {
  auto stmt = prepare("PRAGMA integrity_check");
  if (!stmt) return stmt.error();
  auto row = stmt->step();
  if (!row) return row.error();
  return *row && stmt->columnText(0) == "ok";
}

Transaction::Transaction(Database& db) : db_(db), begin_status_(db.begin()) {
  active_ = begin_status_.ok();
}

Transaction::~Transaction() {
  if (active_) db_.rollback();
}

Status Transaction::commit() {
  if (!active_) return makeError("sqlite", "commit without an active transaction");
  Status st = db_.commit();
  if (!st) {
    db_.rollback();
  }
  active_ = false;
  return st;
}

}  // namespace pso::common
