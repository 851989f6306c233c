#include "controller/store/postgresql/pg_telemetry_store.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <tuple>
#include <utility>

namespace pso::controller::store {
namespace {

// Samples per importSamples transaction: the store is released between them.
constexpr std::size_t kPgImportSamplesPerTransaction = 10000;
// Rows per DELETE when retention trims the partition the cutoff falls in.
constexpr int64_t kPgTrimRowsPerTransaction = 10000;

Sample pgSampleAt(const PgRows& rows, int i) {
  return Sample{rows.int64(i, 0), rows.real(i, 1)};
}

// The day a time falls in, floored (also before the epoch).
int64_t pgPartitionDay(int64_t ts_ms) {
  const int64_t day = ts_ms / PgTelemetryStore::kPartitionMs;
  return (ts_ms % PgTelemetryStore::kPartitionMs < 0) ? day - 1 : day;
}

std::string pgPartitionName(int64_t day) {
  return day >= 0 ? "samples_d" + std::to_string(day) : "samples_dm" + std::to_string(-day);
}

// A partition bound: the day's first millisecond, or MINVALUE / MAXVALUE
// where that is beyond int64 (the days holding the int64 limits).
std::string pgPartitionBound(int64_t day) {
  int64_t ms = 0;
  if (__builtin_mul_overflow(day, PgTelemetryStore::kPartitionMs, &ms)) {
    return day < 0 ? "MINVALUE" : "MAXVALUE";
  }
  return std::to_string(ms);
}

// The day of a partition from its name; nullopt for a name not ours.
std::optional<int64_t> pgPartitionDayOf(const std::string& name) {
  const std::string prefix = "samples_d";
  if (name.rfind(prefix, 0) != 0) return std::nullopt;
  std::string digits = name.substr(prefix.size());
  bool negative = false;
  if (!digits.empty() && digits[0] == 'm') {
    negative = true;
    digits.erase(0, 1);
  }
  if (digits.empty() || digits.find_first_not_of("0123456789") != std::string::npos) {
    return std::nullopt;
  }
  const int64_t day = std::stoll(digits);
  return negative ? -day : day;
}

}  // namespace

void PgTelemetryStore::setIngestLimits(const IngestLimits& limits) {
  std::lock_guard lock(context_.mutex());
  limits_ = normalizedIngestLimits(limits);
}

Status PgTelemetryStore::prepare() {
  {
    std::lock_guard lock(context_.mutex());
    if (auto st = context_.prepareAll({
            {"tele_select_series", "SELECT id FROM series WHERE system = $1 AND metric = $2"},
            {"tele_select_series_many",
             "SELECT system, id FROM series WHERE system = ANY($1::text[]) AND metric = $2"},
            {"tele_insert_series",
             "INSERT INTO series (system, metric) VALUES ($1, $2) ON CONFLICT (system, metric) "
             "DO UPDATE SET metric = EXCLUDED.metric RETURNING id"},
            {"tele_agent_seqs", "SELECT id, last_seq FROM agents WHERE id = ANY($1::text[])"},
            {"tele_system_owners",
             "SELECT name, agent_id FROM systems WHERE name = ANY($1::text[])"},
            {"tele_update_seqs",
             "UPDATE agents SET last_seq = u.seq FROM unnest($1::text[], $2::bigint[]) "
             "AS u(id, seq) WHERE agents.id = u.id"},
            {"tele_update_replicas",
             "UPDATE systems SET replicas = u.replicas, updated_ms = u.ts FROM "
             "unnest($1::text[], $2::bigint[], $3::bigint[]) AS u(name, replicas, ts) "
             "WHERE systems.name = u.name AND systems.updated_ms <= u.ts"},
            {"tele_insert_samples",
             "INSERT INTO samples (series_id, ts_ms, value) "
             "SELECT * FROM unnest($1::bigint[], $2::bigint[], $3::double precision[]) "
             "ON CONFLICT (series_id, ts_ms) DO UPDATE SET value = EXCLUDED.value"},
            {"tele_samples",
             "SELECT ts_ms, value FROM samples WHERE series_id = $1 AND ts_ms >= $2 "
             "AND ts_ms < $3 ORDER BY ts_ms LIMIT $4"},
            {"tele_recent",
             "SELECT ts_ms, value FROM samples WHERE series_id = $1 AND ts_ms < $2 "
             "ORDER BY ts_ms DESC LIMIT $3"},
            {"tele_latest",
             "SELECT ts_ms, value FROM samples WHERE series_id = $1 ORDER BY ts_ms DESC LIMIT 1"},
            // The fleet's reads of one cycle: each series' newest samples (in
            // time order), sums since the last cycle, newest sample.
            {"tele_recent_since_many",
             "SELECT q.id, r.ts_ms, r.value FROM unnest($1::bigint[]) AS q(id) CROSS JOIN LATERAL "
             "(SELECT ts_ms, value FROM samples WHERE series_id = q.id AND ts_ms >= $2 "
             "AND ts_ms < $3 ORDER BY ts_ms DESC LIMIT $4) AS r ORDER BY q.id, r.ts_ms"},
            {"tele_window_sums",
             "SELECT series_id, SUM(value), COUNT(*) FROM samples "
             "WHERE series_id = ANY($1::bigint[]) AND ts_ms > $2 AND ts_ms < $3 "
             "GROUP BY series_id"},
            {"tele_latest_many",
             "SELECT q.id, r.ts_ms, r.value FROM unnest($1::bigint[]) AS q(id) CROSS JOIN LATERAL "
             "(SELECT ts_ms, value FROM samples WHERE series_id = q.id ORDER BY ts_ms DESC "
             "LIMIT 1) AS r"},
            {"tele_metrics", "SELECT metric FROM series WHERE system = $1 ORDER BY metric"},
            {"tele_partitions",
             "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
             "WHERE i.inhparent = 'samples'::regclass"},
        });
        !st.ok()) {
      return st;
    }
    auto partitions = context_.runLocked("tele_partitions");
    if (!partitions.ok()) return partitions.error();
    for (int i = 0; i < partitions->size(); ++i) {
      if (auto day = pgPartitionDayOf(partitions->text(i, 0))) partition_days_.insert(*day);
    }
  }
  return prepareRollups();
}

void PgTelemetryStore::forgetCallLocked() {
  for (const auto& key : created_in_call_) series_ids_.erase(key);
  for (int64_t day : created_days_in_call_) partition_days_.erase(day);
  created_in_call_.clear();
  created_days_in_call_.clear();
}

Result<std::optional<int64_t>> PgTelemetryStore::seriesIdLocked(const protocol::SeriesKey& key,
                                                                bool create) {
  if (auto cached = series_ids_.find(key)) return cached;
  auto found = context_.runLocked(create ? "tele_insert_series" : "tele_select_series",
                                  PgParams().add(key.system).add(key.metric));
  if (!found.ok()) return found.error();
  if (found->empty()) return std::optional<int64_t>();
  const int64_t id = found->int64(0, 0);
  series_ids_.insert(key, id);
  if (create) created_in_call_.push_back(key);
  return std::optional<int64_t>(id);
}

Status PgTelemetryStore::ensurePartitionsLocked(const std::vector<Sample>& samples) {
  std::set<int64_t> days;
  for (const Sample& s : samples) days.insert(pgPartitionDay(s.ts_ms));
  for (int64_t day : days) {
    if (partition_days_.count(day) > 0) continue;
    const std::string sql = "CREATE TABLE IF NOT EXISTS " + pgPartitionName(day) +
                            " PARTITION OF samples FOR VALUES FROM (" + pgPartitionBound(day) +
                            ") TO (" + pgPartitionBound(day + 1) + ")";
    if (auto st = context_.execLocked(sql); !st.ok()) return st;
    partition_days_.insert(day);
    created_days_in_call_.push_back(day);
  }
  return Status();
}

Status PgTelemetryStore::queueSamplesLocked(int64_t series_id, const std::vector<Sample>& samples,
                                            std::optional<int64_t> late_from_ms) {
  if (auto st = ensurePartitionsLocked(samples); !st.ok()) return st;
  for (const Sample& s : samples) {
    queued_.push_back({series_id, s});
  }
  if (late_from_ms) {
    auto [it, inserted] = queued_late_.emplace(series_id, *late_from_ms);
    if (!inserted) it->second = std::min(it->second, *late_from_ms);
  }
  return Status();
}

void PgTelemetryStore::dropQueuedSamplesLocked() {
  queued_.clear();
  queued_late_.clear();
}

void PgTelemetryStore::dropCallLocked() {
  dropQueuedSamplesLocked();
  call_seqs_.clear();
  call_owners_.clear();
  queued_seqs_.clear();
  queued_replicas_.clear();
}

Status PgTelemetryStore::prefetch(const std::vector<const protocol::TelemetryBatch*>& batches) {
  const BatchNames names = batchNames(batches);
  auto seqs = context_.runLocked("tele_agent_seqs", PgParams().addArray(names.agent_ids));
  if (!seqs.ok()) return seqs.error();
  for (int row = 0; row < static_cast<int>(seqs->size()); ++row) {
    call_seqs_[seqs->text(row, 0)] = static_cast<uint64_t>(seqs->int64(row, 1));
  }
  for (const auto& system : names.systems) call_owners_[system] = std::nullopt;
  auto owners = context_.runLocked("tele_system_owners", PgParams().addArray(names.systems));
  if (!owners.ok()) return owners.error();
  for (int row = 0; row < static_cast<int>(owners->size()); ++row) {
    if (!owners->isNull(row, 1)) call_owners_[owners->text(row, 0)] = owners->text(row, 1);
  }
  return Status();
}

Status PgTelemetryStore::flushPositionsLocked() {
  if (!queued_seqs_.empty()) {
    std::vector<std::string> agents;
    std::vector<int64_t> seqs;
    for (const auto& [agent, seq] : queued_seqs_) {
      agents.push_back(agent);
      seqs.push_back(static_cast<int64_t>(seq));
    }
    if (auto st = pgDone(
            context_.runLocked("tele_update_seqs", PgParams().addArray(agents).addArray(seqs)));
        !st.ok()) {
      return st;
    }
  }
  if (queued_replicas_.empty()) return Status();
  std::vector<std::string> systems;
  std::vector<int64_t> replicas;
  std::vector<int64_t> ts;
  for (const auto& [system, report] : queued_replicas_) {
    systems.push_back(system);
    replicas.push_back(report.first);
    ts.push_back(report.second);
  }
  return pgDone(context_.runLocked("tele_update_replicas",
                                   PgParams().addArray(systems).addArray(replicas).addArray(ts)));
}

Status PgTelemetryStore::flushSamplesLocked() {
  // One row per (series, ts), the last queued: one INSERT .. ON CONFLICT may
  // not touch a row twice.
  sortSeriesSamplesLastWins(queued_);
  std::vector<int64_t> series;
  std::vector<int64_t> ts;
  std::vector<double> values;
  series.reserve(queued_.size());
  ts.reserve(queued_.size());
  values.reserve(queued_.size());
  for (const auto& queued : queued_) {
    series.push_back(queued.series_id);
    ts.push_back(queued.sample.ts_ms);
    values.push_back(queued.sample.value);
  }
  std::vector<int64_t> late_series;
  std::vector<int64_t> late_from;
  for (const auto& [id, from] : queued_late_) {
    late_series.push_back(id);
    late_from.push_back(from);
  }
  dropQueuedSamplesLocked();
  if (!series.empty()) {
    if (auto st = pgDone(context_.runLocked(
            "tele_insert_samples", PgParams().addArray(series).addArray(ts).addArray(values)));
        !st.ok()) {
      return st;
    }
  }
  if (late_series.empty()) return Status();
  return pgDone(
      context_.runLocked("tele_mark_late", PgParams().addArray(late_series).addArray(late_from)));
}

Result<IngestOutcome> PgTelemetryStore::ingestTelemetry(const protocol::TelemetryBatch& batch,
                                                        int64_t now_ms) {
  std::lock_guard lock(context_.mutex());
  auto outcomes = ingestLocked({&batch}, now_ms, nullptr);
  if (!outcomes.ok()) return outcomes.error();
  return outcomes->front();
}

Result<std::vector<IngestOutcome>> PgTelemetryStore::ingestTelemetry(
    const std::vector<protocol::TelemetryBatch>& batches, int64_t now_ms,
    std::vector<StoredSeries>* stored) {
  std::lock_guard lock(context_.mutex());
  return ingestBatchList(batches, stored, [&](const auto& pointers) {
    return ingestLocked(pointers, now_ms, stored);
  });
}

Result<std::vector<IngestOutcome>> PgTelemetryStore::ingestLocked(
    const std::vector<const protocol::TelemetryBatch*>& batches, int64_t now_ms,
    std::vector<StoredSeries>* stored) {
  created_in_call_.clear();
  created_days_in_call_.clear();
  auto fail = [&](const Error& error) -> Result<std::vector<IngestOutcome>> {
    forgetCallLocked();
    dropCallLocked();
    return error;
  };
  dropCallLocked();
  PgTransaction tx(context_);
  if (!tx.beginStatus().ok()) return tx.beginStatus().error();
  auto outcomes = ingestBatches(batches, now_ms, limits_, *this, stored);
  if (!outcomes.ok()) return fail(outcomes.error());
  // The samples of every batch of the call go in together, before the commit,
  // and so do the agents' positions and the systems' replica counts.
  if (auto st = flushSamplesLocked(); !st.ok()) return fail(st.error());
  if (auto st = flushPositionsLocked(); !st.ok()) return fail(st.error());
  dropCallLocked();
  if (auto st = tx.commit(); !st.ok()) return fail(st.error());
  return outcomes;
}

Result<uint64_t> PgTelemetryStore::agentSeq(const std::string& agent_id, int64_t now_ms) {
  if (auto known = call_seqs_.find(agent_id); known != call_seqs_.end()) return known->second;
  // Not prefetched: an agent without a row, registered here.
  return fleet_.agentSeqLocked(agent_id, now_ms);
}

Status PgTelemetryStore::setAgentSeq(const std::string& agent_id, uint64_t seq) {
  queued_seqs_[agent_id] = seq;
  return Status();
}

Result<std::optional<std::string>> PgTelemetryStore::systemOwner(const std::string& system) {
  if (auto known = call_owners_.find(system); known != call_owners_.end()) return known->second;
  return fleet_.systemOwnerLocked(system);
}

Status PgTelemetryStore::updateReplicas(const std::string& system, int64_t replicas,
                                        int64_t ts_ms) {
  // The newest report of the call (the last of equal times), as the stored
  // row would end up after one update each.
  auto [it, inserted] = queued_replicas_.emplace(system, std::make_pair(replicas, ts_ms));
  if (!inserted && ts_ms >= it->second.second) it->second = {replicas, ts_ms};
  return Status();
}

Status PgTelemetryStore::writeSamples(const protocol::SeriesKey& key,
                                      const std::vector<Sample>& samples, int64_t oldest_ts_ms) {
  auto id = seriesIdLocked(key, true);
  if (!id.ok()) return id.error();
  // A sample for a bucket that is already rolled up: the next rollup pass
  // recomputes this series from there.
  return queueSamplesLocked(
      **id, samples,
      oldest_ts_ms < rollup_claimed_ms_ ? std::optional<int64_t>(oldest_ts_ms) : std::nullopt);
}

Result<std::vector<Sample>> PgTelemetryStore::samples(const std::string& system,
                                                      const std::string& metric, int64_t since_ms,
                                                      int64_t until_ms, int64_t limit) {
  std::lock_guard lock(context_.mutex());
  auto id = seriesIdLocked({system, metric}, false);
  if (!id.ok()) return id.error();
  if (!*id) return std::vector<Sample>();
  return pgAllRows<Sample>(
      context_.runLocked("tele_samples",
                         PgParams().add(**id).add(since_ms).add(until_ms).addLimit(limit)),
      pgSampleAt);
}

Result<std::vector<Sample>> PgTelemetryStore::recentSamples(const std::string& system,
                                                            const std::string& metric,
                                                            int64_t until_ms, int64_t count) {
  std::lock_guard lock(context_.mutex());
  if (count <= 0) return std::vector<Sample>();
  auto id = seriesIdLocked({system, metric}, false);
  if (!id.ok()) return id.error();
  if (!*id) return std::vector<Sample>();
  auto newest_first = pgAllRows<Sample>(
      context_.runLocked("tele_recent", PgParams().add(**id).add(until_ms).add(count)), pgSampleAt);
  if (!newest_first.ok()) return newest_first.error();
  std::reverse(newest_first->begin(), newest_first->end());
  return newest_first;
}

Result<std::optional<Sample>> PgTelemetryStore::latestSample(const std::string& system,
                                                             const std::string& metric) {
  std::lock_guard lock(context_.mutex());
  auto id = seriesIdLocked({system, metric}, false);
  if (!id.ok()) return id.error();
  if (!*id) return std::optional<Sample>();
  return pgFirstRow<Sample>(context_.runLocked("tele_latest", PgParams().add(**id)), pgSampleAt);
}

Result<PgTelemetryStore::SeriesOfSystems> PgTelemetryStore::seriesOfSystemsLocked(
    const std::vector<std::string>& systems, const std::string& metric) {
  // The ids not cached yet in one statement: most systems have no series of
  // some metrics (a health_score), and a lookup each would be a round trip
  // each, every cycle.
  std::vector<std::string> uncached;
  for (const auto& system : systems) {
    if (!series_ids_.find({system, metric})) uncached.push_back(system);
  }
  if (!uncached.empty()) {
    auto rows =
        context_.runLocked("tele_select_series_many", PgParams().addArray(uncached).add(metric));
    if (!rows.ok()) return rows.error();
    for (int row = 0; row < static_cast<int>(rows->size()); ++row) {
      series_ids_.insert({rows->text(row, 0), metric}, rows->int64(row, 1));
    }
  }
  SeriesOfSystems found;
  for (const auto& system : systems) {
    if (auto id = series_ids_.find({system, metric})) {
      found.systems.push_back(&system);
      found.ids.push_back(*id);
    }
  }
  return found;
}

Result<std::map<std::string, CycleSeriesRead>> PgTelemetryStore::cycleReads(
    const std::vector<std::string>& systems, const std::string& metric, int64_t since_ms,
    int64_t window_after_ms, int64_t until_ms, int64_t recent_count) {
  std::lock_guard lock(context_.mutex());
  // The fleet's reads in two statements, not two per system: over a network
  // each is a round trip (840 ms of a 3,000-system cycle's snapshot).
  auto series = seriesOfSystemsLocked(systems, metric);
  if (!series.ok()) return series.error();
  std::map<std::string, CycleSeriesRead> reads;
  if (series->ids.empty()) return reads;
  auto recent = context_.runLocked(
      "tele_recent_since_many",
      PgParams().addArray(series->ids).add(since_ms).add(until_ms).addLimit(recent_count));
  if (!recent.ok()) return recent.error();
  std::unordered_map<int64_t, std::vector<Sample>> recent_of;
  for (int row = 0; row < static_cast<int>(recent->size()); ++row) {
    recent_of[recent->int64(row, 0)].push_back({recent->int64(row, 1), recent->real(row, 2)});
  }
  auto sums = context_.runLocked(
      "tele_window_sums", PgParams().addArray(series->ids).add(window_after_ms).add(until_ms));
  if (!sums.ok()) return sums.error();
  std::unordered_map<int64_t, std::pair<double, int64_t>> sum_of;
  for (int row = 0; row < static_cast<int>(sums->size()); ++row) {
    sum_of[sums->int64(row, 0)] = {sums->real(row, 1), sums->int64(row, 2)};
  }
  for (std::size_t i = 0; i < series->ids.size(); ++i) {
    const int64_t id = series->ids[i];
    auto samples = recent_of.find(id);
    if (samples == recent_of.end() || samples->second.empty()) continue;
    CycleSeriesRead read;
    read.recent = std::move(samples->second);
    if (auto sum = sum_of.find(id); sum != sum_of.end()) {
      read.window_sum = sum->second.first;
      read.window_count = sum->second.second;
    }
    reads.emplace(*series->systems[i], std::move(read));
  }
  return reads;
}

Result<std::map<std::string, Sample>> PgTelemetryStore::latestSamples(
    const std::vector<std::string>& systems, const std::string& metric) {
  std::lock_guard lock(context_.mutex());
  auto series = seriesOfSystemsLocked(systems, metric);
  if (!series.ok()) return series.error();
  std::map<std::string, Sample> latest;
  if (series->ids.empty()) return latest;
  auto rows = context_.runLocked("tele_latest_many", PgParams().addArray(series->ids));
  if (!rows.ok()) return rows.error();
  std::unordered_map<int64_t, Sample> latest_of;
  for (int row = 0; row < static_cast<int>(rows->size()); ++row) {
    latest_of[rows->int64(row, 0)] = {rows->int64(row, 1), rows->real(row, 2)};
  }
  for (std::size_t i = 0; i < series->ids.size(); ++i) {
    if (auto sample = latest_of.find(series->ids[i]); sample != latest_of.end()) {
      latest.emplace(*series->systems[i], sample->second);
    }
  }
  return latest;
}

Result<std::vector<std::string>> PgTelemetryStore::metrics(const std::string& system) {
  std::lock_guard lock(context_.mutex());
  return pgAllRows<std::string>(context_.runLocked("tele_metrics", PgParams().add(system)),
                                [](const PgRows& rows, int i) { return rows.text(i, 0); });
}

Status PgTelemetryStore::advancePrunedMarkLocked(const char* pruned_key, int64_t cutoff_ms) {
  auto pruned_before = context_.metaIntLocked(pruned_key, 0);
  if (!pruned_before.ok()) return pruned_before.error();
  if (cutoff_ms <= *pruned_before) return Status();
  return context_.setMetaIntLocked(pruned_key, cutoff_ms);
}

Result<int64_t> PgTelemetryStore::pruneSamples(int64_t cutoff_ms) {
  // The mark moves first: rollup recomputations must not start in a bucket
  // whose samples are going.
  std::vector<int64_t> days;
  {
    std::lock_guard lock(context_.mutex());
    if (auto st = advancePrunedMarkLocked(kSamplesPrunedKey, cutoff_ms); !st.ok()) {
      return st.error();
    }
    days.assign(partition_days_.begin(), partition_days_.end());
  }
  int64_t removed = 0;
  for (int64_t day : days) {
    const std::string bound = pgPartitionBound(day + 1);
    const bool whole = bound != "MAXVALUE" && std::stoll(bound) <= cutoff_ms;
    const std::string lower = pgPartitionBound(day);
    if (!whole &&
        (lower == "MAXVALUE" || (lower != "MINVALUE" && std::stoll(lower) >= cutoff_ms))) {
      break;  // this day and every later one is newer than the cutoff
    }
    const std::string table = pgPartitionName(day);
    if (whole) {
      // A whole day older than the cutoff: counted, then dropped at once.
      std::lock_guard lock(context_.mutex());
      PgTransaction tx(context_);
      if (!tx.beginStatus().ok()) return tx.beginStatus().error();
      auto count = context_.queryLocked("SELECT COUNT(*) FROM " + table);
      if (!count.ok()) return count.error();
      if (auto st = context_.execLocked("DROP TABLE " + table); !st.ok()) return st.error();
      if (auto st = tx.commit(); !st.ok()) return st.error();
      partition_days_.erase(day);
      removed += count->int64(0, 0);
      continue;
    }
    // The day the cutoff falls in: its older rows, in batches.
    auto trimmed = deleteOlderRows(table, "ts_ms", cutoff_ms, kPgTrimRowsPerTransaction);
    if (!trimmed.ok()) return trimmed.error();
    removed += *trimmed;
  }
  return removed;
}

Result<int64_t> PgTelemetryStore::deleteOlderRows(const std::string& table,
                                                  const std::string& column, int64_t cutoff_ms,
                                                  int64_t batch_rows) {
  const std::string sql = "DELETE FROM " + table + " WHERE ctid IN (SELECT ctid FROM " + table +
                          " WHERE " + column + " < $1 LIMIT $2)";
  int64_t removed = 0;
  for (;;) {
    std::lock_guard lock(context_.mutex());
    auto deleted = context_.queryLocked(sql, PgParams().add(cutoff_ms).add(batch_rows));
    if (!deleted.ok()) return deleted.error();
    removed += deleted->affected();
    if (deleted->affected() < batch_rows) return removed;
  }
}

Result<ImportReport> PgTelemetryStore::importSamples(const std::string& system,
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
    created_in_call_.clear();
    created_days_in_call_.clear();
    auto fail = [&](const Error& error) -> Result<ImportReport> {
      forgetCallLocked();
      dropQueuedSamplesLocked();
      return error;
    };
    PgTransaction tx(context_);
    if (!tx.beginStatus().ok()) return tx.beginStatus().error();
    const std::size_t end = std::min(samples.size(), next + kPgImportSamplesPerTransaction);
    std::vector<Sample> chunk;
    chunk.reserve(end - next);
    for (; next < end; ++next) {
      const Sample& sample = samples[next];
      if (!std::isfinite(sample.value)) {
        ++report.non_finite;
        continue;
      }
      chunk.push_back(sample);
    }
    if (!chunk.empty()) {
      if (!series_id) {
        auto id = seriesIdLocked(key, true);
        if (!id.ok()) return fail(id.error());
        series_id = **id;
      }
      int64_t chunk_oldest = std::numeric_limits<int64_t>::max();
      for (const Sample& s : chunk) {
        chunk_oldest = std::min(chunk_oldest, s.ts_ms);
        newest = std::max(newest, s.ts_ms);
      }
      // The next rollup pass recomputes the series from its oldest new sample,
      // whether it runs here (psoctl import) or in a running controller.
      if (auto st = queueSamplesLocked(*series_id, chunk, chunk_oldest); !st.ok()) {
        return fail(st.error());
      }
      if (auto st = flushSamplesLocked(); !st.ok()) return fail(st.error());
      oldest = std::min(oldest, chunk_oldest);
    }
    if (auto st = tx.commit(); !st.ok()) return fail(st.error());
    report.samples += chunk.size();
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
    PgTransaction tx(context_);
    if (!tx.beginStatus().ok()) return tx.beginStatus().error();
    RollupReport rolled;
    if (auto st = rollSeriesLocked({*series_id}, ranges, rolled); !st.ok()) return st.error();
    if (auto st = tx.commit(); !st.ok()) return st.error();
  }
  return report;
}

}  // namespace pso::controller::store
