#pragma once

// The health-check seam (docs/architecture.md section 3): one probe of a managed
// system's health. Each implementation (http, tcp, command) registers itself
// by kind, with the config keys it reads, beside its class in
// health_check.cpp; HealthMonitor schedules them and applies thresholds.

#include <memory>
#include <string>

#include "agent/agent_config.h"
#include "common/config_schema.h"
#include "common/registry.h"
#include "common/result.h"

namespace pso::agent {

/// The outcome of one probe.
struct ProbeResult {
  bool ok = false;
  double latency_ms = 0.0;
  std::string error;  ///< why it failed, one line; empty when ok
};

/// Probes one target. Each probe returns within the configured timeout (plus
/// scheduling slack); it never throws. Not thread-safe: one caller at a time.
class HealthCheck {
 public:
  virtual ~HealthCheck() = default;
  /// Stable name reported to the controller: "<kind>:<target>", e.g.
  /// "http:http://127.0.0.1:8080/healthz", "tcp:127.0.0.1:5432",
  /// "command:/bin/check --fast".
  virtual const std::string& name() const = 0;
  [[nodiscard]] virtual ProbeResult probe() = 0;
};

/// One kind of check as it registers itself: its name (also the YAML key
/// holding its target), the keys it reads (with their checks), and how it is
/// built from a config those checks passed.
struct HealthCheckKind {
  using Section = HealthCheckConfig;
  std::string name;
  common::KeyList<HealthCheckConfig> keys;
  Result<std::unique_ptr<HealthCheck>> (*build)(const HealthCheckConfig& config) = nullptr;
  /// Fills what the reader derives from the keys (kind command: the target
  /// is the command line); may be null.
  void (*complete)(HealthCheckConfig& config) = nullptr;
};

using HealthCheckRegistry = common::Registry<HealthCheckKind>;

/// The kinds this build has: http, tcp, command.
const HealthCheckRegistry& healthCheckRegistry();

/// A `health:` entry: exactly one kind's key, the keys every kind reads
/// (interval, timeout, failure_threshold) and the kind's own.
const common::ComponentSection<HealthCheckKind>& healthCheckSection();

/// Builds the check `config.kind` names. Settings the kind's declared checks
/// refuse are code "invalid" ("health check tcp: expected host:port, got
/// 'db'"); an https check without a loadable libcurl is code "unsupported".
[[nodiscard]] Result<std::unique_ptr<HealthCheck>> makeHealthCheck(const HealthCheckConfig& config);

}  // namespace pso::agent
