#pragma once

// The telemetry aggregate on PostgreSQL. Tables: series, samples (partitioned
// by day on ts_ms), rollups_minute, rollups_hour, rollup_late; meta keys of
// the rollup progress and of retention. Ingest, sample reads and retention
// are in pg_telemetry_store.cpp, the rollup pass and rollup reads in
// pg_rollups.cpp.

#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

#include "controller/store/ingest_rules.h"
#include "controller/store/postgresql/pg_context.h"
#include "controller/store/postgresql/pg_fleet_store.h"
#include "controller/store/record_rules.h"
#include "controller/store/sample_log.h"
#include "controller/store/series_id_cache.h"
#include "controller/store/telemetry_store.h"

namespace pso::controller::store {

/// TelemetryStore over the shared PostgreSQL connection. Ingest applies the
/// shared rules (ingest_rules.h) with this class as their target, moving
/// agents' seqs and systems' replica counts through the fleet aggregate in
/// the ingest transaction.
///
/// Samples live in one partition per UTC day of ts_ms, created on demand in
/// the transaction that first writes into the day. pruneSamples drops the
/// partitions that end at or before the cutoff and deletes the older rows of
/// the one the cutoff falls in.
class PgTelemetryStore : public virtual TelemetryStore, private IngestTarget {
 public:
  PgTelemetryStore(PgContext& context, PgFleetStore& fleet) : context_(context), fleet_(fleet) {}

  /// Prepares the statements, loads the rollup progress and the existing
  /// partitions; called once before any other method.
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

  /// The length of a samples partition.
  static constexpr int64_t kPartitionMs = 24 * kHourMs;

 private:
  // Meta keys of the rollup progress and of the times before which
  // retention removed raw samples and minute rows (the SQLite store's names).
  static constexpr const char* kRolledUntilKey = "rollup_minute_until";
  static constexpr const char* kSamplesPrunedKey = "samples_pruned_before";
  static constexpr const char* kMinutesPrunedKey = "rollup_minute_pruned_before";

  Status prepareRollups();
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
  /// Reads the stored seq of every agent and the owner of every system the
  /// batches name, in one statement each; agentSeq and systemOwner answer
  /// from them for the rest of the call (a call of 2,000 one-second batches
  /// made 6,000 round trips before).
  Status prefetch(const std::vector<const protocol::TelemetryBatch*>& batches) override;
  /// Writes the agents' seqs and the systems' replica counts queued by
  /// setAgentSeq and updateReplicas, one statement each.
  Status flushPositionsLocked();

  /// Queues samples of a series (and, with a late_from_ms, its late mark)
  /// for flushSamplesLocked, creating the partitions they need.
  Status queueSamplesLocked(int64_t series_id, const std::vector<Sample>& samples,
                            std::optional<int64_t> late_from_ms);
  /// Writes what is queued, every series in one statement (the last of equal
  /// (series, ts) wins) and the late marks in another: a statement per
  /// series would make ingest wait on a network round trip per series.
  Status flushSamplesLocked();
  /// Drops the queued samples and late marks (written, or a call that failed).
  void dropQueuedSamplesLocked();
  /// Drops everything of the call: queued samples, prefetched seqs and
  /// owners, queued positions.
  void dropCallLocked();
  /// Creates the partitions of the days of `samples` not created yet; they
  /// are remembered in created_days_in_call_ until the transaction commits.
  Status ensurePartitionsLocked(const std::vector<Sample>& samples);
  /// Forgets the series ids and partitions cached by a call that rolled back.
  void forgetCallLocked();
  /// Each of `systems` whose (system, metric) series exists, in the order
  /// given, beside its series id (parallel, so the ids go to one array
  /// parameter); the ids not cached are looked up in one statement.
  struct SeriesOfSystems {
    std::vector<const std::string*> systems;
    std::vector<int64_t> ids;
  };
  Result<SeriesOfSystems> seriesOfSystemsLocked(const std::vector<std::string>& systems,
                                                const std::string& metric);
  /// The series id of (system, metric); with create, inserts a missing one.
  Result<std::optional<int64_t>> seriesIdLocked(const protocol::SeriesKey& key, bool create);
  /// Recomputes the rollup rows of the series over `ranges` (the same for
  /// each); adds what it wrote to the report.
  Status rollSeriesLocked(const std::vector<int64_t>& series_ids, const RollupRanges& ranges,
                          RollupReport& report);
  /// Recomputes one group of series marked late; false when none was left.
  Result<bool> rollLateGroupLocked(int64_t& after_id, RollupReport& report);
  /// Deletes rows older than cutoff_ms of `table` (a rollup table) in
  /// batches, after moving `pruned_key` (when given) to the cutoff.
  Result<int64_t> pruneRollupTable(const std::string& table, int64_t cutoff_ms,
                                   const char* pruned_key);
  /// Deletes the rows of `table` whose `column` is before cutoff_ms, in
  /// transactions of `batch_rows` rows, releasing the store between them.
  Result<int64_t> deleteOlderRows(const std::string& table, const std::string& column,
                                  int64_t cutoff_ms, int64_t batch_rows);
  /// Moves a retention mark in meta forward to cutoff_ms (never back).
  Status advancePrunedMarkLocked(const char* pruned_key, int64_t cutoff_ms);

  PgContext& context_;
  PgFleetStore& fleet_;
  /// Read and written under the context's mutex.
  IngestLimits limits_;
  /// (system, metric) -> series id; ingest looks up every series of every batch.
  SeriesIdCache series_ids_;
  std::vector<protocol::SeriesKey> created_in_call_;
  /// Days (ts_ms / kPartitionMs, floored) whose samples partition exists.
  std::set<int64_t> partition_days_;
  std::vector<int64_t> created_days_in_call_;
  /// Samples queued in this call, in the order written.
  std::vector<SeriesSample> queued_;
  /// Series id -> the oldest late sample queued in this call.
  std::map<int64_t, int64_t> queued_late_;
  /// This call's prefetched seqs (agents that have a row) and owners (every
  /// system named, nullopt for one without an owner).
  std::unordered_map<std::string, uint64_t> call_seqs_;
  std::unordered_map<std::string, std::optional<std::string>> call_owners_;
  /// Agent -> seq, and system -> (replicas, ts_ms) of the newest report,
  /// queued in this call for flushPositionsLocked.
  std::map<std::string, uint64_t> queued_seqs_;
  std::map<std::string, std::pair<int64_t, int64_t>> queued_replicas_;
  /// Samples older than this arriving at ingest mark their series for a
  /// rollup recomputation.
  int64_t rollup_claimed_ms_ = 0;
  /// The persisted progress mark of the last completed pass (rolledUntil).
  int64_t rolled_until_ms_ = 0;
  /// One rollup pass at a time; taken before the context's mutex.
  std::mutex rollup_mutex_;
};

}  // namespace pso::controller::store
