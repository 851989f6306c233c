#pragma once

// Telemetry ingest's rules, the same for every backend: the batch shape, the
// per-agent sequence rule and its window, the per-sample time window, system
// ownership, host series and the replica count (the contract of
// TelemetryStore::ingestTelemetry). A backend supplies the reads and writes
// (IngestTarget) inside its own transaction; ingestBatches decides.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/result.h"
#include "controller/store/records.h"
#include "controller/store/telemetry_store.h"
#include "protocol/messages.h"

namespace pso::controller::store {

/// What ingest reads and writes, all in the backend's open transaction.
class IngestTarget {
 public:
  virtual ~IngestTarget() = default;
  /// The agent's stored seq; an agent not known yet is registered at now_ms
  /// with seq 0.
  [[nodiscard]] virtual Result<uint64_t> agentSeq(const std::string& agent_id, int64_t now_ms) = 0;
  [[nodiscard]] virtual Status setAgentSeq(const std::string& agent_id, uint64_t seq) = 0;
  /// The agent that declared the system first; nullopt when none did.
  [[nodiscard]] virtual Result<std::optional<std::string>> systemOwner(
      const std::string& system) = 0;
  /// Writes samples of one series (creating it), in the order given: a later
  /// sample of an equal ts replaces an earlier one, as does one stored before.
  /// `oldest_ts_ms` is the oldest of them (for the rollup's late marks).
  [[nodiscard]] virtual Status writeSamples(const protocol::SeriesKey& key,
                                            const std::vector<Sample>& samples,
                                            int64_t oldest_ts_ms) = 0;
  /// Sets a system's replica count as of ts_ms unless the stored one is newer.
  [[nodiscard]] virtual Status updateReplicas(const std::string& system, int64_t replicas,
                                              int64_t ts_ms) = 0;
  /// Called once before a call's batches (their shape checked): a backend
  /// whose reads are network round trips reads what agentSeq and
  /// systemOwner will be asked (batchNames()) in one statement each, and
  /// answers from that. Nothing by default.
  [[nodiscard]] virtual Status prefetch(
      const std::vector<const protocol::TelemetryBatch*>& batches) {
    (void)batches;
    return Status();
  }
};

/// The agents and systems (host series aside) a call's batches name, each
/// once, sorted.
struct BatchNames {
  std::vector<std::string> agent_ids;
  std::vector<std::string> systems;
};
BatchNames batchNames(const std::vector<const protocol::TelemetryBatch*>& batches);

/// IngestLimits with negative time windows taken as 0.
IngestLimits normalizedIngestLimits(const IngestLimits& limits);

/// Applies the batches in order through `target`: refuses the call with code
/// "invalid" before any write when a batch's shape is wrong; otherwise one
/// outcome per batch. With `stored`, appends what was written. On an error
/// the caller rolls its transaction back (and drops what `stored` gained).
[[nodiscard]] Result<std::vector<IngestOutcome>> ingestBatches(
    const std::vector<const protocol::TelemetryBatch*>& batches, int64_t now_ms,
    const IngestLimits& limits, IngestTarget& target, std::vector<StoredSeries>* stored);

/// The batch-list overload of TelemetryStore::ingestTelemetry on top of a
/// backend's `ingest_locked(pointers)` (called with the backend's mutex
/// held): the batches as pointers, and what `stored` gained dropped again
/// when the call fails, as nothing of it was stored.
template <typename IngestLocked>
Result<std::vector<IngestOutcome>> ingestBatchList(
    const std::vector<protocol::TelemetryBatch>& batches, std::vector<StoredSeries>* stored,
    IngestLocked&& ingest_locked) {
  std::vector<const protocol::TelemetryBatch*> pointers;
  pointers.reserve(batches.size());
  for (const auto& batch : batches) pointers.push_back(&batch);
  const std::size_t stored_before = stored != nullptr ? stored->size() : 0;
  auto outcomes = ingest_locked(pointers);
  if (!outcomes.ok() && stored != nullptr) stored->resize(stored_before);
  return outcomes;
}

}  // namespace pso::controller::store
