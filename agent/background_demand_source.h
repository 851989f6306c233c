#pragma once

// Keeps a demand source that waits on the outside world (a command, an HTTP
// scrape) off the agent's loop: it is read on a thread of its own and the loop
// takes the latest value.

#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "agent/demand_source.h"

namespace pso::agent {

/// Wraps a source whose read() may block for up to its timeout
/// (DemandSource::mayBlock()). A worker thread, started by the first read(),
/// calls the wrapped source's read() every `interval_ms` (at once again when a
/// read took longer than the interval) and keeps only the latest outcome and
/// the series it produced, with the time it completed. read() never waits for
/// the worker: it returns that latest outcome (value or error) while it is
/// fresh, "pending" while the first read is still running, and "stale" when
/// the latest outcome is older than 2 x interval + timeout (the source hangs or
/// is slower than its timeout allows). Bounded: one read in flight, no queue;
/// the destructor waits only for the read in flight, which the wrapped
/// source's timeout bounds. Rates of counters are computed by the wrapped
/// source at the time each read starts.
class BackgroundDemandSource final : public DemandSource {
 public:
  /// @param source the blocking source; only the worker thread calls it
  /// @param interval_ms how often to read it (the agent's sample interval), > 0
  /// @param timeout_ms the longest one read of it may take (its timeout)
  BackgroundDemandSource(std::unique_ptr<DemandSource> source, int64_t interval_ms,
                         int64_t timeout_ms);
  ~BackgroundDemandSource() override;
  BackgroundDemandSource(const BackgroundDemandSource&) = delete;
  BackgroundDemandSource& operator=(const BackgroundDemandSource&) = delete;

  const char* kind() const override { return kind_; }
  [[nodiscard]] Result<double> read(int64_t now_ms) override;
  /// The series of the latest outcome while it is fresh.
  void appendMetrics(std::vector<SamplePoint>& out) override;

  /// Reads of the wrapped source completed so far.
  uint64_t completedReads() const;
  /// Age in ms past which the latest outcome is reported as stale.
  int64_t staleAfterMs() const { return stale_after_ms_; }

 private:
  void run();
  /// Whether there is an outcome younger than staleAfterMs(). Needs mutex_.
  bool freshLocked(int64_t now_steady_ms) const;

  std::unique_ptr<DemandSource> source_;
  const char* kind_;
  const int64_t interval_ms_;
  const int64_t stale_after_ms_;

  mutable std::mutex mutex_;
  std::condition_variable wake_;
  std::thread worker_;
  bool started_ = false;
  bool stopping_ = false;
  bool have_outcome_ = false;
  Result<double> latest_{0.0};
  int64_t latest_steady_ms_ = 0;   ///< when the latest read completed
  int64_t reading_since_ms_ = -1;  ///< when the read in flight began; -1 when idle
  std::vector<SamplePoint> latest_series_;
  std::vector<SamplePoint> scratch_;  ///< the worker's buffer, swapped with latest_series_
  uint64_t completed_ = 0;
};

}  // namespace pso::agent
