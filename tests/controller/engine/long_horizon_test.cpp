#include "controller/engine/long_horizon.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <numbers>
#include <random>
#include <vector>

namespace pso::controller::engine {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr int64_t kHourMs = 3600LL * 1000;
constexpr int64_t kOrigin = 1'700'000'000'000LL - (1'700'000'000'000LL % kHourMs);

/// A daily cycle around 100 with amplitude 40, as hourly means.
double dailyPattern(int64_t hour) {
  return 100.0 + 40.0 * std::sin(2.0 * std::numbers::pi * static_cast<double>(hour % 24) / 24.0);
}

/// `hours` of the daily pattern plus Gaussian noise (sd 3), ending at hour 0
/// of the forecast (so hour index h of the future is hours + h - 1).
std::vector<double> noisyHistory(int hours, unsigned seed = 7) {
  std::mt19937 rng(seed);
  std::normal_distribution<double> noise(0.0, 3.0);
  std::vector<double> values;
  for (int h = 0; h < hours; ++h) values.push_back(dailyPattern(h) + noise(rng));
  return values;
}

double maeAgainstPattern(const Forecast& f, int history_hours) {
  double sum = 0.0;
  for (std::size_t i = 0; i < f.point.size(); ++i) {
    sum += std::abs(f.point[i] - dailyPattern(history_hours + static_cast<int64_t>(i)));
  }
  return sum / static_cast<double>(f.point.size());
}

TEST(LongHorizonForecast, LearnsDailyPatternWithinFivePercentOver168Hours) {
  const int hours = 6 * 7 * 24;
  LongHorizonRequest request;
  request.hourly = noisyHistory(hours);
  request.origin_ms = kOrigin;
  auto result = forecastLongHorizon(request);
  ASSERT_TRUE(result.ok()) << result.error().message;
  const Forecast& f = result->forecast;
  ASSERT_EQ(f.point.size(), 168u);
  ASSERT_EQ(f.lo.size(), 168u);
  ASSERT_EQ(f.hi.size(), 168u);
  EXPECT_EQ(f.model.rfind("auto", 0), 0u) << f.model;
  // Noise sd 3 around a mean of 100: within 5 units on average over a week.
  EXPECT_LT(maeAgainstPattern(f, hours), 5.0) << f.model;
  EXPECT_EQ(result->history_hours, hours);
  EXPECT_EQ(result->missing_hours, 0);
  EXPECT_EQ(result->origin_ms, kOrigin);
  EXPECT_DOUBLE_EQ(result->step_s, 3600.0);

  // The intervals come from errors tracked at every step: most of a fresh
  // noisy week falls inside them, and they are not wildly wide.
  const std::vector<double> future = noisyHistory(hours + 168, 99);
  int inside = 0;
  double width = 0.0;
  for (int i = 0; i < 168; ++i) {
    const double actual = future[static_cast<std::size_t>(hours + i)];
    if (actual >= f.lo[static_cast<std::size_t>(i)] && actual <= f.hi[static_cast<std::size_t>(i)])
      ++inside;
    width += f.hi[static_cast<std::size_t>(i)] - f.lo[static_cast<std::size_t>(i)];
    EXPECT_LE(f.lo[static_cast<std::size_t>(i)], f.point[static_cast<std::size_t>(i)]);
    EXPECT_GE(f.hi[static_cast<std::size_t>(i)], f.point[static_cast<std::size_t>(i)]);
  }
  EXPECT_GE(inside, 168 * 3 / 4);
  EXPECT_LT(width / 168.0, 40.0);
}

TEST(LongHorizonForecast, GapsAreSkippedNotReadAsZeros) {
  const int hours = 6 * 7 * 24;
  std::vector<double> history = noisyHistory(hours);
  // A day and a half without data in the middle and the last three hours.
  for (int h = 500; h < 536; ++h) history[static_cast<std::size_t>(h)] = kNaN;
  for (int h = hours - 3; h < hours; ++h) history[static_cast<std::size_t>(h)] = kNaN;
  // Leading missing hours are not history at all.
  history.insert(history.begin(), 10, kNaN);

  LongHorizonRequest request;
  request.hourly = history;
  request.origin_ms = kOrigin;
  auto result = forecastLongHorizon(request);
  ASSERT_TRUE(result.ok()) << result.error().message;
  EXPECT_EQ(result->history_hours, hours);
  EXPECT_EQ(result->missing_hours, 39);
  EXPECT_LT(maeAgainstPattern(result->forecast, hours), 6.0) << result->forecast.model;

  // The same gaps filled with zeros drag the forecast down: the test above
  // would notice if gaps were read as zeros.
  std::vector<double> zeros = history;
  for (double& v : zeros) {
    if (!std::isfinite(v)) v = 0.0;
  }
  request.hourly = zeros;
  auto zero_filled = forecastLongHorizon(request);
  ASSERT_TRUE(zero_filled.ok());
  EXPECT_GT(maeAgainstPattern(zero_filled->forecast, hours),
            maeAgainstPattern(result->forecast, hours));
}

TEST(LongHorizonForecast, ShortHistoryUsesDailyHoltWinters) {
  LongHorizonRequest request;
  request.hourly = noisyHistory(4 * 24);
  request.origin_ms = kOrigin;
  request.horizon = 48;
  auto result = forecastLongHorizon(request);
  ASSERT_TRUE(result.ok()) << result.error().message;
  EXPECT_EQ(result->forecast.model, "holt-winters/24");
  ASSERT_EQ(result->forecast.point.size(), 48u);
  EXPECT_LT(maeAgainstPattern(result->forecast, 4 * 24), 10.0);

  request.hourly = noisyHistory(20);
  auto tiny = forecastLongHorizon(request);
  ASSERT_TRUE(tiny.ok()) << tiny.error().message;
  EXPECT_EQ(tiny->forecast.model.rfind("holt", 0), 0u);
  EXPECT_EQ(tiny->forecast.model.find("winters"), std::string::npos);
}

TEST(LongHorizonForecast, ReportsCapacityBreachOfGrowingDemand) {
  // Demand growing 0.5 per hour on top of the daily cycle: the upper bound
  // crosses 260 some days ahead, at a daily peak.
  std::vector<double> history = noisyHistory(5 * 7 * 24);
  for (std::size_t h = 0; h < history.size(); ++h) history[h] += 0.25 * static_cast<double>(h);
  LongHorizonRequest request;
  request.hourly = history;
  request.origin_ms = kOrigin;
  request.model = "holt-winters";
  request.capacity = 100.0 + 40.0 + 0.25 * static_cast<double>(history.size()) + 20.0;
  auto result = forecastLongHorizon(request);
  ASSERT_TRUE(result.ok()) << result.error().message;
  ASSERT_TRUE(result->breach.has_value()) << result->forecast.model;
  const Bottleneck& breach = *result->breach;
  EXPECT_GT(breach.steps_ahead, 24);
  EXPECT_LE(breach.steps_ahead, 168);
  EXPECT_EQ(breach.eta_ms, kOrigin + breach.steps_ahead * kHourMs);
  EXPECT_GT(breach.predicted_demand, *request.capacity);
  // Every earlier hour stays within the capacity.
  for (int64_t s = 1; s < breach.steps_ahead; ++s) {
    EXPECT_LE(result->forecast.hi[static_cast<std::size_t>(s - 1)], *request.capacity);
  }

  request.capacity = 10'000.0;
  auto roomy = forecastLongHorizon(request);
  ASSERT_TRUE(roomy.ok());
  EXPECT_FALSE(roomy->breach.has_value());
}

TEST(LongHorizonForecast, RefusesBadRequests) {
  LongHorizonRequest request;
  request.hourly = noisyHistory(100);
  for (int horizon : {0, 169}) {
    request.horizon = horizon;
    auto result = forecastLongHorizon(request);
    ASSERT_FALSE(result.ok());
    EXPECT_EQ(result.error().code, "invalid");
  }
  request.horizon = 24;
  request.model = "no-such-model";
  auto unknown = forecastLongHorizon(request);
  ASSERT_FALSE(unknown.ok());
  EXPECT_EQ(unknown.error().code, "invalid");
  request.model = "auto-select";
  request.capacity = 0.0;
  EXPECT_FALSE(forecastLongHorizon(request).ok());
  request.capacity.reset();
  request.hourly = {kNaN, kNaN};
  auto empty = forecastLongHorizon(request);
  ASSERT_FALSE(empty.ok());
  EXPECT_EQ(empty.error().code, "no_data");
}

}  // namespace
}  // namespace pso::controller::engine
