#include "agent/spool.h"

#include <unistd.h>

#include <ctime>
#include <filesystem>
#include <limits>
#include <utility>

#include <spdlog/spdlog.h>

#include "common/clock.h"
#include "protocol/codec.h"

namespace pso::agent {
namespace {

namespace fs = std::filesystem;

constexpr int64_t kMaxDirectiveResults = 10000;
/// A spool held in memory keeps at most this many batches whatever the
/// configured bound (about ten minutes at 1 s sampling, a few MB): the bound
/// sized for a disk would let an agent cut off from its controller grow far
/// past its memory budget.
constexpr int64_t kMaxBatchesInMemory = 600;

const std::vector<std::string> kMigrations = {
    R"sql(
CREATE TABLE meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL);
INSERT INTO meta (key, value) VALUES ('last_seq', 0), ('acked_seq', 0);
CREATE TABLE batches (seq INTEGER PRIMARY KEY, created_ms INTEGER NOT NULL,
                      frame BLOB NOT NULL);
CREATE TABLE directive_results (id TEXT PRIMARY KEY, created_ms INTEGER NOT NULL,
                                frame BLOB NOT NULL);
)sql",
    // The oldest_seq a batch was encoded with, so pending() can tell when
    // drops since then have made it stale.
    "ALTER TABLE batches ADD COLUMN oldest_seq INTEGER NOT NULL DEFAULT 0;",
};

std::string compactUtcNow() {
  std::time_t now = std::time(nullptr);
  std::tm tm{};
  ::gmtime_r(&now, &tm);
  char text[32];
  std::strftime(text, sizeof text, "%Y%m%dT%H%M%S", &tm);
  return text;
}

// Moves an unusable spool (and its WAL) out of the way, keeping it for
// inspection rather than deleting what might still hold unsent telemetry.
Result<std::string> moveAside(const std::string& path) {
  std::string base = path + ".corrupt-" + compactUtcNow();
  std::string target = base;
  std::error_code ec;
  for (int n = 1; fs::exists(target, ec); ++n) target = base + "-" + std::to_string(n);
  fs::rename(path, target, ec);
  if (ec) {
    return makeError("io",
                     "cannot move unusable spool " + path + " to " + target + ": " + ec.message());
  }
  if (fs::exists(path + "-wal", ec)) fs::rename(path + "-wal", target + "-wal", ec);
  fs::remove(path + "-shm", ec);
  return target;
}

Error corrupt(const std::string& path, const std::string& what) {
  return makeError("corrupt", "spool " + path + ": " + what);
}

// Error code of a write the spool file refused (see Spool::endTransaction).
constexpr const char* kStorage = "storage";

// SQLite result codes meaning the file refuses writes (full disk, I/O error,
// file-size limit, file gone read-only or damaged under us): a database in
// memory does not share the problem. BUSY or NOMEM would not be helped by it.
bool refusesWrites(int code) {
  switch (code & 0xff) {
    case SQLITE_FULL:
    case SQLITE_IOERR:
    case SQLITE_READONLY:
    case SQLITE_CANTOPEN:
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB:
    case SQLITE_PERM:
      return true;
    default:
      return false;
  }
}

// A stored batch or directive result being carried from the file to memory.
struct CarriedRow {
  int64_t key = 0;
  std::string id;
  int64_t created_ms = 0;
  std::string frame;
  int64_t oldest_seq = 0;
};

}  // namespace

Spool::Spool(std::unique_ptr<common::Database> db, std::string path, int64_t max_batches,
             common::MetricsRegistry* metrics)
    : db_(std::move(db)), path_(std::move(path)), max_batches_(max_batches), metrics_(metrics) {}

Result<std::unique_ptr<Spool>> Spool::open(const std::string& path, int64_t max_batches,
                                           common::MetricsRegistry* metrics) {
  if (max_batches < 1) {
    return makeError("invalid",
                     "spool_max_batches must be at least 1, got " + std::to_string(max_batches));
  }
  std::error_code ec;
  fs::path parent = fs::path(path).parent_path();
  if (!parent.empty()) {
    fs::create_directories(parent, ec);
    if (ec) {
      return makeError("io",
                       "cannot create spool directory " + parent.string() + ": " + ec.message());
    }
  }

  // Any failure after the file exists and is accessible means SQLite cannot use
  // it: that is "corrupt" and handled by moving it aside. Failures to reach the
  // file at all (permissions, missing directory) are reported as they are.
  auto attempt = [&]() -> Result<std::unique_ptr<Spool>> {
    std::error_code exists_ec;
    bool existed = fs::exists(path, exists_ec) && fs::file_size(path, exists_ec) > 0;
    if (existed && ::access(path.c_str(), R_OK | W_OK) != 0) {
      return makeError("io", "cannot open spool " + path + ": no read/write permission");
    }
    Result<std::unique_ptr<common::Database>> db = common::Database::open(path);
    if (!db) {
      if (existed) return corrupt(path, db.error().message);
      return db.error();
    }
    // SQLite's default page cache is 2 MB per connection, a fifth of the
    // agent's memory budget; the spool is written at its end and read in
    // order, so a small cache costs little.
    if (Status status = (*db)->exec("PRAGMA cache_size = -256"); !status) {
      return corrupt(path, status.error().message);
    }
    if (Status status = (*db)->migrate(kMigrations); !status) {
      return corrupt(path, status.error().message);
    }
    Result<bool> intact = (*db)->integrityCheck();
    if (!intact) return corrupt(path, intact.error().message);
    if (!*intact) return corrupt(path, "integrity check failed");
    std::unique_ptr<Spool> spool(new Spool(std::move(db).value(), path, max_batches, metrics));
    if (Status status = spool->prepare(); !status) return corrupt(path, status.error().message);
    if (Status status = spool->load(); !status) return corrupt(path, status.error().message);
    return spool;
  };

  Result<std::unique_ptr<Spool>> spool = attempt();
  std::string recovered_from;
  if (!spool && spool.error().code == "corrupt") {
    Result<std::string> aside = moveAside(path);
    if (!aside) return aside.error();
    spdlog::warn("{}; moved it to {} and started an empty spool (its unsent telemetry is lost)",
                 spool.error().message, *aside);
    recovered_from = *aside;
    spool = attempt();
  }
  if (!spool) return spool.error();
  describeMetrics(metrics);
  if (metrics != nullptr && !recovered_from.empty()) {
    metrics->increment("pso_agent_spool_recovered_total");
  }
  (*spool)->recovered_from_ = std::move(recovered_from);
  (*spool)->publishPending();
  return spool;
}

Result<std::unique_ptr<Spool>> Spool::openOrKeepInMemory(const std::string& path,
                                                         int64_t max_batches,
                                                         common::MetricsRegistry* metrics) {
  Result<std::unique_ptr<Spool>> spool = open(path, max_batches, metrics);
  if (spool || spool.error().code == "invalid") return spool;
  Result<std::unique_ptr<common::Database>> memory = openMemoryDatabase();
  if (!memory) {
    return makeError(
        "io", spool.error().message + "; and no spool in memory either: " + memory.error().message);
  }
  max_batches = std::min(max_batches, kMaxBatchesInMemory);
  std::unique_ptr<Spool> fallback(new Spool(std::move(memory).value(), path, max_batches, metrics));
  if (Status status = fallback->prepare(); !status) return status.error();
  if (Status status = fallback->load(); !status) return status.error();
  fallback->in_memory_ = true;
  spdlog::error(
      "spool: {}; keeping up to {} telemetry batches in memory until restart (lost if the agent "
      "stops before they are acked)",
      spool.error().message, max_batches);
  describeMetrics(metrics);
  if (metrics != nullptr) {
    metrics->increment("pso_agent_spool_storage_failures_total");
    metrics->set("pso_agent_spool_in_memory", {}, 1.0);
  }
  fallback->publishPending();
  return fallback;
}

Result<std::unique_ptr<common::Database>> Spool::openMemoryDatabase() {
  Result<std::unique_ptr<common::Database>> db = common::Database::open(":memory:");
  if (!db) return db.error();
  if (Status status = (*db)->migrate(kMigrations); !status) return status.error();
  return db;
}

void Spool::describeMetrics(common::MetricsRegistry* metrics) {
  if (metrics == nullptr) return;
  metrics->describe("pso_agent_spool_dropped_total", "counter",
                    "Telemetry batches dropped because the spool was full");
  metrics->describe("pso_agent_spool_recovered_total", "counter",
                    "Unusable spool files moved aside at start");
  metrics->describe("pso_agent_spool_pending", "gauge", "Telemetry batches not yet acked");
  metrics->describe("pso_agent_spool_storage_failures_total", "counter",
                    "Spool files that could not be opened or refused a write (the spool then "
                    "moved to memory)");
  metrics->describe("pso_agent_spool_in_memory", "gauge",
                    "1 while the spool is held in memory because its file cannot be used");
  metrics->set("pso_agent_spool_in_memory", {}, 0.0);
}

Status Spool::prepare() {
  struct Entry {
    common::Statement* statement;
    const char* sql;
  };
  const Entry entries[] = {
      {&insert_batch_,
       "INSERT INTO batches (seq, created_ms, frame, oldest_seq) VALUES (?1, ?2, ?3, ?4)"},
      {&delete_through_, "DELETE FROM batches WHERE seq <= ?1"},
      {&select_from_,
       "SELECT seq, frame, oldest_seq FROM batches WHERE seq >= ?1 ORDER BY seq LIMIT ?2"},
      {&set_meta_, "UPDATE meta SET value = ?2 WHERE key = ?1"},
      {&select_result_, "SELECT frame FROM directive_results WHERE id = ?1"},
      {&insert_result_,
       "INSERT OR REPLACE INTO directive_results (id, created_ms, frame) VALUES (?1, ?2, ?3)"},
      {&trim_results_,
       "DELETE FROM directive_results WHERE rowid <= "
       "(SELECT MAX(rowid) FROM directive_results) - ?1"},
  };
  for (const Entry& entry : entries) {
    Result<common::Statement> statement = db_->prepare(entry.sql);
    if (!statement) return statement.error();
    *entry.statement = std::move(statement).value();
  }
  return {};
}

Status Spool::load() {
  Result<common::Statement> meta = db_->prepare("SELECT key, value FROM meta");
  if (!meta) return meta.error();
  bool have_last = false;
  bool have_acked = false;
  for (;;) {
    Result<bool> row = meta->step();
    if (!row) return row.error();
    if (!*row) break;
    std::string key = meta->columnText(0);
    int64_t value = meta->columnInt64(1);
    if (value < 0) return makeError("corrupt", "meta " + key + " is negative");
    if (key == "last_seq") {
      last_seq_ = static_cast<uint64_t>(value);
      have_last = true;
    } else if (key == "acked_seq") {
      acked_seq_ = static_cast<uint64_t>(value);
      have_acked = true;
    }
  }
  if (!have_last || !have_acked) return makeError("corrupt", "meta table lacks sequence rows");

  Result<common::Statement> range =
      db_->prepare("SELECT COUNT(*), COALESCE(MIN(seq), 0), COALESCE(MAX(seq), 0) FROM batches");
  if (!range) return range.error();
  Result<bool> row = range->step();
  if (!row) return row.error();
  if (!*row) return makeError("corrupt", "cannot count batches");
  int64_t count = range->columnInt64(0);
  int64_t min_seq = range->columnInt64(1);
  int64_t max_seq = range->columnInt64(2);
  if (count > 0 && (min_seq < 1 || max_seq - min_seq + 1 != count)) {
    return makeError("corrupt", "stored batches are not a contiguous range of sequence numbers");
  }
  pending_count_ = static_cast<uint64_t>(count);
  oldest_seq_ = static_cast<uint64_t>(min_seq);
  last_seq_ = std::max(last_seq_, static_cast<uint64_t>(max_seq));
  return {};
}

void Spool::publishPending() {
  if (metrics_ != nullptr) {
    metrics_->set("pso_agent_spool_pending", {}, static_cast<double>(pending_count_));
  }
}

Result<uint64_t> Spool::append(protocol::TelemetryBatch& batch) {
  Result<uint64_t> seq = appendOnce(batch);
  if (!seq && shouldMoveToMemory(seq.error())) {
    if (Status moved = moveToMemory(seq.error()); !moved) return moved.error();
    seq = appendOnce(batch);
  }
  return seq;
}

Result<uint64_t> Spool::appendOnce(protocol::TelemetryBatch& batch) {
  const uint64_t seq = nextSeq();
  if (seq > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
    return makeError("invalid", "spool " + path_ + ": sequence numbers exhausted");
  }
  // The size bound drops the oldest batches; the batch records what is left so
  // the controller can tell a gap from loss in transit.
  uint64_t drop = 0;
  if (pending_count_ >= static_cast<uint64_t>(max_batches_)) {
    drop = pending_count_ - static_cast<uint64_t>(max_batches_) + 1;
  }
  const uint64_t remaining = pending_count_ - drop;
  const uint64_t oldest_after_drop = oldest_seq_ + drop;
  batch.seq = seq;
  batch.oldest_seq = remaining > 0 ? oldest_after_drop : seq;
  const std::string frame = protocol::encode(batch);

  Status work = db_->begin();
  if (work && drop > 0) {
    delete_through_.reset();
    delete_through_.bind(1, static_cast<int64_t>(oldest_after_drop - 1));
    work = delete_through_.run();
  }
  if (work) {
    insert_batch_.reset();
    insert_batch_.bind(1, static_cast<int64_t>(seq))
        .bind(2, common::wallMs())
        .bindBlob(3, frame.data(), frame.size())
        .bind(4, static_cast<int64_t>(batch.oldest_seq));
    work = insert_batch_.run();
  }
  if (work) {
    set_meta_.reset();
    set_meta_.bind(1, std::string_view("last_seq")).bind(2, static_cast<int64_t>(seq));
    work = set_meta_.run();
  }
  if (Status status = endTransaction(std::move(work)); !status) return status.error();

  last_seq_ = seq;
  oldest_seq_ = remaining > 0 ? oldest_after_drop : seq;
  pending_count_ = remaining + 1;
  if (drop > 0) {
    dropped_ += drop;
    spdlog::warn("spool {}{} is full ({} batches): dropped {} oldest batch(es) through seq {}",
                 path_, in_memory_ ? " (held in memory)" : "", max_batches_, drop,
                 oldest_after_drop - 1);
    if (metrics_ != nullptr) {
      metrics_->increment("pso_agent_spool_dropped_total", {}, static_cast<double>(drop));
    }
  }
  publishPending();
  return seq;
}

Status Spool::ack(uint64_t seq) {
  Status status = ackOnce(seq);
  if (!status && shouldMoveToMemory(status)) {
    if (Status moved = moveToMemory(status.error()); !moved) return moved;
    status = ackOnce(seq);
  }
  return status;
}

Status Spool::ackOnce(uint64_t seq) {
  if (seq > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
    return makeError("invalid", "ack seq " + std::to_string(seq) + " is out of range");
  }
  const bool raises_acked = seq > acked_seq_;
  const bool deletes = pending_count_ > 0 && seq >= oldest_seq_;
  if (!raises_acked && !deletes) return {};

  Status work = db_->begin();
  if (work) {
    delete_through_.reset();
    delete_through_.bind(1, static_cast<int64_t>(seq));
    work = delete_through_.run();
  }
  if (work && raises_acked) {
    set_meta_.reset();
    set_meta_.bind(1, std::string_view("acked_seq")).bind(2, static_cast<int64_t>(seq));
    work = set_meta_.run();
  }
  if (Status status = endTransaction(std::move(work)); !status) return status;

  if (raises_acked) acked_seq_ = seq;
  if (deletes) {
    if (seq >= last_seq_) {
      pending_count_ = 0;
    } else {
      pending_count_ -= seq - oldest_seq_ + 1;
      oldest_seq_ = seq + 1;
    }
  }
  publishPending();
  return {};
}

Result<std::vector<SpooledBatch>> Spool::pending(uint64_t from_seq, std::size_t limit) {
  std::vector<SpooledBatch> batches;
  if (limit == 0 || pending_count_ == 0 || from_seq > last_seq_) return batches;
  select_from_.reset();
  select_from_
      .bind(1, static_cast<int64_t>(std::min<uint64_t>(
                   from_seq, static_cast<uint64_t>(std::numeric_limits<int64_t>::max()))))
      .bind(2, static_cast<int64_t>(limit));
  for (;;) {
    Result<bool> row = select_from_.step();
    if (!row) return row.error();
    if (!*row) break;
    SpooledBatch batch{static_cast<uint64_t>(select_from_.columnInt64(0)),
                       select_from_.columnBlob(1)};
    const auto stamped = static_cast<uint64_t>(select_from_.columnInt64(2));
    // A batch says which is the oldest seq still held so the controller can
    // accept the gap left by dropped batches. Drops after this batch was
    // encoded make its stamp stale (the controller would wait forever for a
    // dropped seq), so it is re-stamped with the current value.
    if (stamped < oldest_seq_) {
      Result<protocol::Message> decoded = protocol::decode(batch.frame);
      auto* telemetry = decoded ? std::get_if<protocol::TelemetryBatch>(&*decoded) : nullptr;
      if (telemetry == nullptr) {
        select_from_.reset();
        return makeError("corrupt", "spool " + path_ + ": stored batch " +
                                        std::to_string(batch.seq) + " does not decode");
      }
      telemetry->oldest_seq = oldest_seq_;
      batch.frame = protocol::encode(*telemetry);
    }
    batches.push_back(std::move(batch));
  }
  select_from_.reset();
  return batches;
}

Result<std::optional<std::string>> Spool::directiveResult(const std::string& id) {
  select_result_.reset();
  select_result_.bind(1, std::string_view(id));
  Result<bool> row = select_result_.step();
  if (!row) return row.error();
  std::optional<std::string> frame;
  if (*row) frame = select_result_.columnBlob(0);
  select_result_.reset();
  return frame;
}

Status Spool::storeDirectiveResult(const std::string& id, std::string_view frame) {
  Status status = storeDirectiveResultOnce(id, frame);
  if (!status && shouldMoveToMemory(status)) {
    if (Status moved = moveToMemory(status.error()); !moved) return moved;
    status = storeDirectiveResultOnce(id, frame);
  }
  return status;
}

Status Spool::storeDirectiveResultOnce(const std::string& id, std::string_view frame) {
  Status work = db_->begin();
  if (work) {
    insert_result_.reset();
    insert_result_.bind(1, std::string_view(id))
        .bind(2, common::wallMs())
        .bindBlob(3, frame.data(), frame.size());
    work = insert_result_.run();
  }
  if (work) {
    trim_results_.reset();
    trim_results_.bind(1, kMaxDirectiveResults);
    work = trim_results_.run();
  }
  return endTransaction(std::move(work));
}

Status Spool::endTransaction(Status work) {
  if (work) work = db_->commit();
  if (work) return work;
  // Read before the rollback, which replaces SQLite's last result code.
  const int code = sqlite3_extended_errcode(db_->raw());
  // A statement stopped by an error stays active until reset.
  for (common::Statement* statement :
       {&insert_batch_, &delete_through_, &set_meta_, &insert_result_, &trim_results_}) {
    statement->reset();
  }
  db_->rollback();
  if (refusesWrites(code)) return makeError(kStorage, work.error().message);
  return work;
}

bool Spool::shouldMoveToMemory(const Status& status) const {
  return !status && status.error().code == kStorage && !in_memory_;
}

Status Spool::moveToMemory(const Error& cause) {
  // Everything stored is read first, so a failure to read leaves the file
  // spool as it was; batches are carried all or none (they must stay one
  // contiguous range of seqs).
  std::vector<CarriedRow> batches;
  std::string lost_reason;
  if (pending_count_ > 0) {
    select_from_.reset();
    select_from_.bind(1, static_cast<int64_t>(oldest_seq_))
        .bind(2, static_cast<int64_t>(pending_count_));
    for (;;) {
      Result<bool> row = select_from_.step();
      if (!row) {
        lost_reason = row.error().message;
        break;
      }
      if (!*row) break;
      batches.push_back(CarriedRow{select_from_.columnInt64(0),
                                   {},
                                   common::wallMs(),
                                   select_from_.columnBlob(1),
                                   select_from_.columnInt64(2)});
    }
    select_from_.reset();
    if (lost_reason.empty() && batches.size() != pending_count_) {
      lost_reason = "read " + std::to_string(batches.size()) + " of " +
                    std::to_string(pending_count_) + " stored batches";
    }
    if (!lost_reason.empty()) batches.clear();
  }
  // Directive results are what keeps a repeated directive from running twice.
  std::vector<CarriedRow> results;
  if (Result<common::Statement> select =
          db_->prepare("SELECT id, created_ms, frame FROM directive_results ORDER BY rowid");
      select) {
    for (;;) {
      Result<bool> row = select->step();
      if (!row || !*row) break;
      results.push_back(
          CarriedRow{0, select->columnText(0), select->columnInt64(1), select->columnBlob(2), 0});
    }
  }

  Result<std::unique_ptr<common::Database>> memory = openMemoryDatabase();
  if (!memory) {
    return makeError("io",
                     cause.message + "; and no spool in memory either: " + memory.error().message);
  }
  std::unique_ptr<common::Database> file = std::exchange(db_, std::move(memory).value());
  if (Status status = prepare(); !status) {
    db_ = std::move(file);
    (void)prepare();
    return makeError("io",
                     cause.message + "; and no spool in memory either: " + status.error().message);
  }
  in_memory_ = true;
  max_batches_ = std::min(max_batches_, kMaxBatchesInMemory);
  file.reset();

  const uint64_t lost = batches.empty() ? pending_count_ : 0;
  Status work = db_->begin();
  for (const CarriedRow& batch : batches) {
    if (!work) break;
    insert_batch_.reset();
    insert_batch_.bind(1, batch.key)
        .bind(2, batch.created_ms)
        .bindBlob(3, batch.frame.data(), batch.frame.size())
        .bind(4, batch.oldest_seq);
    work = insert_batch_.run();
  }
  for (const CarriedRow& result : results) {
    if (!work) break;
    insert_result_.reset();
    insert_result_.bind(1, std::string_view(result.id))
        .bind(2, result.created_ms)
        .bindBlob(3, result.frame.data(), result.frame.size());
    work = insert_result_.run();
  }
  const std::pair<const char*, uint64_t> meta[] = {{"last_seq", last_seq_},
                                                   {"acked_seq", acked_seq_}};
  for (const auto& [key, value] : meta) {
    if (!work) break;
    set_meta_.reset();
    set_meta_.bind(1, std::string_view(key)).bind(2, static_cast<int64_t>(value));
    work = set_meta_.run();
  }
  if (Status status = endTransaction(std::move(work)); !status) {
    return makeError("io", cause.message + "; and the spool in memory refused its batches: " +
                               status.error().message);
  }
  if (lost > 0) {
    dropped_ += lost;
    pending_count_ = 0;
    if (metrics_ != nullptr) {
      metrics_->increment("pso_agent_spool_dropped_total", {}, static_cast<double>(lost));
    }
  }
  if (metrics_ != nullptr) {
    metrics_->increment("pso_agent_spool_storage_failures_total");
    metrics_->set("pso_agent_spool_in_memory", {}, 1.0);
  }
  if (lost > 0) {
    spdlog::error(
        "spool: cannot write {}: {}; its {} pending batch(es) could not be read ({}) and are "
        "lost; keeping up to {} batches in memory until restart",
        path_, cause.message, lost, lost_reason, max_batches_);
  } else {
    spdlog::error(
        "spool: cannot write {}: {}; moved {} pending batch(es) and {} directive result(s) to "
        "memory, keeping up to {} batches there until restart",
        path_, cause.message, batches.size(), results.size(), max_batches_);
  }
  publishPending();
  return {};
}

}  // namespace pso::agent
