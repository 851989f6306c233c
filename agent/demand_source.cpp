#include "agent/demand_source.h"

#include "agent/cgroup_demand_source.h"
#include "agent/command_demand_source.h"
#include "agent/host_demand_source.h"
#include "agent/prometheus_demand_source.h"
#include "agent/replay_demand_source.h"

namespace pso::agent {
namespace {

const common::KeyList<DemandSourceConfig>& demandSourceSharedKeys() {
  static const common::KeyList<DemandSourceConfig> keys = {
      {"source", &DemandSourceConfig::source, "where the demand series comes from"},
  };
  return keys;
}

}  // namespace

const common::ConfigKey<DemandSourceConfig>& demandTimeoutKey() {
  static const common::ConfigKey<DemandSourceConfig> key{
      "timeout", &DemandSourceConfig::timeout, "give up after", common::checks::positive()};
  return key;
}

const common::ConfigKey<DemandSourceConfig>& demandRateKey() {
  // "auto": when the exposition declares the metric a counter (or, without a
  // TYPE line, its name ends in _total).
  static const common::ConfigKey<DemandSourceConfig> key{
      "rate", &DemandSourceConfig::rate,
      "use the per-second rate of the value: auto (when it is a counter) | true | false",
      common::checks::oneOf({"auto", "true", "false"})};
  return key;
}

const DemandSourceRegistry& demandSourceRegistry() {
  // Each source registers itself from its own file; naming the registration
  // functions here keeps every source linked into pso-agent (see
  // common/registry.h) and fixes the order sources are listed in.
  static const DemandSourceRegistry registry{
      &registerReplayDemandSource,     &registerHostDemandSource,    &registerCgroupDemandSource,
      &registerPrometheusDemandSource, &registerCommandDemandSource,
  };
  return registry;
}

const common::ComponentSection<DemandSourceKind>& demandSection() {
  static const common::ComponentSection<DemandSourceKind> section{
      &demandSourceRegistry(), &demandSourceSharedKeys(), &DemandSourceConfig::source, "source",
      "source"};
  return section;
}

Result<std::unique_ptr<DemandSource>> makeDemandSource(const DemandSourceConfig& config,
                                                       const DemandSourceContext& context) {
  const DemandSourceKind* kind = demandSourceRegistry().find(config.source);
  if (kind == nullptr) {
    return makeError("invalid", "system " + context.system + ": unknown demand source '" +
                                    config.source +
                                    "' (supported: " + demandSourceRegistry().nameList(", ") + ")");
  }
  // A config built in code has not been through the reader: the same
  // declared checks refuse it here.
  const std::string subject = "system " + context.system + ": demand source '" + kind->name + "'";
  if (std::optional<std::string> refused =
          common::refusal(config, {&demandSourceSharedKeys(), &kind->keys}, subject)) {
    return makeError("invalid", *refused);
  }
  return kind->build(config, context);
}

std::vector<std::string> supportedDemandSources() {
  return demandSourceRegistry().names();
}

}  // namespace pso::agent
