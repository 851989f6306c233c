#pragma once

// Runs every configured health check on its schedule and turns probe results
// into the states the controller sees (protocol Health message).

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "agent/health_check.h"
#include "common/config.h"
#include "common/metrics.h"
#include "common/result.h"
#include "protocol/messages.h"

namespace pso::agent {

/// Schedules the health checks of every system on one background thread, so a
/// slow probe (bounded by its timeout) never stalls sampling or directives.
///
/// Each check runs at start and then every `interval`. Its state is "unknown"
/// until its first probe, "ok" after a successful probe, and "failing" once
/// `failure_threshold` probes in a row have failed; a failure below the
/// threshold keeps the previous state but reports the error. Every completed
/// probe queues a result (at most kMaxQueued; the oldest are dropped and
/// counted when nobody takes them) and makes wakeFd() readable.
class HealthMonitor {
 public:
  static constexpr std::size_t kMaxQueued = 1024;

  /// Builds the checks of every system; an Error names the system and check
  /// that cannot be built.
  [[nodiscard]] static Result<std::unique_ptr<HealthMonitor>> create(
      const std::vector<SystemConfig>& systems, common::MetricsRegistry* metrics = nullptr);
  ~HealthMonitor();
  HealthMonitor(const HealthMonitor&) = delete;
  HealthMonitor& operator=(const HealthMonitor&) = delete;

  /// Starts the probing thread (none when there are no checks).
  [[nodiscard]] Status start();
  /// Stops and joins the thread, waiting for a probe in progress. Idempotent.
  void stop();

  /// A descriptor that becomes readable when results are waiting; drained by
  /// takeResults().
  int wakeFd() const { return wake_[0]; }
  /// Moves the results queued since the last call into `out` (appended).
  void takeResults(std::vector<protocol::HealthCheckResult>& out);
  /// The current state of every check (unknown before its first probe).
  std::vector<protocol::HealthCheckResult> snapshot() const;
  /// 100 x the share of `system`'s checks that are ok, once every one of them
  /// has been probed; nullopt before that or for a system without checks.
  std::optional<double> score(const std::string& system) const;
  std::size_t checkCount() const { return entries_.size(); }
  /// Results dropped because the queue was full.
  uint64_t droppedResults() const;

 private:
  using Clock = std::chrono::steady_clock;
  struct Entry {
    std::string system;
    HealthCheckConfig config;
    std::unique_ptr<HealthCheck> check;
    Clock::time_point next_due;
    int64_t consecutive_failures = 0;
    protocol::HealthCheckResult state;  ///< guarded by mutex_
  };

  explicit HealthMonitor(common::MetricsRegistry* metrics);
  void loop();
  void record(Entry& entry, const ProbeResult& probe);

  common::MetricsRegistry* metrics_;
  std::vector<Entry> entries_;
  mutable std::mutex mutex_;
  std::condition_variable wake_thread_;
  bool stopping_ = false;
  std::vector<protocol::HealthCheckResult> queued_;
  uint64_t dropped_ = 0;
  int wake_[2] = {-1, -1};
  std::thread thread_;
};

}  // namespace pso::agent
