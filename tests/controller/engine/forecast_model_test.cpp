#include "controller/engine/forecast_model.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "controller/engine/holt_model.h"
#include "controller/engine/seasonal_naive_model.h"
#include "controller/engine/state_codec.h"
#include "tests/controller/engine/state_tokens.h"

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

TEST(HoltModel, TheFirstFitWaitsForTheWarmupPlusThePhaseModuloTheWarmup) {
  // Systems started together must not all make their first (whole-grid)
  // search in the same cycle. The grid has no alpha of 0.5, the value before
  // any fit, so a changed alpha shows the search.
  struct Case {
    int phase;
    int64_t first_fit;
  };
  for (const Case c : {Case{0, 24}, Case{5, 29}, Case{23, 47}, Case{35, 35}}) {
    ForecastModelParams params;
    params.refit_phase = c.phase;
    EXPECT_EQ(firstFitAt(params), c.first_fit) << "phase " << c.phase;
    std::mt19937 rng(5);
    std::normal_distribution<double> noise(0.0, 1.0);
    HoltModel model{params};
    for (int64_t t = 1; t < c.first_fit; ++t) model.update(100.0 + noise(rng));
    EXPECT_EQ(model.alpha(), 0.5) << "phase " << c.phase << ": fitted before its step";
    model.update(100.0 + noise(rng));
    EXPECT_NE(model.alpha(), 0.5) << "phase " << c.phase << ": not fitted at its step";
  }
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
  std::vector<std::string> tokens = testing::binaryStateTokens(before);
  ASSERT_GE(tokens.size(), 9u);
  ASSERT_EQ(tokens[8].front(), 'd');
  tokens[8] = StateWriter().putDouble(7.0).str().substr(1);
  std::string impossible(1, kBinaryStateMarker);
  for (const std::string& t : tokens) impossible += t;
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

// ---- states saved before the outlier screen and quantile tracking ----

// Written by the models as they were before (holt and seasonal-naive version
// 1, holt-winters and auto version 2), params max_horizon 3, error_window 24,
// fit_window 24, warmup 8, refit_every 8, fit_seasons 3, detection_window 64
// (season 4 for seasonal-naive and holt-winters), after 48 steps of
// 50 + 10 x ((t mod 4) - 1.5) + t / 4 + ((7t mod 5) - 2), step 17 missing.
const char* const kHoltV1 =
    "4:holt 1 3 24 24 8 8 1 0.3 0.4 0.8 65.77224252291893 2.359128294182017 30 0 47 7 1 0 24 "
    "42 49.25 61.5 73.75 41 53.25 60.5 72.75 45 52.25 64.5 71.75 44 56.25 63.5 75.75 43 55.25 "
    "67.5 74.75 47 54.25 66.5 78.75 3 24 1 47 44 3 59.97303217329249 59.58914444315698 "
    "59.28203425904858 45 3 57.32282370253316 56.57618464751589 55.97887340350207 46 3 "
    "60.21034646131276 60.3178423569444 60.40383907344972 47 3 67.65954515826455 "
    "69.16938726654104 70.37726095316222 24 -20.87965819069111 -4.0102046400790385 "
    "10.367605771375018 17.837524025221555 -23.67323997026388 -0.505147892024226 "
    "7.202461256796269 16.13629916392096 -19.515985851598217 -5.157921164386977 "
    "8.521378043940182 13.839906220699781 -17.745585993126852 -1.6647600666907039 "
    "6.25010357316426 17.115605531062343 -20.26049619111336 -2.9003956272999503 "
    "11.07652976828119 14.625669345954769 -19.218416908516957 -5.723032173292488 "
    "9.177176297466843 18.53965353868724 24 -14.225064257330466 -14.158119991554045 "
    "8.41864631629661 22.87618043010982 -15.00420329400621 -12.010342517572482 "
    "6.956959381272505 19.636695334723946 -11.673744457932628 -12.778746165002019 "
    "7.159686856542024 16.089550024299996 -14.0918507508621 -6.3495947688761945 "
    "5.810606915557919 18.765632874377722 -15.741976330912898 -8.972880683883943 "
    "9.927973099870414 19.011975134194117 -13.426651847518883 -13.333525269065206 "
    "6.910855556843018 22.173815352484112 24 -7.998665365024365 -7.1091797510312915 "
    "-2.3308894322443976 20.81172708139713 -9.666959842902344 -2.827585149388419 "
    "-5.230024555419348 19.37664519990988 -7.965917402933911 -4.471779355415499 "
    "-0.9389544157250498 14.463773273285227 -11.405912391412159 -1.987256328111613 "
    "0.2171982105243302 18.240900501356812 -13.77194368465151 -3.578041820493091 "
    "2.50721172189958 17.640668081606712 -8.189668573075537 -6.418508802297808 "
    "-2.175611957503804 19.46796574095142 291.9447572056542 4657.498862380035 21";
// holt: forecast 67.65954515826455 69.169387266541037 70.377260953162221
const char* const kSeasonalNaiveV1 =
    "14:seasonal-naive 1 4 1 47 54.25 66.5 78.75 47 78.75 47 3 24 1 47 44 3 55.25 67.5 74.75 "
    "45 3 67.5 74.75 47 46 3 74.75 47 54.25 47 3 47 54.25 66.5 24 4 -1 -1 4 -1 4 -1 -1 4 -1 4 "
    "-1 -1 4 -1 4 -1 -1 4 -1 4 -1 -1 4 24 4 -1 -1 4 -1 4 -1 -1 4 -1 4 -1 -1 4 -1 4 -1 -1 4 -1 "
    "4 -1 -1 4 24 4 -1 -1 4 -1 4 -1 -1 4 -1 4 -1 -1 4 -1 4 -1 -1 4 -1 4 -1 -1 4 54 174 21";
// seasonal-naive: forecast 47 54.25 66.5
const char* const kHoltWintersV2 =
    "12:holt-winters 2 3 24 3 4 0 1 1 4 0 0 0.7 0.1 0.4 0.98 0.05 62.45027428403247 "
    "0.31830760523108914 1.5642504570353044 0 -14.059839827516711 -4.343850081701721 "
    "5.836669264330989 15.787717454298686 0 0 0 0 0 1 47 47 78.75 8 1.2982399700008127 "
    "1.4226518096893275 12 44 56.25 63.5 75.75 43 55.25 67.5 74.75 47 54.25 66.5 78.75 3 24 1 "
    "47 44 3 56.98659155325499 66.8067166416728 76.81194150870348 45 3 64.70337237384102 "
    "74.52462166392947 45.01442895679901 46 3 75.90550965739526 46.51610063231622 "
    "56.34656360544251 47 3 48.70237590964222 58.72406827952115 69.20417619713652 24 "
    "2.0063623176567376 -0.9938220545173166 -0.015400537437031403 2.692332931213926 "
    "-1.1097075295994756 2.6840846106588643 -2.717639227243211 0.055328673544551066 "
    "3.1360835299247753 -0.40455788066395826 1.6518862536123322 -2.669202874657543 "
    "0.37539996227023664 3.6787239953580624 -1.065733757968374 1.6537511883787346 "
    "-2.463813858151724 1.908162647131853 3.3010180866715757 -2.5665576801528545 "
    "1.3618222181766413 -2.736591553254989 1.7966276261589798 2.844490342604743 24 "
    "1.8479458703261216 -0.380477094009656 -0.31921193950297777 2.687624986919417 "
    "-0.2866613525273749 2.344847018860314 -1.8971145617647949 -0.7754536382237092 "
    "3.1529975054273436 0.5541428544340405 1.5282129094933552 -2.16422124692825 "
    "-0.44057535651256785 3.793483763824071 0.058852167412588585 1.327956378567805 "
    "-1.9554961283502195 0.014475315756442342 4.767631897257125 -0.029395178737075867 "
    "-0.6108340147888356 -1.6898949963644228 -0.3067166416728071 4.225378336070534 24 "
    "2.3095797691660422 -0.5416996422964218 0.3049974729548026 2.378432038428272 "
    "-0.29145269073210045 3.182472178754935 -2.242361219836134 0.059605345421431366 "
    "2.307499177243571 0.5713564347038513 2.503895536905901 -2.290085271971023 "
    "0.07335123528002896 2.963054711474996 0.17564472667429953 2.4724625943836287 "
    "-2.287061886460549 0.5370864718652939 2.708307287825889 1.5655005902898438 "
    "2.1482493305576895 -3.8350957690512217 0.8315324993013462 1.9380584912965162 "
    "45.88910133700847 113.34101838199226 21";
// holt-winters: forecast 48.702375909642221 58.724068279521148 69.204176197136519
const char* const kAutoV2 =
    "4:auto 2 3 24 24 8 8 0 1 1 1 3 4 0 64 48 47 128 0 0 48 33 45.25 57.5 64.75 37 44.25 56.5 "
    "68.75 36 48.25 55.5 67.75 40 47.25 59.5 66.75 39 nan 58.5 70.75 38 50.25 62.5 69.75 42 "
    "49.25 61.5 73.75 41 53.25 60.5 72.75 45 52.25 64.5 71.75 44 56.25 63.5 75.75 43 55.25 "
    "67.5 74.75 47 54.25 66.5 78.75 2 5:naive 1 0 68:14:seasonal-naive 1 1 0 78.75 47 78.75 "
    "47 1 2 1 -1 -1 0 -1 0 0 0 0 0 3 47 0.9664104348643077 0.04489030909921241 11 44 47 47 47 "
    "4:holt 1 0 330:4:holt 1 1 2 24 8 64 1 1 0.01 0.8 78.75 0.1874768173356018 47 0 47 39 1 0 "
    "24 42 49.25 61.5 73.75 41 53.25 60.5 72.75 45 52.25 64.5 71.75 44 56.25 63.5 75.75 43 "
    "55.25 67.5 74.75 47 54.25 66.5 78.75 1 2 1 47 46 1 66.56563314882384 47 1 "
    "78.89998145386848 2 12.290867236333533 12.184366851176165 24.475234087509698 "
    "299.5242129852177 1 3 47 1.0157401355283482 0.04489030909921241 11 44 46.875167630892 "
    "46.7753017356056 46.695409019376484 3 47 0.9678325054643769 0.04489030909921241 11 44 "
    "46.937583815446004 46.887650867802805 46.84770450968824 0 0 1 3 24 4 47 44 3 47 47 47 11 "
    "12.25 7.25 12.25 7.25 12.25 7.25 12.25 7.25 12.25 12.25 7.25 12 24.5 19.5 19.5 19.5 19.5 "
    "24.5 19.5 19.5 19.5 19.5 24.5 19.5 12 31.75 31.75 31.75 26.75 31.75 31.75 31.75 31.75 "
    "26.75 31.75 31.75 31.75 109.75 1163.1875 11";
// auto: forecast 78.75 78.75 78.75

TEST(ForecastModelState, StatesSavedBeforeTheOutlierScreenStillLoadAndForecast) {
  struct Saved {
    const char* name;
    const char* state;
    std::vector<double> point;  ///< what the saving version forecast
  };
  const std::vector<Saved> saved = {
      {"holt", kHoltV1, {67.65954515826455, 69.169387266541037, 70.377260953162221}},
      {"seasonal-naive", kSeasonalNaiveV1, {47, 54.25, 66.5}},
      {"holt-winters",
       kHoltWintersV2,
       {48.702375909642221, 58.724068279521148, 69.204176197136519}},
      {"auto", kAutoV2, {78.75, 78.75, 78.75}},
  };
  for (const Saved& s : saved) {
    auto model = std::move(makeForecastModel(s.name)).value();
    const Status loaded = model->loadState(s.state);
    ASSERT_TRUE(loaded.ok()) << s.name << ": " << loaded.error().message;
    const Forecast f = model->forecast(3, 0.9);
    ASSERT_EQ(f.point.size(), 3u) << s.name;
    for (std::size_t h = 0; h < 3; ++h) {
      // The state is the same, so are its points; the intervals are the new
      // tracker's, started from the saved error windows.
      EXPECT_NEAR(f.point[h], s.point[h], 1e-9) << s.name << " h=" << h + 1;
      EXPECT_LE(f.lo[h], f.point[h]) << s.name;
      EXPECT_GE(f.hi[h], f.point[h]) << s.name;
      EXPECT_GT(f.hi[h], f.lo[h]) << s.name;
    }
    // It carries on, and saves in the current version.
    for (int t = 48; t < 120; ++t) model->update(50.0 + 10.0 * ((t % 4) - 1.5) + 0.25 * t);
    for (double v : model->forecast(3, 0.9).point) EXPECT_TRUE(std::isfinite(v)) << s.name;
    auto again = std::move(makeForecastModel(s.name)).value();
    EXPECT_TRUE(again->loadState(model->saveState()).ok()) << s.name;
  }
}

}  // namespace
}  // namespace pso::controller::engine
