// ETS with Fourier seasons ("ets") on synthetic series with known answers.

#include "controller/engine/ets_model.h"

#include <gtest/gtest.h>

#include <cmath>
#include <numbers>
#include <random>

#include "controller/engine/forecast_model.h"

namespace pso::controller::engine {
namespace {

constexpr int kDay = 288;  // a day of 5-minute steps
constexpr int kShort = 24;

double wave(int t, int period) {
  return std::sin(2.0 * std::numbers::pi * (t % period) / period);
}

ForecastModelParams seasons(int first, int second = 0) {
  ForecastModelParams p;
  p.season_period = first;
  p.second_season_period = second;
  return p;
}

std::unique_ptr<ForecastModel> made(const std::string& name, const ForecastModelParams& p) {
  auto m = makeForecastModel(name, p);
  EXPECT_TRUE(m.ok()) << name << ": " << (m.ok() ? "" : m.error().message);
  return std::move(m).value();
}

/// Mean absolute error of each model's h-step forecasts over values
/// [score_from, size), all models fed the same values.
std::vector<double> rollingErrors(const std::vector<ForecastModel*>& models,
                                  const std::vector<double>& values, int h, int score_from) {
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

TEST(EtsModel, LearnsANoisyLongSeasonFromFewHarmonicsBetterThanPerPhaseIndices) {
  // Poisson counts around 14 with a 30% daily swing at a 5-minute step:
  // most of each value is noise. Twelve steps ahead over days 8-10, the
  // Fourier season is within 10% of the noise's own MAE (what knowing the
  // rate exactly would score, 3.0) and beats per-phase Holt-Winters, whose
  // indices each learn from one noisy value a day.
  std::mt19937 rng(1);
  std::vector<double> values;
  for (int t = 0; t < 10 * kDay; ++t) {
    std::poisson_distribution<int> count(14.0 * (1.0 + 0.3 * wave(t, kDay)));
    values.push_back(count(rng));
  }
  auto ets = made("ets", seasons(kDay));
  auto hw = made("holt-winters", seasons(kDay));
  const std::vector<double> e = rollingErrors({ets.get(), hw.get()}, values, 12, 8 * kDay);
  EXPECT_LT(e[0], 3.3) << "ets " << e[0] << " holt-winters " << e[1];
  EXPECT_LT(e[0], e[1]) << "ets " << e[0] << " holt-winters " << e[1];
  const auto& model = dynamic_cast<const EtsModel&>(*ets);
  EXPECT_TRUE(model.started());
  EXPECT_GE(model.harmonics(0), 1);
  EXPECT_LE(model.harmonics(0), 3) << model.describe();
  EXPECT_EQ(ets->forecast(1, 0.9).model.rfind("ETS(", 0), 0u);
}

TEST(EtsModel, CarriesAWeekOnADayWithoutAPerStepWeeklyProfile) {
  // Hourly steps: a daily wave, and weekends at 60% of the weekday level
  // (a smooth weekly modulation). With both seasons, twelve steps ahead in
  // weeks 5-6 is within twice the noise (sd 2), and at most 60% of the
  // daily-only model's error.
  constexpr int kWeek = 7 * kShort;
  std::mt19937 rng(2);
  std::normal_distribution<double> noise(0.0, 2.0);
  std::vector<double> values;
  for (int t = 0; t < 6 * kWeek; ++t) {
    const double weekday = 0.8 + 0.2 * std::cos(2.0 * std::numbers::pi * (t % kWeek) / kWeek);
    values.push_back(100.0 * weekday + 20.0 * wave(t, kShort) + noise(rng));
  }
  auto both = made("ets", seasons(kShort, kWeek));
  auto daily = made("ets", seasons(kShort));
  const std::vector<double> e = rollingErrors({both.get(), daily.get()}, values, 12, 4 * kWeek);
  const auto& model = dynamic_cast<const EtsModel&>(*both);
  EXPECT_GE(model.harmonics(1), 1) << model.describe();
  EXPECT_LT(e[0], 2.0 * 1.6) << "both " << e[0] << " daily " << e[1];
  EXPECT_LT(e[0], 0.6 * e[1]) << "both " << e[0] << " daily " << e[1];
}

TEST(EtsModel, ChoosesATrendForARampAndNoneForAFlatSeries) {
  std::mt19937 rng(3);
  std::normal_distribution<double> noise(0.0, 1.0);
  EtsModel ramp(seasons(kShort));
  EtsModel flat(seasons(kShort));
  for (int t = 0; t < 12 * kShort; ++t) {
    ramp.update(50.0 + 0.5 * t + 10.0 * wave(t, kShort) + noise(rng));
    flat.update(50.0 + 10.0 * wave(t, kShort) + noise(rng));
  }
  EXPECT_TRUE(ramp.trended()) << ramp.describe();
  EXPECT_FALSE(flat.trended()) << flat.describe();
  // The ramp continues twelve steps on.
  const Forecast f = ramp.forecast(12, 0.9);
  const int t = 12 * kShort - 1;
  EXPECT_NEAR(f.point[11], 50.0 + 0.5 * (t + 12) + 10.0 * wave(t + 12, kShort), 4.0);
}

TEST(EtsModel, ANoiseProportionalToTheLevelTakesAMultiplicativeError) {
  // A level that swings slowly between 20 and 420 (a ten-day wave), noise
  // 5% of it: relative errors are the same at every level, absolute ones are
  // not. (The structure is re-checked every fourth parameter search, so
  // after the start on the first two days this takes a few weeks.)
  std::mt19937 rng(4);
  std::normal_distribution<double> noise(0.0, 0.05);
  EtsModel model(seasons(kShort));
  for (int t = 0; t < 40 * kShort; ++t) {
    const double level = 220.0 + 200.0 * std::sin(2.0 * std::numbers::pi * t / (10 * kShort));
    model.update(level * (1.0 + 0.2 * wave(t, kShort)) * (1.0 + noise(rng)));
  }
  EXPECT_TRUE(model.multiplicativeError()) << model.describe();
}

TEST(EtsModel, GapsAdvanceTheSeasonAndTheLastValueLeadsUntilTheStart) {
  EtsModel model(seasons(kShort));
  int t = 0;
  for (; t < 2 * kShort - 1; ++t) model.update(100.0 + 10.0 * wave(t, kShort));
  EXPECT_FALSE(model.started());
  EXPECT_EQ(model.forecast(2, 0.9).point, std::vector<double>(2, model.forecast(1, 0.9).point[0]));
  for (; t < 8 * kShort; ++t) model.update(100.0 + 10.0 * wave(t, kShort));
  ASSERT_TRUE(model.started());
  const int64_t seen = model.observations();
  for (int k = 0; k < 7; ++k, ++t) {
    model.observeMissing();
    EXPECT_NEAR(model.forecast(1, 0.9).point[0], 100.0 + 10.0 * wave(t + 1, kShort), 1.0)
        << "t=" << t;
  }
  model.update(std::nan(""));
  ++t;
  EXPECT_EQ(model.observations(), seen);
}

TEST(EtsModel, WithoutASeasonItStartsAtTheWarmupPlusThePhase) {
  ForecastModelParams params;
  params.refit_phase = 10;  // 24 + 10 % 24
  EtsModel model(params);
  std::mt19937 rng(8);
  std::normal_distribution<double> noise(0.0, 1.0);
  for (int t = 1; t < 34; ++t) model.update(50.0 + 0.5 * t + noise(rng));
  EXPECT_FALSE(model.started());
  model.update(50.0 + 0.5 * 34 + noise(rng));
  EXPECT_TRUE(model.started());
}

TEST(EtsModel, SavedStateForecastsIdenticallyAndBadStateIsRefused) {
  std::mt19937 rng(5);
  std::normal_distribution<double> noise(0.0, 3.0);
  auto original = made("ets", seasons(kShort, 7 * kShort));
  int t = 0;
  for (; t < 16 * kShort; ++t) {
    if (t % 31 == 0) {
      original->observeMissing();
    } else {
      original->update(100.0 + 10.0 * wave(t, kShort) + 0.05 * t + noise(rng));
    }
  }
  // Restored through the registry with default params, as the engine does.
  auto restored = made("ets", {});
  ASSERT_TRUE(restored->loadState(original->saveState()).ok());
  EXPECT_EQ(restored->saveState(), original->saveState());
  for (int k = 0; k < 12 * kShort; ++k, ++t) {  // searches and a structure check included
    const Forecast a = original->forecast(12, 0.9);
    const Forecast b = restored->forecast(12, 0.9);
    ASSERT_EQ(a.point, b.point) << "t=" << t;
    ASSERT_EQ(a.lo, b.lo);
    ASSERT_EQ(a.hi, b.hi);
    const double v = 100.0 + 10.0 * wave(t, kShort) + 0.05 * t + noise(rng);
    original->update(v);
    restored->update(v);
  }
  const std::string before = original->saveState();
  EXPECT_FALSE(original->loadState("3:ets 1 nonsense").ok());
  EXPECT_FALSE(original->loadState(before.substr(0, before.size() / 2)).ok());
  EXPECT_EQ(original->saveState(), before);
}

}  // namespace
}  // namespace pso::controller::engine
