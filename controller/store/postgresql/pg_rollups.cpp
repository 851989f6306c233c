// The rollup half of PgTelemetryStore: the rollup pass, rollup reads and
// rollup retention.

#include <algorithm>
#include <limits>
#include <utility>

#include "controller/store/postgresql/pg_telemetry_store.h"

namespace pso::controller::store {
namespace {

// Series per rollup transaction: the store is released between groups.
constexpr std::size_t kPgRollupSeriesPerTransaction = 256;

std::string pgSelectRollups(const std::string& table) {
  return "SELECT bucket_ms, min_value, mean_value, max_value, count FROM " + table +
         " WHERE series_id = $1 AND bucket_ms >= $2 AND bucket_ms < $3 ORDER BY bucket_ms "
         "LIMIT $4";
}

// A bucket's row is recomputed from what it aggregates and replaces the old
// one, so running a range twice never counts a sample twice.
std::string pgUpsertRollup(const std::string& table) {
  return "INSERT INTO " + table +
         " (series_id, bucket_ms, min_value, mean_value, max_value, count) ";
}

const char* const kPgRollupConflict =
    " ON CONFLICT (series_id, bucket_ms) DO UPDATE SET min_value = EXCLUDED.min_value, "
    "mean_value = EXCLUDED.mean_value, max_value = EXCLUDED.max_value, count = EXCLUDED.count";

RollupBucket pgBucketAt(const PgRows& rows, int i) {
  return RollupBucket{rows.int64(i, 0), rows.real(i, 1), rows.real(i, 2), rows.real(i, 3),
                      rows.int64(i, 4)};
}

}  // namespace

Status PgTelemetryStore::prepareRollups() {
  std::lock_guard lock(context_.mutex());
  if (auto st = context_.prepareAll({
          {"tele_mark_late",
           "INSERT INTO rollup_late (series_id, from_ms) "
           "SELECT * FROM unnest($1::bigint[], $2::bigint[]) "
           "ON CONFLICT (series_id) DO UPDATE SET "
           "from_ms = LEAST(rollup_late.from_ms, EXCLUDED.from_ms)"},
          {"tele_select_late",
           "SELECT series_id, from_ms FROM rollup_late WHERE series_id > $1 ORDER BY series_id "
           "LIMIT $2"},
          {"tele_delete_late", "DELETE FROM rollup_late WHERE series_id = ANY($1::bigint[])"},
          // Truncating toward zero, as the SQLite store does (ts_ms % 60000).
          {"tele_roll_minutes",
           pgUpsertRollup("rollups_minute") +
               "SELECT series_id, ts_ms - (ts_ms % 60000) AS bucket, MIN(value), AVG(value), "
               "MAX(value), COUNT(*) FROM samples WHERE series_id = ANY($1::bigint[]) "
               "AND ts_ms >= $2 AND ts_ms < $3 GROUP BY series_id, bucket" +
               kPgRollupConflict},
          {"tele_roll_hours",
           pgUpsertRollup("rollups_hour") +
               "SELECT series_id, bucket_ms - (bucket_ms % 3600000) AS bucket, MIN(min_value), "
               "SUM(mean_value * count) / SUM(count)::double precision, MAX(max_value), "
               "SUM(count)::bigint FROM rollups_minute WHERE series_id = ANY($1::bigint[]) "
               "AND bucket_ms >= $2 AND bucket_ms < $3 GROUP BY series_id, bucket" +
               kPgRollupConflict},
          // Every series on a later pass; on the first, the series with a sample.
          {"tele_all_series", "SELECT id FROM series ORDER BY id"},
          {"tele_sampled_series",
           "SELECT id FROM series AS s WHERE EXISTS (SELECT 1 FROM samples WHERE series_id = s.id) "
           "ORDER BY id"},
          {"tele_minute_rollups", pgSelectRollups("rollups_minute")},
          {"tele_hour_rollups", pgSelectRollups("rollups_hour")},
      });
      !st.ok()) {
    return st;
  }
  auto rolled = context_.metaIntLocked(kRolledUntilKey, 0);
  if (!rolled.ok()) return rolled.error();
  rolled_until_ms_ = *rolled;
  rollup_claimed_ms_ = *rolled;
  return Status();
}

Status PgTelemetryStore::rollSeriesLocked(const std::vector<int64_t>& series_ids,
                                          const RollupRanges& ranges, RollupReport& report) {
  auto roll = [&](const char* statement, int64_t from, int64_t to, int64_t& rows) -> Status {
    if (from >= to || series_ids.empty()) return Status();
    auto written = context_.runLocked(statement, PgParams().addArray(series_ids).add(from).add(to));
    if (!written.ok()) return written.error();
    rows += written->affected();
    return Status();
  };
  if (auto st = roll("tele_roll_minutes", ranges.minute_from, ranges.minute_to, report.minute_rows);
      !st.ok()) {
    return st;
  }
  return roll("tele_roll_hours", ranges.hour_from, ranges.hour_to, report.hour_rows);
}

Result<RollupReport> PgTelemetryStore::rollup(int64_t closed_before_ms) {
  std::lock_guard pass(rollup_mutex_);
  RollupReport report;
  const int64_t target = floorToBucket(closed_before_ms, kMinuteMs);
  int64_t previous = 0;
  std::vector<int64_t> ids;
  {
    std::lock_guard lock(context_.mutex());
    previous = rolled_until_ms_;
    report.rolled_until_ms = std::max(previous, target);
    // From here on, ingest marks samples older than the new mark as late, so a
    // sample written between two groups of this pass is not missed.
    rollup_claimed_ms_ = report.rolled_until_ms;
    if (target > previous) {
      auto all = pgAllRows<int64_t>(
          context_.runLocked(previous == 0 ? "tele_sampled_series" : "tele_all_series"),
          [](const PgRows& rows, int i) { return rows.int64(i, 0); });
      if (!all.ok()) return all.error();
      ids = std::move(*all);
    }
  }

  // The regular pass: buckets between the previous mark and the new one. The
  // first pass (previous == 0) covers each series from its first sample, that
  // is every bucket before the new mark.
  constexpr int64_t kEver = std::numeric_limits<int64_t>::min();
  const RollupRanges regular{previous == 0 ? kEver : previous, target,
                             previous == 0 ? kEver : floorToBucket(previous, kHourMs),
                             floorToBucket(target, kHourMs)};
  for (std::size_t begin = 0; begin < ids.size(); begin += kPgRollupSeriesPerTransaction) {
    const std::size_t end = std::min(ids.size(), begin + kPgRollupSeriesPerTransaction);
    const std::vector<int64_t> group(ids.begin() + static_cast<std::ptrdiff_t>(begin),
                                     ids.begin() + static_cast<std::ptrdiff_t>(end));
    std::lock_guard lock(context_.mutex());
    PgTransaction tx(context_);
    if (!tx.beginStatus().ok()) return tx.beginStatus().error();
    if (auto st = rollSeriesLocked(group, regular, report); !st.ok()) return st.error();
    if (auto st = tx.commit(); !st.ok()) return st.error();
    report.series += static_cast<int64_t>(group.size());
  }

  // Late samples: recompute their series from the earliest late sample.
  int64_t after_id = 0;
  while (true) {
    std::lock_guard lock(context_.mutex());
    auto more = rollLateGroupLocked(after_id, report);
    if (!more.ok()) return more.error();
    if (!*more) break;
  }

  if (report.rolled_until_ms > previous) {
    std::lock_guard lock(context_.mutex());
    if (auto st = context_.setMetaIntLocked(kRolledUntilKey, report.rolled_until_ms); !st.ok()) {
      return st.error();
    }
    rolled_until_ms_ = report.rolled_until_ms;
  }
  return report;
}

Result<bool> PgTelemetryStore::rollLateGroupLocked(int64_t& after_id, RollupReport& report) {
  // Only buckets whose inputs retention has not removed are recomputed.
  auto samples_pruned = context_.metaIntLocked(kSamplesPrunedKey, 0);
  if (!samples_pruned.ok()) return samples_pruned.error();
  auto minutes_pruned = context_.metaIntLocked(kMinutesPrunedKey, 0);
  if (!minutes_pruned.ok()) return minutes_pruned.error();
  auto late = pgAllRows<std::pair<int64_t, int64_t>>(
      context_.runLocked("tele_select_late", PgParams().add(after_id).add(static_cast<int64_t>(
                                                 kPgRollupSeriesPerTransaction))),
      [](const PgRows& rows, int i) { return std::make_pair(rows.int64(i, 0), rows.int64(i, 1)); });
  if (!late.ok()) return late.error();
  if (late->empty()) return false;

  PgTransaction tx(context_);
  if (!tx.beginStatus().ok()) return tx.beginStatus().error();
  std::vector<int64_t> done;
  for (const auto& [series_id, from_ms] : *late) {
    const RollupRanges ranges =
        lateRollupRanges(from_ms, report.rolled_until_ms, *samples_pruned, *minutes_pruned);
    if (auto st = rollSeriesLocked({series_id}, ranges, report); !st.ok()) return st.error();
    done.push_back(series_id);
    ++report.late_series;
    after_id = series_id;
  }
  if (auto st = pgDone(context_.runLocked("tele_delete_late", PgParams().addArray(done)));
      !st.ok()) {
    return st.error();
  }
  if (auto st = tx.commit(); !st.ok()) return st.error();
  return true;
}

Result<std::vector<RollupBucket>> PgTelemetryStore::rollups(const std::string& system,
                                                            const std::string& metric,
                                                            RollupResolution resolution,
                                                            int64_t since_ms, int64_t until_ms,
                                                            int64_t limit) {
  std::lock_guard lock(context_.mutex());
  auto id = seriesIdLocked({system, metric}, false);
  if (!id.ok()) return id.error();
  if (!*id) return std::vector<RollupBucket>();
  return pgAllRows<RollupBucket>(
      context_.runLocked(
          resolution == RollupResolution::kMinute ? "tele_minute_rollups" : "tele_hour_rollups",
          PgParams().add(**id).add(since_ms).add(until_ms).addLimit(limit)),
      pgBucketAt);
}

int64_t PgTelemetryStore::rolledUntil(RollupResolution resolution) {
  std::lock_guard lock(context_.mutex());
  return floorToBucket(rolled_until_ms_, rollupBucketMs(resolution));
}

Result<int64_t> PgTelemetryStore::pruneRollups(RollupResolution resolution, int64_t cutoff_ms) {
  if (resolution == RollupResolution::kMinute) {
    // Hours are never recomputed from minutes that are gone.
    return pruneRollupTable("rollups_minute", cutoff_ms, kMinutesPrunedKey);
  }
  return pruneRollupTable("rollups_hour", cutoff_ms, nullptr);
}

Result<int64_t> PgTelemetryStore::pruneRollupTable(const std::string& table, int64_t cutoff_ms,
                                                   const char* pruned_key) {
  if (pruned_key != nullptr) {
    std::lock_guard lock(context_.mutex());
    if (auto st = advancePrunedMarkLocked(pruned_key, cutoff_ms); !st.ok()) return st.error();
  }
  return deleteOlderRows(table, "bucket_ms", cutoff_ms, PgContext::kPruneBatchRows);
}

}  // namespace pso::controller::store
