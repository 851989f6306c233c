#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <vector>

#include "agent/actuator.h"
#include "common/metrics.h"

namespace pso::agent {

/// Runs a system as N worker processes that the agent itself starts and stops.
/// Worker i (0-based) runs `command` with "{index}" replaced by i and
/// "{system}" by the system name, in a process group of its own, and gets
/// SIGTERM if the agent dies. Scaling down stops the highest indexes: SIGTERM
/// to the worker's group, SIGKILL once `stop_grace` has passed. A worker that
/// exits without being asked is restarted (immediately the first time, then
/// with a growing delay while it keeps dying within seconds) and counted.
/// A new worker for an index waits until the previous one at that index has
/// exited, so two never share a port.
class ProcessPoolActuator final : public Actuator {
 public:
  /// @param initial_replicas workers started by start()
  /// @param metrics optional; counts pso_agent_worker_restarts_total{system}
  ProcessPoolActuator(std::string system, std::vector<std::string> command,
                      common::Duration stop_grace, int64_t initial_replicas,
                      common::MetricsRegistry* metrics = nullptr);
  /// Stops every worker (see stop()).
  ~ProcessPoolActuator() override;
  ProcessPoolActuator(const ProcessPoolActuator&) = delete;
  ProcessPoolActuator& operator=(const ProcessPoolActuator&) = delete;

  const char* kind() const override { return "process-pool"; }
  /// Starts the initial workers; an Error when one cannot be executed.
  [[nodiscard]] Status start() override;
  /// Workers running and not being stopped.
  int64_t currentReplicas() const override;
  /// Scale only: grows or shrinks to directive.replicas. When a new worker
  /// cannot be executed the pool returns to its previous size and the result
  /// is "failed".
  [[nodiscard]] ActuationResult apply(const protocol::Directive& directive) override;
  void poll() override;
  /// SIGTERM to every worker, SIGKILL to those still alive after stop_grace,
  /// and waits until all are reaped.
  void stop() override;

  /// Pid of the running worker at each index below the desired count (0 for
  /// an index waiting to be started or restarted).
  std::vector<pid_t> workerPids() const;
  /// Workers sent SIGTERM that have not exited yet.
  std::vector<pid_t> stoppingPids() const;
  /// Workers started again after exiting unexpectedly.
  uint64_t restartCount() const { return restarts_; }
  int64_t desiredReplicas() const { return desired_; }

 private:
  struct Slot {
    pid_t pid = 0;
    int64_t started_ms = 0;
    int consecutive_failures = 0;  ///< quick deaths in a row, for restart backoff
    int64_t restart_at_ms = 0;     ///< not started again before this (steady ms)
    bool died = false;             ///< the last worker here exited unexpectedly
  };
  struct StoppingWorker {
    pid_t pid = 0;
    std::size_t index = 0;
    int64_t term_sent_ms = 0;
    bool killed = false;
  };

  /// Starts missing workers below desired_ and stops those at or above it.
  Status reconcile();
  Status startWorker(std::size_t index, int64_t now_ms);
  void reap();

  std::string system_;
  std::vector<std::string> command_;
  common::Duration stop_grace_;
  int64_t initial_replicas_;
  common::MetricsRegistry* metrics_;

  int64_t desired_ = 0;
  std::vector<Slot> slots_;
  std::vector<StoppingWorker> stopping_;
  uint64_t restarts_ = 0;
};

/// Registers kind "process-pool" (keys command, stop_grace).
void registerProcessPoolActuator(ActuatorRegistry& registry);

}  // namespace pso::agent
