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

namespace pso::controller::engine {
namespace {

constexpr int kPeriod = 24;

/// level + a period-24 wave with a sharp peak, the shape of a daily load.
double season(int t, double level = 200.0, double amplitude = 50.0) {
  const double phase = 2.0 * std::numbers::pi * (t % kPeriod) / kPeriod;
  return level + amplitude * (std::sin(phase) + 0.5 * std::cos(2.0 * phase));
}

ForecastModelParams seasonal(int period = kPeriod) {
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
  EXPECT_EQ(detectSeasonPeriod(values), kPeriod);
  const std::vector<double> acf = autocorrelation(values, 30);
  EXPECT_NEAR(acf[0], 1.0, 1e-9);
  EXPECT_GT(acf[kPeriod], 0.7);
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
  EXPECT_EQ(detectSeasonPeriod(holed), kPeriod);
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

// ---- Holt-Winters ----

TEST(HoltWintersModel, LearnsAPureSeasonExactly) {
  HoltWintersModel model(seasonal());
  for (int t = 0; t < 10 * kPeriod; ++t) model.update(season(t));
  ASSERT_TRUE(model.initialized());
  const Forecast f = model.forecast(2 * kPeriod, 0.9);
  // Two seasons ahead, within 0.1% of the amplitude.
  for (int h = 1; h <= 2 * kPeriod; ++h) {
    EXPECT_NEAR(f.point[static_cast<std::size_t>(h - 1)], season(10 * kPeriod - 1 + h), 0.05)
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
  for (int t = 0; t < 25 * kPeriod; ++t) {
    if (t >= 20 * kPeriod + 12) {
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
  const int shift_at = 12 * kPeriod + 5;
  for (int t = 0; t < shift_at; ++t) model.update(season(t) + noise(rng));
  for (int t = shift_at; t < shift_at + 3 * kPeriod; ++t) {
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
  for (; t < 12 * kPeriod; ++t) model.update(season(t) + noise(rng));
  std::vector<double> profile_before;
  for (int h = 1; h <= kPeriod; ++h) profile_before.push_back(model.seasonalAhead(h));
  // Two isolated bursts of ten times the amplitude...
  model.update(season(t) + 500.0);
  ++t;
  for (int k = 0; k < 7; ++k, ++t) model.update(season(t) + noise(rng));
  model.update(season(t) + 700.0);
  ++t;
  // ...and a holiday: a whole season at half the level, flat.
  for (int k = 0; k < kPeriod; ++k, ++t) model.update(100.0 + noise(rng));
  // One season after the holiday: the seasonal profile is still within 15%
  // of the amplitude of what it was, and the forecasts are back.
  for (int k = 0; k < kPeriod; ++k, ++t) model.update(season(t) + noise(rng));
  const int offset = (t - 12 * kPeriod) % kPeriod;
  for (int h = 1; h <= kPeriod; ++h) {
    const double before = profile_before[static_cast<std::size_t>((h - 1 + offset) % kPeriod)];
    EXPECT_NEAR(model.seasonalAhead(h), before, 7.5) << "h=" << h;
  }
  EXPECT_LT(meanAbs(model.forecast(kPeriod, 0.9).point, truthAhead(t - 1, kPeriod)), 6.0);
}

TEST(HoltWintersModel, GapsAdvanceTheSeasonWithoutZeros) {
  HoltWintersModel model(seasonal());
  int t = 0;
  for (; t < 6 * kPeriod; ++t) model.update(season(t));
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
  for (int t = 0; t < 2 * kPeriod - 1; ++t) model.update(season(t));
  EXPECT_FALSE(model.initialized());
  EXPECT_EQ(model.forecast(3, 0.9).point, std::vector<double>(3, season(2 * kPeriod - 2)));
  model.update(season(2 * kPeriod - 1));
  EXPECT_TRUE(model.initialized());
}

TEST(HoltWintersModel, SavedStateForecastsIdenticallyAndBadStateIsRefused) {
  std::mt19937 rng(8);
  std::normal_distribution<double> noise(0.0, 4.0);
  auto made = makeForecastModel("holt-winters", seasonal());
  ASSERT_TRUE(made.ok());
  auto& original = *made.value();
  int t = 0;
  for (; t < 9 * kPeriod; ++t) {
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
  for (int k = 0; k < 3 * kPeriod; ++k, ++t) {  // parameter searches included
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

// ---- auto (model selection) ----

std::unique_ptr<ForecastModel> autoModel(ForecastModelParams params = {}) {
  auto made = makeForecastModel("auto", params);
  EXPECT_TRUE(made.ok());
  return std::move(made).value();
}

TEST(AutoModel, DetectsTheSeasonAndChoosesASeasonalModel) {
  std::mt19937 rng(9);
  std::normal_distribution<double> noise(0.0, 5.0);
  AutoModel model{ForecastModelParams{}};
  auto holt = std::move(makeForecastModel("holt")).value();
  double auto_error = 0.0, holt_error = 0.0;
  std::vector<double> auto_pending, holt_pending;
  for (int t = 0; t < 40 * kPeriod; ++t) {
    const double truth = season(t);
    if (t >= 30 * kPeriod) {
      auto_error += std::abs(auto_pending[static_cast<std::size_t>(t - 6)] - truth);
      holt_error += std::abs(holt_pending[static_cast<std::size_t>(t - 6)] - truth);
    }
    const double v = truth + noise(rng);
    model.update(v);
    holt->update(v);
    auto_pending.push_back(model.forecast(6, 0.9).point[5]);
    holt_pending.push_back(holt->forecast(6, 0.9).point[5]);
  }
  EXPECT_EQ(model.seasons(), std::vector<int>{kPeriod});
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
  const int n = 60 * kPeriod;
  std::vector<double> values;
  for (int t = 0; t < n; ++t) values.push_back(season(t) + (t > n / 2 ? 40.0 : 0.0) + noise(rng));
  int inside = 0, scored = 0;
  for (int t = 0; t < n; ++t) {
    model.update(values[static_cast<std::size_t>(t)]);
    issued.push_back(model.forecast(12, 0.9));
    if (t < 10 * kPeriod) continue;
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
    const double v = season(t) + noise(rng);
    original->update(v);
    restored->update(v);
  }
  const std::string before = original->saveState();
  EXPECT_FALSE(original->loadState("auto 1 x").ok());
  EXPECT_FALSE(original->loadState(before.substr(0, before.size() - 40)).ok());
  EXPECT_EQ(original->saveState(), before);
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
  for (; t < 20 * kPeriod; ++t) observe(engine, t);
  const auto f = engine.forecast("web", 6);
  ASSERT_TRUE(f.has_value());
  EXPECT_NE(f->model.find("auto: "), std::string::npos);
  EXPECT_LT(meanAbs(f->point, truthAhead(t - 1, 6)), 2.0) << f->model;

  DecisionEngine restored(settings);
  ASSERT_TRUE(restored.loadState(engine.saveState()).ok());
  for (int k = 0; k < kPeriod; ++k, ++t) {
    const SystemDecision a = observe(engine, t);
    const SystemDecision b = observe(restored, t);
    ASSERT_EQ(a.forecast.point, b.forecast.point) << "t=" << t;
    ASSERT_EQ(a.forecast.hi, b.forecast.hi);
    ASSERT_EQ(a.desired_replicas, b.desired_replicas);
  }
}

}  // namespace
}  // namespace pso::controller::engine
