// The rollup half of SqliteTelemetryStore: the rollup pass, rollup reads and
// rollup retention.

#include <algorithm>
#include <utility>

#include "controller/store/sqlite/sqlite_telemetry_store.h"

namespace pso::controller::store {
namespace {

using common::ScopedStatement;
using common::Statement;

// Series per rollup transaction: the store is released between groups.
constexpr std::size_t kRollupSeriesPerTransaction = 256;

std::string selectRollups(const std::string& table) {
  return "SELECT bucket_ms, min_value, mean_value, max_value, count FROM " + table +
         " WHERE series_id = ?1 AND bucket_ms >= ?2 AND bucket_ms < ?3 ORDER BY bucket_ms "
         "LIMIT ?4";
}

std::string pruneRollupsSql(const std::string& table) {
  return "DELETE FROM " + table + " WHERE series_id = ?1 AND bucket_ms < ?2";
}

RollupBucket readBucket(const Statement& row) {
  return RollupBucket{row.columnInt64(0), row.columnDouble(1), row.columnDouble(2),
                      row.columnDouble(3), row.columnInt64(4)};
}

}  // namespace

Status SqliteTelemetryStore::prepareRollups() {
  if (auto st = context_.db().prepareAll({
          {&mark_late_,
           "INSERT INTO rollup_late (series_id, from_ms) VALUES (?1, ?2) "
           "ON CONFLICT (series_id) DO UPDATE SET from_ms = MIN(from_ms, excluded.from_ms)"},
          {&select_late_,
           "SELECT series_id, from_ms FROM rollup_late WHERE series_id > ?1 ORDER BY series_id "
           "LIMIT ?2"},
          {&delete_late_, "DELETE FROM rollup_late WHERE series_id = ?1"},
          // A bucket's row is recomputed from what it aggregates and replaces
          // the old one, so running a range twice never counts a sample twice.
          {&roll_minutes_,
           "INSERT OR REPLACE INTO rollups_minute "
           "(series_id, bucket_ms, min_value, mean_value, max_value, count) "
           "VALUES (?1, ?2, ?3, ?4, ?5, ?6)"},
          {&roll_hours_,
           "INSERT OR REPLACE INTO rollups_hour "
           "(series_id, bucket_ms, min_value, mean_value, max_value, count) "
           "SELECT ?1, bucket_ms - (bucket_ms % 3600000) AS bucket, MIN(min_value), "
           "SUM(mean_value * count) / SUM(count), MAX(max_value), SUM(count) "
           "FROM rollups_minute WHERE series_id = ?1 AND bucket_ms >= ?2 AND bucket_ms < ?3 "
           "GROUP BY bucket"},
          {&select_minute_rollups_, selectRollups("rollups_minute")},
          {&select_hour_rollups_, selectRollups("rollups_hour")},
          {&prune_minute_rollups_, pruneRollupsSql("rollups_minute")},
          {&prune_hour_rollups_, pruneRollupsSql("rollups_hour")},
      });
      !st.ok()) {
    return st;
  }
  std::lock_guard lock(context_.mutex());
  auto rolled = context_.metaIntLocked(kRolledUntilKey, 0);
  if (!rolled.ok()) return rolled.error();
  rolled_until_ms_ = *rolled;
  rollup_claimed_ms_ = *rolled;
  return Status();
}

Status SqliteTelemetryStore::rollSeriesLocked(int64_t series_id, const RollupRanges& ranges,
                                              RollupReport& report) {
  if (ranges.minute_from < ranges.minute_to) {
    auto samples = readSamplesLocked(series_id, ranges.minute_from, ranges.minute_to);
    if (!samples.ok()) return samples.error();
    // One row per minute that has samples: min, mean (summed in time order),
    // max, count.
    for (std::size_t i = 0; i < samples->size();) {
      const int64_t bucket = floorToBucket((*samples)[i].ts_ms, kMinuteMs);
      double low = (*samples)[i].value, high = low, sum = 0.0;
      int64_t count = 0;
      for (; i < samples->size() && floorToBucket((*samples)[i].ts_ms, kMinuteMs) == bucket; ++i) {
        const double v = (*samples)[i].value;
        low = std::min(low, v);
        high = std::max(high, v);
        sum += v;
        ++count;
      }
      ScopedStatement s(roll_minutes_);
      s->bind(1, series_id)
          .bind(2, bucket)
          .bind(3, low)
          .bind(4, sum / static_cast<double>(count))
          .bind(5, high)
          .bind(6, count);
      if (auto st = s->run(); !st.ok()) return st;
      ++report.minute_rows;
    }
  }
  if (ranges.hour_from >= ranges.hour_to) return Status();
  ScopedStatement s(roll_hours_);
  s->bind(1, series_id).bind(2, ranges.hour_from).bind(3, ranges.hour_to);
  auto written = s->runCountingChanges();
  if (!written.ok()) return written.error();
  report.hour_rows += *written;
  return Status();
}

Result<RollupReport> SqliteTelemetryStore::rollup(int64_t closed_before_ms) {
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
      auto all = seriesIdsLocked();
      if (!all.ok()) return all.error();
      ids = std::move(*all);
    }
  }

  // The regular pass: buckets between the previous mark and the new one.
  for (std::size_t begin = 0; begin < ids.size(); begin += kRollupSeriesPerTransaction) {
    if (begin > 0) context_.yieldToIngest();
    std::lock_guard lock(context_.mutex());
    if (auto st = rollRegularLocked(ids, begin, previous, target, report); !st.ok()) {
      return st.error();
    }
  }

  // Late samples: recompute their series from the earliest late sample.
  int64_t after_id = 0;
  for (;; context_.yieldToIngest()) {
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

Status SqliteTelemetryStore::rollRegularLocked(const std::vector<int64_t>& ids, std::size_t begin,
                                               int64_t previous, int64_t target,
                                               RollupReport& report) {
  common::Transaction tx(context_.db());
  if (!tx.beginStatus().ok()) return tx.beginStatus();
  const std::size_t end = std::min(ids.size(), begin + kRollupSeriesPerTransaction);
  for (std::size_t i = begin; i < end; ++i) {
    int64_t from = previous;
    if (previous == 0) {
      // The first pass starts at each series' first sample.
      auto first = firstSampleTsLocked(ids[i]);
      if (!first.ok()) return first.error();
      if (!first->has_value()) continue;
      from = floorToBucket(**first, kMinuteMs);
    }
    const RollupRanges ranges{from, target, floorToBucket(from, kHourMs),
                              floorToBucket(target, kHourMs)};
    if (auto st = rollSeriesLocked(ids[i], ranges, report); !st.ok()) {
      return st;
    }
    // The compaction blocks this pass closed: their chunks become one row each.
    if (auto st = compactBlocksLocked(ids[i], floorToBucket(from, kCompactBlockMs),
                                      floorToBucket(target, kCompactBlockMs));
        !st.ok()) {
      return st;
    }
    ++report.series;
  }
  return tx.commit();
}

Result<bool> SqliteTelemetryStore::rollLateGroupLocked(int64_t& after_id, RollupReport& report) {
  // Only buckets whose inputs retention has not removed are recomputed.
  auto samples_pruned = context_.metaIntLocked(kSamplesPrunedKey, 0);
  if (!samples_pruned.ok()) return samples_pruned.error();
  auto minutes_pruned = context_.metaIntLocked(kMinutesPrunedKey, 0);
  if (!minutes_pruned.ok()) return minutes_pruned.error();
  auto late = [&] {
    ScopedStatement s(select_late_);
    s->bind(1, after_id).bind(2, kRollupSeriesPerTransaction);
    return common::collectRows<std::pair<int64_t, int64_t>>(*s, [](const Statement& row) {
      return std::make_pair(row.columnInt64(0), row.columnInt64(1));
    });
  }();
  if (!late.ok()) return late.error();
  if (late->empty()) return false;

  common::Transaction tx(context_.db());
  if (!tx.beginStatus().ok()) return tx.beginStatus().error();
  for (const auto& [series_id, from_ms] : *late) {
    const RollupRanges ranges =
        lateRollupRanges(from_ms, report.rolled_until_ms, *samples_pruned, *minutes_pruned);
    if (auto st = rollSeriesLocked(series_id, ranges, report); !st.ok()) {
      return st.error();
    }
    ScopedStatement s(delete_late_);
    s->bind(1, series_id);
    if (auto st = s->run(); !st.ok()) return st.error();
    ++report.late_series;
    after_id = series_id;
  }
  if (auto st = tx.commit(); !st.ok()) return st.error();
  return true;
}

Result<std::vector<RollupBucket>> SqliteTelemetryStore::rollups(const std::string& system,
                                                                const std::string& metric,
                                                                RollupResolution resolution,
                                                                int64_t since_ms, int64_t until_ms,
                                                                int64_t limit) {
  std::lock_guard lock(context_.mutex());
  return rangeLocked<RollupBucket>(
      {system, metric},
      resolution == RollupResolution::kMinute ? select_minute_rollups_ : select_hour_rollups_,
      since_ms, until_ms, limit, readBucket);
}

int64_t SqliteTelemetryStore::rolledUntil(RollupResolution resolution) {
  std::lock_guard lock(context_.mutex());
  return floorToBucket(rolled_until_ms_, rollupBucketMs(resolution));
}

Result<int64_t> SqliteTelemetryStore::pruneRollups(RollupResolution resolution, int64_t cutoff_ms) {
  std::lock_guard lock(context_.mutex());
  if (resolution == RollupResolution::kMinute) {
    // Hours are never recomputed from minutes that are gone.
    return pruneEverySeriesLocked(deleteBefore(prune_minute_rollups_, cutoff_ms), cutoff_ms,
                                  kMinutesPrunedKey);
  }
  return pruneEverySeriesLocked(deleteBefore(prune_hour_rollups_, cutoff_ms), cutoff_ms, nullptr);
}

std::function<Result<int64_t>(int64_t)> SqliteTelemetryStore::deleteBefore(Statement& prune,
                                                                           int64_t cutoff_ms) {
  return [&prune, cutoff_ms](int64_t series_id) -> Result<int64_t> {
    ScopedStatement s(prune);
    s->bind(1, series_id).bind(2, cutoff_ms);
    return s->runCountingChanges();
  };
}

}  // namespace pso::controller::store
