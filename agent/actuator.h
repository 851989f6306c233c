#pragma once

// The actuator seam: how a directive becomes a change to a managed system
// (ARCHITECTURE.md section 3). Implementations are registered by kind name in
// actuator.cpp; every one built there is wrapped in a GuardedActuator, so local
// bounds, cooldown, dry-run and deadlines behave the same for every kind.

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "common/config.h"
#include "common/metrics.h"
#include "common/result.h"
#include "protocol/messages.h"

namespace pso::agent {

/// Outcome of one directive, as reported to the controller.
enum class ActuationStatus { kApplied, kRefused, kFailed, kDryRun, kExpired };

/// Wire name of a status: applied | refused | failed | dry_run | expired.
const char* actuationStatusName(ActuationStatus status);

struct ActuationResult {
  ActuationStatus status = ActuationStatus::kFailed;
  int64_t replicas = -1;  ///< replica count after the action, -1 when unknown
  std::string message;    ///< one line: what happened or why not
};

/// Changes one system. Not thread-safe: the agent drives it from its loop.
class Actuator {
 public:
  virtual ~Actuator() = default;

  /// Config name of the implementation ("process-pool", "exec").
  virtual const char* kind() const = 0;

  /// Brings the system to its initial state at agent start (process-pool: starts
  /// the initial workers; exec: reads the status command once). An Error means
  /// the actuator cannot work as configured.
  [[nodiscard]] virtual Status start() = 0;

  /// Replicas running now, as last observed; -1 when unknown. Cheap: never
  /// runs a command or waits.
  virtual int64_t currentReplicas() const = 0;

  /// Acts on a directive already routed to this system. Never throws; every
  /// outcome, including a refusal, is in the result.
  [[nodiscard]] virtual ActuationResult apply(const protocol::Directive& directive) = 0;

  /// Housekeeping, called often (a few times a second) from the agent loop:
  /// reaping, restarts, escalation from SIGTERM to SIGKILL, status refresh.
  virtual void poll() = 0;

  /// Stops whatever the actuator runs on behalf of the agent (process-pool:
  /// every worker, waiting for them). Called at agent shutdown; idempotent.
  virtual void stop() = 0;
};

/// Builds the actuator named by `system.actuator.kind` (process-pool, exec,
/// systemd, cgroup, docker, kubernetes), wrapped in a GuardedActuator with the
/// system's bounds, cooldown and dry-run (kind cgroup also bounds cpu and
/// memory: min_cpu..max_cpu, min_memory..max_memory, a max of 0 being the
/// host's CPU count or memory). Unknown names and bad settings are code
/// "invalid"; docker and kubernetes without a loadable libcurl are code
/// "unsupported".
/// @param cgroup_root where the system's `cgroup` directory is (kind cgroup)
[[nodiscard]] Result<std::unique_ptr<Actuator>> makeActuator(
    const common::SystemConfig& system, common::MetricsRegistry* metrics = nullptr,
    const std::string& cgroup_root = "/sys/fs/cgroup");

/// The actuator kinds this build can construct, in registry order.
std::vector<std::string> supportedActuators();

}  // namespace pso::agent
