#pragma once

// The sampler seam: anything that turns a source of metrics (/proc, a cgroup, an
// endpoint) into points for the next telemetry batch.

#include <cstdint>
#include <string>
#include <vector>

#include "common/result.h"
#include "protocol/messages.h"

namespace pso::agent {

/// One sampled value of one series at the time passed to Sampler::sample().
struct SamplePoint {
  protocol::SeriesKey key;
  double value = 0.0;
};

/// Produces metric points on demand. Implementations keep their own state
/// between calls (previous counters for rates), reuse their buffers, and never
/// throw: a source that cannot be read is reported in the returned Status while
/// every other metric of the same call is still appended.
class Sampler {
 public:
  virtual ~Sampler() = default;

  /// Stable name used in logs and metric labels ("host").
  virtual const std::string& name() const = 0;

  /// Appends this call's points to `out` (never clears it). `now_ms` is the
  /// time the points are stamped with, also used as the divisor of rates.
  /// Returns an Error naming each file and line that could not be read; the
  /// points that could be read are appended all the same.
  [[nodiscard]] virtual Status sample(int64_t now_ms, std::vector<SamplePoint>& out) = 0;
};

}  // namespace pso::agent
