#include "controller/store/ingest_rules.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

#include "controller/store/record_rules.h"

namespace pso::controller::store {
namespace {

// Refuses a malformed batch before anything touches the database, so one bad
// batch cannot leave half a transaction behind.
Status checkBatchShape(const protocol::TelemetryBatch& batch) {
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

// Why a batch's sequence fields put it outside the window; empty when they
// do not.
std::string seqRefusal(const protocol::TelemetryBatch& batch, uint64_t last, uint64_t window) {
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

// A system name as batches carry it: an empty one means the agent's host.
bool isHostSeriesKey(const protocol::SeriesKey& key) {
  return key.system.empty();
}

// One call's ingest: the positions and owners as of its transaction.
class IngestRun {
 public:
  IngestRun(int64_t now_ms, const IngestLimits& limits, IngestTarget& target,
            std::vector<StoredSeries>* stored)
      : now_ms_(now_ms), limits_(limits), target_(target), stored_(stored) {}

  Result<IngestOutcome> apply(const protocol::TelemetryBatch& batch) {
    auto known = last_seq_.find(batch.agent_id);
    if (known == last_seq_.end()) {
      auto loaded = target_.agentSeq(batch.agent_id, now_ms_);
      if (!loaded.ok()) return loaded.error();
      known = last_seq_.emplace(batch.agent_id, *loaded).first;
    }
    const uint64_t last = known->second;

    IngestOutcome outcome;
    outcome.last_seq = last;
    if (std::string refusal = seqRefusal(batch, last, limits_.max_seq_advance); !refusal.empty()) {
      outcome.kind = IngestOutcome::Kind::kRefused;
      outcome.refusal = std::move(refusal);
      return outcome;
    }
    if (batch.seq <= last) {
      outcome.kind = IngestOutcome::Kind::kDuplicate;
      return outcome;
    }
    if (batch.seq != std::max(last, batch.oldest_seq - 1) + 1) {
      outcome.kind = IngestOutcome::Kind::kOutOfOrder;
      return outcome;
    }
    for (std::size_t i = 0; i < batch.series.size(); ++i) {
      const auto& key = batch.series[i];
      if (!isHostSeriesKey(key)) {
        auto may = mayWrite(batch.agent_id, key.system);
        if (!may.ok()) return may.error();
        if (!*may) {
          for (double value : batch.values[i]) {
            if (std::isfinite(value)) ++outcome.samples_not_owned;
          }
          continue;
        }
      }
      if (auto st = storeSeries(batch, i, outcome); !st.ok()) return st.error();
    }
    known->second = batch.seq;
    advanced_.insert(batch.agent_id);
    outcome.kind = IngestOutcome::Kind::kStored;
    outcome.last_seq = batch.seq;
    return outcome;
  }

  Status finish() {
    for (const auto& agent_id : advanced_) {
      if (auto st = target_.setAgentSeq(agent_id, last_seq_[agent_id]); !st.ok()) return st;
    }
    return Status();
  }

 private:
  Result<bool> mayWrite(const std::string& agent_id, const std::string& system) {
    // Host series are stored under names no system can take; a batch naming
    // one directly is someone else's.
    if (system.rfind('@', 0) == 0) return false;
    auto known = owners_.find(system);
    if (known == owners_.end()) {
      auto owner = target_.systemOwner(system);
      if (!owner.ok()) return owner.error();
      known = owners_.emplace(system, *owner).first;
    }
    return !known->second.has_value() || *known->second == agent_id;
  }

  Status storeSeries(const protocol::TelemetryBatch& batch, std::size_t index,
                     IngestOutcome& outcome) {
    const auto& sent = batch.series[index];
    const protocol::SeriesKey key =
        isHostSeriesKey(sent) ? protocol::SeriesKey{hostSeriesSystem(batch.agent_id), sent.metric}
                              : sent;
    const int64_t oldest_allowed = saturatingAdd(now_ms_, -limits_.max_age_ms);
    const int64_t newest_allowed = saturatingAdd(now_ms_, limits_.max_ahead_ms);
    const auto& row = batch.values[index];
    // One buffer for every row of the call (its samples are copied by the
    // target); a row handed on in `stored_` takes its own.
    std::vector<Sample>& samples = scratch_;
    samples.clear();
    samples.reserve(row.size());
    std::optional<Sample> newest;
    int64_t oldest_ts = std::numeric_limits<int64_t>::max();
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
      samples.push_back({ts, value});
      oldest_ts = std::min(oldest_ts, ts);
      if (!newest || ts >= newest->ts_ms) newest = Sample{ts, value};
    }
    // A series is created only for a sample that is stored.
    if (samples.empty()) return Status();
    if (auto st = target_.writeSamples(key, samples, oldest_ts); !st.ok()) return st;
    outcome.samples += samples.size();
    if (key.metric == "replicas" && !isHostSeriesKey(sent)) {
      if (auto st = target_.updateReplicas(key.system, std::llround(newest->value), newest->ts_ms);
          !st.ok()) {
        return st;
      }
    }
    if (stored_ != nullptr) stored_->push_back({batch.agent_id, key, samples});
    return Status();
  }

  const int64_t now_ms_;
  const IngestLimits& limits_;
  IngestTarget& target_;
  std::vector<StoredSeries>* stored_;
  std::unordered_map<std::string, uint64_t> last_seq_;  // per agent, as of this transaction
  std::unordered_set<std::string> advanced_;
  // System owners as of this transaction (only upsertAgent changes them).
  std::unordered_map<std::string, std::optional<std::string>> owners_;
  std::vector<Sample> scratch_;
};

}  // namespace

IngestLimits normalizedIngestLimits(const IngestLimits& limits) {
  IngestLimits normalized = limits;
  // A negative window would be no window at all, and could overflow.
  normalized.max_age_ms = std::max<int64_t>(normalized.max_age_ms, 0);
  normalized.max_ahead_ms = std::max<int64_t>(normalized.max_ahead_ms, 0);
  return normalized;
}

BatchNames batchNames(const std::vector<const protocol::TelemetryBatch*>& batches) {
  BatchNames names;
  for (const auto* batch : batches) {
    names.agent_ids.push_back(batch->agent_id);
    for (const auto& key : batch->series) {
      if (!isHostSeriesKey(key)) names.systems.push_back(key.system);
    }
  }
  for (auto* list : {&names.agent_ids, &names.systems}) {
    std::sort(list->begin(), list->end());
    list->erase(std::unique(list->begin(), list->end()), list->end());
  }
  return names;
}

Result<std::vector<IngestOutcome>> ingestBatches(
    const std::vector<const protocol::TelemetryBatch*>& batches, int64_t now_ms,
    const IngestLimits& limits, IngestTarget& target, std::vector<StoredSeries>* stored) {
  for (const auto* batch : batches) {
    if (auto st = checkBatchShape(*batch); !st.ok()) return st.error();
  }
  if (auto st = target.prefetch(batches); !st.ok()) return st.error();
  IngestRun run(now_ms, limits, target, stored);
  std::vector<IngestOutcome> outcomes;
  outcomes.reserve(batches.size());
  for (const auto* batch : batches) {
    auto outcome = run.apply(*batch);
    if (!outcome.ok()) return outcome.error();
    outcomes.push_back(std::move(*outcome));
  }
  if (auto st = run.finish(); !st.ok()) return st.error();
  return outcomes;
}

}  // namespace pso::controller::store
