#pragma once

// The health-check seam (ARCHITECTURE.md section 3): one probe of a managed
// system's health. Implementations (http, tcp, command) are registered by kind
// in health_check.cpp; HealthMonitor schedules them and applies thresholds.

#include <memory>
#include <string>

#include "common/config.h"
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

/// Builds the check `config.kind` names (http | tcp | command). An http check
/// needs an http:// or https:// URL, and libcurl for https (Error code
/// "unsupported" when it cannot be loaded); a tcp target must be host:port
/// ([v6-address]:port for IPv6).
[[nodiscard]] Result<std::unique_ptr<HealthCheck>> makeHealthCheck(
    const common::HealthCheckConfig& config);

}  // namespace pso::agent
