#pragma once

// What every aggregate of the SQLite store shares: the one connection, the
// one mutex that serialises it, and the meta table of named integers.
//
// Checkpoints: the connection does not checkpoint the WAL on commit (SQLite's
// default, every 1,000 pages, copies pages and syncs the file inside the
// committing call, which is the telemetry writer's); a thread of the
// context's own, on a second connection, runs a passive checkpoint every
// second instead, which never blocks a writer. When the WAL still holds more
// than 8,192 frames (32 MiB of 4 KiB pages) after it, a truncating checkpoint
// follows: under a writer that never pauses, passive checkpoints alone let
// the WAL grow without bound.
//
// Locking: each public method of an aggregate takes mutex() for its whole
// call; methods named *Locked expect the caller to hold it already (and, when
// they write, to have a transaction open when the write must join one).
// Ingest goes first: std::mutex is not fair, and a background pass that
// releases it between groups (rollups, retention, compaction) took it back
// before the waiting telemetry writer woke, so at 98,000 series a
// four-second rollup pass left the writer's queue full. Ingest takes the
// mutex through IngestLock, and such passes call yieldToIngest() between
// their groups.

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "common/result.h"
#include "common/sqlite.h"
#include "controller/store/record_block.h"
#include "controller/store/records.h"

namespace pso::controller::store {

class SqliteContext {
 public:
  /// Opens the database at `path` and applies sqliteMigrations().
  [[nodiscard]] static Result<std::unique_ptr<SqliteContext>> open(const std::string& path);

  ~SqliteContext();
  SqliteContext(const SqliteContext&) = delete;
  SqliteContext& operator=(const SqliteContext&) = delete;

  common::Database& db() { return *db_; }
  std::mutex& mutex() { return mutex_; }

  /// mutex(), taken for ingest: while it waits, yieldToIngest() waits too.
  class IngestLock {
   public:
    explicit IngestLock(SqliteContext& context);
    ~IngestLock();
    IngestLock(const IngestLock&) = delete;
    IngestLock& operator=(const IngestLock&) = delete;

   private:
    SqliteContext& context_;
  };
  /// Called without mutex() held, between the groups of a long background
  /// pass: returns once no IngestLock is waiting for mutex() (true), or
  /// after 200 ms (false), so a pass still ends under ingest that never
  /// pauses.
  bool yieldToIngest();
  /// IngestLocks waiting for mutex() now.
  int ingestWaiting();

  /// The integer stored under `key` in meta, `fallback` when there is none.
  [[nodiscard]] Result<int64_t> metaIntLocked(const std::string& key, int64_t fallback);
  [[nodiscard]] Status setMetaIntLocked(const std::string& key, int64_t value);

  /// Runs `steps` (DELETEs of at most kPruneBatchRows rows each, whose
  /// parameters `bind` sets; the last one removes the rows counted, the
  /// ones before it what refers to them) again and again, each run in one
  /// transaction under mutex(), which is released between runs so ingest
  /// and the API are not stopped behind a long retention pass. Stops when a
  /// run's last step removes fewer than kPruneBatchRows rows; returns the
  /// rows it removed in all. Takes mutex() itself.
  [[nodiscard]] Result<int64_t> deleteInBatches(
      const std::vector<common::Statement*>& steps,
      const std::function<void(common::Statement&)>& bind);
  static constexpr int64_t kPruneBatchRows = 500;

  /// How compactInBlocks() reads, writes and marks the rows of one table.
  struct BlockCompaction {
    /// ?1 before_ms, ?2 limit: (key, text) of the rows not compact yet, oldest first.
    common::Statement* select_loose = nullptr;
    /// ?1 record count, ?2 body: inserts a block.
    common::Statement* insert_block = nullptr;
    /// ?1 key, ?2 block id, ?3 position, ?4 text: marks a row compact (and
    /// empties its text), changing it only while it is not compact and its
    /// text is still ?4.
    common::Statement* mark_row = nullptr;
    RecordBlockLayout layout = RecordBlockLayout::kTexts;
    std::size_t max_records = 1;  ///< rows per block at most
    std::size_t max_bytes = 0;    ///< texts per block at most (a longer single text is a block)
  };

  /// Rewrites the rows before before_ms into blocks of the oldest rows, at
  /// most max_blocks (<= 0: until none is left). Reads a block's rows under
  /// mutex(), encodes them without it, then writes the block and marks its
  /// rows in one transaction under mutex(); a row changed in between leaves
  /// the block unwritten and ends the call (the next call takes it again).
  /// Takes mutex() itself.
  [[nodiscard]] Result<CompactionReport> compactInBlocks(const BlockCompaction& how,
                                                         int64_t before_ms, int64_t max_blocks);

  /// Decoded blocks of one read, by block id.
  using BlockCache = std::unordered_map<int64_t, std::vector<std::string>>;
  /// Moves the text at `position` of block `id` (read by `select_block`: ?1
  /// id, one column: the body) out of `cache`, decoding the block into the
  /// cache the first time. A missing block, a position outside it or a blob
  /// that does not decode is code "corrupt". Expects mutex() held.
  [[nodiscard]] Result<std::string> takeBlockTextLocked(common::Statement& select_block, int64_t id,
                                                        int64_t position, BlockCache& cache);

 private:
  explicit SqliteContext(std::unique_ptr<common::Database> db) : db_(std::move(db)) {}
  /// The checkpointer thread: a passive checkpoint a second until stopped,
  /// and a truncating one when the WAL is still long after it.
  void checkpointLoop();

  std::mutex mutex_;
  std::mutex ingest_wait_mutex_;
  std::condition_variable ingest_taken_;
  int ingest_waiting_ = 0;  // IngestLocks waiting for mutex_, under ingest_wait_mutex_
  std::unique_ptr<common::Database> db_;
  std::unique_ptr<common::Database> checkpoint_db_;
  std::mutex checkpoint_mutex_;
  std::condition_variable checkpoint_wake_;
  bool stopping_ = false;
  std::thread checkpointer_;
  common::Statement select_meta_;
  common::Statement upsert_meta_;
};

/// SQLite reports a UNIQUE / PRIMARY KEY violation only in its message;
/// callers get the stable code "exists" naming `what` for it, other errors
/// unchanged.
Error asExists(const Error& error, const std::string& what);

}  // namespace pso::controller::store
