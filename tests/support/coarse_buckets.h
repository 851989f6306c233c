#pragma once

// Coarse buckets for the tests of seasonal profiles
// (engine/seasonal_profile_test.cpp, cycle/seasonal_profiles_test.cpp):
// hourly means made from 5-minute ones, as a store's rollups hold them.

#include <cstddef>
#include <cstdint>
#include <vector>

#include "controller/engine/seasonal_profile.h"

namespace pso::testing {

/// Hourly means of consecutive 5-minute buckets (engine::kDetailBucketMs),
/// the first starting an hour; an incomplete last hour is left out.
inline std::vector<controller::engine::CoarseBucket> hourlyOf(
    const std::vector<controller::engine::CoarseBucket>& fine) {
  constexpr int64_t kHourMs = 3'600'000;
  const auto per_hour = static_cast<std::size_t>(kHourMs / controller::engine::kDetailBucketMs);
  std::vector<controller::engine::CoarseBucket> out;
  for (std::size_t i = 0; i + per_hour <= fine.size(); i += per_hour) {
    double sum = 0.0;
    for (std::size_t j = i; j < i + per_hour; ++j) sum += fine[j].mean;
    out.push_back({fine[i].start_ms, sum / static_cast<double>(per_hour)});
  }
  return out;
}

}  // namespace pso::testing
