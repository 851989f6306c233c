#include "controller/store/sqlite/sqlite_telemetry_store.h"

#include <algorithm>
#include <cmath>
#include <functional>
#include <limits>
#include <set>
#include <tuple>
#include <unordered_map>
#include <utility>

#include "protocol/names.h"

namespace pso::controller::store {
namespace {

using common::ScopedStatement;
using common::Statement;

// Refuses a malformed batch before anything touches the database, so one bad
// batch cannot leave half a transaction behind.
Status checkShape(const protocol::TelemetryBatch& batch) {
  const std::string where =
      "telemetry batch seq " + std::to_string(batch.seq) + " from agent '" + batch.agent_id + "'";
  if (batch.agent_id.empty()) {
    return makeError("invalid",
                     "telemetry batch seq " + std::to_string(batch.seq) + " has an empty agent id");
  }
  if (batch.seq == 0) return makeError("invalid", where + ": seq must start at 1");
  if (batch.values.size() != batch.series.size()) {
    return makeError("invalid", where + ": " + std::to_string(batch.values.size()) +
                                    " value rows for " + std::to_string(batch.series.size()) +
                                    " series");
  }
  for (std::size_t i = 0; i < batch.values.size(); ++i) {
    if (batch.values[i].size() != batch.timestamps_ms.size()) {
      return makeError("invalid", where + ": series '" + batch.series[i].system + "/" +
                                      batch.series[i].metric + "' has " +
                                      std::to_string(batch.values[i].size()) + " values for " +
                                      std::to_string(batch.timestamps_ms.size()) + " timestamps");
    }
  }
  return Status();
}

int64_t saturatingAdd(int64_t a, int64_t b) {
  int64_t sum = 0;
  if (__builtin_add_overflow(a, b, &sum)) {
    return b > 0 ? std::numeric_limits<int64_t>::max() : std::numeric_limits<int64_t>::min();
  }
  return sum;
}

// A system name as batches carry it: an empty one means the agent's host.
bool isHostSeries(const protocol::SeriesKey& key) {
  return key.system.empty();
}

// Samples per importSamples transaction: the store is released between them.
constexpr std::size_t kImportSamplesPerTransaction = 10000;

}  // namespace

void SqliteTelemetryStore::setIngestLimits(const IngestLimits& limits) {
  std::lock_guard lock(context_.mutex());
  limits_ = limits;
  // A negative window would be no window at all, and could overflow below.
  limits_.max_age_ms = std::max<int64_t>(limits_.max_age_ms, 0);
  limits_.max_ahead_ms = std::max<int64_t>(limits_.max_ahead_ms, 0);
}

Status SqliteTelemetryStore::prepare() {
  if (auto st = context_.db().prepareAll({
          {&select_series_, "SELECT id FROM series WHERE system = ?1 AND metric = ?2"},
          {&insert_series_, "INSERT INTO series (system, metric) VALUES (?1, ?2)"},
          {&select_metrics_, "SELECT metric FROM series WHERE system = ?1 ORDER BY metric"},
          {&select_series_ids_, "SELECT id FROM series ORDER BY id"},
      });
      !st.ok()) {
    return st;
  }
  if (auto st = prepareSamples(); !st.ok()) return st;
  return prepareRollups();
}

Result<std::optional<int64_t>> SqliteTelemetryStore::seriesIdLocked(
    const protocol::SeriesKey& key, bool create, std::vector<protocol::SeriesKey>* created) {
  if (auto it = series_ids_.find(key); it != series_ids_.end()) {
    return std::optional<int64_t>(it->second);
  }
  {
    ScopedStatement s(select_series_);
    s->bind(1, key.system).bind(2, key.metric);
    auto id = common::firstRow<int64_t>(*s, common::firstColumnInt64);
    if (!id.ok()) return id.error();
    if (id->has_value()) {
      series_ids_.emplace(key, **id);
      return *id;
    }
  }
  if (!create) return std::optional<int64_t>();
  ScopedStatement s(insert_series_);
  s->bind(1, key.system).bind(2, key.metric);
  if (auto st = s->run(); !st.ok()) return st.error();
  const int64_t id = context_.db().lastInsertRowid();
  series_ids_.emplace(key, id);
  if (created != nullptr) created->push_back(key);
  return std::optional<int64_t>(id);
}

Result<std::vector<int64_t>> SqliteTelemetryStore::seriesIdsLocked() {
  ScopedStatement s(select_series_ids_);
  return common::collectRows<int64_t>(*s, common::firstColumnInt64);
}

Result<IngestOutcome> SqliteTelemetryStore::ingestTelemetry(const protocol::TelemetryBatch& batch,
                                                            int64_t now_ms) {
  std::lock_guard lock(context_.mutex());
  auto outcomes = ingestLocked({&batch}, now_ms, nullptr);
  if (!outcomes.ok()) return outcomes.error();
  return outcomes->front();
}

Result<std::vector<IngestOutcome>> SqliteTelemetryStore::ingestTelemetry(
    const std::vector<protocol::TelemetryBatch>& batches, int64_t now_ms,
    std::vector<StoredSeries>* stored) {
  std::lock_guard lock(context_.mutex());
  std::vector<const protocol::TelemetryBatch*> pointers;
  pointers.reserve(batches.size());
  for (const auto& batch : batches) pointers.push_back(&batch);
  const std::size_t stored_before = stored != nullptr ? stored->size() : 0;
  auto outcomes = ingestLocked(pointers, now_ms, stored);
  // Nothing of a failed call is stored, so nothing of it is reported.
  if (!outcomes.ok() && stored != nullptr) stored->resize(stored_before);
  return outcomes;
}

Result<std::vector<IngestOutcome>> SqliteTelemetryStore::ingestLocked(
    const std::vector<const protocol::TelemetryBatch*>& batches, int64_t now_ms,
    std::vector<StoredSeries>* stored) {
  for (const auto* batch : batches) {
    if (auto st = checkShape(*batch); !st.ok()) return st.error();
  }

  // Series ids cached during a transaction that rolls back must not outlive it.
  std::vector<protocol::SeriesKey> created_series;
  auto fail = [&](const Error& error) -> Result<std::vector<IngestOutcome>> {
    for (const auto& key : created_series) series_ids_.erase(key);
    dropStagedLocked();
    return error;
  };

  common::Transaction tx(context_.db());
  if (!tx.beginStatus().ok()) return tx.beginStatus().error();

  std::unordered_map<std::string, uint64_t> last_seq;  // per agent, as of this transaction
  std::set<std::string> advanced;
  // System owners as of this transaction (only upsertAgent changes them).
  SystemOwners owners;
  std::vector<IngestOutcome> outcomes;
  outcomes.reserve(batches.size());

  for (const auto* batch : batches) {
    auto known = last_seq.find(batch->agent_id);
    if (known == last_seq.end()) {
      auto loaded = fleet_.agentSeqLocked(batch->agent_id, now_ms);
      if (!loaded.ok()) return fail(loaded.error());
      known = last_seq.emplace(batch->agent_id, *loaded).first;
    }
    const uint64_t last = known->second;

    IngestOutcome outcome;
    outcome.last_seq = last;
    if (std::string refusal = seqRefusalLocked(*batch, last); !refusal.empty()) {
      outcome.kind = IngestOutcome::Kind::kRefused;
      outcome.refusal = std::move(refusal);
      outcomes.push_back(outcome);
      continue;
    }
    if (batch->seq <= last) {
      outcome.kind = IngestOutcome::Kind::kDuplicate;
      outcomes.push_back(outcome);
      continue;
    }
    if (batch->seq != std::max(last, batch->oldest_seq - 1) + 1) {
      outcome.kind = IngestOutcome::Kind::kOutOfOrder;
      outcomes.push_back(outcome);
      continue;
    }
    for (std::size_t i = 0; i < batch->series.size(); ++i) {
      const auto& key = batch->series[i];
      if (!isHostSeries(key)) {
        auto may = mayWriteLocked(batch->agent_id, key.system, owners);
        if (!may.ok()) return fail(may.error());
        if (!*may) {
          for (double value : batch->values[i]) {
            if (std::isfinite(value)) ++outcome.samples_not_owned;
          }
          continue;
        }
      }
      if (auto st = storeSeriesLocked(*batch, i, now_ms, created_series, outcome, stored);
          !st.ok()) {
        return fail(st.error());
      }
    }
    known->second = batch->seq;
    advanced.insert(batch->agent_id);
    outcome.kind = IngestOutcome::Kind::kStored;
    outcome.last_seq = batch->seq;
    outcomes.push_back(outcome);
  }

  for (const auto& agent_id : advanced) {
    if (auto st = fleet_.setAgentSeqLocked(agent_id, last_seq[agent_id]); !st.ok()) {
      return fail(st.error());
    }
  }
  if (auto st = writeStagedLocked(now_ms); !st.ok()) return fail(st.error());
  if (auto st = tx.commit(); !st.ok()) return fail(st.error());
  applyStagedLocked();
  return outcomes;
}

std::string SqliteTelemetryStore::seqRefusalLocked(const protocol::TelemetryBatch& batch,
                                                   uint64_t last) const {
  const uint64_t window = limits_.max_seq_advance;
  const std::string seq = "seq " + std::to_string(batch.seq);
  const std::string oldest = "oldest_seq " + std::to_string(batch.oldest_seq);
  if (batch.oldest_seq == 0 || batch.oldest_seq > batch.seq) {
    return seq + ": " + oldest + " is outside [1, seq]";
  }
  if (batch.seq - batch.oldest_seq >= window) {
    return seq + ": " + oldest + " spans " + std::to_string(batch.seq - batch.oldest_seq + 1) +
           " batches, max_seq_advance is " + std::to_string(window);
  }
  // The position the batch would move the agent to is oldest_seq - 1.
  const uint64_t floor = batch.oldest_seq - 1;
  if (floor > last && floor - last > window) {
    return seq + ": " + oldest + " would skip the agent from stored seq " + std::to_string(last) +
           " to " + std::to_string(floor) + ", more than max_seq_advance " + std::to_string(window);
  }
  return std::string();
}

Result<bool> SqliteTelemetryStore::mayWriteLocked(const std::string& agent_id,
                                                  const std::string& system, SystemOwners& owners) {
  // Host series are stored under names no system can take; a batch naming
  // one directly is someone else's.
  if (system.rfind('@', 0) == 0) return false;
  auto known = owners.find(system);
  if (known == owners.end()) {
    auto owner = fleet_.systemOwnerLocked(system);
    if (!owner.ok()) return owner.error();
    known = owners.emplace(system, *owner).first;
  }
  return !known->second.has_value() || *known->second == agent_id;
}

Status SqliteTelemetryStore::storeSeriesLocked(const protocol::TelemetryBatch& batch,
                                               std::size_t index, int64_t now_ms,
                                               std::vector<protocol::SeriesKey>& created,
                                               IngestOutcome& outcome,
                                               std::vector<StoredSeries>* stored) {
  const auto& sent = batch.series[index];
  const protocol::SeriesKey key =
      isHostSeries(sent) ? protocol::SeriesKey{hostSeriesSystem(batch.agent_id), sent.metric}
                         : sent;
  const int64_t oldest_allowed = saturatingAdd(now_ms, -limits_.max_age_ms);
  const int64_t newest_allowed = saturatingAdd(now_ms, limits_.max_ahead_ms);
  const auto& row = batch.values[index];
  std::optional<int64_t> series_id;
  std::optional<std::pair<int64_t, double>> newest;
  int64_t oldest_ts = std::numeric_limits<int64_t>::max();
  std::vector<Sample>* reported = nullptr;
  if (stored != nullptr) {
    stored->push_back({batch.agent_id, key, {}});
    reported = &stored->back().samples;
  }
  for (std::size_t j = 0; j < row.size(); ++j) {
    const double value = row[j];
    if (!std::isfinite(value)) continue;
    const int64_t ts = batch.timestamps_ms[j];
    if (ts < oldest_allowed) {
      ++outcome.samples_too_old;
      continue;
    }
    if (ts > newest_allowed) {
      ++outcome.samples_too_new;
      continue;
    }
    // A series is created only for a sample that is stored.
    if (!series_id) {
      auto id = seriesIdLocked(key, true, &created);
      if (!id.ok()) return id.error();
      series_id = **id;
    }
    oldest_ts = std::min(oldest_ts, ts);
    staged_.push_back({*series_id, {ts, value}});
    ++outcome.samples;
    if (reported != nullptr) reported->push_back({ts, value});
    if (!newest || ts >= newest->first) newest = std::make_pair(ts, value);
  }
  if (stored != nullptr && stored->back().samples.empty()) stored->pop_back();
  if (!series_id) return Status();
  // A sample for a bucket that is already rolled up: the next rollup pass
  // recomputes this series from there.
  if (oldest_ts < rollup_claimed_ms_) {
    ScopedStatement s(mark_late_);
    s->bind(1, *series_id).bind(2, oldest_ts);
    if (auto st = s->run(); !st.ok()) return st;
  }
  if (key.metric == "replicas" && !isHostSeries(sent) && newest) {
    return fleet_.updateReplicasLocked(key.system, std::llround(newest->second), newest->first);
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
  std::map<std::string, CycleSeriesRead> reads;
  for (const auto& system : systems) {
    auto id = seriesIdLocked({system, metric}, false, nullptr);
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
  std::map<std::string, Sample> latest;
  for (const auto& system : systems) {
    auto id = seriesIdLocked({system, metric}, false, nullptr);
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
  if (auto problem = protocol::nameProblem(system, protocol::NameKind::kSystem); !problem.empty()) {
    return makeError("invalid", "system name '" + system + "': " + problem);
  }
  if (auto problem = protocol::nameProblem(metric, protocol::NameKind::kMetric); !problem.empty()) {
    return makeError("invalid", "metric name '" + metric + "': " + problem);
  }
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
  const int64_t minute_to = std::min(ceilToBucket(*samples_pruned, kMinuteMs),
                                     ceilToBucket(saturatingAdd(newest, 1), kMinuteMs));
  const int64_t hour_to = std::min(ceilToBucket(*minutes_pruned, kHourMs),
                                   ceilToBucket(saturatingAdd(newest, 1), kHourMs));
  const int64_t minute_from = floorToBucket(oldest, kMinuteMs);
  const int64_t hour_from = floorToBucket(oldest, kHourMs);
  if (minute_from < minute_to || hour_from < hour_to) {
    common::Transaction tx(context_.db());
    if (!tx.beginStatus().ok()) return tx.beginStatus().error();
    RollupReport rolled;
    if (auto st = rollSeriesLocked(*series_id, minute_from, minute_to, hour_from, hour_to, rolled);
        !st.ok()) {
      return st.error();
    }
    if (auto st = tx.commit(); !st.ok()) return st.error();
  }
  return report;
}

}  // namespace pso::controller::store
