// The sample layout of SqliteTelemetryStore: in-memory heads, the sample
// log, compressed chunks, and the reads that merge them (the layout is
// described at the top of sqlite_telemetry_store.h).

#include <algorithm>
#include <limits>
#include <utility>

#include "controller/store/sample_chunk.h"
#include "controller/store/sqlite/sqlite_telemetry_store.h"

namespace pso::controller::store {
namespace {

using common::ScopedStatement;
using common::Statement;

constexpr int64_t kMinTs = std::numeric_limits<int64_t>::min();

// One chunk row of a read, decoded and cut to the read's range.
struct ChunkRead {
  int64_t id = 0;
  std::vector<Sample> samples;
};

// The samples of `sorted` with since_ms <= ts < until_ms.
std::span<const Sample> samplesBetween(const std::vector<Sample>& sorted, int64_t since_ms,
                                       int64_t until_ms) {
  auto by_ts = [](const Sample& s, int64_t ts) { return s.ts_ms < ts; };
  auto first = std::lower_bound(sorted.begin(), sorted.end(), since_ms, by_ts);
  auto last = std::lower_bound(first, sorted.end(), until_ms, by_ts);
  return {first, last};
}

// Keeps the samples of `sorted` with since_ms <= ts < until_ms, in place.
void keepBetween(std::vector<Sample>& sorted, int64_t since_ms, int64_t until_ms) {
  const auto in_range = samplesBetween(sorted, since_ms, until_ms);
  const auto first = in_range.data() - sorted.data();
  sorted.erase(sorted.begin() + first + static_cast<std::ptrdiff_t>(in_range.size()), sorted.end());
  sorted.erase(sorted.begin(), sorted.begin() + first);
}

// Decodes the blob of sample_chunks row `id`, appending to `out`; a refusal
// names the row.
Status decodeChunkRow(int64_t id, std::string_view blob, std::vector<Sample>& out) {
  if (auto st = decodeChunkInto(blob, out); !st.ok()) {
    return makeError("corrupt",
                     "sample_chunks row " + std::to_string(id) + ": " + st.error().message);
  }
  return Status();
}

}  // namespace

Status SqliteTelemetryStore::prepareSamples() {
  if (auto st = context_.db().prepareAll({
          {&insert_chunk_,
           "INSERT INTO sample_chunks (series_id, start_ms, end_ms, count, data) "
           "VALUES (?1, ?2, ?3, ?4, ?5)"},
          {&update_chunk_,
           "UPDATE sample_chunks SET start_ms = ?2, end_ms = ?3, count = ?4, data = ?5 "
           "WHERE id = ?1"},
          {&delete_chunk_, "DELETE FROM sample_chunks WHERE id = ?1"},
          // In the order of their ends: for chunks that do not overlap (the
          // common case) also the order of their samples, so a read with a
          // limit can stop early.
          {&select_chunks_,
           "SELECT id, start_ms, end_ms, data FROM sample_chunks "
           "WHERE series_id = ?1 AND end_ms >= ?2 AND start_ms < ?3 ORDER BY end_ms, id"},
          {&select_chunks_newest_,
           "SELECT start_ms, count FROM sample_chunks "
           "WHERE series_id = ?1 AND end_ms >= ?2 AND start_ms < ?3 ORDER BY end_ms DESC"},
          {&select_chunks_before_,
           "SELECT id, start_ms, end_ms, count, data FROM sample_chunks "
           "WHERE series_id = ?1 AND start_ms < ?2"},
          {&select_first_chunk_, "SELECT MIN(start_ms) FROM sample_chunks WHERE series_id = ?1"},
          {&select_chunk_spans_,
           "SELECT start_ms, end_ms FROM sample_chunks "
           "WHERE series_id = ?1 AND end_ms >= ?2 AND end_ms < ?3 ORDER BY end_ms"},
          {&select_block_chunks_,
           "SELECT id, data FROM sample_chunks "
           "WHERE series_id = ?1 AND end_ms >= ?2 AND end_ms < ?3 AND start_ms >= ?2"},
          {&count_chunks_between_,
           "SELECT COUNT(*) FROM sample_chunks "
           "WHERE series_id = ?1 AND end_ms >= ?2 AND start_ms <= ?3"},
          {&select_chunk_ends_,
           "SELECT series_id, MAX(end_ms) FROM sample_chunks GROUP BY series_id"},
          {&insert_log_, "INSERT INTO sample_log (data) VALUES (?1)"},
          {&delete_log_before_, "DELETE FROM sample_log WHERE id < ?1"},
          {&select_log_, "SELECT id, data FROM sample_log ORDER BY id"},
          {&set_flushed_, "UPDATE series SET flushed_log_id = ?2 WHERE id = ?1"},
          {&select_flushed_, "SELECT id, flushed_log_id FROM series WHERE flushed_log_id > 0"},
      });
      !st.ok()) {
    return st;
  }
  std::lock_guard lock(context_.mutex());
  if (auto st = moveLegacySamplesLocked(); !st.ok()) return st;
  {
    ScopedStatement s(select_chunk_ends_);
    while (true) {
      auto row = s->step();
      if (!row.ok()) return row.error();
      if (!*row) break;
      chunk_end_ms_[s->columnInt64(0)] = s->columnInt64(1);
    }
  }
  return replayLogLocked();
}

Status SqliteTelemetryStore::moveLegacySamplesLocked() {
  // Databases of schema 7 and before kept one row per sample in `samples`;
  // they move into chunks once, in one transaction. The empty table stays
  // (the migrations before 8 refer to it).
  common::Transaction tx(context_.db());
  if (!tx.beginStatus().ok()) return tx.beginStatus();
  {
    auto rows = context_.db().prepare(
        "SELECT series_id, ts_ms, value FROM samples ORDER BY series_id, ts_ms");
    if (!rows.ok()) return rows.error();
    auto any = rows->step();
    if (!any.ok()) return any.error();
    if (!*any) return Status();
    int64_t series_id = 0;
    std::vector<Sample> run;
    auto flush = [&]() -> Status {
      if (run.empty()) return Status();
      auto st = writeChunksLocked(series_id, run);
      run.clear();
      return st;
    };
    for (bool more = true; more;) {
      const int64_t id = rows->columnInt64(0);
      if (id != series_id) {
        if (auto st = flush(); !st.ok()) return st;
        series_id = id;
      }
      run.push_back({rows->columnInt64(1), rows->columnDouble(2)});
      auto row = rows->step();
      if (!row.ok()) return row.error();
      more = *row;
    }
    if (auto st = flush(); !st.ok()) return st;
  }
  if (auto st = context_.db().exec("DELETE FROM samples"); !st.ok()) return st;
  return tx.commit();
}

Status SqliteTelemetryStore::replayLogLocked() {
  std::unordered_map<int64_t, int64_t> flushed;
  {
    ScopedStatement s(select_flushed_);
    while (true) {
      auto row = s->step();
      if (!row.ok()) return row.error();
      if (!*row) break;
      flushed[s->columnInt64(0)] = s->columnInt64(1);
      last_log_id_ = std::max(last_log_id_, s->columnInt64(1));
    }
  }
  ScopedStatement s(select_log_);
  log_kept_from_ = 0;
  while (true) {
    auto row = s->step();
    if (!row.ok()) return row.error();
    if (!*row) break;
    const int64_t log_id = s->columnInt64(0);
    if (log_kept_from_ == 0) log_kept_from_ = log_id;
    last_log_id_ = std::max(last_log_id_, log_id);
    auto entries = decodeSampleLog(s->columnBlobView(1));
    if (!entries.ok()) {
      return makeError("corrupt",
                       "sample_log row " + std::to_string(log_id) + ": " + entries.error().message);
    }
    for (auto& entry : *entries) {
      if (auto done = flushed.find(entry.series_id);
          done != flushed.end() && done->second >= log_id) {
        continue;
      }
      SeriesHead& head = heads_[entry.series_id];
      if (head.samples.empty()) {
        head.first_log_id = log_id;
        ++head_log_ids_[log_id];
      }
      mergeNewerSamples(head.samples, entry.samples);
    }
  }
  if (log_kept_from_ == 0) log_kept_from_ = last_log_id_ + 1;
  return Status();
}

Status SqliteTelemetryStore::writeChunksLocked(int64_t series_id, std::span<const Sample> samples,
                                               std::size_t per_row, NewestChunk* newest) {
  // A cut's chunk joins the held ones once its transaction commits
  // (holdNewestLocked); any other write makes them unknown.
  if (newest == nullptr) newest_chunks_.erase(series_id);
  int64_t& end = chunk_end_ms_.try_emplace(series_id, kMinTs).first->second;
  for (std::size_t begin = 0; begin < samples.size(); begin += per_row) {
    const auto piece = samples.subspan(begin, std::min(per_row, samples.size() - begin));
    auto blob = encodeChunk(piece);
    if (!blob.ok()) return blob.error();
    ScopedStatement s(insert_chunk_);
    s->bind(1, series_id)
        .bind(2, piece.front().ts_ms)
        .bind(3, piece.back().ts_ms)
        .bind(4, static_cast<int64_t>(piece.size()))
        .bindBlob(5, blob->data(), blob->size());
    if (auto st = s->run(); !st.ok()) return st;
    if (newest != nullptr && begin + piece.size() == samples.size()) {
      newest->end_ms = piece.back().ts_ms;
      newest->others_end_ms = end;
      newest->held.clear();
      newest->held.push_back({piece.back().ts_ms, piece.size(), std::move(*blob)});
    }
    // An upper bound even if the transaction rolls back: reads stay right.
    end = std::max(end, piece.back().ts_ms);
  }
  return Status();
}

const SqliteTelemetryStore::NewestChunk* SqliteTelemetryStore::newestChunkLocked(
    int64_t series_id, int64_t since_ms) const {
  auto newest = newest_chunks_.find(series_id);
  if (newest == newest_chunks_.end() || newest->second.others_end_ms >= since_ms) return nullptr;
  auto end = chunk_end_ms_.find(series_id);
  if (end == chunk_end_ms_.end() || end->second != newest->second.end_ms) return nullptr;
  return &newest->second;
}

Status SqliteTelemetryStore::decodeNewest(const NewestChunk& newest, std::vector<Sample>& out) {
  std::vector<Sample> later;
  for (const auto& held : newest.held) {
    if (out.empty()) {
      if (auto st = decodeChunkInto(held.blob, out); !st.ok()) return st;
      continue;
    }
    later.clear();
    if (auto st = decodeChunkInto(held.blob, later); !st.ok()) return st;
    mergeNewerSamples(out, later);
  }
  return Status();
}

void SqliteTelemetryStore::holdNewestLocked(int64_t series_id, NewestChunk cut) {
  auto& kept = newest_chunks_[series_id];
  // The chunks held before are still the series' newest others when the cut
  // found nothing newer than them.
  if (!kept.held.empty() && kept.end_ms == cut.others_end_ms) {
    std::size_t samples = 0;
    for (const auto& held : kept.held) samples += held.count;
    for (auto& held : cut.held) samples += held.count;
    cut.others_end_ms = kept.others_end_ms;
    std::size_t drop = 0;
    while (drop < kept.held.size() && samples - kept.held[drop].count >= kNewestSamplesKept) {
      samples -= kept.held[drop].count;
      cut.others_end_ms = std::max(cut.others_end_ms, kept.held[drop].end_ms);
      ++drop;
    }
    cut.held.insert(cut.held.begin(),
                    std::make_move_iterator(kept.held.begin() + static_cast<std::ptrdiff_t>(drop)),
                    std::make_move_iterator(kept.held.end()));
  }
  kept = std::move(cut);
}

Status SqliteTelemetryStore::setFlushedLocked(int64_t series_id, int64_t log_id) {
  ScopedStatement s(set_flushed_);
  s->bind(1, series_id).bind(2, log_id);
  return s->run();
}

Status SqliteTelemetryStore::writeStagedLocked(int64_t now_ms) {
  staged_entries_ = {};
  staged_flushed_.clear();
  staged_newest_.clear();
  staged_log_id_ = 0;
  staged_kept_from_ = log_kept_from_;
  staged_now_ms_ = now_ms;

  // One log entry per series, its timestamps in order (a re-stored timestamp
  // keeps the last value).
  sortSeriesSamplesLastWins(staged_);
  // The entries' vectors are kept from call to call (entry_pool_), so a
  // steady load allocates nothing here.
  std::size_t used = 0;
  for (std::size_t i = 0; i < staged_.size();) {
    if (used == entry_pool_.size()) entry_pool_.emplace_back();
    SampleLogEntry& entry = entry_pool_[used++];
    entry.series_id = staged_[i].series_id;
    entry.samples.clear();
    for (; i < staged_.size() && staged_[i].series_id == entry.series_id; ++i) {
      entry.samples.push_back(staged_[i].sample);
    }
  }
  staged_entries_ = std::span<SampleLogEntry>(entry_pool_.data(), used);
  if (!staged_entries_.empty()) {
    auto blob = encodeSampleLog(staged_entries_);
    if (!blob.ok()) return blob.error();
    ScopedStatement s(insert_log_);
    s->bindBlob(1, blob->data(), blob->size());
    if (auto st = s->run(); !st.ok()) return st;
    staged_log_id_ = context_.db().lastInsertRowid();
  }
  const int64_t mark = staged_log_id_ != 0 ? staged_log_id_ : last_log_id_;

  auto staged_of = [&](int64_t series_id) -> const SampleLogEntry* {
    auto it =
        std::lower_bound(staged_entries_.begin(), staged_entries_.end(), series_id,
                         [](const SampleLogEntry& e, int64_t id) { return e.series_id < id; });
    return it != staged_entries_.end() && it->series_id == series_id ? &*it : nullptr;
  };
  auto cut = [&](int64_t series_id, const SeriesHead* head, const SampleLogEntry* entry) -> Status {
    std::vector<Sample> merged = head != nullptr ? head->samples : std::vector<Sample>();
    if (entry != nullptr) mergeNewerSamples(merged, entry->samples);
    NewestChunk newest;
    if (auto st = writeChunksLocked(series_id, merged, kChunkRowSamples, &newest); !st.ok()) {
      return st;
    }
    staged_newest_.emplace_back(series_id, std::move(newest));
    if (auto st = setFlushedLocked(series_id, mark); !st.ok()) return st;
    staged_flushed_.push_back({series_id, head != nullptr ? head->first_log_id : 0});
    return Status();
  };

  // At most kMaxCutsPerTransaction cuts: a fleet that started together fills
  // (or ages) every head at once, and cutting them all in one transaction
  // held the telemetry writer for seconds every two minutes. The heads left
  // over are cut by the next transactions, which spreads the cuts for good.
  std::size_t budget = kMaxCutsPerTransaction;
  // Full heads (staged_entries_ is ordered by series id, so is this list).
  for (const auto& entry : staged_entries_) {
    if (budget == 0) break;
    auto it = heads_.find(entry.series_id);
    const SeriesHead* head = it != heads_.end() ? &it->second : nullptr;
    const std::size_t held = head != nullptr ? head->samples.size() : 0;
    if (held + entry.samples.size() >= kHeadFlushSamples) {
      if (auto st = cut(entry.series_id, head, &entry); !st.ok()) return st;
      --budget;
    }
  }
  // Old heads: a quiet series' samples do not hold the log back for long.
  if (now_ms >= next_age_check_ms_ && budget > 0) {
    next_age_check_ms_ = now_ms + kHeadAgeCheckMs;
    const std::size_t full = staged_flushed_.size();
    for (const auto& [series_id, head] : heads_) {
      if (head.samples.empty() || head.started_ms > now_ms - kHeadMaxAgeMs) continue;
      if (wasCut(series_id, full)) continue;
      if (budget == 0) {
        // The rest at the next transaction, not kHeadAgeCheckMs later.
        next_age_check_ms_ = now_ms;
        break;
      }
      if (auto st = cut(series_id, &head, staged_of(series_id)); !st.ok()) return st;
      --budget;
    }
  }
  std::sort(staged_flushed_.begin(), staged_flushed_.end());

  // The oldest log row a head still needs once this transaction applies.
  std::map<int64_t, int64_t> cut_counts;
  for (const auto& [series_id, first_log_id] : staged_flushed_) {
    if (first_log_id != 0) ++cut_counts[first_log_id];
  }
  int64_t kept_from = mark + 1;
  for (const auto& [log_id, count] : head_log_ids_) {
    auto cut_here = cut_counts.find(log_id);
    if (count > (cut_here != cut_counts.end() ? cut_here->second : 0)) {
      kept_from = log_id;
      break;
    }
  }
  for (const auto& entry : staged_entries_) {
    auto it = heads_.find(entry.series_id);
    if (!wasCut(entry.series_id, staged_flushed_.size()) &&
        (it == heads_.end() || it->second.samples.empty())) {
      kept_from = std::min(kept_from, staged_log_id_);
    }
  }
  // At most kMaxLogRowsDeletedPerTransaction log rows go per transaction:
  // heads that started together release two minutes of log at once (some
  // 120,000 rows at 9,800 agents), and deleting them in one statement held
  // the telemetry writer for a second. The log rows come about one per
  // transaction, so the deletion still outruns them.
  kept_from = std::min(kept_from, log_kept_from_ + kMaxLogRowsDeletedPerTransaction);
  if (kept_from > log_kept_from_) {
    ScopedStatement s(delete_log_before_);
    s->bind(1, kept_from);
    if (auto st = s->run(); !st.ok()) return st;
    staged_kept_from_ = kept_from;
  }
  return Status();
}

bool SqliteTelemetryStore::wasCut(int64_t series_id, std::size_t among_first) const {
  const auto end = staged_flushed_.begin() + static_cast<std::ptrdiff_t>(among_first);
  auto it = std::lower_bound(
      staged_flushed_.begin(), end, series_id,
      [](const std::pair<int64_t, int64_t>& f, int64_t id) { return f.first < id; });
  return it != end && it->first == series_id;
}

void SqliteTelemetryStore::applyStagedLocked() {
  if (staged_log_id_ != 0) last_log_id_ = staged_log_id_;
  for (const auto& [series_id, first_log_id] : staged_flushed_) forgetHeadLocked(series_id);
  for (auto& entry : staged_entries_) {
    if (wasCut(entry.series_id, staged_flushed_.size())) continue;
    SeriesHead& head = heads_[entry.series_id];
    if (head.samples.empty()) {
      head.first_log_id = staged_log_id_;
      head.started_ms = staged_now_ms_;
      ++head_log_ids_[staged_log_id_];
    }
    mergeNewerSamples(head.samples, entry.samples);
  }
  for (auto& [series_id, newest] : staged_newest_) holdNewestLocked(series_id, std::move(newest));
  log_kept_from_ = staged_kept_from_;
  dropStagedLocked();
}

void SqliteTelemetryStore::dropStagedLocked() {
  staged_.clear();
  staged_entries_ = {};
  staged_flushed_.clear();
  staged_newest_.clear();
  staged_log_id_ = 0;
}

Status SqliteTelemetryStore::flushHeadNowLocked(int64_t series_id) {
  auto it = heads_.find(series_id);
  if (it == heads_.end() || it->second.samples.empty()) return Status();
  if (auto st = writeChunksLocked(series_id, it->second.samples); !st.ok()) return st;
  return setFlushedLocked(series_id, last_log_id_);
}

void SqliteTelemetryStore::forgetHeadLocked(int64_t series_id) {
  auto it = heads_.find(series_id);
  if (it == heads_.end()) return;
  if (!it->second.samples.empty()) {
    auto counted = head_log_ids_.find(it->second.first_log_id);
    if (counted != head_log_ids_.end() && --counted->second <= 0) head_log_ids_.erase(counted);
  }
  heads_.erase(it);
}

Result<int64_t> SqliteTelemetryStore::pruneHeadLocked(int64_t series_id, int64_t cutoff_ms) {
  auto it = heads_.find(series_id);
  if (it == heads_.end() || it->second.samples.empty() ||
      it->second.samples.front().ts_ms >= cutoff_ms) {
    return 0;
  }
  // The head's newer samples go to a chunk and the series is marked flushed,
  // so a replay of the log does not bring back the older ones; the head is
  // dropped once the transaction commits (pruned_heads_).
  const auto kept =
      samplesBetween(it->second.samples, cutoff_ms, std::numeric_limits<int64_t>::max());
  if (!kept.empty()) {
    if (auto st = writeChunksLocked(series_id, kept); !st.ok()) return st.error();
  }
  if (auto st = setFlushedLocked(series_id, last_log_id_); !st.ok()) return st.error();
  pruned_heads_.push_back(series_id);
  return static_cast<int64_t>(it->second.samples.size() - kept.size());
}

Result<std::vector<Sample>> SqliteTelemetryStore::readSamplesLocked(int64_t series_id,
                                                                    int64_t since_ms,
                                                                    int64_t until_ms,
                                                                    int64_t limit) {
  std::vector<Sample> out;
  if (since_ms >= until_ms) return out;
  auto end = chunk_end_ms_.find(series_id);
  if (end == chunk_end_ms_.end() || end->second < since_ms) {
    // No chunk reaches the range: the head alone.
  } else if (const NewestChunk* newest = newestChunkLocked(series_id, since_ms)) {
    // Only the newest chunks reach the range, and they are in memory.
    if (auto st = decodeNewest(*newest, out); !st.ok()) return st.error();
    keepBetween(out, since_ms, until_ms);
  } else {
    std::vector<ChunkRead> reads;
    bool disjoint = true;
    int64_t previous_end = kMinTs;
    std::size_t collected = 0;
    std::optional<int64_t> limit_ts;  // the limit-th sample's ts, once known
    ScopedStatement s(select_chunks_);
    s->bind(1, series_id).bind(2, since_ms).bind(3, until_ms);
    while (true) {
      auto row = s->step();
      if (!row.ok()) return row.error();
      if (!*row) break;
      const int64_t start = s->columnInt64(1);
      if (start <= previous_end) disjoint = false;
      // A chunk that starts after the limit-th sample cannot change the
      // first `limit` (its blob is not even read); one ending later may
      // still start before it, so the scan goes on.
      if (limit_ts && start > *limit_ts) continue;
      previous_end = std::max(previous_end, s->columnInt64(2));
      ChunkRead read{s->columnInt64(0), {}};
      if (auto st = decodeChunkRow(read.id, s->columnBlobView(3), read.samples); !st.ok()) {
        return st.error();
      }
      keepBetween(read.samples, since_ms, until_ms);
      collected += read.samples.size();
      if (limit > 0 && disjoint && !limit_ts && collected >= static_cast<std::size_t>(limit)) {
        limit_ts = read.samples[read.samples.size() - (collected - limit) - 1].ts_ms;
      }
      reads.push_back(std::move(read));
    }
    if (disjoint) {
      out.reserve(collected);
      for (const auto& read : reads)
        out.insert(out.end(), read.samples.begin(), read.samples.end());
    } else {
      // Overlapping chunks (late samples, imports): the later write wins.
      std::sort(reads.begin(), reads.end(),
                [](const ChunkRead& a, const ChunkRead& b) { return a.id < b.id; });
      for (const auto& read : reads) mergeNewerSamples(out, read.samples);
    }
  }
  if (auto head = heads_.find(series_id); head != heads_.end()) {
    mergeNewerSamples(out, samplesBetween(head->second.samples, since_ms, until_ms));
  }
  if (limit > 0 && out.size() > static_cast<std::size_t>(limit)) {
    out.resize(static_cast<std::size_t>(limit));
  }
  return out;
}

Result<std::vector<Sample>> SqliteTelemetryStore::readRecentLocked(int64_t series_id,
                                                                   int64_t since_ms,
                                                                   int64_t until_ms,
                                                                   int64_t count) {
  if (count <= 0 || since_ms >= until_ms) return std::vector<Sample>();
  const auto wanted = static_cast<std::size_t>(count);
  std::span<const Sample> in_head;
  if (auto head = heads_.find(series_id); head != heads_.end()) {
    in_head = samplesBetween(head->second.samples, since_ms, until_ms);
  }
  auto end = chunk_end_ms_.find(series_id);
  const bool no_chunks = end == chunk_end_ms_.end() || end->second < since_ms;
  // The cycle's read: the head alone holds the newest samples.
  if (no_chunks ||
      (in_head.size() >= wanted && in_head[in_head.size() - wanted].ts_ms > end->second)) {
    const auto newest = in_head.last(std::min(wanted, in_head.size()));
    return std::vector<Sample>(newest.begin(), newest.end());
  }
  // The newest chunks in memory and the head may hold them all.
  if (auto newest = newest_chunks_.find(series_id);
      newest != newest_chunks_.end() && newest->second.end_ms == end->second) {
    std::vector<Sample> held;
    if (auto st = decodeNewest(newest->second, held); !st.ok()) return st.error();
    const auto in_range = samplesBetween(held, since_ms, until_ms);
    std::vector<Sample> merged(in_range.begin(), in_range.end());
    mergeNewerSamples(merged, in_head);
    if (merged.size() >= wanted
            ? merged[merged.size() - wanted].ts_ms > newest->second.others_end_ms
            : newest->second.others_end_ms < since_ms) {
      if (merged.size() > wanted) {
        merged.erase(merged.begin(), merged.end() - static_cast<std::ptrdiff_t>(wanted));
      }
      return merged;
    }
  }
  // How far back the newest chunks reach `count` samples.
  int64_t lower = since_ms;
  {
    std::size_t counted = in_head.size();
    ScopedStatement s(select_chunks_newest_);
    s->bind(1, series_id).bind(2, since_ms).bind(3, until_ms);
    while (counted < wanted) {
      auto row = s->step();
      if (!row.ok()) return row.error();
      if (!*row) break;
      counted += static_cast<std::size_t>(s->columnInt64(1));
      if (counted >= wanted) lower = std::max(since_ms, s->columnInt64(0));
    }
  }
  auto read = readSamplesLocked(series_id, lower, until_ms);
  if (!read.ok()) return read.error();
  // Chunks straddling until_ms, or overlapping ones, counted samples the
  // range does not hold: read the whole range then.
  if (read->size() < wanted && lower > since_ms) {
    read = readSamplesLocked(series_id, since_ms, until_ms);
    if (!read.ok()) return read.error();
  }
  if (read->size() > wanted)
    read->erase(read->begin(), read->end() - static_cast<std::ptrdiff_t>(wanted));
  return read;
}

Status SqliteTelemetryStore::compactBlocksLocked(int64_t series_id, int64_t from_ms,
                                                 int64_t to_ms) {
  // The blocks with two or more chunk rows inside them.
  std::vector<int64_t> blocks;
  {
    ScopedStatement s(select_chunk_spans_);
    s->bind(1, series_id).bind(2, from_ms).bind(3, to_ms);
    int64_t block = kMinTs;
    int64_t rows_in_block = 0;
    while (true) {
      auto row = s->step();
      if (!row.ok()) return row.error();
      if (!*row) break;
      const int64_t start_block = floorToBucket(s->columnInt64(0), kCompactBlockMs);
      if (start_block != floorToBucket(s->columnInt64(1), kCompactBlockMs)) continue;
      if (start_block != block) {
        block = start_block;
        rows_in_block = 0;
      }
      if (++rows_in_block == 2) blocks.push_back(block);
    }
  }
  for (int64_t start : blocks) {
    if (auto st = compactBlockLocked(series_id, start); !st.ok()) return st;
  }
  return Status();
}

Status SqliteTelemetryStore::compactBlockLocked(int64_t series_id, int64_t block_ms) {
  struct Row {
    int64_t id;
    std::string data;
  };
  std::vector<Row> rows;
  {
    ScopedStatement s(select_block_chunks_);
    s->bind(1, series_id).bind(2, block_ms).bind(3, block_ms + kCompactBlockMs);
    while (true) {
      auto row = s->step();
      if (!row.ok()) return row.error();
      if (!*row) break;
      rows.push_back({s->columnInt64(0), s->columnBlob(1)});
    }
  }
  if (rows.size() < 2) return Status();
  newest_chunks_.erase(series_id);
  // Merged in the order they were written, so the later write of a
  // timestamp still wins.
  std::sort(rows.begin(), rows.end(), [](const Row& a, const Row& b) { return a.id < b.id; });
  std::vector<Sample> merged;
  for (const auto& row : rows) {
    std::vector<Sample> samples;
    if (auto st = decodeChunkRow(row.id, row.data, samples); !st.ok()) return st;
    mergeNewerSamples(merged, samples);
  }
  // A chunk outside the block's rows that overlaps their time (a late write
  // across the block's edge) keeps them apart: the merged chunk, written
  // last, would otherwise win over a later write there.
  {
    ScopedStatement s(count_chunks_between_);
    s->bind(1, series_id).bind(2, merged.front().ts_ms).bind(3, merged.back().ts_ms);
    auto count = common::firstRow<int64_t>(*s, common::firstColumnInt64);
    if (!count.ok()) return count.error();
    if (!count->has_value() || **count != static_cast<int64_t>(rows.size())) return Status();
  }
  for (const auto& row : rows) {
    ScopedStatement s(delete_chunk_);
    s->bind(1, row.id);
    if (auto st = s->run(); !st.ok()) return st;
  }
  return writeChunksLocked(series_id, merged, kMaxChunkSamples);
}

Result<std::optional<int64_t>> SqliteTelemetryStore::firstSampleTsLocked(int64_t series_id) {
  std::optional<int64_t> first;
  if (auto head = heads_.find(series_id); head != heads_.end() && !head->second.samples.empty()) {
    first = head->second.samples.front().ts_ms;
  }
  ScopedStatement s(select_first_chunk_);
  s->bind(1, series_id);
  auto row = s->step();
  if (!row.ok()) return row.error();
  if (*row && !s->columnIsNull(0)) {
    const int64_t start = s->columnInt64(0);
    first = first ? std::min(*first, start) : start;
  }
  return first;
}

Result<int64_t> SqliteTelemetryStore::pruneSeriesSamplesLocked(int64_t series_id,
                                                               int64_t cutoff_ms) {
  auto removed = pruneHeadLocked(series_id, cutoff_ms);
  if (!removed.ok()) return removed;
  newest_chunks_.erase(series_id);
  struct Row {
    int64_t id, start, end, count;
    std::string data;
  };
  std::vector<Row> rows;
  {
    ScopedStatement s(select_chunks_before_);
    s->bind(1, series_id).bind(2, cutoff_ms);
    while (true) {
      auto row = s->step();
      if (!row.ok()) return row.error();
      if (!*row) break;
      Row r{s->columnInt64(0), s->columnInt64(1), s->columnInt64(2), s->columnInt64(3), {}};
      if (r.end >= cutoff_ms) r.data = s->columnBlob(4);
      rows.push_back(std::move(r));
    }
  }
  for (const auto& r : rows) {
    if (r.end < cutoff_ms) {
      ScopedStatement s(delete_chunk_);
      s->bind(1, r.id);
      if (auto st = s->run(); !st.ok()) return st.error();
      *removed += r.count;
      continue;
    }
    // A chunk across the cutoff keeps its newer samples, and its id (its
    // place in the order of writes).
    std::vector<Sample> samples;
    if (auto st = decodeChunkRow(r.id, r.data, samples); !st.ok()) return st.error();
    const auto kept = samplesBetween(samples, cutoff_ms, std::numeric_limits<int64_t>::max());
    auto blob = encodeChunk(kept);
    if (!blob.ok()) return blob.error();
    ScopedStatement s(update_chunk_);
    s->bind(1, r.id)
        .bind(2, kept.front().ts_ms)
        .bind(3, kept.back().ts_ms)
        .bind(4, static_cast<int64_t>(kept.size()))
        .bindBlob(5, blob->data(), blob->size());
    if (auto st = s->run(); !st.ok()) return st.error();
    *removed += static_cast<int64_t>(samples.size() - kept.size());
  }
  return removed;
}

}  // namespace pso::controller::store
