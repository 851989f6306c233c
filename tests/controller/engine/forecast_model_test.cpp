#include "controller/engine/forecast_model.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "controller/engine/holt_model.h"
#include "controller/engine/seasonal_naive_model.h"

namespace pso::controller::engine {
namespace {

std::unique_ptr<ForecastModel> holt(ForecastModelParams params = {}) {
  auto made = makeForecastModel("holt", params);
  EXPECT_TRUE(made.ok());
  return std::move(made).value();
}

TEST(ForecastModelRegistry, MakesEveryRegisteredModelByName) {
  ForecastModelParams params;
  params.season_period = 24;
  for (const std::string& name : forecastModelNames()) {
    auto made = makeForecastModel(name, params);
    ASSERT_TRUE(made.ok()) << name;
    EXPECT_EQ(made.value()->name(), name);
  }
  EXPECT_GE(forecastModelNames().size(), 3u);
}

TEST(ForecastModelRegistry, UnknownNameIsAnErrorListingKnownModels) {
  auto made = makeForecastModel("prophet");
  ASSERT_FALSE(made.ok());
  EXPECT_EQ(made.error().code, "invalid");
  EXPECT_NE(made.error().message.find("prophet"), std::string::npos);
  EXPECT_NE(made.error().message.find("holt"), std::string::npos);
}

TEST(ForecastModelRegistry, BadParamsAreAnError) {
  ForecastModelParams params;
  params.max_horizon = 0;
  auto made = makeForecastModel("holt", params);
  ASSERT_FALSE(made.ok());
  EXPECT_NE(made.error().message.find("max_horizon"), std::string::npos);
}

TEST(HoltModel, ForecastIsEmptyBeforeAnyValue) {
  auto model = holt();
  model->observeMissing();
  const Forecast f = model->forecast(3, 0.9);
  EXPECT_TRUE(f.point.empty());
  EXPECT_EQ(f.observations, 0);
  EXPECT_EQ(f.model, "holt");
}

TEST(HoltModel, ExactLineIsForecastExactlyTenStepsOut) {
  auto model = holt();
  for (int t = 0; t < 100; ++t) model->update(5.0 + 3.0 * t);
  const Forecast f = model->forecast(10, 0.9);
  ASSERT_EQ(f.point.size(), 10u);
  for (int h = 1; h <= 10; ++h) {
    EXPECT_NEAR(f.point[h - 1], 5.0 + 3.0 * (99 + h), 1e-6) << "h=" << h;
  }
}

TEST(HoltModel, NoisyLineConvergesWithinOneAndAHalfSigma) {
  // y = 200 + 2t + N(0, 4): after 300 points, the 5-step-ahead forecasts over
  // the next 200 origins have a mean absolute error under 1.5 sigma (= 6),
  // i.e. the trend is learned (ignoring it would cost 10 per step).
  std::mt19937 rng(7);
  std::normal_distribution<double> noise(0.0, 4.0);
  auto model = holt();
  double abs_error = 0.0;
  int scored = 0;
  std::vector<double> pending;  // 5-step forecasts by origin
  for (int t = 0; t < 500; ++t) {
    const double truth = 200.0 + 2.0 * t;
    if (t >= 305) {
      abs_error += std::abs(pending[static_cast<std::size_t>(t - 5)] - truth);
      ++scored;
    }
    model->update(truth + noise(rng));
    pending.push_back(model->forecast(5, 0.9).point[4]);
  }
  EXPECT_LT(abs_error / scored, 6.0);
}

TEST(HoltModel, LevelShiftIsAbsorbedWithinTenSteps) {
  // Noise sigma 1 around 100, then a jump to 130 at t = 300: from 10 steps
  // after the jump on, every one-step forecast is within 3 sigma of 130.
  std::mt19937 rng(11);
  std::normal_distribution<double> noise(0.0, 1.0);
  auto model = holt();
  for (int t = 0; t < 300; ++t) model->update(100.0 + noise(rng));
  for (int t = 300; t < 400; ++t) {
    model->update(130.0 + noise(rng));
    const double next = model->forecast(1, 0.9).point[0];
    if (t >= 309) {
      EXPECT_NEAR(next, 130.0, 3.0) << "at t=" << t;
    }
  }
}

double holtCoverage(int horizon, uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<double> noise(0.0, 5.0);
  auto model = holt();
  std::vector<std::pair<double, double>> intervals;  // by origin, for `horizon` ahead
  int inside = 0;
  int scored = 0;
  for (int t = 0; t < 2100; ++t) {
    const double value = 50.0 + noise(rng);
    if (t >= 100 + horizon) {
      const auto& [lo, hi] = intervals[static_cast<std::size_t>(t - horizon)];
      inside += (value >= lo && value <= hi) ? 1 : 0;
      ++scored;
    }
    model->update(value);
    const Forecast f = model->forecast(horizon, 0.9);
    intervals.emplace_back(f.lo[static_cast<std::size_t>(horizon - 1)],
                           f.hi[static_cast<std::size_t>(horizon - 1)]);
  }
  return static_cast<double>(inside) / scored;
}

TEST(HoltModel, NinetyPercentIntervalsCoverGaussianNoise) {
  const double one_step = holtCoverage(1, 3);
  const double three_step = holtCoverage(3, 5);
  EXPECT_GE(one_step, 0.85);
  EXPECT_LE(one_step, 0.95);
  EXPECT_GE(three_step, 0.85);
  EXPECT_LE(three_step, 0.95);
}

TEST(HoltModel, IntervalsWidenWithHorizonBeforeErrorsAreKnown) {
  auto model = holt();
  for (double v : {10.0, 12.0, 11.0, 13.0, 12.0, 14.0}) model->update(v);
  const Forecast f = model->forecast(4, 0.9);
  ASSERT_EQ(f.point.size(), 4u);
  for (std::size_t h = 1; h < 4; ++h) {
    EXPECT_GT(f.hi[h] - f.lo[h], f.hi[h - 1] - f.lo[h - 1]);
  }
  EXPECT_GT(f.hi[0], f.point[0]);
  EXPECT_LT(f.lo[0], f.point[0]);
}

TEST(HoltModel, GapsAdvanceTheClockWithoutInjectingZeros) {
  auto model = holt();
  for (int t = 0; t < 60; ++t) model->update(100.0 + (t % 2 == 0 ? 1.0 : -1.0));
  const int64_t seen = model->observations();
  const double mae_before = model->forecast(1, 0.9).backtest_mae;
  for (int t = 0; t < 10; ++t) model->observeMissing();
  EXPECT_EQ(model->observations(), seen);
  const Forecast during = model->forecast(3, 0.9);
  for (double p : during.point) EXPECT_NEAR(p, 100.0, 3.0);
  // The gap recorded no residual: the rolling error is unchanged.
  EXPECT_DOUBLE_EQ(during.backtest_mae, mae_before);
  model->update(100.0);
  EXPECT_NEAR(model->forecast(1, 0.9).point[0], 100.0, 3.0);
  // Non-finite values count as missing too.
  model->update(std::nan(""));
  EXPECT_EQ(model->observations(), seen + 1);
}

TEST(HoltModel, GapsKeepTheTrendClock) {
  // A line with a gap: after the gap, the forecast continues the line at the
  // right time, as if the missing steps had passed.
  auto model = holt();
  for (int t = 0; t < 40; ++t) model->update(2.0 * t);
  for (int t = 40; t < 45; ++t) model->observeMissing();
  EXPECT_NEAR(model->forecast(1, 0.9).point[0], 2.0 * 45, 1e-6);
}

TEST(HoltModel, RefitsOnTheRecentWindowWhenTheSeriesChangesCharacter) {
  // White noise wants heavy smoothing; a random walk wants the last value.
  // The periodic refit on the bounded window follows the change.
  std::mt19937 rng(21);
  std::normal_distribution<double> noise(0.0, 1.0);
  HoltModel model{ForecastModelParams{}};
  for (int t = 0; t < 600; ++t) model.update(100.0 + noise(rng));
  EXPECT_LE(model.alpha(), 0.3);
  double walk = 100.0;
  for (int t = 0; t < 600; ++t) {
    walk += 3.0 * noise(rng);
    model.update(walk);
  }
  EXPECT_GE(model.alpha(), 0.6);
}

TEST(HoltModel, BacktestMaeIsTheRollingOneStepError) {
  auto model = holt();
  for (int t = 0; t < 100; ++t) model->update(t % 2 == 0 ? 10.0 : 20.0);
  const Forecast f = model->forecast(1, 0.9);
  EXPECT_TRUE(std::isfinite(f.backtest_mae));
  EXPECT_GT(f.backtest_mae, 1.0);
  EXPECT_LT(f.backtest_mae, 10.5);
  EXPECT_EQ(f.observations, 100);
}

TEST(HoltModel, SavedStateForecastsIdentically) {
  std::mt19937 rng(5);
  std::normal_distribution<double> noise(0.0, 3.0);
  auto original = holt();
  for (int t = 0; t < 333; ++t) {
    if (t % 37 == 0) {
      original->observeMissing();
    } else {
      original->update(40.0 + 0.3 * t + noise(rng));
    }
  }
  auto restored = holt();
  ASSERT_TRUE(restored->loadState(original->saveState()).ok());
  EXPECT_EQ(restored->saveState(), original->saveState());
  // Identical now and after further identical input (refits included).
  for (int t = 0; t < 120; ++t) {
    const Forecast a = original->forecast(6, 0.9);
    const Forecast b = restored->forecast(6, 0.9);
    ASSERT_EQ(a.point, b.point);
    ASSERT_EQ(a.lo, b.lo);
    ASSERT_EQ(a.hi, b.hi);
    const double v = 140.0 + noise(rng);
    original->update(v);
    restored->update(v);
  }
}

TEST(HoltModel, MalformedStateIsRefusedAndLeavesTheModelUnchanged) {
  auto model = holt();
  for (int t = 0; t < 30; ++t) model->update(t);
  const std::string before = model->saveState();
  Status status = model->loadState("holt 1 garbage");
  ASSERT_FALSE(status.ok());
  EXPECT_EQ(status.error().code, "invalid_state");
  EXPECT_FALSE(model->loadState(before.substr(0, before.size() / 2)).ok());
  EXPECT_FALSE(model
                   ->loadState("4:holt 1 16 128 240 24 48 1 0.5 0.1 1 0 0 0 0 0 0 0 0 "
                               "999999999")
                   .ok());
  // Well-formed but impossible: alpha (the 9th token) of 7.
  std::vector<std::string> tokens;
  std::size_t start = 0;
  while (start <= before.size()) {
    const std::size_t end = std::min(before.find(' ', start), before.size());
    tokens.push_back(before.substr(start, end - start));
    start = end + 1;
  }
  tokens[8] = "7";
  std::string impossible;
  for (const std::string& t : tokens) impossible += (impossible.empty() ? "" : " ") + t;
  Status refused = model->loadState(impossible);
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.error().message.find("smoothing parameters"), std::string::npos);
  EXPECT_EQ(model->saveState(), before);
}

TEST(SeasonalNaiveModel, RepeatsTheLastSeason) {
  ForecastModelParams params;
  params.season_period = 4;
  auto made = makeForecastModel("seasonal-naive", params);
  ASSERT_TRUE(made.ok());
  auto& model = *made.value();
  for (int t = 0; t < 8; ++t) model.update(10.0 * (t % 4));  // 0 10 20 30 0 10 20 30
  const Forecast f = model.forecast(6, 0.9);
  EXPECT_EQ(f.point, (std::vector<double>{0, 10, 20, 30, 0, 10}));
  // A missing phase falls back to the latest value, never to zero.
  model.observeMissing();  // phase 0 missing
  model.update(15.0);      // phase 1
  EXPECT_EQ(model.forecast(3, 0.9).point, (std::vector<double>{20, 30, 0}));
}

TEST(SeasonalNaiveModel, NaiveIsFlatAndStateRoundTrips) {
  auto made = makeForecastModel("naive");
  ASSERT_TRUE(made.ok());
  auto& model = *made.value();
  for (int t = 0; t < 50; ++t) model.update(t % 3);
  EXPECT_EQ(model.forecast(3, 0.9).point, (std::vector<double>{49 % 3, 49 % 3, 49 % 3}));
  auto copy = makeForecastModel("naive");
  ASSERT_TRUE(copy.value()->loadState(model.saveState()).ok());
  EXPECT_EQ(copy.value()->forecast(5, 0.8).hi, model.forecast(5, 0.8).hi);
  EXPECT_EQ(copy.value()->name(), "naive");
}

}  // namespace
}  // namespace pso::controller::engine
