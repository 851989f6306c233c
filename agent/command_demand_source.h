#pragma once

#include <string>
#include <utility>
#include <vector>

#include "agent/demand_source.h"
#include "agent/prometheus_text.h"

namespace pso::agent {

/// Runs a command each read (blocking: the agent runs it through a
/// BackgroundDemandSource; killed with its process group at `timeout`) and
/// takes the demand from what it prints on stdout:
///   - one number ("42.5"): that is the demand;
///   - lines "name value": the line named `metric` is the demand (with no
///     `metric`, there must be exactly one line), and every line is also
///     emitted as a series of the system under its own name (appendMetrics()).
/// With rate "true" (or "auto" and a name ending in _total) the demand is the
/// per-second rate of the printed counter. A non-zero exit, a timeout or
/// output that does not parse is an Error quoting the command and the line.
class CommandDemandSource final : public DemandSource {
 public:
  CommandDemandSource(std::string system, const DemandSourceConfig& config);

  const char* kind() const override { return "command"; }
  [[nodiscard]] Result<double> read(int64_t now_ms) override;
  void appendMetrics(std::vector<SamplePoint>& out) override;
  bool mayBlock() const override { return true; }

 private:
  std::string system_;
  std::vector<std::string> command_;
  std::string metric_;
  std::string rate_mode_;
  common::Duration timeout_;
  std::string what_;                                   ///< "command 'argv0 ...'" for messages
  std::vector<std::pair<std::string, double>> lines_;  ///< reused across reads
  std::size_t line_count_ = 0;
  CounterRate rate_;
};

/// Registers source "command" (keys command, metric, timeout, rate).
void registerCommandDemandSource(DemandSourceRegistry& registry);

}  // namespace pso::agent
