// The shared outlier screen, and every forecast model on injected spikes: an
// isolated outlier neither becomes the level nor is carried forward, a lasting
// shift is followed.

#include "controller/engine/robust_level.h"

#include <gtest/gtest.h>

#include <cmath>
#include <numbers>
#include <random>

#include "controller/engine/forecast_model.h"

namespace pso::controller::engine {
namespace {

TEST(OutlierScreen, LearnsItsScaleFromTheFirstErrorsThenClipsOutliers) {
  OutlierScreen screen;
  for (int i = 0; i < OutlierScreen::kWarmErrors; ++i) {
    const OutlierScreen::Verdict v = screen.screen(i % 2 == 0 ? 2.0 : -2.0);
    EXPECT_FALSE(v.clipped);
  }
  EXPECT_TRUE(screen.warm());
  EXPECT_DOUBLE_EQ(screen.scale(), 2.0);
  // Within 3.5 scales: learned as it is.
  EXPECT_DOUBLE_EQ(screen.screen(6.0).used, 6.0);
  // Far beyond: clipped to the bound, whatever its size.
  const double scale = screen.scale();
  const double bound = OutlierScreen::kClip * scale;
  const OutlierScreen::Verdict spike = screen.screen(1e6);
  EXPECT_TRUE(spike.clipped);
  EXPECT_FALSE(spike.shift);
  EXPECT_DOUBLE_EQ(spike.used, bound);
  EXPECT_DOUBLE_EQ(spike.scored, bound);
  // A single error counts at most kScaleCap scales into the scale.
  EXPECT_NEAR(screen.scale(),
              scale + OutlierScreen::kScaleRate * (OutlierScreen::kScaleCap - 1.0) * scale, 1e-12);
}

TEST(OutlierScreen, ConfirmsAShiftOnThreeAgreeingErrorsButNotAnErraticBurst) {
  auto warm = [] {
    OutlierScreen s;
    s.start(1.0);
    return s;
  };
  OutlierScreen step = warm();
  EXPECT_TRUE(step.screen(30.0).clipped);
  EXPECT_TRUE(step.screen(29.0).clipped);
  const OutlierScreen::Verdict third = step.screen(31.0);
  EXPECT_TRUE(third.shift);
  EXPECT_EQ(step.run(), 0);

  // A ramp agrees with a line too.
  OutlierScreen ramp = warm();
  ramp.screen(10.0);
  ramp.screen(20.0);
  EXPECT_TRUE(ramp.screen(30.0).shift);

  // 1e7, then 6e6, then 1e8: a burst, not a new level; it stays clipped.
  OutlierScreen burst = warm();
  for (double e : {1e7, 6e6, 1e8, 3e6}) {
    const OutlierScreen::Verdict v = burst.screen(e);
    EXPECT_FALSE(v.shift) << e;
    EXPECT_TRUE(v.clipped) << e;
  }
  // Errors on alternating sides are no run at all.
  OutlierScreen alternating = warm();
  for (int i = 0; i < 6; ++i) EXPECT_FALSE(alternating.screen(i % 2 == 0 ? 50.0 : -50.0).shift);
}

TEST(OutlierScreen, SavedStateRestoresAndBadStateIsRefused) {
  OutlierScreen screen;
  for (double e : {1.0, -2.0, 1.5, 0.5, -1.0, 2.0, 1.0, -1.5, 0.5, 1.0, 40.0, 41.0})
    screen.screen(e);
  StateWriter w;
  screen.save(w);
  OutlierScreen restored;
  StateReader r(w.str(), "screen");
  restored.load(r);
  ASSERT_TRUE(r.status().ok());
  EXPECT_EQ(restored.scale(), screen.scale());
  EXPECT_EQ(restored.run(), screen.run());
  EXPECT_EQ(restored.screen(42.0).shift, screen.screen(42.0).shift);

  StateReader bad("-1 0 10 0 0", "screen");
  OutlierScreen untouched;
  untouched.load(bad);
  EXPECT_FALSE(bad.ok());
  EXPECT_EQ(untouched.scale(), 0.0);
}

// ---- every model on injected spikes ----

constexpr int kPeriod = 24;

double daily(int t) {
  return 100.0 + 20.0 * std::sin(2.0 * std::numbers::pi * (t % kPeriod) / kPeriod);
}

std::unique_ptr<ForecastModel> robustModel(const std::string& name) {
  ForecastModelParams params;
  params.season_period = name == "holt" || name == "naive" || name == "auto" ? 1 : kPeriod;
  auto m = makeForecastModel(name, params);
  EXPECT_TRUE(m.ok()) << name;
  return std::move(m).value();
}

double meanAbsDiff(const std::vector<double>& a, const std::vector<double>& b) {
  double sum = 0.0;
  for (std::size_t i = 0; i < a.size(); ++i) sum += std::abs(a[i] - b[i]);
  return sum / static_cast<double>(a.size());
}

class EveryModel : public ::testing::TestWithParam<std::string> {};

TEST_P(EveryModel, AnIsolatedSpikeIsNeitherTheLevelNorCarriedForward) {
  // Two twins fed the same daily season with noise 2 for twelve days, then
  // one of them a value 50 times the level. Right after it, and a season
  // later (where a seasonal copy of it would repeat it), their forecasts
  // stay within a few noise spreads of each other: a spike carried forward
  // would move them by up to 5,000.
  std::mt19937 rng(7);
  std::normal_distribution<double> noise(0.0, 2.0);
  auto model = robustModel(GetParam());
  auto twin = robustModel(GetParam());
  int t = 0;
  for (; t < 12 * kPeriod; ++t) {
    const double v = daily(t) + noise(rng);
    model->update(v);
    twin->update(v);
  }
  model->update(daily(t) * 50.0);
  twin->update(daily(t) + noise(rng));
  ++t;
  const Forecast after = model->forecast(12, 0.9);
  EXPECT_LT(meanAbsDiff(after.point, twin->forecast(12, 0.9).point), 10.0) << after.model;
  for (int k = 0; k < kPeriod - 1; ++k, ++t) {
    const double v = daily(t) + noise(rng);
    model->update(v);
    twin->update(v);
  }
  const Forecast season_on = model->forecast(12, 0.9);
  EXPECT_LT(meanAbsDiff(season_on.point, twin->forecast(12, 0.9).point), 10.0) << season_on.model;
}

class EveryLevelModel : public ::testing::TestWithParam<std::string> {};

TEST_P(EveryLevelModel, ALastingShiftIsFollowedWithinAFewSteps) {
  std::mt19937 rng(8);
  std::normal_distribution<double> noise(0.0, 2.0);
  auto model = robustModel(GetParam());
  int t = 0;
  for (; t < 12 * kPeriod; ++t) model->update(daily(t) + noise(rng));
  // The level rises by 200 (100 noise spreads) and stays.
  for (int k = 0; k < 6; ++k, ++t) model->update(daily(t) + 200.0 + noise(rng));
  const Forecast f = model->forecast(1, 0.9);
  EXPECT_NEAR(f.point[0], daily(t) + 200.0, 30.0) << f.model;
}

INSTANTIATE_TEST_SUITE_P(Models, EveryModel,
                         ::testing::Values("holt", "naive", "seasonal-naive", "holt-winters", "ets",
                                           "auto"));
// The models with a level (seasonal naive follows a shift phase by phase, a
// season later).
INSTANTIATE_TEST_SUITE_P(Models, EveryLevelModel,
                         ::testing::Values("holt", "naive", "holt-winters", "ets"));

TEST(SeasonalNaiveModel, TakesHeldBackValuesWhenTheShiftIsConfirmed) {
  // Period 4, noise-free with a small wobble so the screen has a scale; a
  // shift by 100 at phase 1: the values at phases 1 and 2 are held back until
  // the third confirms the shift, then all three are the new season.
  ForecastModelParams params;
  params.season_period = 4;
  auto model = std::move(makeForecastModel("seasonal-naive", params)).value();
  int t = 0;
  for (; t < 40; ++t) model->update(10.0 * (t % 4) + (t % 3 == 0 ? 1.0 : 0.0));
  ASSERT_EQ(t % 4, 0);
  model->update(0.0);  // phase 0, as before
  model->update(110.0);
  // Phases 2, 3, 0, 1 ahead: phase 1 is still last season's.
  EXPECT_NEAR(model->forecast(4, 0.9).point[3], 10.0, 1.5) << "a held-back value is not the season";
  model->update(120.0);
  model->update(130.0);
  const Forecast f = model->forecast(4, 0.9);
  EXPECT_NEAR(f.point[1], 110.0, 1e-9);
  EXPECT_NEAR(f.point[2], 120.0, 1e-9);
  EXPECT_NEAR(f.point[3], 130.0, 1e-9);

  // The textbook model (robust = false) takes every value.
  params.robust = false;
  auto plain = std::move(makeForecastModel("seasonal-naive", params)).value();
  for (int k = 0; k < 40; ++k) plain->update(10.0 * (k % 4));
  plain->update(1000.0);
  EXPECT_EQ(plain->forecast(4, 0.9).point[3], 1000.0);
}

}  // namespace
}  // namespace pso::controller::engine
