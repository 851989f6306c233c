#pragma once

// The telemetry aggregate on SQLite. Tables: series, samples,
// rollups_minute, rollups_hour, rollup_late; meta keys of the rollup
// progress and of retention. Ingest and sample reads are in
// sqlite_telemetry_store.cpp, the rollup pass and rollup reads in
// sqlite_rollups.cpp.

#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "common/sqlite.h"
#include "controller/store/ingest_rules.h"
#include "controller/store/record_rules.h"
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
  /// The series id of (system, metric); with create, inserts a missing series
  /// and reports it in `created` so a rolled-back transaction can forget it.
  Result<std::optional<int64_t>> seriesIdLocked(const protocol::SeriesKey& key, bool create,
                                                std::vector<protocol::SeriesKey>* created);
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
  /// Runs a per-series range delete (?1 series id, ?2 cutoff) for every
  /// series, in one transaction; returns the rows removed. The per-series
  /// deletes follow the (series_id, time) keys, where one "time < cutoff"
  /// delete would scan the whole table. When the cutoff passes the meta key
  /// `pruned_key`, it moves there, in the same transaction.
  Result<int64_t> pruneEverySeriesLocked(common::Statement& prune, int64_t cutoff_ms,
                                         const char* pruned_key);
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
  common::Statement insert_sample_;
  common::Statement select_samples_;
  common::Statement select_recent_samples_;
  common::Statement select_latest_sample_;
  common::Statement select_recent_since_;
  common::Statement select_window_sum_;
  common::Statement select_metrics_;
  common::Statement select_series_ids_;
  common::Statement prune_series_;
  common::Statement mark_late_;
  common::Statement select_late_;
  common::Statement delete_late_;
  common::Statement select_first_sample_;
  common::Statement roll_minutes_;
  common::Statement roll_hours_;
  common::Statement select_minute_rollups_;
  common::Statement select_hour_rollups_;
  common::Statement prune_minute_rollups_;
  common::Statement prune_hour_rollups_;

  /// (system, metric) -> series id; ingest looks up every series of every batch.
  std::map<protocol::SeriesKey, int64_t> series_ids_;
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
