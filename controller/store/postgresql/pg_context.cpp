#include "controller/store/postgresql/pg_context.h"

#include <libpq-fe.h>

#include <charconv>
#include <cmath>
#include <cstdlib>
#include <system_error>

#include "controller/store/postgresql/pg_schema.h"

namespace pso::controller::store {
namespace {

// SQLSTATE of a unique or primary key violation.
constexpr const char* kUniqueViolation = "23505";
// Serialises migrations of one database between processes (any constant
// key; it only has to be the same for every PSO-PRIME controller).
constexpr int64_t kMigrationLockKey = 0x50534f5052494d45LL;

std::string formatReal(double number) {
  if (std::isnan(number)) return "NaN";
  if (std::isinf(number)) return number > 0 ? "Infinity" : "-Infinity";
  char buffer[64];
  auto [end, ec] = std::to_chars(buffer, buffer + sizeof buffer, number);
  return std::string(buffer, ec == std::errc() ? end : buffer);
}

double parseReal(const char* text) {
  const std::string_view view(text);
  if (view == "NaN") return std::nan("");
  if (view == "Infinity") return HUGE_VAL;
  if (view == "-Infinity") return -HUGE_VAL;
  double number = 0.0;
  std::from_chars(view.data(), view.data() + view.size(), number);
  return number;
}

template <typename Number>
std::string arrayLiteral(const std::vector<Number>& numbers, std::string (*format)(Number)) {
  std::string out = "{";
  for (std::size_t i = 0; i < numbers.size(); ++i) {
    if (i > 0) out += ',';
    out += format(numbers[i]);
  }
  out += '}';
  return out;
}

std::string formatInt(int64_t number) {
  return std::to_string(number);
}

// A text array element, quoted: backslash and double quote escaped.
std::string quoteArrayText(std::string text) {
  std::string out = "\"";
  for (char c : text) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  out += '"';
  return out;
}

}  // namespace

std::string oneLine(const std::string& text) {
  std::string line = text;
  while (!line.empty() && (line.back() == '\n' || line.back() == ' ')) line.pop_back();
  for (char& c : line) {
    if (c == '\n' || c == '\t') c = ' ';
  }
  return line;
}

Status pgChangedOne(const Result<PgRows>& rows, const std::string& what) {
  if (!rows.ok()) return rows.error();
  if (rows->affected() == 0) return makeError("not_found", what);
  return Status();
}

Status pgDone(const Result<PgRows>& rows) {
  if (!rows.ok()) return rows.error();
  return Status();
}

// --- PgParams ---------------------------------------------------------------

PgParams& PgParams::add(const std::string& text) {
  values_.emplace_back(text);
  formats_.push_back(0);
  return *this;
}

PgParams& PgParams::add(int64_t number) {
  return add(std::to_string(number));
}

PgParams& PgParams::add(bool flag) {
  return add(std::string(flag ? "t" : "f"));
}

PgParams& PgParams::add(double number) {
  return add(formatReal(number));
}

PgParams& PgParams::add(const std::optional<double>& number) {
  if (number) return add(*number);
  values_.emplace_back(std::nullopt);
  formats_.push_back(0);
  return *this;
}

PgParams& PgParams::addLimit(int64_t limit) {
  if (limit > 0) return add(limit);
  values_.emplace_back(std::nullopt);
  formats_.push_back(0);
  return *this;
}

PgParams& PgParams::addBytes(const std::string& bytes) {
  values_.emplace_back(bytes);
  formats_.push_back(1);
  return *this;
}

PgParams& PgParams::addArray(const std::vector<int64_t>& numbers) {
  return add(arrayLiteral<int64_t>(numbers, formatInt));
}

PgParams& PgParams::addArray(const std::vector<double>& numbers) {
  return add(arrayLiteral<double>(numbers, formatReal));
}

PgParams& PgParams::addArray(const std::vector<std::string>& texts) {
  return add(arrayLiteral<std::string>(texts, quoteArrayText));
}

std::vector<const char*> PgParams::pointers() const {
  std::vector<const char*> out;
  out.reserve(values_.size());
  for (const auto& value : values_) out.push_back(value ? value->data() : nullptr);
  return out;
}

std::vector<int> PgParams::lengths() const {
  std::vector<int> out;
  out.reserve(values_.size());
  for (const auto& value : values_) out.push_back(value ? static_cast<int>(value->size()) : 0);
  return out;
}

std::vector<int> PgParams::formats() const {
  return formats_;
}

// --- PgRows -----------------------------------------------------------------

void PgRows::Clear::operator()(pg_result* result) const {
  PQclear(result);
}

PgRows::PgRows(pg_result* result) : result_(result) {}

int PgRows::size() const {
  return result_ ? PQntuples(result_.get()) : 0;
}

int64_t PgRows::affected() const {
  if (!result_) return 0;
  const char* count = PQcmdTuples(result_.get());
  return (count == nullptr || *count == '\0') ? 0 : std::strtoll(count, nullptr, 10);
}

bool PgRows::isNull(int row, int column) const {
  return PQgetisnull(result_.get(), row, column) != 0;
}

std::string PgRows::text(int row, int column) const {
  return std::string(PQgetvalue(result_.get(), row, column),
                     static_cast<std::size_t>(PQgetlength(result_.get(), row, column)));
}

int64_t PgRows::int64(int row, int column) const {
  const char* value = PQgetvalue(result_.get(), row, column);
  int64_t number = 0;
  std::from_chars(value, value + PQgetlength(result_.get(), row, column), number);
  return number;
}

double PgRows::real(int row, int column) const {
  return parseReal(PQgetvalue(result_.get(), row, column));
}

bool PgRows::flag(int row, int column) const {
  return PQgetvalue(result_.get(), row, column)[0] == 't';
}

std::string PgRows::bytes(int row, int column) const {
  std::size_t length = 0;
  unsigned char* raw = PQunescapeBytea(
      reinterpret_cast<const unsigned char*>(PQgetvalue(result_.get(), row, column)), &length);
  if (raw == nullptr) return std::string();
  std::string out(reinterpret_cast<const char*>(raw), length);
  PQfreemem(raw);
  return out;
}

// --- PgContext --------------------------------------------------------------

PgContext::PgContext(pg_conn* conn, std::string description)
    : conn_(conn), description_(std::move(description)) {}

PgContext::~PgContext() {
  if (conn_ != nullptr) PQfinish(conn_);
}

Result<std::unique_ptr<PgContext>> PgContext::open(const std::string& dsn) {
  pg_conn* conn = PQconnectdb(dsn.c_str());
  if (conn == nullptr) return makeError("io", "cannot connect to PostgreSQL: out of memory");
  if (PQstatus(conn) != CONNECTION_OK) {
    Error error = makeError("io", "cannot connect to PostgreSQL: " + oneLine(PQerrorMessage(conn)));
    PQfinish(conn);
    return error;
  }
  std::string description = std::string("postgresql://") + PQuser(conn) + "@" + PQhost(conn) + ":" +
                            PQport(conn) + "/" + PQdb(conn);
  std::unique_ptr<PgContext> context(new PgContext(conn, std::move(description)));
  std::lock_guard lock(context->mutex_);
  // Notices (e.g. "relation already exists, skipping") are not errors.
  if (auto st = context->execLocked("SET client_min_messages = warning"); !st.ok()) {
    return st.error();
  }

  // Migrations run in one transaction under an advisory lock, so two
  // controllers starting on one database do not both apply them.
  PgTransaction tx(*context);
  if (!tx.beginStatus().ok()) return tx.beginStatus().error();
  if (auto locked = context->queryLocked("SELECT pg_advisory_xact_lock($1::bigint)",
                                         PgParams().add(kMigrationLockKey));
      !locked.ok()) {
    return locked.error();
  }
  if (auto st = context->execLocked(
          "CREATE TABLE IF NOT EXISTS meta (key text PRIMARY KEY, value bigint NOT NULL)");
      !st.ok()) {
    return st.error();
  }
  if (auto st = context->prepareAll({
          {"meta_select", "SELECT value FROM meta WHERE key = $1"},
          {"meta_upsert",
           "INSERT INTO meta (key, value) VALUES ($1, $2) "
           "ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value"},
      });
      !st.ok()) {
    return st.error();
  }
  auto version = context->metaIntLocked("schema_version", 0);
  if (!version.ok()) return version.error();
  const auto& migrations = postgresqlMigrations();
  const auto latest = static_cast<int64_t>(migrations.size());
  if (*version > latest) {
    return makeError("schema", "PostgreSQL database " + context->description_ +
                                   " has schema version " + std::to_string(*version) +
                                   ", newer than this build's " + std::to_string(latest));
  }
  for (int64_t i = *version; i < latest; ++i) {
    if (auto st = context->execLocked(migrations[static_cast<std::size_t>(i)]); !st.ok()) {
      return makeError("schema", "PostgreSQL migration " + std::to_string(i + 1) +
                                     " failed: " + st.error().message);
    }
  }
  if (*version < latest) {
    if (auto st = context->setMetaIntLocked("schema_version", latest); !st.ok()) {
      return st.error();
    }
  }
  if (auto st = tx.commit(); !st.ok()) return st.error();
  return context;
}

Result<PgRows> PgContext::checked(pg_result* result, const std::string& what) {
  if (result == nullptr) {
    return makeError("io", what + ": " + oneLine(PQerrorMessage(conn_)));
  }
  PgRows rows(result);
  const ExecStatusType status = PQresultStatus(result);
  if (status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK) return rows;
  const char* state = PQresultErrorField(result, PG_DIAG_SQLSTATE);
  const char* primary = PQresultErrorField(result, PG_DIAG_MESSAGE_PRIMARY);
  const std::string message = oneLine(primary != nullptr ? primary : PQresultErrorMessage(result));
  if (state != nullptr && std::string(state) == kUniqueViolation) {
    return makeError("exists", what + ": " + message);
  }
  return makeError("io", what + ": " + message);
}

Status PgContext::ensureConnectedLocked() {
  if (PQstatus(conn_) == CONNECTION_OK) return Status();
  if (in_transaction_) {
    return makeError(
        "io", "PostgreSQL connection lost in a transaction: " + oneLine(PQerrorMessage(conn_)));
  }
  PQreset(conn_);
  if (PQstatus(conn_) != CONNECTION_OK) {
    return makeError("io", "PostgreSQL connection lost: " + oneLine(PQerrorMessage(conn_)));
  }
  // A new session: its settings and prepared statements are gone.
  PgRows set(PQexec(conn_, "SET client_min_messages = warning"));
  for (const auto& [name, sql] : prepared_) {
    auto done = checked(PQprepare(conn_, name.c_str(), sql.c_str(), 0, nullptr), "prepare " + name);
    if (!done.ok()) return done.error();
  }
  return Status();
}

Status PgContext::prepareAll(const std::vector<std::pair<std::string, std::string>>& statements) {
  if (auto st = ensureConnectedLocked(); !st.ok()) return st;
  for (const auto& [name, sql] : statements) {
    auto done = checked(PQprepare(conn_, name.c_str(), sql.c_str(), 0, nullptr), "prepare " + name);
    if (!done.ok()) return done.error();
    prepared_.emplace_back(name, sql);
  }
  return Status();
}

Result<PgRows> PgContext::runLocked(const std::string& name, const PgParams& params) {
  if (auto st = ensureConnectedLocked(); !st.ok()) return st.error();
  const auto values = params.pointers();
  const auto lengths = params.lengths();
  const auto formats = params.formats();
  return checked(PQexecPrepared(conn_, name.c_str(), static_cast<int>(params.size()), values.data(),
                                lengths.data(), formats.data(), 0),
                 name);
}

Status PgContext::execLocked(const std::string& sql) {
  if (auto st = ensureConnectedLocked(); !st.ok()) return st;
  auto done = checked(PQexec(conn_, sql.c_str()), "statement");
  if (!done.ok()) return done.error();
  return Status();
}

Result<PgRows> PgContext::queryLocked(const std::string& sql, const PgParams& params) {
  if (auto st = ensureConnectedLocked(); !st.ok()) return st.error();
  const auto values = params.pointers();
  const auto lengths = params.lengths();
  const auto formats = params.formats();
  return checked(PQexecParams(conn_, sql.c_str(), static_cast<int>(params.size()), nullptr,
                              values.data(), lengths.data(), formats.data(), 0),
                 "query");
}

Result<int64_t> PgContext::metaIntLocked(const std::string& key, int64_t fallback) {
  auto rows = runLocked("meta_select", PgParams().add(key));
  if (!rows.ok()) return rows.error();
  if (rows->empty()) return fallback;
  return rows->int64(0, 0);
}

Status PgContext::setMetaIntLocked(const std::string& key, int64_t value) {
  auto rows = runLocked("meta_upsert", PgParams().add(key).add(value));
  if (!rows.ok()) return rows.error();
  return Status();
}

int64_t PgContext::schemaVersionLocked() {
  auto version = metaIntLocked("schema_version", 0);
  return version.ok() ? *version : 0;
}

Result<int64_t> PgContext::deleteInBatches(const std::string& step, const PgParams& params) {
  int64_t removed = 0;
  for (;;) {
    std::lock_guard lock(mutex_);
    PgTransaction tx(*this);
    if (!tx.beginStatus().ok()) return tx.beginStatus().error();
    auto rows = runLocked(step, params);
    if (!rows.ok()) return rows.error();
    if (auto st = tx.commit(); !st.ok()) return st.error();
    removed += rows->affected();
    if (rows->affected() < kPruneBatchRows) return removed;
  }
}

// --- PgTransaction ----------------------------------------------------------

PgTransaction::PgTransaction(PgContext& context) : context_(context) {
  begin_ = context_.execLocked("BEGIN");
  open_ = begin_.ok();
  context_.in_transaction_ = open_;
}

PgTransaction::~PgTransaction() {
  if (open_) (void)context_.execLocked("ROLLBACK");
  context_.in_transaction_ = false;
}

Status PgTransaction::commit() {
  open_ = false;
  Status committed = context_.execLocked("COMMIT");
  context_.in_transaction_ = false;
  return committed;
}

}  // namespace pso::controller::store
