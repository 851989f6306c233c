#pragma once

// The telemetry aggregate on SQLite. Tables: series, sample_chunks,
// sample_log, rollups_minute, rollups_hour, rollup_late; meta keys of the
// rollup progress and of retention. Ingest (the shared rules of
// ingest_rules.h applied with this class as their target) and import are
// in sqlite_telemetry_store.cpp; how samples are laid out (in-memory heads,
// the log, compressed chunks) and read back in sqlite_samples.cpp; the
// rollup pass and rollup reads in sqlite_rollups.cpp.
//
// Sample layout: an ingest transaction appends one sample_log row holding
// every sample it stored (sample_log.h) and, once committed, adds them to
// the series' heads in memory. A head that holds kHeadFlushSamples samples,
// or whose first sample arrived kHeadMaxAgeMs ago, is cut into a chunk
// (sample_chunk.h) in a later ingest transaction, which also deletes the log
// rows no head needs; once a six-hour block is rolled up, the rollup pass
// merges each series' chunks of that block into one. A read merges a series' chunks (in the order
// they were written) and its head: the later write of a timestamp wins. At open the log is replayed
// into the heads, skipping what series.flushed_log_id says is in chunks already.

#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "common/sqlite.h"
#include "controller/store/ingest_rules.h"
#include "controller/store/record_rules.h"
#include "controller/store/sample_log.h"
#include "controller/store/series_id_cache.h"
#include "controller/store/sqlite/sqlite_context.h"
#include "controller/store/sqlite/sqlite_fleet_store.h"
#include "controller/store/telemetry_store.h"

namespace pso::controller::store {

/// TelemetryStore over the shared SQLite connection. Ingest applies the
/// shared rules (ingest_rules.h) with this class as their target; it moves
/// the agent's seq and the systems' replica counts through the fleet
/// aggregate, in the ingest transaction.
class SqliteTelemetryStore : public virtual TelemetryStore, private IngestTarget {
 public:
  SqliteTelemetryStore(SqliteContext& context, SqliteFleetStore& fleet)
      : context_(context), fleet_(fleet) {}

  /// Prepares the statements and loads the rollup progress; called once
  /// before any other method.
  [[nodiscard]] Status prepare();

  void setIngestLimits(const IngestLimits& limits) override;
  Result<IngestOutcome> ingestTelemetry(const protocol::TelemetryBatch& batch,
                                        int64_t now_ms) override;
  Result<std::vector<IngestOutcome>> ingestTelemetry(
      const std::vector<protocol::TelemetryBatch>& batches, int64_t now_ms,
      std::vector<StoredSeries>* stored = nullptr) override;
  Result<ImportReport> importSamples(const std::string& system, const std::string& metric,
                                     const std::vector<Sample>& samples) override;
  Result<std::vector<Sample>> samples(const std::string& system, const std::string& metric,
                                      int64_t since_ms, int64_t until_ms, int64_t limit) override;
  Result<std::vector<Sample>> recentSamples(const std::string& system, const std::string& metric,
                                            int64_t until_ms, int64_t count) override;
  Result<std::optional<Sample>> latestSample(const std::string& system,
                                             const std::string& metric) override;
  Result<std::map<std::string, CycleSeriesRead>> cycleReads(
      const std::vector<std::string>& systems, const std::string& metric, int64_t since_ms,
      int64_t window_after_ms, int64_t until_ms, int64_t recent_count) override;
  Result<std::map<std::string, Sample>> latestSamples(const std::vector<std::string>& systems,
                                                      const std::string& metric) override;
  Result<std::vector<std::string>> metrics(const std::string& system) override;
  Result<int64_t> pruneSamples(int64_t cutoff_ms) override;

  Result<RollupReport> rollup(int64_t closed_before_ms) override;
  Result<std::vector<RollupBucket>> rollups(const std::string& system, const std::string& metric,
                                            RollupResolution resolution, int64_t since_ms,
                                            int64_t until_ms, int64_t limit) override;
  int64_t rolledUntil(RollupResolution resolution) override;
  Result<int64_t> pruneRollups(RollupResolution resolution, int64_t cutoff_ms) override;

 private:
  // Meta keys of the rollup progress and of the times before which
  // retention removed raw samples and minute rows.
  static constexpr const char* kRolledUntilKey = "rollup_minute_until";
  static constexpr const char* kSamplesPrunedKey = "samples_pruned_before";
  static constexpr const char* kMinutesPrunedKey = "rollup_minute_pruned_before";

  struct SeriesKeyHash {
    std::size_t operator()(const protocol::SeriesKey& key) const {
      const std::hash<std::string> hash;
      return hash(key.system) * 31 + hash(key.metric);
    }
  };

  /// A head is cut into a chunk once it holds this many samples...
  static constexpr std::size_t kHeadFlushSamples = 120;
  /// ... or once its first sample arrived this long ago (by ingest's now_ms).
  static constexpr int64_t kHeadMaxAgeMs = 2 * 60 * 1000;
  /// How often (by ingest's now_ms) the heads are checked for age.
  static constexpr int64_t kHeadAgeCheckMs = 5 * 1000;
  /// Most heads one ingest transaction cuts; the others wait for the next.
  static constexpr std::size_t kMaxCutsPerTransaction = 2000;
  /// Most log rows (by id) one ingest transaction deletes; the rest go with
  /// the next ones.
  static constexpr int64_t kMaxLogRowsDeletedPerTransaction = 2000;
  /// Most samples one chunk row holds when a long run is written at once
  /// (an import, a legacy table moved into chunks).
  static constexpr std::size_t kChunkRowSamples = 1024;
  /// The span of time whose chunks the rollup pass merges into one row once
  /// it is closed. Six hours of 1 s samples is a row of about 50 KB: the
  /// leaf page SQLite keeps of an overflowing row wastes up to 4 KB, which
  /// over an hour's row was 0.4 bytes per sample (sample_store_bench).
  static constexpr int64_t kCompactBlockMs = 6 * kHourMs;

  /// A series' samples not in a chunk yet, oldest first, one per timestamp.
  struct SeriesHead {
    std::vector<Sample> samples;
    /// The oldest log row holding one of them.
    int64_t first_log_id = 0;
    /// ingest's now_ms when the first of them arrived (0 after a replay).
    int64_t started_ms = 0;
  };
  /// The blobs of a series' newest chunks, kept in memory from the cuts that
  /// wrote them, so the cycle's read of the newest samples needs no query: as
  /// many of the newest as hold kNewestSamplesKept samples (one chunk at a
  /// sample a second; eight at one every 15 s, a head being cut every two
  /// minutes).
  struct NewestChunk {
    struct Held {
      int64_t end_ms = 0;
      std::size_t count = 0;
      std::string blob;
    };
    /// End of the newest held chunk.
    int64_t end_ms = 0;
    /// The newest end of the series' chunks not held (kept as an upper bound).
    int64_t others_end_ms = 0;
    /// Oldest first, in the order they were written.
    std::vector<Held> held;
  };
  /// Samples the newest chunks held in memory reach, where the series has
  /// them: the cycle reads its last 60 samples of demand.
  static constexpr std::size_t kNewestSamplesKept = 64;

  Status prepareRollups();
  /// Prepares the sample statements, moves the rows of a pre-chunk samples
  /// table into chunks, and replays the log into the heads (sqlite_samples.cpp).
  Status prepareSamples();
  Status moveLegacySamplesLocked();
  Status replayLogLocked();
  /// In the open ingest transaction: writes the staged samples' log row,
  /// cuts the heads that are full or old into chunks, and deletes the log
  /// rows no head needs any more. The heads change only in applyStagedLocked.
  Status writeStagedLocked(int64_t now_ms);
  /// Whether the open transaction cut the series' head, among the first
  /// `among_first` (sorted) entries of staged_flushed_.
  bool wasCut(int64_t series_id, std::size_t among_first) const;
  /// After the commit: the staged samples join their heads, cut heads empty.
  void applyStagedLocked();
  /// After a rollback: forgets what the transaction staged.
  void dropStagedLocked();
  /// Writes `samples` (sorted, unique) of a series as chunk rows of at most
  /// `per_row` samples each.
  /// Without `newest`, drops the series' NewestChunk (any write of its
  /// chunks but a cut's does); with it (a cut), describes the last row
  /// written there, for holdNewestLocked() once the transaction commits.
  Status writeChunksLocked(int64_t series_id, std::span<const Sample> samples,
                           std::size_t per_row = kChunkRowSamples, NewestChunk* newest = nullptr);
  /// The series' NewestChunk when its held chunks are still its newest and no
  /// other chunk holds samples at or after since_ms; null otherwise.
  const NewestChunk* newestChunkLocked(int64_t series_id, int64_t since_ms) const;
  /// The samples of the held chunks, merged in the order they were written
  /// (a later write of a timestamp wins), appended to an empty `out`.
  static Status decodeNewest(const NewestChunk& newest, std::vector<Sample>& out);
  /// Installs a cut's newest chunk: appended to the chunks held before when
  /// those are still the series' newest, then the oldest dropped while the
  /// rest hold kNewestSamplesKept samples.
  void holdNewestLocked(int64_t series_id, NewestChunk cut);
  /// Merges a series' chunk rows that lie within the compaction block
  /// starting at block_ms into one (the rollup pass, once the block is
  /// closed): fewer rows, and values packed over the whole block. Leaves
  /// them as they are when a chunk outside them overlaps their time.
  Status compactBlockLocked(int64_t series_id, int64_t block_ms);
  /// compactBlockLocked for every block in [from_ms, to_ms) holding two or
  /// more of the series' chunk rows.
  Status compactBlocksLocked(int64_t series_id, int64_t from_ms, int64_t to_ms);
  Status setFlushedLocked(int64_t series_id, int64_t log_id);
  /// Writes a series' head into chunks now (import), in the open transaction;
  /// the head is dropped by forgetHeadLocked after the commit.
  Status flushHeadNowLocked(int64_t series_id);
  /// Drops a series' head (after its samples were committed to chunks).
  void forgetHeadLocked(int64_t series_id);
  /// In the open retention transaction: writes the samples of a head with
  /// samples older than cutoff_ms that are newer than it to a chunk, marks
  /// the series flushed, and lists it in pruned_heads_ (forgotten after the
  /// commit); returns how many samples it removed.
  Result<int64_t> pruneHeadLocked(int64_t series_id, int64_t cutoff_ms);
  /// The samples of a series with since_ms <= ts < until_ms, oldest first; with
  /// limit > 0 the oldest `limit`.
  Result<std::vector<Sample>> readSamplesLocked(int64_t series_id, int64_t since_ms,
                                                int64_t until_ms, int64_t limit = 0);
  /// The newest `count` samples with since_ms <= ts < until_ms, oldest first.
  Result<std::vector<Sample>> readRecentLocked(int64_t series_id, int64_t since_ms,
                                               int64_t until_ms, int64_t count);
  /// The timestamp of a series' oldest sample, none when it has none.
  Result<std::optional<int64_t>> firstSampleTsLocked(int64_t series_id);
  /// Deletes a series' samples older than cutoff_ms; returns how many.
  Result<int64_t> pruneSeriesSamplesLocked(int64_t series_id, int64_t cutoff_ms);
  Result<std::vector<IngestOutcome>> ingestLocked(
      const std::vector<const protocol::TelemetryBatch*>& batches, int64_t now_ms,
      std::vector<StoredSeries>* stored);
  // IngestTarget, called by ingestBatches under the mutex in the ingest
  // transaction.
  Result<uint64_t> agentSeq(const std::string& agent_id, int64_t now_ms) override;
  Status setAgentSeq(const std::string& agent_id, uint64_t seq) override;
  Result<std::optional<std::string>> systemOwner(const std::string& system) override;
  Status writeSamples(const protocol::SeriesKey& key, const std::vector<Sample>& samples,
                      int64_t oldest_ts_ms) override;
  Status updateReplicas(const std::string& system, int64_t replicas, int64_t ts_ms) override;
  /// The series id of (system, metric); with create, inserts a missing series
  /// and reports it in `created` so a rolled-back transaction can forget it.
  /// Without create, a key found missing before is answered from
  /// missing_series_; missing_checked says the caller has just run
  /// checkKnownMissingLocked() (a read of many series checks once).
  Result<std::optional<int64_t>> seriesIdLocked(const protocol::SeriesKey& key, bool create,
                                                std::vector<protocol::SeriesKey>* created,
                                                bool missing_checked = false);
  /// Empties missing_series_ when another connection has committed since it
  /// was filled (SQLite's data_version moved), so its series are seen.
  Status checkKnownMissingLocked();
  Result<std::vector<int64_t>> seriesIdsLocked();
  /// The rows of `range` (?1 series id, ?2 since, ?3 until, ?4 limit) for a
  /// series, each turned into a T by `read`; none for an unknown series.
  template <typename T, typename Read>
  Result<std::vector<T>> rangeLocked(const protocol::SeriesKey& key, common::Statement& range,
                                     int64_t since_ms, int64_t until_ms, int64_t limit,
                                     Read&& read) {
    auto id = seriesIdLocked(key, false, nullptr);
    if (!id.ok()) return id.error();
    if (!*id) return std::vector<T>();
    common::ScopedStatement s(range);
    s->bind(1, **id).bind(2, since_ms).bind(3, until_ms).bind(4, common::sqlLimit(limit));
    return common::collectRows<T>(*s, read);
  }
  /// Runs `prune` (a per-series delete, returning the rows or samples it
  /// removed) for every series, in one transaction; returns the sum. The
  /// per-series deletes follow the (series_id, time) keys, where one "time <
  /// cutoff" delete would scan the whole table. When the cutoff passes the
  /// meta key `pruned_key`, it moves there, in the same transaction.
  Result<int64_t> pruneEverySeriesLocked(
      const std::function<Result<int64_t>(int64_t series_id)>& prune, int64_t cutoff_ms,
      const char* pruned_key);
  /// A per-series range delete statement (?1 series id, ?2 cutoff) as a
  /// pruneEverySeriesLocked step.
  std::function<Result<int64_t>(int64_t)> deleteBefore(common::Statement& prune, int64_t cutoff_ms);
  /// Recomputes series_id's minute rows over the ranges' minutes from the
  /// samples and its hour rows over their hours from the minute rows; adds
  /// the rows written to the report.
  Status rollSeriesLocked(int64_t series_id, const RollupRanges& ranges, RollupReport& report);
  /// The regular pass over one group of series, ids[begin, begin + group), in
  /// one transaction: buckets in [previous, target), or from each series'
  /// first sample on the first pass (previous == 0).
  Status rollRegularLocked(const std::vector<int64_t>& ids, std::size_t begin, int64_t previous,
                           int64_t target, RollupReport& report);
  /// Recomputes one group of series marked late; false when none was left.
  Result<bool> rollLateGroupLocked(int64_t& after_id, RollupReport& report);

  SqliteContext& context_;
  SqliteFleetStore& fleet_;
  /// Read and written under the context's mutex.
  IngestLimits limits_;

  common::Statement select_series_;
  common::Statement insert_series_;
  common::Statement insert_chunk_;
  common::Statement update_chunk_;
  common::Statement delete_chunk_;
  common::Statement select_chunks_;
  common::Statement select_chunks_newest_;
  common::Statement select_chunks_before_;
  common::Statement select_first_chunk_;
  common::Statement select_chunk_ends_;
  common::Statement select_chunk_spans_;
  common::Statement select_block_chunks_;
  common::Statement count_chunks_between_;
  common::Statement insert_log_;
  common::Statement delete_log_before_;
  common::Statement select_log_;
  common::Statement set_flushed_;
  common::Statement select_flushed_;
  common::Statement select_metrics_;
  common::Statement select_series_ids_;
  common::Statement data_version_;
  common::Statement mark_late_;
  common::Statement select_late_;
  common::Statement delete_late_;
  common::Statement roll_minutes_;
  common::Statement roll_hours_;
  common::Statement select_minute_rollups_;
  common::Statement select_hour_rollups_;
  common::Statement prune_minute_rollups_;
  common::Statement prune_hour_rollups_;

  /// Samples not in a chunk yet, per series id.
  std::unordered_map<int64_t, SeriesHead> heads_;
  /// How many heads have each first_log_id: the oldest log row still needed
  /// is the first key.
  std::map<int64_t, int64_t> head_log_ids_;
  /// Per series id, the newest end_ms of its chunks (an upper bound after
  /// retention): a read of times after it is served by the head alone.
  std::unordered_map<int64_t, int64_t> chunk_end_ms_;
  /// The id of the newest log row written (never reused).
  int64_t last_log_id_ = 0;
  /// Log rows below this id are deleted.
  int64_t log_kept_from_ = 0;
  /// ingest's now_ms at which the heads are next checked for age.
  int64_t next_age_check_ms_ = 0;
  /// What the open ingest transaction staged (writeStagedLocked).
  std::vector<SeriesSample> staged_;
  std::span<SampleLogEntry> staged_entries_;
  std::vector<SampleLogEntry> entry_pool_;
  /// Series cut into chunks by the open transaction, with their heads'
  /// first_log_id (0 for a series that had no head), ordered by series id.
  std::vector<std::pair<int64_t, int64_t>> staged_flushed_;
  int64_t staged_log_id_ = 0;
  int64_t staged_kept_from_ = 0;
  int64_t staged_now_ms_ = 0;
  /// Per series id, its newest chunk's blob (see NewestChunk); the ones the
  /// open ingest transaction wrote join once it commits.
  std::unordered_map<int64_t, NewestChunk> newest_chunks_;
  std::vector<std::pair<int64_t, NewestChunk>> staged_newest_;
  /// Heads the open retention transaction emptied (pruneHeadLocked).
  std::vector<int64_t> pruned_heads_;

  /// (system, metric) -> series id; ingest looks up every series of every batch.
  SeriesIdCache series_ids_;
  /// Keys looked up without create and found missing, valid while
  /// data_version is missing_version_ (checkKnownMissingLocked).
  std::unordered_set<protocol::SeriesKey, SeriesKeyHash> missing_series_;
  int64_t missing_version_ = -1;
  /// Series the running ingest call created, forgotten if it rolls back.
  std::vector<protocol::SeriesKey> created_in_call_;
  /// Samples older than this arriving at ingest mark their series for a
  /// rollup recomputation: the end of the buckets a running or completed
  /// rollup pass covers.
  int64_t rollup_claimed_ms_ = 0;
  /// The persisted progress mark of the last completed pass (rolledUntil).
  int64_t rolled_until_ms_ = 0;
  /// One rollup pass at a time; taken before the context's mutex, never while
  /// holding it.
  std::mutex rollup_mutex_;
};

}  // namespace pso::controller::store
