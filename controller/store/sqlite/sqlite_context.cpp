#include "controller/store/sqlite/sqlite_context.h"

#include <chrono>

#include "common/threads.h"
#include "controller/store/sqlite/schema.h"

namespace pso::controller::store {
namespace {

// WAL frames past which the checkpointer truncates the WAL: 32 MiB of 4 KiB
// pages, a second or less of writing at fleet scale.
constexpr int64_t kWalTruncateFrames = 8192;

}  // namespace

Result<std::unique_ptr<SqliteContext>> SqliteContext::open(const std::string& path) {
  auto db = common::Database::open(path);
  if (!db.ok()) return db.error();
  if (auto migrated = (*db)->migrate(sqliteMigrations()); !migrated.ok()) return migrated.error();
  // Up to 32 MiB of page cache instead of SQLite's 2 MB: at fleet scale the
  // sample and series indexes' hot pages were re-read from the OS page cache
  // on every batch. Pages are allocated as used, so a small database stays small.
  if (auto st = (*db)->exec("PRAGMA cache_size = -32768"); !st.ok()) return st.error();
  if (auto st = (*db)->exec("PRAGMA wal_autocheckpoint = 0"); !st.ok()) return st.error();
  auto checkpoint_db = common::Database::open(path);
  if (!checkpoint_db.ok()) return checkpoint_db.error();
  std::unique_ptr<SqliteContext> context(new SqliteContext(std::move(*db)));
  context->checkpoint_db_ = std::move(*checkpoint_db);
  context->checkpointer_ = std::thread([raw = context.get()] {
    common::nameThisThread("pso-checkpoint");
    raw->checkpointLoop();
  });
  if (auto st = context->db().prepareAll({
          {&context->select_meta_, "SELECT CAST(value AS INTEGER) FROM meta WHERE key = ?1"},
          {&context->upsert_meta_,
           "INSERT INTO meta (key, value) VALUES (?1, ?2) "
           "ON CONFLICT (key) DO UPDATE SET value = excluded.value"},
      });
      !st.ok()) {
    return st.error();
  }
  return context;
}

SqliteContext::~SqliteContext() {
  {
    std::lock_guard lock(checkpoint_mutex_);
    stopping_ = true;
  }
  checkpoint_wake_.notify_all();
  if (checkpointer_.joinable()) checkpointer_.join();
}

void SqliteContext::checkpointLoop() {
  auto passive = checkpoint_db_->prepare("PRAGMA wal_checkpoint(PASSIVE)");
  std::unique_lock lock(checkpoint_mutex_);
  while (!checkpoint_wake_.wait_for(lock, std::chrono::seconds(1), [this] { return stopping_; })) {
    // A failed or partial checkpoint is retried a second later; the last
    // connection to close checkpoints what is left.
    if (!passive.ok()) {
      (void)checkpoint_db_->exec("PRAGMA wal_checkpoint(PASSIVE)");
      continue;
    }
    // Its row: busy, frames in the WAL, frames copied into the file.
    common::ScopedStatement s(*passive);
    auto row = s->step();
    const int64_t frames = row.ok() && *row ? s->columnInt64(1) : 0;
    if (frames < kWalTruncateFrames) continue;
    // A writer that commits without pause never lets the WAL be reset: each
    // passive checkpoint finds new frames past those it copied, so the file
    // grew by the whole write rate (about 40 MB/s at 100,000 samples/s). A
    // truncating checkpoint holds the writers off (their busy timeout)
    // while it copies the few frames the passive one left and empties the
    // file.
    (void)checkpoint_db_->exec("PRAGMA wal_checkpoint(TRUNCATE)");
  }
}

Result<int64_t> SqliteContext::metaIntLocked(const std::string& key, int64_t fallback) {
  common::ScopedStatement s(select_meta_);
  s->bind(1, key);
  auto value = common::firstRow<int64_t>(*s, common::firstColumnInt64);
  if (!value.ok()) return value.error();
  return value->value_or(fallback);
}

Status SqliteContext::setMetaIntLocked(const std::string& key, int64_t value) {
  common::ScopedStatement s(upsert_meta_);
  s->bind(1, key).bind(2, value);
  return s->run();
}

Error asExists(const Error& error, const std::string& what) {
  if (error.message.find("UNIQUE") != std::string::npos ||
      error.message.find("constraint") != std::string::npos) {
    return makeError("exists", what + " already exists");
  }
  return error;
}

SqliteContext::IngestLock::IngestLock(SqliteContext& context) : context_(context) {
  {
    std::lock_guard wait(context_.ingest_wait_mutex_);
    ++context_.ingest_waiting_;
  }
  context_.mutex_.lock();
  {
    std::lock_guard wait(context_.ingest_wait_mutex_);
    --context_.ingest_waiting_;
  }
  context_.ingest_taken_.notify_all();
}

SqliteContext::IngestLock::~IngestLock() {
  context_.mutex_.unlock();
}

bool SqliteContext::yieldToIngest() {
  std::unique_lock wait(ingest_wait_mutex_);
  return ingest_taken_.wait_for(wait, std::chrono::milliseconds(200),
                                [this] { return ingest_waiting_ == 0; });
}

int SqliteContext::ingestWaiting() {
  std::lock_guard wait(ingest_wait_mutex_);
  return ingest_waiting_;
}

Result<int64_t> SqliteContext::deleteInBatches(
    const std::vector<common::Statement*>& steps,
    const std::function<void(common::Statement&)>& bind) {
  int64_t removed = 0;
  for (;; yieldToIngest()) {
    std::lock_guard lock(mutex_);
    common::Transaction tx(*db_);
    if (!tx.beginStatus().ok()) return tx.beginStatus().error();
    int64_t changed = 0;
    for (common::Statement* step : steps) {
      common::ScopedStatement s(*step);
      bind(*s);
      auto count = s->runCountingChanges();
      if (!count.ok()) return count.error();
      changed = *count;
    }
    if (auto st = tx.commit(); !st.ok()) return st.error();
    removed += changed;
    if (changed < kPruneBatchRows) return removed;
  }
}

Result<CompactionReport> SqliteContext::compactInBlocks(const BlockCompaction& how,
                                                        int64_t before_ms, int64_t max_blocks) {
  CompactionReport report;
  while (max_blocks <= 0 || report.blocks < max_blocks) {
    std::vector<std::string> keys;
    std::vector<std::string> texts;
    std::size_t bytes = 0;
    yieldToIngest();
    {
      std::lock_guard lock(mutex_);
      common::ScopedStatement s(*how.select_loose);
      s->bind(1, before_ms).bind(2, static_cast<int64_t>(how.max_records));
      for (;;) {
        auto row = s->step();
        if (!row.ok()) return row.error();
        if (!*row) break;
        std::string text = s->columnText(1);
        if (!texts.empty() && bytes + text.size() > how.max_bytes) break;
        bytes += text.size();
        keys.push_back(s->columnText(0));
        texts.push_back(std::move(text));
      }
    }
    if (texts.empty()) break;
    auto body = encodeRecordBlock(texts, how.layout);
    if (!body.ok()) return body.error();
    std::lock_guard lock(mutex_);
    common::Transaction tx(*db_);
    if (!tx.beginStatus().ok()) return tx.beginStatus().error();
    {
      common::ScopedStatement s(*how.insert_block);
      s->bind(1, static_cast<int64_t>(texts.size())).bindBlob(2, body->data(), body->size());
      if (auto st = s->run(); !st.ok()) return st.error();
    }
    const int64_t block_id = db_->lastInsertRowid();
    for (std::size_t i = 0; i < keys.size(); ++i) {
      common::ScopedStatement s(*how.mark_row);
      s->bind(1, keys[i]).bind(2, block_id).bind(3, static_cast<int64_t>(i)).bind(4, texts[i]);
      auto changed = s->runCountingChanges();
      if (!changed.ok()) return changed.error();
      if (*changed != 1) return report;  // changed meanwhile: rolled back, taken next time
    }
    if (auto st = tx.commit(); !st.ok()) return st.error();
    report.records += static_cast<int64_t>(texts.size());
    report.blocks += 1;
    report.bytes_before += static_cast<int64_t>(bytes);
    report.bytes_after += static_cast<int64_t>(body->size());
  }
  return report;
}

Result<std::string> SqliteContext::takeBlockTextLocked(common::Statement& select_block, int64_t id,
                                                       int64_t position, BlockCache& cache) {
  auto it = cache.find(id);
  if (it == cache.end()) {
    common::ScopedStatement s(select_block);
    s->bind(1, id);
    auto body = common::firstRow<std::string>(
        *s, [](const common::Statement& row) { return row.columnBlob(0); });
    if (!body.ok()) return body.error();
    if (!body->has_value()) {
      return makeError("corrupt", "block " + std::to_string(id) + " is missing");
    }
    auto texts = decodeRecordBlock(**body);
    if (!texts.ok()) {
      return makeError("corrupt", "block " + std::to_string(id) + ": " + texts.error().message);
    }
    it = cache.emplace(id, std::move(*texts)).first;
  }
  if (position < 0 || static_cast<std::size_t>(position) >= it->second.size()) {
    return makeError("corrupt",
                     "block " + std::to_string(id) + " has no record " + std::to_string(position));
  }
  return std::move(it->second[static_cast<std::size_t>(position)]);
}

}  // namespace pso::controller::store
