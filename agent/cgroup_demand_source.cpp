#include "agent/cgroup_demand_source.h"

#include <utility>

namespace pso::agent {

CgroupDemandSource::CgroupDemandSource(const CgroupSampler& sampler, std::string metric)
    : sampler_(sampler), metric_(std::move(metric)) {}

Result<double> CgroupDemandSource::read(int64_t /*now_ms*/) {
  std::optional<double> value = sampler_.latest(metric_);
  if (!value) {
    return makeError("no_data", "cgroup " + sampler_.directory() + ": metric '" + metric_ +
                                    "' has no sample yet");
  }
  return *value;
}

namespace {

Result<std::unique_ptr<DemandSource>> buildCgroupDemandSource(const DemandSourceConfig& config,
                                                              const DemandSourceContext& context) {
  if (context.cgroup == nullptr) {
    return makeError("invalid", "system " + context.system +
                                    ": demand source 'cgroup' needs the system's 'cgroup'");
  }
  return std::unique_ptr<DemandSource>(
      std::make_unique<CgroupDemandSource>(*context.cgroup, config.metric));
}

}  // namespace

void registerCgroupDemandSource(DemandSourceRegistry& registry) {
  registry.add(DemandSourceKind{
      .name = "cgroup",
      .keys = {{"metric", &DemandSourceConfig::metric, "the metric's name",
                &checkSamplerMetric<CgroupSampler>}},
      .build = &buildCgroupDemandSource,
      .needs_cgroup = true,
  });
}

}  // namespace pso::agent
