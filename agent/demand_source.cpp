#include "agent/demand_source.h"

#include <array>

#include "agent/cgroup_demand_source.h"
#include "agent/cgroup_sampler.h"
#include "agent/command_demand_source.h"
#include "agent/host_demand_source.h"
#include "agent/host_sampler.h"
#include "agent/http_client.h"
#include "agent/prometheus_demand_source.h"
#include "agent/replay_demand_source.h"
#include "common/trace.h"

namespace pso::agent {
namespace {

using Factory = Result<std::unique_ptr<DemandSource>> (*)(const common::DemandSourceConfig&,
                                                          const DemandSourceContext&);

Result<std::unique_ptr<DemandSource>> makeReplay(const common::DemandSourceConfig& config,
                                                 const DemandSourceContext& context) {
  std::string origin = "system " + context.system;
  if (config.file.empty()) {
    return makeError("invalid", origin + ": demand source 'replay' needs 'file'");
  }
  Result<common::Trace> trace = common::readTrace(config.file);
  if (!trace) return makeError(trace.error().code, origin + ": " + trace.error().message);
  auto source =
      ReplayDemandSource::create(std::move(trace).value(), config.speed, config.loop, config.scale,
                                 context.start_ms, origin + ": " + config.file);
  if (!source) return source.error();
  return std::unique_ptr<DemandSource>(std::move(source).value());
}

Result<std::unique_ptr<DemandSource>> makeHost(const common::DemandSourceConfig& config,
                                               const DemandSourceContext& context) {
  std::string origin = "system " + context.system;
  if (context.host == nullptr) {
    return makeError("invalid", origin + ": demand source 'host' needs the host sampler");
  }
  if (!HostSampler::isKnownMetric(config.metric)) {
    return makeError("invalid", origin + ": demand source 'host' has unknown metric '" +
                                    config.metric + "' (known: " + HostSampler::knownMetricList() +
                                    ")");
  }
  return std::unique_ptr<DemandSource>(
      std::make_unique<HostDemandSource>(*context.host, config.metric));
}

Result<std::unique_ptr<DemandSource>> makeCgroup(const common::DemandSourceConfig& config,
                                                 const DemandSourceContext& context) {
  std::string origin = "system " + context.system;
  if (context.cgroup == nullptr) {
    return makeError("invalid", origin + ": demand source 'cgroup' needs the system's 'cgroup'");
  }
  if (!CgroupSampler::isKnownMetric(config.metric)) {
    return makeError("invalid", origin + ": demand source 'cgroup' has unknown metric '" +
                                    config.metric +
                                    "' (known: " + CgroupSampler::knownMetricList() + ")");
  }
  return std::unique_ptr<DemandSource>(
      std::make_unique<CgroupDemandSource>(*context.cgroup, config.metric));
}

Result<std::unique_ptr<DemandSource>> makePrometheus(const common::DemandSourceConfig& config,
                                                     const DemandSourceContext& context) {
  std::string origin = "system " + context.system;
  if (config.url.empty() || config.metric.empty()) {
    return makeError("invalid", origin + ": demand source 'prometheus' needs 'url' and 'metric'");
  }
  if (Status http = checkHttpSupport(config.url); !http) {
    return makeError(http.error().code,
                     origin + ": demand source 'prometheus': " + http.error().message);
  }
  return std::unique_ptr<DemandSource>(std::make_unique<PrometheusDemandSource>(config));
}

Result<std::unique_ptr<DemandSource>> makeCommand(const common::DemandSourceConfig& config,
                                                  const DemandSourceContext& context) {
  if (config.command.empty()) {
    return makeError("invalid",
                     "system " + context.system + ": demand source 'command' needs 'command'");
  }
  return std::unique_ptr<DemandSource>(
      std::make_unique<CommandDemandSource>(context.system, config));
}

struct Registration {
  const char* name;
  Factory factory;
};

// The one place a config name becomes a demand source class.
constexpr std::array kRegistry = {
    Registration{"replay", &makeReplay},   Registration{"host", &makeHost},
    Registration{"cgroup", &makeCgroup},   Registration{"prometheus", &makePrometheus},
    Registration{"command", &makeCommand},
};

}  // namespace

Result<std::unique_ptr<DemandSource>> makeDemandSource(const common::DemandSourceConfig& config,
                                                       const DemandSourceContext& context) {
  for (const Registration& entry : kRegistry) {
    if (config.source == entry.name) return entry.factory(config, context);
  }
  std::string supported;
  for (const Registration& entry : kRegistry) {
    supported += supported.empty() ? "" : ", ";
    supported += entry.name;
  }
  return makeError("invalid", "system " + context.system + ": unknown demand source '" +
                                  config.source + "' (supported: " + supported + ")");
}

std::vector<std::string> supportedDemandSources() {
  std::vector<std::string> names;
  for (const Registration& entry : kRegistry) names.emplace_back(entry.name);
  return names;
}

}  // namespace pso::agent
