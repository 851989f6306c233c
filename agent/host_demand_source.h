#pragma once

#include <string>

#include "agent/demand_source.h"
#include "agent/host_sampler.h"

namespace pso::agent {

/// Uses one host metric (e.g. "cpu.usage") as a system's demand: the value the
/// agent's host sampler produced at its latest sample.
class HostDemandSource final : public DemandSource {
 public:
  /// `metric` must be one of HostSampler's series (checked by the registry).
  HostDemandSource(const HostSampler& sampler, std::string metric);

  const char* kind() const override { return "host"; }
  [[nodiscard]] Result<double> read(int64_t now_ms) override;

 private:
  const HostSampler& sampler_;
  std::string metric_;
};

/// Registers source "host" (key metric: one of the host sampler's metrics).
void registerHostDemandSource(DemandSourceRegistry& registry);

}  // namespace pso::agent
