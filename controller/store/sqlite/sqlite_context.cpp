#include "controller/store/sqlite/sqlite_context.h"

#include <chrono>

#include "controller/store/sqlite/schema.h"

namespace pso::controller::store {

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
  context->checkpointer_ = std::thread([raw = context.get()] { raw->checkpointLoop(); });
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
  std::unique_lock lock(checkpoint_mutex_);
  while (!checkpoint_wake_.wait_for(lock, std::chrono::seconds(1), [this] { return stopping_; })) {
    // A failed or partial checkpoint is retried a second later; the last
    // connection to close checkpoints what is left.
    (void)checkpoint_db_->exec("PRAGMA wal_checkpoint(PASSIVE)");
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

Result<int64_t> SqliteContext::deleteInBatches(
    const std::vector<common::Statement*>& steps,
    const std::function<void(common::Statement&)>& bind) {
  int64_t removed = 0;
  for (;;) {
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

}  // namespace pso::controller::store
