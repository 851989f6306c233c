#include "agent/actuator.h"

#include <unistd.h>

#include <array>

#include "agent/cgroup_actuator.h"
#include "agent/docker_actuator.h"
#include "agent/exec_actuator.h"
#include "agent/guarded_actuator.h"
#include "agent/http_client.h"
#include "agent/kubernetes_actuator.h"
#include "agent/process_pool_actuator.h"
#include "agent/systemd_actuator.h"

namespace pso::agent {
namespace {

// What a factory may need beyond the system's own config.
struct FactoryContext {
  int64_t initial_replicas;
  common::MetricsRegistry* metrics;
  const std::string& cgroup_root;
};

using Factory = Result<std::unique_ptr<Actuator>> (*)(const common::SystemConfig&,
                                                      const FactoryContext&);

Result<std::unique_ptr<Actuator>> makeProcessPool(const common::SystemConfig& system,
                                                  const FactoryContext& context) {
  const int64_t initial_replicas = context.initial_replicas;
  common::MetricsRegistry* metrics = context.metrics;
  const common::ActuatorConfig& config = system.actuator;
  if (config.command.empty()) {
    return makeError("invalid", "system " + system.name +
                                    ": actuator 'process-pool' needs 'command' (the worker argv)");
  }
  return std::unique_ptr<Actuator>(std::make_unique<ProcessPoolActuator>(
      system.name, config.command, config.stop_grace, initial_replicas, metrics));
}

Result<std::unique_ptr<Actuator>> makeExec(const common::SystemConfig& system,
                                           const FactoryContext& context) {
  const int64_t initial_replicas = context.initial_replicas;
  common::MetricsRegistry* metrics = context.metrics;
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

Result<std::unique_ptr<Actuator>> makeSystemd(const common::SystemConfig& system,
                                              const FactoryContext& /*context*/) {
  const common::ActuatorConfig& config = system.actuator;
  if (config.unit.empty() || config.unit.find('@') != std::string::npos) {
    return makeError("invalid", "system " + system.name +
                                    ": actuator 'systemd' needs 'unit', the template's name "
                                    "without '@' (web for web@.service)");
  }
  return std::unique_ptr<Actuator>(std::make_unique<SystemdActuator>(
      system.name, config.unit, config.systemctl, system.max_replicas, config.timeout));
}

Result<std::unique_ptr<Actuator>> makeCgroup(const common::SystemConfig& system,
                                             const FactoryContext& context) {
  if (system.cgroup.empty()) {
    return makeError("invalid", "system " + system.name + ": actuator 'cgroup' needs 'cgroup'");
  }
  return std::unique_ptr<Actuator>(std::make_unique<CgroupActuator>(
      system.name, context.cgroup_root + "/" + system.cgroup, system.actuator.cpu_period_us));
}

Result<std::unique_ptr<Actuator>> makeDocker(const common::SystemConfig& system,
                                             const FactoryContext& /*context*/) {
  if (system.actuator.image.empty()) {
    return makeError("invalid", "system " + system.name + ": actuator 'docker' needs 'image'");
  }
  // The Engine API is plain HTTP over its unix socket: the built-in client
  // serves it, and libcurl (TLS and all) is never loaded.
  return std::unique_ptr<Actuator>(std::make_unique<DockerActuator>(system.name, system.actuator));
}

Result<std::unique_ptr<Actuator>> makeKubernetes(const common::SystemConfig& system,
                                                 const FactoryContext& /*context*/) {
  Result<KubernetesTarget> target = KubernetesTarget::resolve(system.name, system.actuator);
  if (!target) return target.error();
  // In a cluster the API server speaks https, which needs libcurl.
  if (Status http = checkHttpSupport(target.value().api_server); !http) {
    return makeError(http.error().code,
                     "system " + system.name + ": actuator 'kubernetes': " + http.error().message);
  }
  return std::unique_ptr<Actuator>(std::make_unique<KubernetesActuator>(
      system.name, std::move(target).value(), system.actuator.timeout));
}

struct Registration {
  const char* kind;
  Factory factory;
};

// The one place a config kind becomes an actuator class.
constexpr std::array kRegistry = {
    Registration{"process-pool", &makeProcessPool},
    Registration{"exec", &makeExec},
    Registration{"systemd", &makeSystemd},
    Registration{"cgroup", &makeCgroup},
    Registration{"docker", &makeDocker},
    Registration{"kubernetes", &makeKubernetes},
};

}  // namespace

Result<std::unique_ptr<Actuator>> makeActuator(const common::SystemConfig& system,
                                               common::MetricsRegistry* metrics,
                                               const std::string& cgroup_root) {
  const std::string& kind = system.actuator.kind;
  const std::string origin = "system " + system.name;
  const Registration* found = nullptr;
  for (const Registration& entry : kRegistry) {
    if (kind == entry.kind) found = &entry;
  }
  if (found == nullptr) {
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
  Result<std::unique_ptr<Actuator>> inner =
      found->factory(system, FactoryContext{initial, metrics, cgroup_root});
  if (!inner) return inner.error();
  GuardPolicy policy{system.name, system.min_replicas, system.max_replicas,
                     system.actuator.cooldown, system.actuator.dry_run};
  if (kind == "cgroup") {
    const common::ActuatorConfig& a = system.actuator;
    policy.min_cpu = a.min_cpu;
    policy.max_cpu = a.max_cpu;
    policy.min_memory = a.min_memory;
    policy.max_memory = a.max_memory;
    // 0 means "the whole host": more than that cannot be meant.
    if (policy.max_cpu <= 0) {
      policy.max_cpu = static_cast<double>(std::max(1L, ::sysconf(_SC_NPROCESSORS_ONLN)));
    }
    if (policy.max_memory <= 0) {
      const long pages = ::sysconf(_SC_PHYS_PAGES);
      const long page_size = ::sysconf(_SC_PAGESIZE);
      if (pages > 0 && page_size > 0) policy.max_memory = static_cast<int64_t>(pages) * page_size;
    }
  }
  return std::unique_ptr<Actuator>(
      std::make_unique<GuardedActuator>(std::move(inner).value(), std::move(policy)));
}

std::vector<std::string> supportedActuators() {
  std::vector<std::string> kinds;
  for (const Registration& entry : kRegistry) kinds.emplace_back(entry.kind);
  return kinds;
}

}  // namespace pso::agent
