#pragma once

// The demand-source seam: where a system's "demand" series comes from
// (docs/architecture.md section 7). Each implementation registers itself by name,
// with the config keys it reads, from its own file (register<Name>DemandSource).

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "agent/agent_config.h"
#include "agent/sampler.h"
#include "common/config_schema.h"
#include "common/registry.h"
#include "common/result.h"

namespace pso::agent {

class CgroupSampler;
class HostSampler;

/// Reads one system's current demand. Called once per sample interval, after
/// the host sampler has run.
class DemandSource {
 public:
  virtual ~DemandSource() = default;

  /// The config name of this source ("replay", "host").
  virtual const char* kind() const = 0;

  /// The demand at wall-clock `now_ms` (epoch milliseconds). An Error means
  /// there is no value this time (trace ended, metric not sampled yet); the
  /// agent then emits no demand point and counts the reason.
  [[nodiscard]] virtual Result<double> read(int64_t now_ms) = 0;

  /// Other series the last read() produced for the system (a command's
  /// "name value" lines); most sources have none.
  virtual void appendMetrics(std::vector<SamplePoint>& /*out*/) {}

  /// True when read() waits on something outside the agent (a command, an
  /// HTTP endpoint) for up to the source's timeout. The agent then reads it
  /// through a BackgroundDemandSource so it never delays the sampling loop.
  virtual bool mayBlock() const { return false; }
};

/// What a source may need from the agent when it is built.
struct DemandSourceContext {
  std::string system;                 ///< the system the source belongs to (for messages)
  const HostSampler* host = nullptr;  ///< the agent's host sampler (source "host")
  int64_t start_ms = 0;               ///< wall-clock ms the agent started (replay origin)
  /// The system's cgroup sampler (source "cgroup"); nullptr without a cgroup.
  const CgroupSampler* cgroup = nullptr;
};

/// One demand source as it registers itself: its name, the keys of the
/// `demand:` section it reads (with their checks), and how it is built from a
/// config those checks passed.
struct DemandSourceKind {
  using Section = DemandSourceConfig;
  std::string name;
  common::KeyList<DemandSourceConfig> keys;
  Result<std::unique_ptr<DemandSource>> (*build)(const DemandSourceConfig& config,
                                                 const DemandSourceContext& context) = nullptr;
  /// The system's `cgroup` must be set.
  bool needs_cgroup = false;
};

using DemandSourceRegistry = common::Registry<DemandSourceKind>;

/// The sources this build has, in the order they are listed to users.
const DemandSourceRegistry& demandSourceRegistry();

/// The `demand:` section: its `source` key and each registered source's keys.
const common::ComponentSection<DemandSourceKind>& demandSection();

/// Keys several sources read, declared once for them: `timeout` (give up
/// after) and `rate` (auto | true | false: use the per-second rate of the value).
const common::ConfigKey<DemandSourceConfig>& demandTimeoutKey();
const common::ConfigKey<DemandSourceConfig>& demandRateKey();

/// The `metric` check of a source reading one of a sampler's metrics
/// (HostSampler, CgroupSampler): required, and one the sampler knows.
template <typename Sampler>
common::Finding checkSamplerMetric(const std::string& metric,
                                   const DemandSourceConfig& /*config*/) {
  if (metric.empty()) return common::Problem::required();
  if (Sampler::isKnownMetric(metric)) return std::nullopt;
  return common::Problem::invalid("unknown metric '" + metric +
                                  "' (known: " + Sampler::knownMetricList() + ")");
}

/// Builds the source named by `config.source` (replay, host, cgroup,
/// prometheus, command). An unknown name or a setting the source's declared
/// checks refuse is code "invalid" ("system web: demand source 'prometheus'
/// needs 'url' and 'metric'"); prometheus without a loadable libcurl is code
/// "unsupported".
[[nodiscard]] Result<std::unique_ptr<DemandSource>> makeDemandSource(
    const DemandSourceConfig& config, const DemandSourceContext& context);

/// The source names this build can construct, in registry order.
std::vector<std::string> supportedDemandSources();

}  // namespace pso::agent
