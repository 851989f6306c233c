#include "agent/batch_builder.h"

#include <cmath>
#include <limits>
#include <utility>

namespace pso::agent {

void BatchBuilder::add(int64_t ts_ms, const std::vector<SamplePoint>& points) {
  constexpr double kMissing = std::numeric_limits<double>::quiet_NaN();
  timestamps_.push_back(ts_ms);
  const std::size_t columns = timestamps_.size();
  for (std::vector<double>& row : values_) row.push_back(kMissing);
  for (const SamplePoint& point : points) {
    auto [it, inserted] = index_.try_emplace(point.key, series_.size());
    if (inserted) {
      series_.push_back(point.key);
      values_.emplace_back(columns, kMissing);
    }
    double& cell = values_[it->second].back();
    if (std::isnan(cell) && !std::isnan(point.value)) ++points_;
    if (!std::isnan(cell) && std::isnan(point.value)) --points_;
    cell = point.value;
  }
}

void BatchBuilder::takeInto(protocol::TelemetryBatch& batch) {
  batch.series = std::move(series_);
  batch.timestamps_ms = std::move(timestamps_);
  batch.values = std::move(values_);
  index_.clear();
  series_.clear();
  timestamps_.clear();
  values_.clear();
  points_ = 0;
}

}  // namespace pso::agent
