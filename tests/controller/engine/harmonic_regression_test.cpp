// The robust regression that chooses an ETS model's harmonics and starts its
// Fourier seasons.

#include "controller/engine/harmonic_regression.h"

#include <gtest/gtest.h>

#include <cmath>
#include <numbers>
#include <random>

namespace pso::controller::engine {
namespace {

/// The fit's value at window step i: the line plus each harmonic's state
/// rotated i steps on.
double fitted(const HarmonicFit& fit, int period, int second, int i) {
  double v = fit.line + fit.slope * i;
  for (std::size_t j = 0; j < fit.re.size(); ++j) {
    const bool first = static_cast<int>(j) < fit.k1;
    const int m = first ? period : second;
    const int harmonic = first ? static_cast<int>(j) + 1 : static_cast<int>(j) - fit.k1 + 1;
    const double angle = 2.0 * std::numbers::pi * harmonic * i / m;
    v += fit.re[j] * std::cos(angle) + fit.im[j] * std::sin(angle);
  }
  return v;
}

TEST(HarmonicRegression, RecoversALineAndTwoHarmonicsAtAnyStartingPhase) {
  // 50 + 0.1 t + 10 sin(2 pi t / 24) + 4 cos(4 pi t / 24), noise-free, the
  // window starting at step 1000 (phase 16 of the day).
  std::vector<double> window;
  auto truth = [](int t) {
    return 50.0 + 0.1 * t + 10.0 * std::sin(2.0 * std::numbers::pi * t / 24.0) +
           4.0 * std::cos(4.0 * std::numbers::pi * t / 24.0);
  };
  for (int i = 0; i < 72; ++i) window.push_back(truth(1000 + i));
  const auto fit = fitHarmonics(window, 1000, 24, 0);
  ASSERT_TRUE(fit.has_value());
  EXPECT_GE(fit->k1, 2);
  EXPECT_NEAR(fit->slope, 0.1, 1e-9);
  for (int i = 0; i < 72; i += 7) EXPECT_NEAR(fitted(*fit, 24, 0, i), truth(1000 + i), 1e-6);
  EXPECT_LT(fit->spread, 1e-6);
  EXPECT_LT(fit->relative_spread, 1e-6);
}

TEST(HarmonicRegression, ABurstInTheWindowDoesNotMoveTheFitAndGapsAreSkipped) {
  std::mt19937 rng(1);
  std::normal_distribution<double> noise(0.0, 1.0);
  std::vector<double> clean, dirty;
  for (int i = 0; i < 96; ++i) {
    const double v = 100.0 + 20.0 * std::sin(2.0 * std::numbers::pi * i / 24.0) + noise(rng);
    clean.push_back(v);
    dirty.push_back(i % 11 == 3 ? std::nan("") : v);
  }
  for (int i = 40; i < 44; ++i) dirty[static_cast<std::size_t>(i)] = 5000.0;
  const auto a = fitHarmonics(clean, 0, 24, 0);
  const auto b = fitHarmonics(dirty, 0, 24, 0);
  ASSERT_TRUE(a.has_value());
  ASSERT_TRUE(b.has_value());
  // The burst counts as a few values 3.5 noise MADs high, not 5,000: the
  // fits stay within that of each other (unclipped, they part by up to 90).
  for (int i = 0; i < 96; i += 5) {
    EXPECT_NEAR(fitted(*b, 24, 0, i), fitted(*a, 24, 0, i), 5.0) << "i=" << i;
  }
  // A pure sine in noise needs one harmonic, not ten.
  EXPECT_LE(a->k1, 2);
}

TEST(HarmonicRegression, ASecondSeasonStaysOffTheFirstsFrequencies) {
  // A week of days at 12 steps a day: the weekly harmonics stop below the
  // seventh (the day's first), where the regression would be singular.
  std::vector<double> window;
  for (int t = 0; t < 2 * 84; ++t) {
    window.push_back(100.0 + 10.0 * std::sin(2.0 * std::numbers::pi * t / 12.0) +
                     15.0 * std::cos(2.0 * std::numbers::pi * t / 84.0));
  }
  const auto fit = fitHarmonics(window, 0, 12, 84);
  ASSERT_TRUE(fit.has_value());
  EXPECT_GE(fit->k2, 1);
  EXPECT_LT(fit->k2, 7);
  EXPECT_NEAR(fitted(*fit, 12, 84, 100), window[100], 1e-6);
  // Too little of the window present: no fit.
  std::vector<double> sparse(100, std::nan(""));
  sparse[3] = 1.0;
  EXPECT_FALSE(fitHarmonics(sparse, 0, 12, 0).has_value());
  EXPECT_EQ(maxHarmonics(3), 0);
  EXPECT_EQ(maxHarmonics(9), 4);
  EXPECT_EQ(maxHarmonics(288), kMaxHarmonics);
}

}  // namespace
}  // namespace pso::controller::engine
