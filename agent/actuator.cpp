#include "agent/actuator.h"

#include "agent/cgroup_actuator.h"
#include "agent/docker_actuator.h"
#include "agent/exec_actuator.h"
#include "agent/guarded_actuator.h"
#include "agent/kubernetes_actuator.h"
#include "agent/process_pool_actuator.h"
#include "agent/systemd_actuator.h"

namespace pso::agent {
namespace {

using A = ActuatorConfig;
namespace checks = common::checks;

// The keys every kind reads: which kind, and the guard's settings.
const common::KeyList<A>& actuatorSharedKeys() {
  static const common::KeyList<A> keys = {
      {"kind", &A::kind, "which registered actuator acts"},
      {"timeout", &A::timeout, "an action taking longer fails", checks::positive()},
      {"cooldown", &A::cooldown, "least time between two actions on this system"},
      {"dry_run", &A::dry_run, "log and report \"dry_run\" instead of acting"},
  };
  return keys;
}

}  // namespace

const ActuatorRegistry& actuatorRegistry() {
  // Each kind registers itself from its own file; naming the registration
  // functions here keeps every kind linked into pso-agent (see
  // common/registry.h) and fixes the order kinds are listed in.
  static const ActuatorRegistry registry{
      &registerProcessPoolActuator, &registerExecActuator,   &registerSystemdActuator,
      &registerCgroupActuator,      &registerDockerActuator, &registerKubernetesActuator,
  };
  return registry;
}

const common::ComponentSection<ActuatorKind>& actuatorSection() {
  static const common::ComponentSection<ActuatorKind> section{
      &actuatorRegistry(), &actuatorSharedKeys(), &A::kind, "kind", "kind"};
  return section;
}

Result<std::unique_ptr<Actuator>> makeActuator(const SystemConfig& system,
                                               common::MetricsRegistry* metrics,
                                               const std::string& cgroup_root) {
  const std::string& kind = system.actuator.kind;
  const std::string origin = "system " + system.name;
  const ActuatorKind* found = actuatorRegistry().find(kind);
  if (found == nullptr) {
    return makeError("invalid", origin + ": unknown actuator '" + kind +
                                    "' (supported: " + actuatorRegistry().nameList(", ") + ")");
  }
  if (system.min_replicas < 0 || system.max_replicas < system.min_replicas) {
    return makeError("invalid", origin + ": min_replicas " + std::to_string(system.min_replicas) +
                                    " and max_replicas " + std::to_string(system.max_replicas) +
                                    " do not form a range");
  }
  int64_t initial = system.initial_replicas >= 0 ? system.initial_replicas : system.min_replicas;
  if (initial < system.min_replicas || initial > system.max_replicas) {
    return makeError("invalid", origin + ": initial_replicas " + std::to_string(initial) +
                                    " is outside [" + std::to_string(system.min_replicas) + ", " +
                                    std::to_string(system.max_replicas) + "]");
  }
  const std::string subject = origin + ": actuator '" + kind + "'";
  if (found->needs_cgroup && system.cgroup.empty()) {
    return makeError("invalid", subject + " needs 'cgroup'");
  }
  // A config built in code has not been through the reader: the same
  // declared checks refuse it here.
  if (std::optional<std::string> refused =
          common::refusal(system.actuator, {&actuatorSharedKeys(), &found->keys}, subject)) {
    return makeError("invalid", *refused);
  }
  Result<std::unique_ptr<Actuator>> inner =
      found->build(system, ActuatorContext{initial, metrics, cgroup_root});
  if (!inner) return inner.error();
  GuardPolicy policy{system.name, system.min_replicas, system.max_replicas,
                     system.actuator.cooldown, system.actuator.dry_run};
  if (found->bound != nullptr) found->bound(system, policy);
  return std::unique_ptr<Actuator>(
      std::make_unique<GuardedActuator>(std::move(inner).value(), std::move(policy)));
}

std::vector<std::string> supportedActuators() {
  return actuatorRegistry().names();
}

}  // namespace pso::agent
