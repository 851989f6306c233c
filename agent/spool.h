#pragma once

// Store-and-forward for the agent (docs/architecture.md section 2, "Delivery"):
// telemetry batches wait in SQLite until the controller acks them, and
// directive results are kept so a repeated directive is answered, not re-run.

#include <algorithm>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/metrics.h"
#include "common/result.h"
#include "common/sqlite.h"
#include "protocol/messages.h"

namespace pso::agent {

/// One stored telemetry batch: its sequence number and its encoded frame.
struct SpooledBatch {
  uint64_t seq = 0;
  std::string frame;  ///< protocol::encode() of the TelemetryBatch, ready to send
};

/// The agent's spool: one SQLite file in WAL mode.
///
/// Sequence numbers start at 1 and increase by one per batch; they never repeat
/// across restarts: the next one follows the highest ever stored or acked
/// (both kept in a meta table), so a controller that still remembers a seq never
/// mistakes a new batch for a duplicate. Stored batches are always a contiguous
/// range [oldestSeq(), nextSeq()-1]: acks and the size bound only remove its
/// beginning.
///
/// A spool file that SQLite cannot use (not a database, failed integrity check,
/// unreadable schema) is renamed to "<path>.corrupt-<YYYYMMDDTHHMMSS>" and a new
/// empty spool is started; recoveredFrom() tells where it went.
///
/// Falling back to memory: a spool whose file cannot be opened at all
/// (openOrKeepInMemory()) or stops accepting writes (disk full, I/O error, a
/// file-size limit) keeps working as an SQLite ":memory:" database, bounded
/// by the smaller of max_batches and 600 batches, until the process ends. At run time the switch
/// happens inside append(), ack() and storeDirectiveResult(): the write that failed is rolled back,
/// the stored batches and directive results the file still lets us read are copied to memory (all
/// of the batches or, when they cannot be read, none, counted as dropped, so stored batches stay
/// one contiguous range), and the write is done again in memory. Sequence numbers carry on from the
/// same counters, so they stay increasing and the controller's duplicate and gap rules
/// (docs/protocol.md section 4) hold. One line is logged; pso_agent_spool_in_memory is 1 from then
/// on and pso_agent_spool_storage_failures_total counts the failure. Not thread-safe.
class Spool {
 public:
  /// Opens or creates the spool at `path` (creating missing parent
  /// directories), holding at most `max_batches` telemetry batches.
  /// @param metrics optional: pso_agent_spool_dropped_total,
  ///        pso_agent_spool_recovered_total, pso_agent_spool_pending
  [[nodiscard]] static Result<std::unique_ptr<Spool>> open(
      const std::string& path, int64_t max_batches, common::MetricsRegistry* metrics = nullptr);

  /// Like open(), but when the file cannot be opened, created or recovered
  /// (permission denied, a parent that is a regular file, a full disk) it logs
  /// one warning saying why and returns an empty spool held in memory with the
  /// in-memory bound (inMemory() is true). Only an invalid `max_batches` or an
  /// in-memory database that cannot be made is an Error.
  [[nodiscard]] static Result<std::unique_ptr<Spool>> openOrKeepInMemory(
      const std::string& path, int64_t max_batches, common::MetricsRegistry* metrics = nullptr);

  /// Gives `batch` the next seq and the current oldest_seq, encodes and stores
  /// it, first dropping (and counting) the oldest batches when the spool is
  /// full. Returns the seq. A write the file refuses moves the spool to memory
  /// (see the class comment) and is stored there.
  [[nodiscard]] Result<uint64_t> append(protocol::TelemetryBatch& batch);

  /// The controller has durably stored every batch <= seq: delete them.
  [[nodiscard]] Status ack(uint64_t seq);

  /// Up to `limit` stored batches with seq >= from_seq, in seq order. Each
  /// frame's oldest_seq is the spool's current oldestSeq() or older (acked
  /// since): a batch encoded before later drops is re-stamped, so the
  /// controller can always accept the gap the drops left.
  [[nodiscard]] Result<std::vector<SpooledBatch>> pending(uint64_t from_seq, std::size_t limit);

  /// The seq the next append() will use.
  uint64_t nextSeq() const { return std::max(last_seq_, acked_seq_) + 1; }
  /// Oldest stored seq, or nextSeq() when nothing is stored.
  uint64_t oldestSeq() const { return pending_count_ > 0 ? oldest_seq_ : nextSeq(); }
  /// Highest seq the controller has acked (0 before any ack).
  uint64_t ackedSeq() const { return acked_seq_; }
  /// Batches stored, not yet acked.
  uint64_t pendingCount() const { return pending_count_; }
  /// Batches dropped by the size bound since open().
  uint64_t droppedCount() const { return dropped_; }

  /// The stored result of a directive already executed, if any.
  [[nodiscard]] Result<std::optional<std::string>> directiveResult(const std::string& id);
  /// Records the encoded result of directive `id` (the latest 10,000 are kept).
  [[nodiscard]] Status storeDirectiveResult(const std::string& id, std::string_view frame);

  /// Where an unusable spool file was moved at open(); empty when none was.
  const std::string& recoveredFrom() const { return recovered_from_; }
  /// The configured file (kept when the spool moved to memory).
  const std::string& path() const { return path_; }
  /// True once the spool is held in memory (its file could not be used).
  bool inMemory() const { return in_memory_; }

 private:
  Spool(std::unique_ptr<common::Database> db, std::string path, int64_t max_batches,
        common::MetricsRegistry* metrics);
  static Result<std::unique_ptr<common::Database>> openMemoryDatabase();
  static void describeMetrics(common::MetricsRegistry* metrics);
  Status prepare();
  Status load();
  void publishPending();
  Result<uint64_t> appendOnce(protocol::TelemetryBatch& batch);
  Status ackOnce(uint64_t seq);
  Status storeDirectiveResultOnce(const std::string& id, std::string_view frame);
  /// Commits the transaction `work` ran in, or rolls it back; an error SQLite
  /// reports as the file refusing writes gets code "storage".
  Status endTransaction(Status work);
  /// Whether `status` failed because the file refuses writes and the spool
  /// can still move to memory.
  bool shouldMoveToMemory(const Status& status) const;
  Status moveToMemory(const Error& cause);

  std::unique_ptr<common::Database> db_;
  std::string path_;
  int64_t max_batches_;
  common::MetricsRegistry* metrics_;
  std::string recovered_from_;
  bool in_memory_ = false;

  uint64_t last_seq_ = 0;
  uint64_t acked_seq_ = 0;
  uint64_t oldest_seq_ = 0;
  uint64_t pending_count_ = 0;
  uint64_t dropped_ = 0;

  common::Statement insert_batch_;
  common::Statement delete_through_;
  common::Statement select_from_;
  common::Statement set_meta_;
  common::Statement select_result_;
  common::Statement insert_result_;
  common::Statement trim_results_;
};

}  // namespace pso::agent
