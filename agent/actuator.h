#pragma once

// The actuator seam: how a directive becomes a change to a managed system
// (docs/architecture.md section 3). Each implementation registers itself by kind
// name, with the config keys it reads, from its own file
// (register<Kind>Actuator); makeActuator wraps every one in a GuardedActuator,
// so local bounds, cooldown, dry-run and deadlines behave the same for every
// kind.

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "agent/agent_config.h"
#include "common/config_schema.h"
#include "common/metrics.h"
#include "common/registry.h"
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

struct GuardPolicy;

/// What a factory may need beyond the system's own config.
struct ActuatorContext {
  int64_t initial_replicas = 0;  ///< resolved: never -1
  common::MetricsRegistry* metrics = nullptr;
  std::string cgroup_root;  ///< where the system's `cgroup` directory is
};

/// One actuator kind as it registers itself: its name, the keys of the
/// `actuator:` section it reads (with their checks), and how it is built
/// from a config those checks passed.
struct ActuatorKind {
  using Section = ActuatorConfig;
  std::string name;
  common::KeyList<ActuatorConfig> keys;
  Result<std::unique_ptr<Actuator>> (*build)(const SystemConfig& system,
                                             const ActuatorContext& context) = nullptr;
  /// The system's `cgroup` must be set.
  bool needs_cgroup = false;
  /// Adds the kind's own bounds to the guard (kind cgroup: cpu and memory).
  void (*bound)(const SystemConfig& system, GuardPolicy& policy) = nullptr;
};

using ActuatorRegistry = common::Registry<ActuatorKind>;

/// The kinds this build has, in the order they are listed to users.
const ActuatorRegistry& actuatorRegistry();

/// The `actuator:` section: the keys every kind reads (kind, timeout,
/// cooldown, dry_run) and each registered kind's.
const common::ComponentSection<ActuatorKind>& actuatorSection();

/// Builds the actuator named by `system.actuator.kind`, wrapped in a
/// GuardedActuator with the system's bounds, cooldown and dry-run (and the
/// kind's own bounds, e.g. cgroup's cpu and memory). Unknown names and
/// settings the kind's declared checks refuse are code "invalid" ("system db:
/// actuator 'docker' needs 'image'"); docker and kubernetes without a usable
/// HTTP client are code "unsupported".
/// @param cgroup_root where the system's `cgroup` directory is (kind cgroup)
[[nodiscard]] Result<std::unique_ptr<Actuator>> makeActuator(
    const SystemConfig& system, common::MetricsRegistry* metrics = nullptr,
    const std::string& cgroup_root = "/sys/fs/cgroup");

/// The actuator kinds this build can construct, in registry order.
std::vector<std::string> supportedActuators();

}  // namespace pso::agent
