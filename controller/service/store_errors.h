#pragma once

// How the service reports a store call that failed: counted in
// pso_store_errors_total{operation} and logged on one line. Shared by the
// ingest loop and the telemetry writer, which report the same way.

#include <spdlog/spdlog.h>

#include "common/metrics.h"
#include "common/result.h"

namespace pso::controller::service {

inline void reportStoreError(common::MetricsRegistry& metrics, const char* operation,
                             const Error& error) {
  metrics.increment("pso_store_errors_total", {{"operation", operation}});
  spdlog::error("store: {} failed: {}", operation, error.message);
}

}  // namespace pso::controller::service
