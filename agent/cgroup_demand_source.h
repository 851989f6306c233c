#pragma once

#include <string>

#include "agent/cgroup_sampler.h"
#include "agent/demand_source.h"

namespace pso::agent {

/// Uses one of the system's cgroup metrics (e.g. "cpu.usage", in cores) as its
/// demand: the value the system's cgroup sampler produced at its latest sample.
class CgroupDemandSource final : public DemandSource {
 public:
  /// `metric` must be one of CgroupSampler's series (checked by the registry).
  CgroupDemandSource(const CgroupSampler& sampler, std::string metric);

  const char* kind() const override { return "cgroup"; }
  [[nodiscard]] Result<double> read(int64_t now_ms) override;

 private:
  const CgroupSampler& sampler_;
  std::string metric_;
};

/// Registers source "cgroup" (key metric: one of the cgroup sampler's
/// metrics; it needs the system's `cgroup`).
void registerCgroupDemandSource(DemandSourceRegistry& registry);

}  // namespace pso::agent
