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

}  // namespace pso::agent
