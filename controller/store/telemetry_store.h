#pragma once

// The telemetry aggregate of the controller's store: the samples agents send,
// per (system, metric) series, and their minute and hour rollups for
// long-horizon forecasts.

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "common/result.h"
#include "controller/store/records.h"
#include "protocol/messages.h"

namespace pso::controller::store {

/// The name an agent's host metrics (series sent with an empty system) are
/// stored and read under: "@host:<agent_id>". System names start with a
/// letter or digit (protocol/names.h), so it never collides with one.
std::string hostSeriesSystem(const std::string& agent_id);

/// What a decision cycle reads of one system's series (TelemetryStore::cycleReads).
struct CycleSeriesRead {
  /// The newest samples with since_ms <= ts < until_ms, at most recent_count
  /// of them, oldest first.
  std::vector<Sample> recent;
  /// Sum and number of the samples with window_after_ms < ts < until_ms: the
  /// step the cycle observes, however many samples it holds.
  double window_sum = 0.0;
  int64_t window_count = 0;
};

/// One series row of an ingested batch as the store wrote it: the samples
/// that passed every check, under the key they are stored by (host series
/// under hostSeriesSystem(agent_id)).
struct StoredSeries {
  std::string agent_id;
  protocol::SeriesKey key;
  std::vector<Sample> samples;
};

/// Telemetry ingest under the per-agent sequence rule, sample reads, rollups
/// and retention. Implementations are thread-safe.
class TelemetryStore {
 public:
  virtual ~TelemetryStore() = default;

  /// Sets the windows ingest applies from the next call on; IngestLimits'
  /// defaults apply until it is called. A negative time window counts as 0.
  virtual void setIngestLimits(const IngestLimits& limits) = 0;

  /// Stores a batch if its seq is the next one expected for the agent
  /// (seq == max(last_seq, oldest_seq - 1) + 1), in one transaction together
  /// with the agent's new last_seq; a seq at or below last_seq is a duplicate,
  /// one beyond the next expected is out of order. Both are not stored. A
  /// batch whose oldest_seq is outside [1, seq], spans max_seq_advance
  /// batches or more (seq - oldest_seq), or would move the agent's position
  /// more than max_seq_advance past last_seq (oldest_seq - 1 > last_seq +
  /// max_seq_advance) is refused (kRefused, with the reason): nothing is
  /// stored and last_seq stays (resetAgentSeq moves it on purpose).
  ///
  /// In a stored batch, each sample is checked on its own and refused (and
  /// counted in the outcome) when its ts is before now_ms - max_age_ms or
  /// after now_ms + max_ahead_ms, or when its system is owned by another
  /// agent (FleetStore::upsertAgent); the rest of the batch is stored. A
  /// system no agent declared yet takes anyone's samples. The "replicas"
  /// metric also updates the system's replica count, from stored samples
  /// only. Host metrics (empty system) are stored per agent, under
  /// hostSeriesSystem(agent_id).
  ///
  /// Non-finite values (NaN = no sample) are skipped. A re-stored (series, ts)
  /// replaces the earlier value, so samples never duplicate. An agent not seen
  /// before is registered with last_seq 0, first seen at now_ms. A batch whose
  /// shape is inconsistent (values rows vs series, row lengths vs timestamps)
  /// or whose seq is 0 is refused with code "invalid" and nothing of the call
  /// is stored.
  [[nodiscard]] virtual Result<IngestOutcome> ingestTelemetry(const protocol::TelemetryBatch& batch,
                                                              int64_t now_ms) = 0;
  /// Several batches in one transaction (the ingest loop's batching). With
  /// `stored`, also appends there what was written (to forward it once the
  /// call succeeded; on an error nothing of the call is stored).
  [[nodiscard]] virtual Result<std::vector<IngestOutcome>> ingestTelemetry(
      const std::vector<protocol::TelemetryBatch>& batches, int64_t now_ms,
      std::vector<StoredSeries>* stored = nullptr) = 0;

  /// Writes past samples of one system's series, as an operator's import of
  /// history (psoctl import): no agent, no sequence, no age or ownership
  /// window. A system or metric name outside protocol/names.h's rules is
  /// refused with code "invalid" and nothing is written. Non-finite values are
  /// skipped and counted; a (series, ts) already stored is replaced; the
  /// order of `samples` does not matter (the last of two equal ts wins). The
  /// "replicas" metric does not change the system's replica count. Written in
  /// transactions of bounded size, releasing the store between them. The
  /// series is marked for the next rollup pass to recompute its buckets from
  /// the oldest sample written; buckets before the raw-sample and minute-row
  /// retention marks, which that pass no longer recomputes, are rolled up
  /// here from what is left of their inputs (the imported samples, and the
  /// minute rows for hours), replacing the rows they had.
  [[nodiscard]] virtual Result<ImportReport> importSamples(const std::string& system,
                                                           const std::string& metric,
                                                           const std::vector<Sample>& samples) = 0;

  /// Every read below takes a system name, or hostSeriesSystem(agent_id) for
  /// an agent's host metrics.

  /// Samples of (system, metric) with since_ms <= ts < until_ms, oldest first;
  /// with limit > 0, the oldest `limit` of them (page on with since = last ts + 1).
  [[nodiscard]] virtual Result<std::vector<Sample>> samples(const std::string& system,
                                                            const std::string& metric,
                                                            int64_t since_ms, int64_t until_ms,
                                                            int64_t limit = 0) = 0;
  /// The newest `count` samples of (system, metric) with ts < until_ms, oldest
  /// first (the history window a forecast or a scenario needs).
  [[nodiscard]] virtual Result<std::vector<Sample>> recentSamples(const std::string& system,
                                                                  const std::string& metric,
                                                                  int64_t until_ms,
                                                                  int64_t count) = 0;
  [[nodiscard]] virtual Result<std::optional<Sample>> latestSample(const std::string& system,
                                                                   const std::string& metric) = 0;

  // Reads of a whole fleet in one call: the store is taken once, so ingest
  // waits for one read of the fleet, not for one read per system.
  /// For each of `systems`, the cycle's read of (system, metric); a system
  /// without a sample in [since_ms, until_ms) is absent.
  [[nodiscard]] virtual Result<std::map<std::string, CycleSeriesRead>> cycleReads(
      const std::vector<std::string>& systems, const std::string& metric, int64_t since_ms,
      int64_t window_after_ms, int64_t until_ms, int64_t recent_count) = 0;
  /// latestSample of (system, metric) for each of `systems`; a system without
  /// a sample is absent.
  [[nodiscard]] virtual Result<std::map<std::string, Sample>> latestSamples(
      const std::vector<std::string>& systems, const std::string& metric) = 0;
  /// Names of the metrics stored for a system, ordered by name.
  [[nodiscard]] virtual Result<std::vector<std::string>> metrics(const std::string& system) = 0;
  /// Deletes samples older than cutoff_ms; returns how many. Rollups keep
  /// their own, longer retention (pruneRollups).
  [[nodiscard]] virtual Result<int64_t> pruneSamples(int64_t cutoff_ms) = 0;

  // Rollups: 1-minute buckets of the raw samples and 1-hour buckets of the
  // minute rows (min, mean, max, count), for long-horizon forecasts.
  /// Writes every bucket that ends at or before floor(closed_before_ms, 1 min)
  /// and is not written yet, for every series; the hour buckets whose minutes
  /// are all written follow. Idempotent and restart-safe: a bucket's row is
  /// computed from its samples and replaces any earlier row (never added to),
  /// and the progress mark moves only after every series is done. Samples that
  /// arrive later for a bucket already written (a drained agent spool, a
  /// replaced value) mark their series, and the next pass recomputes its
  /// buckets from that time on, as far back as the raw samples and minute rows
  /// are still kept. Works in short transactions, releasing the store between
  /// groups of series, so ingest is not held up for the whole pass.
  [[nodiscard]] virtual Result<RollupReport> rollup(int64_t closed_before_ms) = 0;
  /// Rollup rows of (system, metric) whose bucket starts in [since_ms,
  /// until_ms), oldest first; with limit > 0, the oldest `limit` of them.
  [[nodiscard]] virtual Result<std::vector<RollupBucket>> rollups(
      const std::string& system, const std::string& metric, RollupResolution resolution,
      int64_t since_ms, int64_t until_ms, int64_t limit = 0) = 0;
  /// Where the last completed rollup pass stopped: every bucket of this
  /// resolution ending at or before the returned time is written (0 before
  /// the first pass). For hours, the minute mark floored to the hour.
  virtual int64_t rolledUntil(RollupResolution resolution) = 0;
  /// Deletes rollup rows of a resolution whose bucket starts before
  /// cutoff_ms; returns how many.
  [[nodiscard]] virtual Result<int64_t> pruneRollups(RollupResolution resolution,
                                                     int64_t cutoff_ms) = 0;
};

}  // namespace pso::controller::store
