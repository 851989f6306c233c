#include "agent/actuator.h"

#include <array>

#include "agent/exec_actuator.h"
#include "agent/guarded_actuator.h"
#include "agent/process_pool_actuator.h"

namespace pso::agent {
namespace {

using Factory = Result<std::unique_ptr<Actuator>> (*)(const common::SystemConfig&, int64_t,
                                                      common::MetricsRegistry*);

Result<std::unique_ptr<Actuator>> makeProcessPool(const common::SystemConfig& system,
                                                  int64_t initial_replicas,
                                                  common::MetricsRegistry* metrics) {
  const common::ActuatorConfig& config = system.actuator;
  if (config.command.empty()) {
    return makeError("invalid", "system " + system.name +
                                    ": actuator 'process-pool' needs 'command' (the worker argv)");
  }
  return std::unique_ptr<Actuator>(std::make_unique<ProcessPoolActuator>(
      system.name, config.command, config.stop_grace, initial_replicas, metrics));
}

Result<std::unique_ptr<Actuator>> makeExec(const common::SystemConfig& system,
                                           int64_t initial_replicas,
                                           common::MetricsRegistry* metrics) {
  const common::ActuatorConfig& config = system.actuator;
  if (config.command.empty()) {
    return makeError("invalid", "system " + system.name +
                                    ": actuator 'exec' needs 'command' (the argv run "
                                    "per directive)");
  }
  // Without a status command the count is only known once the agent has
  // applied a scale itself, unless the config states where the system starts.
  int64_t known = system.initial_replicas >= 0 ? initial_replicas : -1;
  return std::unique_ptr<Actuator>(std::make_unique<ExecActuator>(
      system.name, config.command, config.status_command, config.timeout, known, metrics));
}

struct Registration {
  const char* kind;
  Factory factory;
};

// The one place a config kind becomes an actuator class.
constexpr std::array kRegistry = {
    Registration{"process-pool", &makeProcessPool},
    Registration{"exec", &makeExec},
};

// Part of the product's configuration interface, but not in this build.
constexpr std::array kNotBuilt = {"systemd", "cgroup", "docker", "kubernetes"};

}  // namespace

Result<std::unique_ptr<Actuator>> makeActuator(const common::SystemConfig& system,
                                               common::MetricsRegistry* metrics) {
  const std::string& kind = system.actuator.kind;
  const std::string origin = "system " + system.name;
  const Registration* found = nullptr;
  for (const Registration& entry : kRegistry) {
    if (kind == entry.kind) found = &entry;
  }
  if (found == nullptr) {
    for (const char* name : kNotBuilt) {
      if (kind == name) {
        return makeError("unsupported",
                         origin + ": actuator '" + kind + "' is not supported by this build");
      }
    }
    std::string supported;
    for (const Registration& entry : kRegistry) {
      supported += supported.empty() ? "" : ", ";
      supported += entry.kind;
    }
    return makeError("invalid",
                     origin + ": unknown actuator '" + kind + "' (supported: " + supported + ")");
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
  if (system.actuator.timeout.count() <= 0) {
    return makeError("invalid", origin + ": actuator timeout must be positive");
  }
  Result<std::unique_ptr<Actuator>> inner = found->factory(system, initial, metrics);
  if (!inner) return inner.error();
  GuardPolicy policy{system.name, system.min_replicas, system.max_replicas,
                     system.actuator.cooldown, system.actuator.dry_run};
  return std::unique_ptr<Actuator>(
      std::make_unique<GuardedActuator>(std::move(inner).value(), std::move(policy)));
}

std::vector<std::string> supportedActuators() {
  std::vector<std::string> kinds;
  for (const Registration& entry : kRegistry) kinds.emplace_back(entry.kind);
  return kinds;
}

}  // namespace pso::agent
