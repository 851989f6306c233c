// Holt-Winters, season detection and per-series model selection ("auto") on
// synthetic series with known answers.

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <numbers>
#include <random>

#include "controller/engine/decision_engine.h"
#include "controller/engine/forecast_model.h"
#include "controller/engine/holt_winters_model.h"
#include "controller/engine/model_selector.h"
#include "controller/engine/replay.h"
#include "controller/engine/season_detection.h"
#include "controller/engine/state_codec.h"
#include "tests/controller/engine/state_tokens.h"

namespace pso::controller::engine {
namespace {

constexpr int kSeasonPeriod = 24;

/// level + a period-24 wave with a sharp peak, the shape of a daily load.
double season(int t, double level = 200.0, double amplitude = 50.0) {
  const double phase = 2.0 * std::numbers::pi * (t % kSeasonPeriod) / kSeasonPeriod;
  return level + amplitude * (std::sin(phase) + 0.5 * std::cos(2.0 * phase));
}

ForecastModelParams seasonal(int period = kSeasonPeriod) {
  ForecastModelParams p;
  p.season_period = period;
  return p;
}

double meanAbs(const std::vector<double>& a, const std::vector<double>& b) {
  double sum = 0.0;
  for (std::size_t i = 0; i < a.size(); ++i) sum += std::abs(a[i] - b[i]);
  return sum / static_cast<double>(a.size());
}

std::vector<double> truthAhead(int from, int horizon) {
  std::vector<double> out;
  for (int h = 1; h <= horizon; ++h) out.push_back(season(from + h));
  return out;
}

// ---- season detection ----

TEST(SeasonDetection, FindsThePeriodOfANoisySeason) {
  std::mt19937 rng(1);
  std::normal_distribution<double> noise(0.0, 10.0);
  std::vector<double> values;
  for (int t = 0; t < 600; ++t) values.push_back(season(t) + noise(rng));
  EXPECT_EQ(detectSeasonPeriod(values), kSeasonPeriod);
  const std::vector<double> acf = autocorrelation(values, 30);
  EXPECT_NEAR(acf[0], 1.0, 1e-9);
  EXPECT_GT(acf[kSeasonPeriod], 0.7);
}

TEST(SeasonDetection, NoiseTrendsAndRandomWalksHaveNoSeason) {
  std::mt19937 rng(2);
  std::normal_distribution<double> noise(0.0, 1.0);
  std::vector<double> white, line, walk;
  double w = 0.0;
  for (int t = 0; t < 1000; ++t) {
    white.push_back(noise(rng));
    line.push_back(3.0 * t + noise(rng));
    w += noise(rng);
    walk.push_back(w);
  }
  EXPECT_TRUE(detectSeasonPeriods(white).empty());
  EXPECT_TRUE(detectSeasonPeriods(line).empty());
  EXPECT_TRUE(detectSeasonPeriods(walk).empty());
  EXPECT_TRUE(detectSeasonPeriods({1.0, 2.0, 3.0}).empty());
}

TEST(SeasonDetection, GapsAreNotZeros) {
  // A flat series with a missing point every 17 steps: read as zeros, the
  // gaps would be a period-17 season; they are skipped, so there is none.
  std::mt19937 rng(3);
  std::normal_distribution<double> noise(0.0, 1.0);
  std::vector<double> flat;
  for (int t = 0; t < 800; ++t) flat.push_back(t % 17 == 0 ? std::nan("") : 100.0 + noise(rng));
  EXPECT_TRUE(detectSeasonPeriods(flat).empty());
  // A season with 20% of its points missing (in runs) is still found.
  std::vector<double> holed;
  for (int t = 0; t < 800; ++t) holed.push_back((t / 5) % 5 == 0 ? std::nan("") : season(t));
  EXPECT_EQ(detectSeasonPeriod(holed), kSeasonPeriod);
}

TEST(SeasonDetection, FindsAWeeklySeasonBesideTheDailyOne) {
  // 24 steps a day; days 5 and 6 of each week carry a third of the load.
  std::mt19937 rng(4);
  std::normal_distribution<double> noise(0.0, 3.0);
  std::vector<double> values;
  for (int t = 0; t < 24 * 7 * 6; ++t) {
    const bool weekend = (t / 24) % 7 >= 5;
    values.push_back((weekend ? 0.33 : 1.0) * (season(t) - 100.0) + noise(rng));
  }
  const std::vector<int> periods = detectSeasonPeriods(values);
  ASSERT_FALSE(periods.empty());
  EXPECT_NE(std::find(periods.begin(), periods.end(), 24 * 7), periods.end());
  EXPECT_NE(std::find(periods.begin(), periods.end(), 24), periods.end());
  // ...while a pure daily season does not report its multiples.
  std::vector<double> daily;
  for (int t = 0; t < 24 * 7 * 6; ++t) daily.push_back(season(t) + noise(rng));
  EXPECT_EQ(detectSeasonPeriods(daily), std::vector<int>{24});
}

TEST(SeasonDetection, WhiteNoiseAndAutoregressiveSeriesHaveNoSeason) {
  // Long and short windows (the short ones lean on the significance bound),
  // several draws each: AR(1) correlations decay smoothly, and their
  // wiggles do not repeat at 2k and 3k.
  for (unsigned seed = 20; seed < 24; ++seed) {
    std::mt19937 rng(seed);
    std::normal_distribution<double> noise(0.0, 1.0);
    for (int n : {160, 600, 4096}) {
      std::vector<double> white, ar_mild, ar_strong;
      double a = 0.0, b = 0.0;
      for (int t = 0; t < n; ++t) {
        white.push_back(noise(rng));
        a = 0.6 * a + noise(rng);
        b = 0.95 * b + noise(rng);
        ar_mild.push_back(50.0 + a);
        ar_strong.push_back(50.0 + b);
      }
      EXPECT_TRUE(detectSeasonPeriods(white).empty()) << "seed " << seed << " n " << n;
      EXPECT_TRUE(detectSeasonPeriods(ar_mild).empty()) << "seed " << seed << " n " << n;
      EXPECT_TRUE(detectSeasonPeriods(ar_strong).empty()) << "seed " << seed << " n " << n;
    }
  }
}

TEST(SeasonDetection, AShortSeasonIsReportedAloneWithoutItsInnerBumps) {
  // A period-8 pattern whose halves move against each other: its
  // autocorrelation also bumps at lags 3, 5, 11, 13, ... (in-cycle
  // structure), which are not seasons.
  std::mt19937 rng(24);
  std::normal_distribution<double> noise(0.0, 4.0);
  const double shape[8] = {10, 60, 20, 80, 70, 15, 85, 30};
  std::vector<double> values;
  for (int t = 0; t < 1024; ++t) values.push_back(100.0 + shape[t % 8] + noise(rng));
  EXPECT_EQ(detectSeasonPeriods(values), std::vector<int>{8});
}

TEST(SeasonDetection, ASumOfDailyAndWeeklyPatternsReportsBoth) {
  // 24 steps a day; on top of the daily wave, each day of the week has its
  // own offset (weekend low), added, not multiplied.
  std::mt19937 rng(25);
  std::normal_distribution<double> noise(0.0, 4.0);
  const double day_offset[7] = {20, 25, 22, 18, 10, -45, -50};
  std::vector<double> values;
  for (int t = 0; t < 24 * 7 * 6; ++t) {
    values.push_back(season(t) + day_offset[(t / 24) % 7] + noise(rng));
  }
  const std::vector<int> periods = detectSeasonPeriods(values);
  EXPECT_NE(std::find(periods.begin(), periods.end(), 24), periods.end());
  EXPECT_NE(std::find(periods.begin(), periods.end(), 24 * 7), periods.end());
  EXPECT_EQ(periods.size(), 2u);
}

TEST(SeasonDetection, ScatteredGapsDoNotHideOrMakeASeason) {
  std::mt19937 rng(26);
  std::normal_distribution<double> noise(0.0, 5.0);
  std::uniform_real_distribution<double> u(0.0, 1.0);
  // 30% of the points missing at random: the season is still found.
  std::vector<double> holed;
  for (int t = 0; t < 800; ++t)
    holed.push_back(u(rng) < 0.3 ? std::nan("") : season(t) + noise(rng));
  EXPECT_EQ(detectSeasonPeriod(holed), kSeasonPeriod);
  // Noise with a gap every 12 steps: zeros there would be a period-12 season.
  std::vector<double> flat;
  for (int t = 0; t < 2000; ++t) flat.push_back(t % 12 == 5 ? std::nan("") : 80.0 + noise(rng));
  EXPECT_TRUE(detectSeasonPeriods(flat).empty());
}

TEST(SeasonDetection, FindsADailyCycleUnderHeavyBursts) {
  // A daily wave (48 steps) with bursts of up to 40 times its swing on 3% of
  // the steps, as a social-volume series has: the bursts would swamp the
  // variance and every lag's correlation; clipped, the day stands out, and
  // its multiples place it to the step.
  std::mt19937 rng(27);
  std::normal_distribution<double> noise(0.0, 4.0);
  std::uniform_real_distribution<double> u(0.0, 1.0);
  std::vector<double> values;
  for (int t = 0; t < 48 * 40; ++t) {
    double v = 100.0 + 20.0 * std::sin(2.0 * std::numbers::pi * t / 48.0) + noise(rng);
    if (u(rng) < 0.03) v += 800.0 * u(rng);
    values.push_back(v);
  }
  EXPECT_EQ(detectSeasonPeriods(values), std::vector<int>{48});
}

// ---- does the season scale with the level? ----

/// Cycles of kSeasonPeriod whose level steps through `levels` (kSeasonPeriod * 2 steps
/// each); the season's amplitude is `relative` x level plus `absolute`.
std::vector<double> scaledSeason(const std::vector<double>& levels, double relative,
                                 double absolute, double noise_sd, unsigned seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<double> noise(0.0, noise_sd);
  std::vector<double> out;
  int t = 0;
  for (double level : levels) {
    for (int k = 0; k < 2 * kSeasonPeriod; ++k, ++t) {
      const double phase = 2.0 * std::numbers::pi * (t % kSeasonPeriod) / kSeasonPeriod;
      const double wave = std::sin(phase) + 0.5 * std::cos(2.0 * phase);
      out.push_back(level + (relative * level + absolute) * wave + noise(rng));
    }
  }
  return out;
}

const std::vector<double> kLevels = {100, 140, 220, 300, 260, 180, 120, 90, 150, 240};

TEST(SeasonScaling, AnAmplitudeProportionalToTheLevelIsMultiplicative) {
  const std::vector<double> values = scaledSeason(kLevels, 0.4, 0.0, 3.0, 30);
  const SeasonScaling s = seasonScaling(values, kSeasonPeriod);
  EXPECT_EQ(s.cycles, 20);
  EXPECT_GT(s.rank_correlation, 0.9);
  EXPECT_NEAR(s.elasticity, 1.0, 0.15);
  EXPECT_TRUE(s.multiplicative);
  // With a fifth of the points missing, in runs, still so.
  std::vector<double> holed = values;
  for (std::size_t i = 0; i < holed.size(); ++i) {
    if ((i / 3) % 5 == 0) holed[i] = std::nan("");
  }
  EXPECT_TRUE(seasonalAmplitudeScales(holed, kSeasonPeriod));
}

TEST(SeasonScaling, AConstantAmplitudeIsNotMultiplicative) {
  // Same levels, the swing fixed at 50, with noise of 3 and of 15.
  for (double sd : {3.0, 15.0}) {
    const SeasonScaling s = seasonScaling(scaledSeason(kLevels, 0.0, 50.0, sd, 31), kSeasonPeriod);
    EXPECT_FALSE(s.multiplicative) << "sd " << sd;
    EXPECT_LT(std::abs(s.elasticity), 0.3) << "sd " << sd;
  }
  // A steady level says nothing either way: additive (the safe default).
  const std::vector<double> steady(10, 200.0);
  EXPECT_FALSE(seasonalAmplitudeScales(scaledSeason(steady, 0.4, 0.0, 3.0, 32), kSeasonPeriod));
  // Too few cycles, or a level that is not positive: no verdict.
  std::vector<double> three_cycles = scaledSeason({100, 300}, 0.4, 0.0, 1.0, 33);
  EXPECT_TRUE(seasonalAmplitudeScales(three_cycles, kSeasonPeriod));  // four cycles suffice
  three_cycles.resize(3 * kSeasonPeriod);
  EXPECT_FALSE(seasonalAmplitudeScales(three_cycles, kSeasonPeriod));
  EXPECT_FALSE(seasonalAmplitudeScales(
      scaledSeason({-100, -300, -200, -50, -400}, 0.4, 0.0, 1.0, 34), kSeasonPeriod));
}

// ---- Holt-Winters ----

TEST(HoltWintersModel, LearnsAPureSeasonExactly) {
  HoltWintersModel model(seasonal());
  for (int t = 0; t < 10 * kSeasonPeriod; ++t) model.update(season(t));
  ASSERT_TRUE(model.initialized());
  const Forecast f = model.forecast(2 * kSeasonPeriod, 0.9);
  // Two seasons ahead, within 0.1% of the amplitude.
  for (int h = 1; h <= 2 * kSeasonPeriod; ++h) {
    EXPECT_NEAR(f.point[static_cast<std::size_t>(h - 1)], season(10 * kSeasonPeriod - 1 + h), 0.05)
        << "h=" << h;
  }
  EXPECT_EQ(f.model, "holt-winters");
}

TEST(HoltWintersModel, LearnsANoisySeasonWithTrendWithinTheNoise) {
  // Noise sigma 5 (MAE 4): after 20 seasons, 12-step forecasts over the next
  // five seasons are off by less than the noise's MAE on average.
  std::mt19937 rng(5);
  std::normal_distribution<double> noise(0.0, 5.0);
  auto truth = [](int t) { return season(t) + 0.2 * t; };
  HoltWintersModel model(seasonal());
  std::vector<double> pending;
  double abs_error = 0.0;
  int scored = 0;
  for (int t = 0; t < 25 * kSeasonPeriod; ++t) {
    if (t >= 20 * kSeasonPeriod + 12) {
      abs_error += std::abs(pending[static_cast<std::size_t>(t - 12)] - truth(t));
      ++scored;
    }
    model.update(truth(t) + noise(rng));
    pending.push_back(model.forecast(12, 0.9).point[11]);
  }
  EXPECT_LT(abs_error / scored, 4.0);
}

TEST(HoltWintersModel, AbsorbsALevelShiftWithinFiveSteps) {
  std::mt19937 rng(6);
  std::normal_distribution<double> noise(0.0, 2.0);
  HoltWintersModel model(seasonal());
  const int shift_at = 12 * kSeasonPeriod + 5;
  for (int t = 0; t < shift_at; ++t) model.update(season(t) + noise(rng));
  for (int t = shift_at; t < shift_at + 3 * kSeasonPeriod; ++t) {
    model.update(season(t) + 80.0 + noise(rng));
    if (t >= shift_at + 4) {
      // From the fifth step after the shift on, one step ahead within 4 sigma.
      EXPECT_NEAR(model.forecast(1, 0.9).point[0], season(t + 1) + 80.0, 8.0) << "t=" << t;
    }
  }
}

TEST(HoltWintersModel, BurstsAndAHolidayDoNotWreckTheSeason) {
  std::mt19937 rng(7);
  std::normal_distribution<double> noise(0.0, 2.0);
  HoltWintersModel model(seasonal());
  int t = 0;
  for (; t < 12 * kSeasonPeriod; ++t) model.update(season(t) + noise(rng));
  std::vector<double> profile_before;
  for (int h = 1; h <= kSeasonPeriod; ++h) profile_before.push_back(model.seasonalAhead(h));
  // Two isolated bursts of ten times the amplitude...
  model.update(season(t) + 500.0);
  ++t;
  for (int k = 0; k < 7; ++k, ++t) model.update(season(t) + noise(rng));
  model.update(season(t) + 700.0);
  ++t;
  // ...and a holiday: a whole season at half the level, flat.
  for (int k = 0; k < kSeasonPeriod; ++k, ++t) model.update(100.0 + noise(rng));
  // One season after the holiday: the seasonal profile is still within 15%
  // of the amplitude of what it was, and the forecasts are back.
  for (int k = 0; k < kSeasonPeriod; ++k, ++t) model.update(season(t) + noise(rng));
  const int offset = (t - 12 * kSeasonPeriod) % kSeasonPeriod;
  for (int h = 1; h <= kSeasonPeriod; ++h) {
    const double before =
        profile_before[static_cast<std::size_t>((h - 1 + offset) % kSeasonPeriod)];
    EXPECT_NEAR(model.seasonalAhead(h), before, 7.5) << "h=" << h;
  }
  EXPECT_LT(meanAbs(model.forecast(kSeasonPeriod, 0.9).point, truthAhead(t - 1, kSeasonPeriod)),
            6.0);
}

TEST(HoltWintersModel, GapsAdvanceTheSeasonWithoutZeros) {
  HoltWintersModel model(seasonal());
  int t = 0;
  for (; t < 6 * kSeasonPeriod; ++t) model.update(season(t));
  const int64_t seen = model.observations();
  // Ten missing steps: the forecast made across the gap follows the season.
  for (int k = 0; k < 10; ++k, ++t) {
    model.observeMissing();
    EXPECT_NEAR(model.forecast(1, 0.9).point[0], season(t + 1), 0.5) << "t=" << t;
  }
  EXPECT_EQ(model.observations(), seen);
  model.update(std::nan(""));  // non-finite counts as missing too
  ++t;
  EXPECT_EQ(model.observations(), seen);
  model.update(season(t));
  EXPECT_NEAR(model.forecast(1, 0.9).point[0], season(t + 1), 0.5);
}

TEST(HoltWintersModel, ForecastsTheLastValueUntilTwoSeasonsHavePassed) {
  HoltWintersModel model(seasonal());
  for (int t = 0; t < 2 * kSeasonPeriod - 1; ++t) model.update(season(t));
  EXPECT_FALSE(model.initialized());
  EXPECT_EQ(model.forecast(3, 0.9).point, std::vector<double>(3, season(2 * kSeasonPeriod - 2)));
  model.update(season(2 * kSeasonPeriod - 1));
  EXPECT_TRUE(model.initialized());
}

TEST(HoltWintersModel, SavedStateForecastsIdenticallyAndBadStateIsRefused) {
  std::mt19937 rng(8);
  std::normal_distribution<double> noise(0.0, 4.0);
  auto made = makeForecastModel("holt-winters", seasonal());
  ASSERT_TRUE(made.ok());
  auto& original = *made.value();
  int t = 0;
  for (; t < 9 * kSeasonPeriod; ++t) {
    if (t % 31 == 0) {
      original.observeMissing();
    } else {
      original.update(season(t) + noise(rng));
    }
  }
  // Restored through the registry with default params, as the engine does.
  auto restored = std::move(makeForecastModel("holt-winters")).value();
  ASSERT_TRUE(restored->loadState(original.saveState()).ok());
  EXPECT_EQ(restored->saveState(), original.saveState());
  for (int k = 0; k < 3 * kSeasonPeriod; ++k, ++t) {  // parameter searches included
    const Forecast a = original.forecast(12, 0.9);
    const Forecast b = restored->forecast(12, 0.9);
    ASSERT_EQ(a.point, b.point);
    ASSERT_EQ(a.lo, b.lo);
    ASSERT_EQ(a.hi, b.hi);
    const double v = season(t) + noise(rng);
    original.update(v);
    restored->update(v);
  }
  const std::string before = original.saveState();
  EXPECT_FALSE(original.loadState("holt-winters 1 nonsense").ok());
  EXPECT_FALSE(original.loadState(before.substr(0, before.size() / 2)).ok());
  EXPECT_EQ(original.saveState(), before);
}

// ---- Holt-Winters: multiplicative season ----

std::unique_ptr<ForecastModel> madeModel(const std::string& name, ForecastModelParams params) {
  auto m = makeForecastModel(name, params);
  EXPECT_TRUE(m.ok()) << name << ": " << (m.ok() ? "" : m.error().message);
  return std::move(m).value();
}

/// Mean absolute error of each model's `h`-step forecasts over values
/// [score_from, values.size()).
std::vector<double> seasonalRollingErrors(const std::vector<ForecastModel*>& models,
                                          const std::vector<double>& values, int h,
                                          int score_from) {
  std::vector<double> errors(models.size(), 0.0);
  std::vector<std::vector<double>> pending(models.size());
  int scored = 0;
  for (std::size_t t = 0; t < values.size(); ++t) {
    const bool score = static_cast<int>(t) >= score_from + h;
    for (std::size_t i = 0; i < models.size(); ++i) {
      if (score) errors[i] += std::abs(pending[i][t - static_cast<std::size_t>(h)] - values[t]);
      models[i]->update(values[t]);
      pending[i].push_back(models[i]->forecast(h, 0.9).point[static_cast<std::size_t>(h - 1)]);
    }
    scored += score ? 1 : 0;
  }
  for (double& e : errors) e /= scored;
  return errors;
}

TEST(HoltWintersMultiplicative, LearnsASeasonThatScalesWithTheLevelAndBeatsAdditive) {
  // The level swings between 100 and 300 over sixteen seasons; the season's
  // swing is 40% of the level; noise 1% of the level. Twelve steps ahead,
  // after twelve seasons of warm-up, the multiplicative model is within 4%
  // of the mean level on average and at most 60% of the additive model's
  // error.
  std::mt19937 rng(40);
  std::normal_distribution<double> noise(0.0, 1.0);
  std::vector<double> values;
  for (int t = 0; t < 40 * kSeasonPeriod; ++t) {
    const double level =
        200.0 + 100.0 * std::sin(2.0 * std::numbers::pi * t / (16 * kSeasonPeriod));
    const double phase = 2.0 * std::numbers::pi * (t % kSeasonPeriod) / kSeasonPeriod;
    values.push_back(level * (1.0 + 0.4 * (std::sin(phase) + 0.5 * std::cos(2.0 * phase))) +
                     0.01 * level * noise(rng));
  }
  auto mult = madeModel("holt-winters-mult", seasonal());
  auto add = madeModel("holt-winters", seasonal());
  const std::vector<double> e =
      seasonalRollingErrors({mult.get(), add.get()}, values, 12, 12 * kSeasonPeriod);
  auto* hw = dynamic_cast<HoltWintersModel*>(mult.get());
  ASSERT_NE(hw, nullptr);
  EXPECT_TRUE(hw->multiplicativeNow());
  EXPECT_EQ(mult->forecast(1, 0.9).model, "holt-winters-mult");
  EXPECT_LT(e[0], 0.04 * 200.0) << "multiplicative " << e[0] << " additive " << e[1];
  EXPECT_LT(e[0], 0.6 * e[1]) << "multiplicative " << e[0] << " additive " << e[1];
  // The factors are centred on 1 and follow the wave's shape.
  double sum = 0.0;
  for (int h = 1; h <= kSeasonPeriod; ++h) sum += hw->seasonalAhead(h);
  EXPECT_NEAR(sum / kSeasonPeriod, 1.0, 1e-9);
}

TEST(HoltWintersMultiplicative, NonPositiveDataGivesFiniteForecastsAndSaysSo) {
  // Zero-centred data from the start: the level is not clearly positive, so
  // the model runs additively, and says why.
  auto centred = madeModel("holt-winters-mult", seasonal());
  for (int t = 0; t < 8 * kSeasonPeriod; ++t) centred->update(season(t) - 200.0);
  Forecast f = centred->forecast(kSeasonPeriod, 0.9);
  for (double v : f.point) ASSERT_TRUE(std::isfinite(v));
  EXPECT_NE(f.model.find("additive"), std::string::npos) << f.model;
  EXPECT_LT(meanAbs(f.point,
                    [] {
                      std::vector<double> out;
                      for (int h = 1; h <= kSeasonPeriod; ++h)
                        out.push_back(season(8 * kSeasonPeriod - 1 + h) - 200.0);
                      return out;
                    }()),
            1.0);
  // Positive data, then an outage to zero (and negative glitches) for two
  // seasons: finite throughout, additive while the level is gone...
  auto outage = madeModel("holt-winters-mult", seasonal());
  auto* hw = dynamic_cast<HoltWintersModel*>(outage.get());
  int t = 0;
  for (; t < 8 * kSeasonPeriod; ++t) outage->update(season(t));
  EXPECT_TRUE(hw->multiplicativeNow());
  for (int k = 0; k < 2 * kSeasonPeriod; ++k, ++t) {
    outage->update(k % 7 == 3 ? -5.0 : 0.0);
    for (double v : outage->forecast(2 * kSeasonPeriod, 0.9).point) ASSERT_TRUE(std::isfinite(v));
  }
  EXPECT_FALSE(hw->multiplicativeNow());
  EXPECT_NE(outage->forecast(1, 0.9).model.find("additive"), std::string::npos);
  // ...and multiplicative again once the kept window is positive again.
  for (int k = 0; k < 12 * kSeasonPeriod; ++k, ++t) {
    outage->update(season(t));
    for (double v : outage->forecast(4, 0.9).point) ASSERT_TRUE(std::isfinite(v));
  }
  EXPECT_TRUE(hw->multiplicativeNow());
  EXPECT_LT(meanAbs(outage->forecast(kSeasonPeriod, 0.9).point, truthAhead(t - 1, kSeasonPeriod)),
            3.0);
}

TEST(HoltWintersMultiplicative, SavedStateForecastsIdentically) {
  std::mt19937 rng(41);
  std::normal_distribution<double> noise(0.0, 3.0);
  auto original = madeModel("holt-winters-mult", seasonal());
  int t = 0;
  for (; t < 9 * kSeasonPeriod; ++t) {
    if (t % 31 == 0) {
      original->observeMissing();
    } else {
      original->update(season(t) * (1.0 + t / 500.0) + noise(rng));
    }
  }
  // Restored through the registry with default params, as the engine does.
  auto restored = madeModel(original->name(), {});
  ASSERT_TRUE(restored->loadState(original->saveState()).ok());
  EXPECT_EQ(restored->saveState(), original->saveState());
  for (int k = 0; k < 5 * kSeasonPeriod; ++k, ++t) {  // renormalisations and searches included
    const Forecast a = original->forecast(12, 0.9);
    const Forecast b = restored->forecast(12, 0.9);
    ASSERT_EQ(a.point, b.point) << "t=" << t;
    ASSERT_EQ(a.hi, b.hi);
    const double v = season(t) * (1.0 + t / 500.0) + noise(rng);
    original->update(v);
    restored->update(v);
  }
}

// ---- Holt-Winters: two seasons ----

constexpr int kWeek = 7 * kSeasonPeriod;

/// Daily wave, plus a per-day-of-week offset and a weekend with a flatter
/// day: a weekly season that one daily profile cannot express.
double dailyWeekly(int t) {
  static const double kDayOffset[7] = {20, 25, 22, 18, 10, -45, -50};
  const int day = (t / kSeasonPeriod) % 7;
  const double daily = season(t) - 200.0;
  return 200.0 + (day >= 5 ? 0.3 : 1.0) * daily + kDayOffset[day];
}

ForecastModelParams twoSeasons() {
  ForecastModelParams p = seasonal();
  p.second_season_period = kWeek;
  return p;
}

TEST(HoltWintersTwoSeasons, LearnsDailyAndWeeklySeasonsAndBeatsOneSeason) {
  // Noise sigma 4 (MAE 3.2). Over weeks 9-10, twelve steps ahead, the
  // two-season model is within 6 on average (under twice the noise's MAE)
  // and at most half the error of single-season Holt-Winters.
  std::mt19937 rng(42);
  std::normal_distribution<double> noise(0.0, 4.0);
  std::vector<double> values;
  for (int t = 0; t < 10 * kWeek; ++t) values.push_back(dailyWeekly(t) + noise(rng));
  auto two = madeModel("holt-winters-2s", seasonal());
  auto one = madeModel("holt-winters", seasonal());
  const std::vector<double> e =
      seasonalRollingErrors({two.get(), one.get()}, values, 12, 8 * kWeek);
  auto* hw = dynamic_cast<HoltWintersModel*>(two.get());
  ASSERT_NE(hw, nullptr);
  EXPECT_EQ(hw->secondPeriod(), kWeek);
  EXPECT_TRUE(hw->twoSeasonsActive());
  EXPECT_EQ(two->forecast(1, 0.9).model, "holt-winters-2s");
  EXPECT_LT(e[0], 6.0) << "two seasons " << e[0] << " one " << e[1];
  EXPECT_LT(e[0], 0.5 * e[1]) << "two seasons " << e[0] << " one " << e[1];
}

TEST(HoltWintersTwoSeasons, IsSingleSeasonUntilTwoLongSeasonsAreSeen) {
  HoltWintersModel model(twoSeasons());
  int t = 0;
  for (; t < 2 * kWeek - 1; ++t) model.update(dailyWeekly(t));
  EXPECT_TRUE(model.initialized());
  EXPECT_FALSE(model.twoSeasonsActive());
  EXPECT_NE(model.forecast(1, 0.9).model.find("one season until"), std::string::npos);
  model.update(dailyWeekly(t++));
  EXPECT_TRUE(model.twoSeasonsActive());
  // Noise-free: the next week is known almost exactly.
  std::vector<double> truth;
  for (int h = 1; h <= kWeek; ++h) truth.push_back(dailyWeekly(t - 1 + h));
  EXPECT_LT(meanAbs(model.forecast(kWeek, 0.9).point, truth), 1.0);
}

TEST(HoltWintersTwoSeasons, GapsAreSkippedAndSavedStateForecastsIdentically) {
  std::mt19937 rng(43);
  std::normal_distribution<double> noise(0.0, 3.0);
  auto original = madeModel("holt-winters-2s", twoSeasons());
  int t = 0;
  for (; t < 2 * kWeek + 3 * kSeasonPeriod; ++t) {
    if (t % 37 == 0 || (t > 400 && t < 412)) {
      original->observeMissing();
    } else {
      original->update(dailyWeekly(t) + noise(rng));
    }
  }
  auto* hw = dynamic_cast<HoltWintersModel*>(original.get());
  ASSERT_TRUE(hw->twoSeasonsActive());
  auto restored = madeModel("holt-winters-2s", {});
  ASSERT_TRUE(restored->loadState(original->saveState()).ok());
  EXPECT_EQ(restored->saveState(), original->saveState());
  for (int k = 0; k < kWeek + kSeasonPeriod; ++k, ++t) {  // a search and renormalisations
    const Forecast a = original->forecast(12, 0.9);
    const Forecast b = restored->forecast(12, 0.9);
    ASSERT_EQ(a.point, b.point) << "t=" << t;
    ASSERT_EQ(a.lo, b.lo);
    const double v = dailyWeekly(t) + noise(rng);
    original->update(v);
    restored->update(v);
  }
  // The gaps were not read as zeros: a week ahead stays within 10% of the
  // daily swing (75 at its peak) of the pattern.
  std::vector<double> truth;
  for (int h = 1; h <= kWeek; ++h) truth.push_back(dailyWeekly(t - 1 + h));
  EXPECT_LT(meanAbs(original->forecast(kWeek, 0.9).point, truth), 7.5);
  const std::string before = original->saveState();
  EXPECT_FALSE(original->loadState(before.substr(0, before.size() / 2)).ok());
  EXPECT_EQ(original->saveState(), before);
}

TEST(HoltWintersTwoSeasons, ParamsThatCannotWorkAreRefused) {
  ForecastModelParams p = twoSeasons();
  p.second_season_period = kWeek + 5;  // not a multiple of the day
  EXPECT_FALSE(makeForecastModel("holt-winters-2s", p).ok());
  p.second_season_period = kWeek;
  p.seasonality = Seasonality::kMultiplicative;
  auto refused = makeForecastModel("holt-winters", p);
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.error().message.find("additive"), std::string::npos);
  // The registry name fills in the usual weekly season.
  auto weekly = makeForecastModel("holt-winters-2s", seasonal());
  ASSERT_TRUE(weekly.ok());
  EXPECT_EQ(dynamic_cast<HoltWintersModel&>(*weekly.value()).secondPeriod(), kWeek);
}

// ---- auto (model selection) ----

std::unique_ptr<ForecastModel> autoModel(ForecastModelParams params = {}) {
  auto made = makeForecastModel("auto", params);
  EXPECT_TRUE(made.ok());
  return std::move(made).value();
}

// Models warm-started together (a fleet after a restart) must not all
// detect their seasons in the same cycle: once the window is full, each
// model's re-detection period is four windows less its own phase.
TEST(AutoModel, ReDetectionIsSpreadByTheModelsPhase) {
  constexpr int kWindow = 256;
  auto modelWithPhase = [](int phase) {
    ForecastModelParams params;
    params.detection_window = kWindow;
    params.refit_phase = phase;
    return AutoModel(params);
  };
  AutoModel a = modelWithPhase(0);
  AutoModel b = modelWithPhase(100);
  AutoModel c = modelWithPhase(100 + 5 * kWindow);  // the phase counts modulo the window
  EXPECT_EQ(a.redetectionPeriod(), 4 * kWindow);
  EXPECT_EQ(b.redetectionPeriod(), 4 * kWindow - 100);
  EXPECT_EQ(c.redetectionPeriod(), b.redetectionPeriod());
  std::mt19937 rng(21);
  std::normal_distribution<double> noise(100.0, 5.0);
  std::vector<int64_t> a_at, b_at;
  for (int t = 1; t <= 12 * kWindow; ++t) {
    const double value = noise(rng);
    const int64_t a_next = a.nextDetectionStep();
    const int64_t b_next = b.nextDetectionStep();
    a.update(value);
    b.update(value);
    if (a.nextDetectionStep() != a_next) a_at.push_back(t);
    if (b.nextDetectionStep() != b_next) b_at.push_back(t);
  }
  // Phase 0 detects at 128 and 256 (the window), then every four windows.
  // Phase 100 detects at 128 - 100 % 64 and 256 - 100 % 128, then every four
  // windows less 100.
  const std::vector<int64_t> a_expected = {128, 256, 256 + 1024, 256 + 2048};
  const std::vector<int64_t> b_expected = {92, 156, 156 + 924, 156 + 1848, 156 + 2772};
  EXPECT_EQ(a_at, a_expected);
  EXPECT_EQ(b_at, b_expected);
  // A saved state keeps the schedule.
  AutoModel restored = modelWithPhase(0);
  ASSERT_TRUE(restored.loadState(b.saveState()).ok());
  EXPECT_EQ(restored.nextDetectionStep(), b.nextDetectionStep());
  EXPECT_EQ(restored.redetectionPeriod(), b.redetectionPeriod());
}

TEST(AutoModel, DetectsTheSeasonAndChoosesASeasonalModel) {
  std::mt19937 rng(9);
  std::normal_distribution<double> noise(0.0, 5.0);
  AutoModel model{ForecastModelParams{}};
  auto holt = std::move(makeForecastModel("holt")).value();
  double auto_error = 0.0, holt_error = 0.0;
  std::vector<double> auto_pending, holt_pending;
  for (int t = 0; t < 40 * kSeasonPeriod; ++t) {
    const double truth = season(t);
    if (t >= 30 * kSeasonPeriod) {
      auto_error += std::abs(auto_pending[static_cast<std::size_t>(t - 6)] - truth);
      holt_error += std::abs(holt_pending[static_cast<std::size_t>(t - 6)] - truth);
    }
    const double v = truth + noise(rng);
    model.update(v);
    holt->update(v);
    auto_pending.push_back(model.forecast(6, 0.9).point[5]);
    holt_pending.push_back(holt->forecast(6, 0.9).point[5]);
  }
  EXPECT_EQ(model.seasons(), std::vector<int>{kSeasonPeriod});
  const Forecast f = model.forecast(6, 0.9);
  EXPECT_NE(f.model.find("auto: "), std::string::npos);
  EXPECT_NE(f.model.find("/24"), std::string::npos) << f.model;
  EXPECT_TRUE(std::isfinite(f.backtest_mae));
  // Six steps ahead, the seasonal choice is far better than holt alone.
  EXPECT_LT(auto_error, 0.5 * holt_error);
  // Every candidate's error is visible.
  const auto errors = model.candidateErrors();
  EXPECT_GE(errors.size(), 5u);
  for (const auto& [label, error] : errors) EXPECT_TRUE(std::isfinite(error)) << label;
}

bool hasCandidate(const AutoModel& model, const std::string& label) {
  for (const auto& [name, error] : model.candidateErrors()) {
    if (name == label) return true;
  }
  return false;
}

TEST(AutoModel, AWeeklySeasonOnADailyOneGetsTheTwoSeasonModel) {
  std::mt19937 rng(14);
  std::normal_distribution<double> noise(0.0, 3.0);
  AutoModel model{ForecastModelParams{}};
  for (int t = 0; t < 14 * kWeek; ++t) model.update(dailyWeekly(t) + noise(rng));
  std::vector<int> seasons = model.seasons();
  std::sort(seasons.begin(), seasons.end());
  ASSERT_EQ(seasons, (std::vector<int>{kSeasonPeriod, kWeek}));
  // Both seasons at once, in place of a single-season model of the week.
  EXPECT_TRUE(hasCandidate(model, "holt-winters-2s/24+168"));
  EXPECT_FALSE(hasCandidate(model, "holt-winters/168"));
  EXPECT_TRUE(hasCandidate(model, "holt-winters/24"));
  EXPECT_TRUE(hasCandidate(model, "seasonal-naive/168"));
  // The amplitude does not grow with the level here: no multiplicative model.
  EXPECT_FALSE(hasCandidate(model, "holt-winters-mult/24"));
  // The candidates survive a save and load (state version 2).
  AutoModel restored{ForecastModelParams{}};
  ASSERT_TRUE(restored.loadState(model.saveState()).ok());
  EXPECT_EQ(restored.candidateErrors(), model.candidateErrors());
  EXPECT_EQ(restored.forecast(12, 0.9).point, model.forecast(12, 0.9).point);
}

TEST(AutoModel, AnAmplitudeThatGrowsWithTheLevelAddsAMultiplicativeCandidate) {
  // Levels that wander at random between 80 and 320 (each held for two
  // days), with the daily swing at 40% of the level.
  std::mt19937 rng(16);
  std::uniform_real_distribution<double> step(-0.25, 0.25);
  std::vector<double> levels;
  double level = 150.0;
  for (int i = 0; i < 100; ++i) {
    level = std::clamp(level * std::exp(step(rng)), 80.0, 320.0);
    levels.push_back(level);
  }
  const std::vector<double> values = scaledSeason(levels, 0.4, 0.0, 3.0, 15);
  AutoModel model{ForecastModelParams{}};
  for (double v : values) model.update(v);
  ASSERT_FALSE(model.seasons().empty());
  EXPECT_EQ(model.seasons()[0], kSeasonPeriod);
  EXPECT_TRUE(hasCandidate(model, "holt-winters-mult/24"));
  EXPECT_TRUE(hasCandidate(model, "holt-winters/24"));
}

TEST(AutoModel, ChoosesANonSeasonalModelForARandomWalk) {
  std::mt19937 rng(10);
  std::normal_distribution<double> noise(0.0, 1.0);
  AutoModel model{ForecastModelParams{}};
  double walk = 100.0;
  for (int t = 0; t < 3000; ++t) {
    walk += noise(rng);
    model.update(walk);
  }
  EXPECT_TRUE(model.seasons().empty());
  EXPECT_EQ(model.chosen().find('/'), std::string::npos) << model.chosen();
}

TEST(AutoModel, ConfiguredSeasonOverridesDetection) {
  std::mt19937 rng(11);
  std::normal_distribution<double> noise(0.0, 1.0);
  ForecastModelParams params;
  params.season_period = 10;
  AutoModel model(params);
  EXPECT_EQ(model.seasons(), std::vector<int>{10});
  for (int t = 0; t < 1000; ++t) model.update(noise(rng));  // no season in the data
  EXPECT_EQ(model.seasons(), std::vector<int>{10});
}

TEST(AutoModel, NinetyPercentIntervalsHoldAboutNinetyPercent) {
  // Seasonal series with noise and a level shift; pooled over steps 1..12
  // after a warm-up, 85-95% of outcomes fall inside the 90% interval.
  std::mt19937 rng(12);
  std::normal_distribution<double> noise(0.0, 6.0);
  AutoModel model{ForecastModelParams{}};
  std::vector<Forecast> issued;
  const int n = 60 * kSeasonPeriod;
  std::vector<double> values;
  for (int t = 0; t < n; ++t) values.push_back(season(t) + (t > n / 2 ? 40.0 : 0.0) + noise(rng));
  int inside = 0, scored = 0;
  for (int t = 0; t < n; ++t) {
    model.update(values[static_cast<std::size_t>(t)]);
    issued.push_back(model.forecast(12, 0.9));
    if (t < 10 * kSeasonPeriod) continue;
    for (int h = 1; h <= 12 && t + h < n; ++h) {
      const double v = values[static_cast<std::size_t>(t + h)];
      const Forecast& f = issued.back();
      inside += (v >= f.lo[static_cast<std::size_t>(h - 1)] &&
                 v <= f.hi[static_cast<std::size_t>(h - 1)]);
      ++scored;
    }
  }
  const double coverage = static_cast<double>(inside) / scored;
  EXPECT_GE(coverage, 0.85);
  EXPECT_LE(coverage, 0.95);
}

TEST(AutoModel, SavedStateForecastsIdentically) {
  std::mt19937 rng(13);
  std::normal_distribution<double> noise(0.0, 4.0);
  auto original = autoModel();
  int t = 0;
  for (; t < 400; ++t) {
    if (t % 29 == 0) {
      original->observeMissing();
    } else {
      original->update(season(t) + noise(rng));
    }
  }
  auto restored = autoModel();
  ASSERT_TRUE(restored->loadState(original->saveState()).ok());
  EXPECT_EQ(restored->saveState(), original->saveState());
  // Identical through a season re-detection (at 512 steps) and searches.
  for (; t < 700; ++t) {
    const Forecast a = original->forecast(8, 0.9);
    const Forecast b = restored->forecast(8, 0.9);
    ASSERT_EQ(a.point, b.point) << "t=" << t;
    ASSERT_EQ(a.hi, b.hi);
    ASSERT_EQ(a.model, b.model);
    // The backtest scores too (each candidate's, scored every third value).
    ASSERT_EQ(dynamic_cast<const AutoModel&>(*original).candidateErrors(),
              dynamic_cast<const AutoModel&>(*restored).candidateErrors())
        << "t=" << t;
    const double v = season(t) + noise(rng);
    original->update(v);
    restored->update(v);
  }
  const std::string before = original->saveState();
  EXPECT_FALSE(original->loadState("auto 1 x").ok());
  EXPECT_FALSE(original->loadState(before.substr(0, before.size() - 40)).ok());
  EXPECT_EQ(original->saveState(), before);
}

// The history is kept (and saved) as floats. A state saved while it was kept
// as doubles still loads, to the model a float history gives.
TEST(AutoModel, AHistorySavedAsDoublesLoadsAsFloats) {
  auto model = autoModel();
  for (int t = 0; t < 300; ++t) model->update(season(t) + 0.123456789 * t);
  const std::string state = model->saveState();
  // The same state with each float token written as a double token.
  std::string legacy(1, kBinaryStateMarker);
  std::size_t floats = 0;
  for (const std::string& token : testing::binaryStateTokens(state)) {
    if (token.front() != 'f') {
      legacy += token;
      continue;
    }
    ++floats;
    legacy +=
        StateWriter()
            .putDouble(StateReader(std::string(1, kBinaryStateMarker) + token, "f").getFloat())
            .str()
            .substr(1);
  }
  EXPECT_EQ(floats, 300u) << "one float per step of history";
  EXPECT_EQ(legacy.size(), state.size() + 4 * floats);
  auto restored = autoModel();
  ASSERT_TRUE(restored->loadState(legacy).ok());
  EXPECT_EQ(restored->saveState(), state);
}

TEST(BacktestScore, KeepsAtMostSeventeenForecastsWhateverTheHorizon) {
  for (int horizon : {1, 3, 60, 64}) {
    EXPECT_EQ(BacktestScore::scoreStrideFor(horizon), 4) << horizon;
  }
  for (int horizon : {65, 100, 300, 900, 3600, 10000}) {
    const BacktestScore score(horizon);
    EXPECT_NE(score.stride() % 3, 0) << horizon << ": every horizon must be scored in turn";
    EXPECT_LE(score.keptPaths(), BacktestScore::kMaxScoredPaths + 1) << horizon;
    EXPECT_GE(score.stride() * score.keptPaths(), horizon) << "every origin within the horizon";
  }
  // A 1 s cycle planning a 10-minute warm-up and a 5-minute margin.
  EXPECT_EQ(BacktestScore(900).keptPaths(), 16);
}

// With a stride grown for a long horizon, a forecast wrong at one horizon
// only is still found, whichever horizon it is, and right ones score zero.
TEST(BacktestScore, ALongHorizonScoresEveryHorizonInTurn) {
  constexpr int kHorizon = 900;
  for (int wrong_at : {1, 2, 450, 899, 900}) {
    BacktestScore score(kHorizon);
    BacktestScore right(kHorizon);
    std::vector<double> path(kHorizon);
    for (int t = 0; t < 20 * kHorizon; ++t) {
      // The series is t; a forecast from step t says t + h for step t + h.
      score.observe(t);
      right.observe(t);
      for (int h = 1; h <= kHorizon; ++h) path[h - 1] = t + h + (h == wrong_at ? 90.0 : 0.0);
      score.remember(path);
      path[wrong_at - 1] -= 90.0;
      right.remember(path);
    }
    ASSERT_GT(score.scored(), 0) << wrong_at;
    // One scored value in `stride` meets the wrong horizon, as 90 over the
    // origins it averages: about 90 / kHorizon in all.
    EXPECT_GT(score.error(), 0.25 * 90.0 / kHorizon) << wrong_at;
    EXPECT_LT(score.error(), 4.0 * 90.0 / kHorizon) << wrong_at;
    EXPECT_EQ(right.error(), 0.0) << wrong_at;
  }
}

// A score saved by the release before (stride 4, no stride in its form) over
// a horizon that now takes another stride keeps its rolling error and drops
// the forecasts not scored yet, so it goes on scoring at the new stride.
TEST(BacktestScore, AScoreSavedWithStrideFourLoadsAtTheNewStride) {
  constexpr int kHorizon = 200;
  StateWriter legacy;
  const int rows = kHorizon / 4 + 1;
  legacy.putInt(kHorizon).putInt(1000).putDouble(12.5).putDouble(0.5).putInt(300);
  for (int i = 0; i < rows; ++i) legacy.putInt(-1);
  for (int i = 0; i < rows * kHorizon; ++i) legacy.putDouble(1.0);
  legacy.putText("after");
  BacktestScore score(kHorizon);
  ASSERT_NE(score.stride(), 4);
  StateReader reader(legacy.str(), "score");
  score.load(reader, false);
  ASSERT_TRUE(reader.ok()) << reader.status().error().message;
  EXPECT_EQ(reader.getText(), "after") << "the whole legacy form was read";
  EXPECT_DOUBLE_EQ(score.error(), 25.0);
  EXPECT_EQ(score.scored(), 300);
  EXPECT_EQ(score.keptPaths(), BacktestScore(kHorizon).keptPaths());
  // It goes on: a perfect forecaster pulls the error down once scored.
  std::vector<double> path(kHorizon);
  for (int t = 1001; t < 1001 + 4 * kHorizon; ++t) {
    score.observe(t);
    for (int h = 1; h <= kHorizon; ++h) path[h - 1] = t + h;
    score.remember(path);
  }
  EXPECT_GT(score.scored(), 300);
  EXPECT_LT(score.error(), 25.0);
  // Saved now, it names its stride and loads as it was.
  StateWriter again;
  score.save(again);
  BacktestScore restored(kHorizon);
  StateReader back(again.str(), "score");
  restored.load(back, true);
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(restored.error(), score.error());
  StateWriter twice;
  restored.save(twice);
  EXPECT_EQ(twice.str(), again.str());
}

TEST(AutoModel, RollingForecastNeverLooksAhead) {
  std::mt19937 rng(14);
  std::normal_distribution<double> noise(0.0, 5.0);
  std::vector<std::optional<double>> values;
  for (int t = 0; t < 700; ++t) {
    values.emplace_back(t % 41 == 3 ? std::nullopt : std::optional<double>(season(t) + noise(rng)));
  }
  RollingForecastOptions options;
  options.horizon = 12;
  options.model = "auto";
  const auto rows = std::move(rollingForecast(values, options)).value();
  for (int cut : {150, 400}) {
    auto altered = values;
    for (std::size_t i = static_cast<std::size_t>(cut) + 1; i < altered.size(); ++i) {
      altered[i] = i % 3 == 0 ? std::optional<double>(1e5) : std::nullopt;
    }
    const auto changed = std::move(rollingForecast(altered, options)).value();
    ASSERT_EQ(changed.size(), rows.size());
    bool differs = false;
    for (std::size_t r = 0; r < rows.size(); ++r) {
      if (rows[r].origin <= cut) {
        ASSERT_EQ(rows[r].point, changed[r].point) << "origin " << rows[r].origin;
        ASSERT_EQ(rows[r].lo, changed[r].lo);
        ASSERT_EQ(rows[r].hi, changed[r].hi);
      } else if (rows[r].point != changed[r].point) {
        differs = true;
      }
    }
    EXPECT_TRUE(differs);
  }
}

TEST(AutoModel, TheEngineRunsItByNameAndResumesFromSavedState) {
  EngineSettings settings;
  settings.step_s = 300.0;
  settings.forecast_model = "auto";
  ASSERT_TRUE(DecisionEngine::validateSettings(settings).ok());
  SystemSpec spec;
  spec.name = "web";
  spec.capacity_per_replica = 50.0;
  spec.max_replicas = 50;
  DecisionEngine engine(settings);
  engine.upsertSystem(spec);
  auto observe = [&](DecisionEngine& e, int t) {
    CycleInput input;
    input.now_ms = int64_t{t} * 300'000;
    SystemObservation obs;
    obs.system = "web";
    if (t % 50 != 7) obs.demand = season(t);
    obs.current_replicas = 4;
    input.systems.push_back(obs);
    return e.decide(input).systems.at(0);
  };
  int t = 0;
  for (; t < 20 * kSeasonPeriod; ++t) observe(engine, t);
  const auto f = engine.forecast("web", 6);
  ASSERT_TRUE(f.has_value());
  EXPECT_NE(f->model.find("auto: "), std::string::npos);
  EXPECT_LT(meanAbs(f->point, truthAhead(t - 1, 6)), 2.0) << f->model;

  DecisionEngine restored(settings);
  ASSERT_TRUE(restored.loadState(engine.saveState()).ok());
  for (int k = 0; k < kSeasonPeriod; ++k, ++t) {
    const SystemDecision a = observe(engine, t);
    const SystemDecision b = observe(restored, t);
    ASSERT_EQ(a.forecast.point, b.forecast.point) << "t=" << t;
    ASSERT_EQ(a.forecast.hi, b.forecast.hi);
    ASSERT_EQ(a.desired_replicas, b.desired_replicas);
  }
}

}  // namespace
}  // namespace pso::controller::engine
