#include "agent/host_demand_source.h"

#include <utility>

namespace pso::agent {

HostDemandSource::HostDemandSource(const HostSampler& sampler, std::string metric)
    : sampler_(sampler), metric_(std::move(metric)) {}

Result<double> HostDemandSource::read(int64_t /*now_ms*/) {
  std::optional<double> value = sampler_.latest(metric_);
  if (!value) {
    return makeError("no_data", "host metric '" + metric_ + "' has no sample yet");
  }
  return *value;
}

namespace {

Result<std::unique_ptr<DemandSource>> buildHost(const DemandSourceConfig& config,
                                                const DemandSourceContext& context) {
  if (context.host == nullptr) {
    return makeError("invalid",
                     "system " + context.system + ": demand source 'host' needs the host sampler");
  }
  return std::unique_ptr<DemandSource>(
      std::make_unique<HostDemandSource>(*context.host, config.metric));
}

}  // namespace

void registerHostDemandSource(DemandSourceRegistry& registry) {
  registry.add(DemandSourceKind{
      .name = "host",
      .keys = {{"metric", &DemandSourceConfig::metric, "the metric's name",
                &checkSamplerMetric<HostSampler>}},
      .build = &buildHost,
  });
}

}  // namespace pso::agent
