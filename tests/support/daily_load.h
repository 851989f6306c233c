#pragma once

// A synthetic daily load for the tests of seasonal forecasting and of the
// replays that learn it (engine/seasonal_profile_test.cpp,
// cycle/replay_test.cpp): one definition, so both judge the same shape.

#include <cmath>
#include <cstdint>
#include <numbers>
#include <random>
#include <vector>

namespace pso::testing {

inline constexpr int64_t kDailyLoadDayMs = 86'400'000;

/// A daily shape with a slow swing and faster bumps (periods of 24, 6 and
/// 3 hours) around 100: what a level-and-trend forecast cannot follow 30
/// minutes ahead. `ms` from a midnight.
inline double dailyShape(int64_t ms) {
  const double x =
      2.0 * std::numbers::pi * static_cast<double>(ms % kDailyLoadDayMs) / kDailyLoadDayMs;
  return 100.0 + 40.0 * std::sin(x) + 20.0 * std::sin(4.0 * x + 1.0) + 10.0 * std::sin(8.0 * x);
}

/// `days` of steps of `step_ms` of dailyShape plus Gaussian noise (sd 5)
/// from a midnight; step i ends at (i + 1) x step and its value is the shape
/// at its centre.
inline std::vector<double> dailySeries(int64_t days, uint32_t seed, int64_t step_ms = 15'000) {
  std::mt19937 rng(seed);
  std::normal_distribution<double> noise(0.0, 5.0);
  std::vector<double> out;
  for (int64_t i = 0; i < days * (kDailyLoadDayMs / step_ms); ++i) {
    out.push_back(dailyShape(i * step_ms + step_ms / 2) + noise(rng));
  }
  return out;
}

}  // namespace pso::testing
