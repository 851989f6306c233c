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

}  // namespace pso::agent
