#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <vector>

#include "agent/sampler.h"
#include "protocol/messages.h"

namespace pso::agent {

/// Accumulates sampled points into the columnar layout of a TelemetryBatch:
/// each series once, one column per sample time, NaN where a series had no
/// point at a time (a series first seen later, or one that missed a sample).
class BatchBuilder {
 public:
  /// Adds one column at `ts_ms`. A key repeated within `points` keeps its last value.
  void add(int64_t ts_ms, const std::vector<SamplePoint>& points);
  /// Points that hold a value (not NaN padding).
  std::size_t pointCount() const { return points_; }
  bool empty() const { return timestamps_.empty(); }
  /// Moves the accumulated series, timestamps and values into `batch` (other
  /// fields untouched) and starts empty again.
  void takeInto(protocol::TelemetryBatch& batch);

 private:
  std::map<protocol::SeriesKey, std::size_t> index_;
  std::vector<protocol::SeriesKey> series_;
  std::vector<int64_t> timestamps_;
  std::vector<std::vector<double>> values_;
  std::size_t points_ = 0;
};

}  // namespace pso::agent
