// Calibrated, asymmetric intervals: the per-horizon, per-side quantile
// trackers of scaled errors.

#include "controller/engine/horizon_errors.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <vector>

#include "controller/engine/forecast_model.h"

namespace pso::controller::engine {
namespace {

/// Below, inside and above shares of `values` against intervals a tracker
/// issues for a forecast of `point` (the same every step), each value
/// scored once known, with the model's `scale` per step.
struct Tails {
  double below = 0.0;
  double above = 0.0;
};

template <typename Draw, typename Scale>
Tails replayTracker(int steps, int h, Draw draw, Scale scale_at, double point = 0.0) {
  HorizonErrorTracker tracker(h, 128);
  std::vector<std::pair<double, double>> issued;
  int below = 0, above = 0, scored = 0;
  for (int t = 0; t < steps; ++t) {
    const double value = draw(t);
    if (t >= 2000 + h) {
      const auto& [lo, hi] = issued[static_cast<std::size_t>(t - h)];
      below += value < lo;
      above += value > hi;
      ++scored;
    }
    tracker.observe(value);
    tracker.remember(std::vector<double>(static_cast<std::size_t>(h), point), scale_at(t));
    Forecast f;
    f.point.assign(static_cast<std::size_t>(h), point);
    tracker.fillIntervals(f, 0.9, scale_at(t));
    issued.emplace_back(f.lo.back(), f.hi.back());
  }
  return {static_cast<double>(below) / scored, static_cast<double>(above) / scored};
}

TEST(HorizonErrorTracker, EachTailOfASkewedErrorMissesFivePercent) {
  // Exponential errors (mean 10) around a forecast of 0: a symmetric interval
  // from the spread would miss far more above than below.
  std::mt19937 rng(1);
  std::exponential_distribution<double> skewed(0.1);
  const Tails tails = replayTracker(
      20000, 3, [&](int) { return skewed(rng); }, [](int) { return 10.0; });
  EXPECT_NEAR(tails.below, 0.05, 0.012);
  EXPECT_NEAR(tails.above, 0.05, 0.012);
}

TEST(HorizonErrorTracker, IntervalsFollowTheModelsScaleThroughAVolatileSpell) {
  // Gaussian errors whose spread switches between 1 and 8 every 500 steps;
  // the model's scale knows it. Scaled errors keep the tails calibrated in
  // both regimes.
  std::mt19937 rng(2);
  std::normal_distribution<double> noise(0.0, 1.0);
  auto spread = [](int t) { return (t / 500) % 2 == 0 ? 1.0 : 8.0; };
  const Tails tails = replayTracker(
      30000, 1, [&](int t) { return spread(t) * noise(rng); },
      [&](int t) { return spread(t + 1); });
  EXPECT_NEAR(tails.below, 0.05, 0.012);
  EXPECT_NEAR(tails.above, 0.05, 0.012);
}

// A model that was exact for a while (a flat or piecewise-linear stretch)
// has a scale near zero; the first errors after it are then billions of
// scales wide. The intervals must stay in proportion to the errors, not to
// their ratio to that scale.
TEST(HorizonErrorTracker, AScaleNearZeroDoesNotBlowTheIntervalsUp) {
  HorizonErrorTracker tracker(2, 128);
  std::mt19937 rng(3);
  std::normal_distribution<double> noise(0.0, 1.0);
  // Standard normal errors throughout; the model claims a scale of 1e-9 for
  // its first 40 forecasts, then 0.8 (the mean absolute error of N(0, 1)).
  for (int t = 0; t < 800; ++t) {
    tracker.observe(noise(rng));
    tracker.remember({0.0, 0.0}, t < 40 ? 1e-9 : 0.8);
    if (t == 100 || t == 799) {
      Forecast f;
      f.point = {0.0, 0.0};
      tracker.fillIntervals(f, 0.9, 0.8);
      // At most 50 scales of 0.8 are ever tracked.
      EXPECT_LT(f.hi[0], 40.0) << "t " << t;
      EXPECT_GT(f.lo[0], -40.0) << "t " << t;
    }
    if (t == 799) {
      // By then the 5% and 95% quantiles of N(0, 1), +-1.64.
      Forecast f;
      f.point = {0.0, 0.0};
      tracker.fillIntervals(f, 0.9, 0.8);
      EXPECT_NEAR(f.hi[0], 1.64, 0.6);
      EXPECT_NEAR(f.lo[0], -1.64, 0.6);
    }
  }
}

// At a step much finer than the horizon (15 s steps, 41 ahead), a model's
// outlier screen can multiply its scale within a few steps at a ramp's
// onset. An interval 41 steps ahead must not swing with it: it is at the
// tracker's own one-step error scale, which moves over its window.
TEST(HorizonErrorTracker, AModelsScaleJumpingAtARampDoesNotSwingFarIntervals) {
  constexpr int kHorizon = 41;
  HorizonErrorTracker tracker(kHorizon, 128, 4);
  std::mt19937 rng(4);
  std::normal_distribution<double> noise(0.0, 1.0);
  const std::vector<double> path(kHorizon, 0.0);
  auto hiFarAhead = [&](double model_scale) {
    Forecast f;
    f.point = path;
    tracker.fillIntervals(f, 0.9, model_scale);
    return f.hi.back();
  };
  for (int t = 0; t < 4000; ++t) {
    tracker.observe(3.0 * noise(rng));
    tracker.remember(path, 2.4);
  }
  const double calm = hiFarAhead(2.4);
  // The 95% quantile of N(0, 9): 4.9.
  EXPECT_NEAR(calm, 4.93, 1.0);
  // Five steps of a ramp: the values leave the noise, and the model's scale
  // jumps twentyfold.
  for (int t = 0; t < 5; ++t) {
    tracker.observe(30.0 * (t + 1));
    tracker.remember(path, 48.0);
  }
  const double at_ramp = hiFarAhead(48.0);
  EXPECT_LT(at_ramp, 2.0 * calm) << "calm " << calm;
  EXPECT_GT(at_ramp, 0.9 * calm);
}

TEST(HorizonErrorTracker, IntervalsNestAsTheCoverageGrows) {
  std::mt19937 rng(3);
  std::student_t_distribution<double> heavy(3.0);
  HorizonErrorTracker tracker(4, 64);
  for (int t = 0; t < 3000; ++t) {
    tracker.observe(heavy(rng) + 0.5);
    tracker.remember({0.0, 0.0, 0.0, 0.0}, 1.0);
  }
  // Intervals are at the tracker's own one-step error scale, whatever scale
  // the model passes.
  const double scale = tracker.oneStepMae();
  ASSERT_GT(scale, 0.0);
  double last_lo = scale * tracker.scaledQuantile(4, 0.5);
  double last_hi = last_lo;
  for (double coverage : {0.1, 0.5, 0.8, 0.9, 0.95, 0.99, 0.999}) {
    Forecast f;
    f.point = {0.0, 0.0, 0.0, 0.0};
    tracker.fillIntervals(f, coverage, 2.0);
    for (std::size_t i = 0; i < 4; ++i) EXPECT_LT(f.lo[i], f.hi[i]);
    EXPECT_LE(f.lo[3], last_lo) << coverage;
    EXPECT_GE(f.hi[3], last_hi) << coverage;
    last_lo = f.lo[3];
    last_hi = f.hi[3];
  }
  // The errors are centred on 0.5: the median sits there, and a narrow
  // interval around it lies above the point.
  EXPECT_NEAR(scale * tracker.scaledQuantile(2, 0.5), 0.5, 0.15);
  Forecast narrow;
  narrow.point = {0.0, 0.0, 0.0, 0.0};
  tracker.fillIntervals(narrow, 0.1, 1.0);
  EXPECT_GT(narrow.lo[1], 0.0);
}

// A tracker whose stride changes (a state saved at another cycle step, or
// by a release that scored every fourth step) keeps what it learned and
// scores at the new stride from then on.
TEST(HorizonErrorTracker, ANewStrideKeepsTheQuantilesAndScoresAtItFromThenOn) {
  HorizonErrorTracker tracker(8, 128, 4);
  std::mt19937 rng(3);
  std::normal_distribution<double> noise(0.0, 2.0);
  const auto run = [&](int steps) {
    for (int i = 0; i < steps; ++i) {
      tracker.observe(100.0 + noise(rng));
      tracker.remember(std::vector<double>(8, 100.0), 1.6);
    }
  };
  run(400);
  const std::size_t before = tracker.count(1);
  const double q90 = tracker.scaledQuantile(3, 0.9);
  const double mae = tracker.oneStepMae();
  ASSERT_GT(before, 90u);
  tracker.setStride(20);
  EXPECT_EQ(tracker.stride(), 20);
  EXPECT_EQ(tracker.count(1), before);
  EXPECT_DOUBLE_EQ(tracker.scaledQuantile(3, 0.9), q90);
  EXPECT_DOUBLE_EQ(tracker.oneStepMae(), mae);
  run(200);
  // One origin in twenty scored from now on (at the old stride: 50).
  EXPECT_GE(tracker.count(1), before + 9);
  EXPECT_LE(tracker.count(1), before + 10);
  // The same stride again changes nothing.
  const std::size_t now = tracker.count(1);
  tracker.setStride(20);
  run(20);
  EXPECT_EQ(tracker.count(1), now + 1);
}

TEST(HorizonErrorTracker, SavedStateRoundTripsAndOldWindowsLoad) {
  std::mt19937 rng(4);
  std::normal_distribution<double> noise(0.0, 2.0);
  HorizonErrorTracker tracker(3, 32, 2);
  for (int t = 0; t < 500; ++t) {
    t % 17 == 0 ? tracker.skip() : tracker.observe(noise(rng));
    tracker.remember({0.1, 0.2, 0.3}, 2.0);
  }
  StateWriter w;
  tracker.save(w);
  HorizonErrorTracker restored(1, 2);
  StateReader r(w.str(), "tracker");
  restored.load(r);
  ASSERT_TRUE(r.status().ok()) << r.status().error().message;
  StateWriter again;
  restored.save(again);
  EXPECT_EQ(again.str(), w.str());

  // The format before quantile tracking: sizes, step, remembered paths, then
  // raw error windows per horizon and the one-step sums.
  StateWriter old;
  old.putInt(2).putInt(40).putInt(1).putInt(60);
  // Slot = (origin / stride) % slots.
  old.putInt(60).putInt(2).putDouble(1.0).putDouble(1.0);
  old.putInt(58).putInt(2).putDouble(1.0).putDouble(1.0);
  old.putInt(59).putInt(2).putDouble(1.0).putDouble(1.0);
  for (int h = 1; h <= 2; ++h) {
    old.putInt(40);
    for (int i = 0; i < 40; ++i) old.putDouble(h * ((i % 10) - 4.5));
  }
  old.putDouble(100.0).putDouble(330.0).putInt(3);
  HorizonErrorTracker legacy(1, 2);
  StateReader lr(old.str(), "tracker");
  legacy.loadWindows(lr, 2.0);
  ASSERT_TRUE(lr.status().ok()) << lr.status().error().message;
  EXPECT_EQ(legacy.count(2), 40u);
  // Errors -9..9 at horizon 2, relative to a scale of 2: -4.5..4.5.
  EXPECT_NEAR(legacy.scaledQuantile(2, 0.5), 0.0, 0.5);
  EXPECT_NEAR(legacy.scaledQuantile(2, 0.99), 4.5, 0.1);
  EXPECT_NEAR(legacy.oneStepMae(), 2.5, 1e-9);
}

TEST(HorizonErrorTracker, AModelsIntervalsCoverAHeavyTailedSeriesOnBothSides) {
  // A level with log-normal bursts (right-skewed), through Holt: each tail of
  // the 90% interval misses 4-6.5% of the time over every horizon 1..8.
  std::mt19937 rng(5);
  std::lognormal_distribution<double> bursts(0.0, 0.8);
  auto model = std::move(makeForecastModel("holt")).value();
  std::vector<Forecast> issued;
  std::vector<double> values;
  int below = 0, above = 0, scored = 0;
  for (int t = 0; t < 6000; ++t) {
    const double v = 100.0 + 20.0 * bursts(rng);
    values.push_back(v);
    for (int h = 1; h <= 8 && t >= 1000 + h; ++h) {
      const Forecast& f = issued[static_cast<std::size_t>(t - h)];
      below += v < f.lo[static_cast<std::size_t>(h - 1)];
      above += v > f.hi[static_cast<std::size_t>(h - 1)];
      ++scored;
    }
    model->update(v);
    issued.push_back(model->forecast(8, 0.9));
  }
  EXPECT_NEAR(static_cast<double>(below) / scored, 0.05, 0.015);
  EXPECT_NEAR(static_cast<double>(above) / scored, 0.05, 0.015);
}

}  // namespace
}  // namespace pso::controller::engine
