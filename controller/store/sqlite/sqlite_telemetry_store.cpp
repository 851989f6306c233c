#include "controller/store/sqlite/sqlite_telemetry_store.h"

#include <algorithm>
#include <cmath>
#include <functional>
#include <limits>
#include <tuple>
#include <utility>

#include "controller/store/record_rules.h"

namespace pso::controller::store {
namespace {

using common::ScopedStatement;
using common::Statement;

// Samples per importSamples transaction: the store is released between them.
constexpr std::size_t kImportSamplesPerTransaction = 10000;
// Keys remembered as missing: several times what a 10,000-system fleet's
// cycle asks for and does not find (a health_score for each system).
constexpr std::size_t kMaxKnownMissingSeries = 65536;

}  // namespace

void SqliteTelemetryStore::setIngestLimits(const IngestLimits& limits) {
  std::lock_guard lock(context_.mutex());
  limits_ = normalizedIngestLimits(limits);
}

Status SqliteTelemetryStore::prepare() {
  if (auto st = context_.db().prepareAll({
          {&select_series_, "SELECT id FROM series WHERE system = ?1 AND metric = ?2"},
          {&insert_series_, "INSERT INTO series (system, metric) VALUES (?1, ?2)"},
          {&select_metrics_, "SELECT metric FROM series WHERE system = ?1 ORDER BY metric"},
          {&select_series_ids_, "SELECT id FROM series ORDER BY id"},
          {&data_version_, "PRAGMA data_version"},
      });
      !st.ok()) {
    return st;
  }
  if (auto st = prepareSamples(); !st.ok()) return st;
  return prepareRollups();
}

Result<std::optional<int64_t>> SqliteTelemetryStore::seriesIdLocked(
    const protocol::SeriesKey& key, bool create, std::vector<protocol::SeriesKey>* created,
    bool missing_checked) {
  if (auto cached = series_ids_.find(key)) return cached;
  // A key this connection found missing stays missing until it creates the
  // series itself or another connection (psoctl import) commits a change:
  // the cycle asks for every system's health_score, which most do not send.
  if (!create) {
    if (!missing_checked) {
      if (auto st = checkKnownMissingLocked(); !st.ok()) return st.error();
    }
    if (missing_series_.contains(key)) return std::optional<int64_t>();
  }
  {
    ScopedStatement s(select_series_);
    s->bind(1, key.system).bind(2, key.metric);
    auto id = common::firstRow<int64_t>(*s, common::firstColumnInt64);
    if (!id.ok()) return id.error();
    if (id->has_value()) {
      series_ids_.insert(key, **id);
      missing_series_.erase(key);
      return *id;
    }
  }
  if (!create) {
    // Bounded: API callers can ask for any number of names that do not exist.
    if (missing_series_.size() >= kMaxKnownMissingSeries) missing_series_.clear();
    missing_series_.insert(key);
    return std::optional<int64_t>();
  }
  ScopedStatement s(insert_series_);
  s->bind(1, key.system).bind(2, key.metric);
  if (auto st = s->run(); !st.ok()) return st.error();
  const int64_t id = context_.db().lastInsertRowid();
  series_ids_.insert(key, id);
  missing_series_.erase(key);
  if (created != nullptr) created->push_back(key);
  return std::optional<int64_t>(id);
}

Status SqliteTelemetryStore::checkKnownMissingLocked() {
  ScopedStatement s(data_version_);
  auto version = common::firstRow<int64_t>(*s, common::firstColumnInt64);
  if (!version.ok()) return version.error();
  const int64_t now = version->value_or(-1);
  if (now != missing_version_) {
    missing_series_.clear();
    missing_version_ = now;
  }
  return Status();
}

Result<std::vector<int64_t>> SqliteTelemetryStore::seriesIdsLocked() {
  ScopedStatement s(select_series_ids_);
  return common::collectRows<int64_t>(*s, common::firstColumnInt64);
}

Result<IngestOutcome> SqliteTelemetryStore::ingestTelemetry(const protocol::TelemetryBatch& batch,
                                                            int64_t now_ms) {
  SqliteContext::IngestLock lock(context_);
  auto outcomes = ingestLocked({&batch}, now_ms, nullptr);
  if (!outcomes.ok()) return outcomes.error();
  return outcomes->front();
}

Result<std::vector<IngestOutcome>> SqliteTelemetryStore::ingestTelemetry(
    const std::vector<protocol::TelemetryBatch>& batches, int64_t now_ms,
    std::vector<StoredSeries>* stored) {
  SqliteContext::IngestLock lock(context_);
  return ingestBatchList(batches, stored, [&](const auto& pointers) {
    return ingestLocked(pointers, now_ms, stored);
  });
}

Result<std::vector<IngestOutcome>> SqliteTelemetryStore::ingestLocked(
    const std::vector<const protocol::TelemetryBatch*>& batches, int64_t now_ms,
    std::vector<StoredSeries>* stored) {
  // Series ids cached during a transaction that rolls back must not outlive it.
  created_in_call_.clear();
  auto fail = [&](const Error& error) -> Result<std::vector<IngestOutcome>> {
    for (const auto& key : created_in_call_) series_ids_.erase(key);
    dropStagedLocked();
    return error;
  };
  common::Transaction tx(context_.db());
  if (!tx.beginStatus().ok()) return tx.beginStatus().error();
  auto outcomes = ingestBatches(batches, now_ms, limits_, *this, stored);
  if (!outcomes.ok()) return fail(outcomes.error());
  // The samples written are staged: one log row, and the cuts of full or
  // old heads, join the transaction; the heads change once it commits.
  if (auto st = writeStagedLocked(now_ms); !st.ok()) return fail(st.error());
  if (auto st = tx.commit(); !st.ok()) return fail(st.error());
  applyStagedLocked();
  return outcomes;
}

Result<uint64_t> SqliteTelemetryStore::agentSeq(const std::string& agent_id, int64_t now_ms) {
  return fleet_.agentSeqLocked(agent_id, now_ms);
}

Status SqliteTelemetryStore::setAgentSeq(const std::string& agent_id, uint64_t seq) {
  return fleet_.setAgentSeqLocked(agent_id, seq);
}

Result<std::optional<std::string>> SqliteTelemetryStore::systemOwner(const std::string& system) {
  return fleet_.systemOwnerLocked(system);
}

Status SqliteTelemetryStore::updateReplicas(const std::string& system, int64_t replicas,
                                            int64_t ts_ms) {
  return fleet_.updateReplicasLocked(system, replicas, ts_ms);
}

Status SqliteTelemetryStore::writeSamples(const protocol::SeriesKey& key,
                                          const std::vector<Sample>& samples,
                                          int64_t oldest_ts_ms) {
  auto id = seriesIdLocked(key, true, &created_in_call_);
  if (!id.ok()) return id.error();
  const int64_t series_id = **id;
  for (const Sample& sample : samples) staged_.push_back({series_id, sample});
  // A sample for a bucket that is already rolled up: the next rollup pass
  // recomputes this series from there.
  if (oldest_ts_ms < rollup_claimed_ms_) {
    ScopedStatement s(mark_late_);
    s->bind(1, series_id).bind(2, oldest_ts_ms);
    if (auto st = s->run(); !st.ok()) return st;
  }
  return Status();
}

Result<std::vector<Sample>> SqliteTelemetryStore::samples(const std::string& system,
                                                          const std::string& metric,
                                                          int64_t since_ms, int64_t until_ms,
                                                          int64_t limit) {
  std::lock_guard lock(context_.mutex());
  auto id = seriesIdLocked({system, metric}, false, nullptr);
  if (!id.ok()) return id.error();
  if (!*id) return std::vector<Sample>();
  return readSamplesLocked(**id, since_ms, until_ms, limit);
}

Result<std::vector<Sample>> SqliteTelemetryStore::recentSamples(const std::string& system,
                                                                const std::string& metric,
                                                                int64_t until_ms, int64_t count) {
  std::lock_guard lock(context_.mutex());
  auto id = seriesIdLocked({system, metric}, false, nullptr);
  if (!id.ok()) return id.error();
  if (!*id) return std::vector<Sample>();
  return readRecentLocked(**id, std::numeric_limits<int64_t>::min(), until_ms, count);
}

Result<std::optional<Sample>> SqliteTelemetryStore::latestSample(const std::string& system,
                                                                 const std::string& metric) {
  std::lock_guard lock(context_.mutex());
  auto id = seriesIdLocked({system, metric}, false, nullptr);
  if (!id.ok()) return id.error();
  if (!*id) return std::optional<Sample>();
  auto newest = readRecentLocked(**id, std::numeric_limits<int64_t>::min(),
                                 std::numeric_limits<int64_t>::max(), 1);
  if (!newest.ok()) return newest.error();
  if (newest->empty()) return std::optional<Sample>();
  return std::optional<Sample>(newest->back());
}

Result<std::map<std::string, CycleSeriesRead>> SqliteTelemetryStore::cycleReads(
    const std::vector<std::string>& systems, const std::string& metric, int64_t since_ms,
    int64_t window_after_ms, int64_t until_ms, int64_t recent_count) {
  std::lock_guard lock(context_.mutex());
  // One check of the missing keys for the whole fleet's lookups.
  if (auto st = checkKnownMissingLocked(); !st.ok()) return st.error();
  std::map<std::string, CycleSeriesRead> reads;
  for (const auto& system : systems) {
    auto id = seriesIdLocked({system, metric}, false, nullptr, true);
    if (!id.ok()) return id.error();
    if (!*id) continue;
    CycleSeriesRead read;
    auto recent = recent_count > 0 ? readRecentLocked(**id, since_ms, until_ms, recent_count)
                                   : readSamplesLocked(**id, since_ms, until_ms);
    if (!recent.ok()) return recent.error();
    if (recent->empty()) continue;
    read.recent = std::move(*recent);
    auto window = readSamplesLocked(**id, saturatingAdd(window_after_ms, 1), until_ms);
    if (!window.ok()) return window.error();
    for (const auto& sample : *window) read.window_sum += sample.value;
    read.window_count = static_cast<int64_t>(window->size());
    reads.emplace(system, std::move(read));
  }
  return reads;
}

Result<std::map<std::string, Sample>> SqliteTelemetryStore::latestSamples(
    const std::vector<std::string>& systems, const std::string& metric) {
  std::lock_guard lock(context_.mutex());
  // One check of the missing keys for the whole fleet's lookups.
  if (auto st = checkKnownMissingLocked(); !st.ok()) return st.error();
  std::map<std::string, Sample> latest;
  for (const auto& system : systems) {
    auto id = seriesIdLocked({system, metric}, false, nullptr, true);
    if (!id.ok()) return id.error();
    if (!*id) continue;
    auto newest = readRecentLocked(**id, std::numeric_limits<int64_t>::min(),
                                   std::numeric_limits<int64_t>::max(), 1);
    if (!newest.ok()) return newest.error();
    if (!newest->empty()) latest.emplace(system, newest->back());
  }
  return latest;
}

Result<std::vector<std::string>> SqliteTelemetryStore::metrics(const std::string& system) {
  std::lock_guard lock(context_.mutex());
  ScopedStatement s(select_metrics_);
  s->bind(1, system);
  return common::collectRows<std::string>(*s, common::firstColumnText);
}

Result<int64_t> SqliteTelemetryStore::pruneSamples(int64_t cutoff_ms) {
  std::lock_guard lock(context_.mutex());
  pruned_heads_.clear();
  // Rollup recomputations must not start in a bucket whose samples are gone.
  auto removed =
      pruneEverySeriesLocked([&](int64_t id) { return pruneSeriesSamplesLocked(id, cutoff_ms); },
                             cutoff_ms, kSamplesPrunedKey);
  // The heads whose samples the committed transaction moved or removed.
  if (removed.ok()) {
    for (int64_t id : pruned_heads_) forgetHeadLocked(id);
  }
  pruned_heads_.clear();
  return removed;
}

Result<int64_t> SqliteTelemetryStore::pruneEverySeriesLocked(
    const std::function<Result<int64_t>(int64_t series_id)>& prune, int64_t cutoff_ms,
    const char* pruned_key) {
  auto ids = seriesIdsLocked();
  if (!ids.ok()) return ids.error();
  common::Transaction tx(context_.db());
  if (!tx.beginStatus().ok()) return tx.beginStatus().error();
  int64_t removed = 0;
  for (int64_t id : *ids) {
    auto changed = prune(id);
    if (!changed.ok()) return changed.error();
    removed += *changed;
  }
  if (pruned_key != nullptr) {
    auto pruned_before = context_.metaIntLocked(pruned_key, 0);
    if (!pruned_before.ok()) return pruned_before.error();
    if (cutoff_ms > *pruned_before) {
      if (auto st = context_.setMetaIntLocked(pruned_key, cutoff_ms); !st.ok()) return st.error();
    }
  }
  if (auto st = tx.commit(); !st.ok()) return st.error();
  return removed;
}

Result<ImportReport> SqliteTelemetryStore::importSamples(const std::string& system,
                                                         const std::string& metric,
                                                         const std::vector<Sample>& samples) {
  if (auto st = checkImportNames(system, metric); !st.ok()) return st.error();
  const protocol::SeriesKey key{system, metric};
  ImportReport report;
  int64_t oldest = std::numeric_limits<int64_t>::max();
  int64_t newest = std::numeric_limits<int64_t>::min();
  std::optional<int64_t> series_id;
  std::size_t next = 0;
  while (next < samples.size()) {
    std::lock_guard lock(context_.mutex());
    std::vector<protocol::SeriesKey> created;
    auto fail = [&](const Error& error) -> Result<ImportReport> {
      for (const auto& k : created) series_ids_.erase(k);
      return error;
    };
    common::Transaction tx(context_.db());
    if (!tx.beginStatus().ok()) return tx.beginStatus().error();
    const std::size_t end = std::min(samples.size(), next + kImportSamplesPerTransaction);
    std::vector<Sample> written;
    written.reserve(end - next);
    for (; next < end; ++next) {
      const Sample& sample = samples[next];
      if (!std::isfinite(sample.value)) {
        ++report.non_finite;
        continue;
      }
      written.push_back(sample);
    }
    if (!written.empty()) {
      if (!series_id) {
        auto id = seriesIdLocked(key, true, &created);
        if (!id.ok()) return fail(id.error());
        series_id = **id;
      }
      const std::size_t count = written.size();
      sortSamplesLastWins(written);
      // The head's samples go to chunks first, so the imported ones, written
      // after them, replace them where both have a timestamp.
      if (auto st = flushHeadNowLocked(*series_id); !st.ok()) return fail(st.error());
      if (auto st = writeChunksLocked(*series_id, written); !st.ok()) return fail(st.error());
      // The next rollup pass recomputes the series from its oldest new sample,
      // whether it runs here (psoctl import) or in a running controller.
      ScopedStatement s(mark_late_);
      s->bind(1, *series_id).bind(2, written.front().ts_ms);
      if (auto st = s->run(); !st.ok()) return fail(st.error());
      if (auto st = tx.commit(); !st.ok()) return fail(st.error());
      forgetHeadLocked(*series_id);
      report.samples += count;
      oldest = std::min(oldest, written.front().ts_ms);
      newest = std::max(newest, written.back().ts_ms);
    } else if (auto st = tx.commit(); !st.ok()) {
      return fail(st.error());
    }
  }
  if (report.samples == 0) return report;
  report.first_ts_ms = oldest;
  report.last_ts_ms = newest;

  // The rollup pass recomputes nothing before the retention marks (the inputs
  // of those buckets are gone); the imported samples are, so those buckets
  // are rolled up from them here.
  std::lock_guard lock(context_.mutex());
  auto samples_pruned = context_.metaIntLocked(kSamplesPrunedKey, 0);
  if (!samples_pruned.ok()) return samples_pruned.error();
  auto minutes_pruned = context_.metaIntLocked(kMinutesPrunedKey, 0);
  if (!minutes_pruned.ok()) return minutes_pruned.error();
  const RollupRanges ranges = importRollupRanges(oldest, newest, *samples_pruned, *minutes_pruned);
  if (ranges.minute_from < ranges.minute_to || ranges.hour_from < ranges.hour_to) {
    common::Transaction tx(context_.db());
    if (!tx.beginStatus().ok()) return tx.beginStatus().error();
    RollupReport rolled;
    if (auto st = rollSeriesLocked(*series_id, ranges, rolled); !st.ok()) {
      return st.error();
    }
    if (auto st = tx.commit(); !st.ok()) return st.error();
  }
  return report;
}

}  // namespace pso::controller::store
