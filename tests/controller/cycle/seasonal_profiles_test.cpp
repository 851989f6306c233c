// The cycle's seasonal profiles (controller/cycle/seasonal_profiles.h),
// fitted from the rollups of a real SQLite store in a temporary directory.

#include "controller/cycle/seasonal_profiles.h"

#include <gtest/gtest.h>

#include <cmath>
#include <memory>
#include <numbers>
#include <optional>
#include <vector>

#include "controller/cycle/cycle_inputs.h"
#include "controller/engine/decision_engine.h"
#include "controller/engine/seasonal_profile.h"
#include "controller/store/store.h"
#include "tests/support/coarse_buckets.h"
#include "tests/support/process.h"

namespace pso::controller::cycle {
namespace {

// A midnight (2026-01-05 00:00 UTC).
constexpr int64_t kFirstMidnightMs = 1'767'571'200'000;
constexpr int64_t kOneHourMs = 3'600'000;
constexpr int64_t kSampleEveryMs = 60'000;
constexpr int64_t kStoredDays = 8;

double dayPhase(int64_t ms) {
  return 2.0 * std::numbers::pi * static_cast<double>((ms - kFirstMidnightMs) % engine::kDayMs) /
         static_cast<double>(engine::kDayMs);
}

bool inTheNightlyJob(int64_t ms) {
  const int64_t into_day = (ms - kFirstMidnightMs) % engine::kDayMs;
  return into_day >= 2 * kOneHourMs && into_day < 2 * kOneHourMs + 20 * 60'000;
}

/// The end of the stored days: when the tests refit.
constexpr int64_t kNowMs = kFirstMidnightMs + kStoredDays * engine::kDayMs;
/// 02:10 on the day after the samples: inside the job.
constexpr int64_t kInsideJobMs = kNowMs + 2 * kOneHourMs + 10 * 60'000;

/// A real SQLite store in `dir` holding web's demand `value(ms)` for every
/// minute of the stored days, rolled up; null (and the test failed) when
/// the store refuses.
template <typename Value>
std::unique_ptr<store::Store> storeOfWeb(const pso::testing::TempDir& dir, Value value) {
  auto opened = store::Store::open(dir.file("controller.db"));
  if (!opened.ok()) {
    ADD_FAILURE() << opened.error().message;
    return nullptr;
  }
  std::unique_ptr<store::Store> db = std::move(opened.value());
  std::vector<store::Sample> samples;
  for (int64_t ms = kFirstMidnightMs; ms < kNowMs; ms += kSampleEveryMs) {
    samples.push_back({ms + kSampleEveryMs / 2, value(ms)});
  }
  if (!db->importSamples("web", kDemandMetric, samples).ok() ||
      !db->rollup(kNowMs + engine::kDayMs).ok()) {
    ADD_FAILURE() << "storing web's samples failed";
    return nullptr;
  }
  return db;
}

/// An engine cycling every 15 s with the system web, whose model has seen
/// the steps up to kNowMs (a model takes a profile once it has seen a
/// step's time).
engine::DecisionEngine webEngine() {
  engine::EngineSettings settings;
  settings.step_s = 15.0;
  engine::DecisionEngine engine(settings);
  engine::SystemSpec spec;
  spec.name = "web";
  spec.capacity_per_replica = 10.0;
  engine.upsertSystem(spec);
  for (int64_t ms : {kNowMs - 15'000, kNowMs}) {
    engine::CycleInput input;
    input.now_ms = ms;
    engine::SystemObservation web;
    web.system = "web";
    web.demand = 100.0;
    web.current_replicas = 2;
    input.systems.push_back(web);
    (void)engine.decide(input);
  }
  return engine;
}

// A detail is an offset for an additive profile and a relative change for a
// multiplicative one. A refit of the harmonics that switches form between
// two fits of the detail must not keep the other form's detail: an offset of
// +150 read as a factor multiplied a 15 s replay's forecasts by about 150
// and asked for 60,000 replicas of a system that ran 16.
TEST(SeasonalProfiles, ADetailOfTheOtherFormIsFittedAgainNotKept) {
  pso::testing::TempDir dir;
  // Eight days whose daily swing grows with their level (a multiplicative
  // season), with a job adding 30% for twenty minutes at 02:00.
  const auto db = storeOfWeb(dir, [](int64_t ms) {
    const double level = 100.0 * std::pow(1.25, static_cast<double>(ms - kFirstMidnightMs) /
                                                    static_cast<double>(engine::kDayMs));
    const double value = level * (1.0 + 0.4 * std::sin(dayPhase(ms)));
    return inTheNightlyJob(ms) ? value * 1.3 : value;
  });
  ASSERT_NE(db, nullptr);
  engine::DecisionEngine engine = webEngine();
  engine::SystemObservation web;
  web.system = "web";
  SeasonalProfiles profiles;
  const int64_t now_ms = kNowMs;
  profiles.refresh(*db, engine, {web}, kDemandMetric, now_ms);
  const auto fitted = engine.seasonalProfile("web");
  ASSERT_TRUE(fitted.has_value());
  ASSERT_TRUE(fitted->multiplicative()) << fitted->describe();
  ASSERT_TRUE(fitted->hasDetail()) << fitted->describe();
  const double relative = fitted->detailAt(kInsideJobMs);
  EXPECT_GT(relative, 0.15);
  EXPECT_LT(relative, 0.6);

  // The engine now holds an additive profile whose detail is the same job
  // as +150 (what a profile fitted an hour before would hold had that fit
  // found the season additive).
  std::vector<engine::CoarseBucket> fine;
  for (int64_t ms = kFirstMidnightMs; ms < now_ms; ms += engine::kDetailBucketMs) {
    fine.push_back(
        {ms, 50.0 + 20.0 * std::sin(dayPhase(ms)) + (inTheNightlyJob(ms) ? 150.0 : 0.0)});
  }
  auto additive = engine::SeasonalProfile::fit(pso::testing::hourlyOf(fine), kOneHourMs);
  ASSERT_TRUE(additive.has_value());
  ASSERT_FALSE(additive->multiplicative());
  additive->fitDailyDetail(fine, engine::kDetailBucketMs);
  ASSERT_GT(additive->detailAt(kInsideJobMs), 50.0);
  engine.setSeasonalProfile("web", additive);

  // An hour later the harmonics are refitted (multiplicative, from the
  // store) and the detail is not due for five more hours: it is fitted again
  // rather than taken from the additive profile.
  profiles.refresh(*db, engine, {web}, kDemandMetric, now_ms + kOneHourMs);
  const auto refitted = engine.seasonalProfile("web");
  ASSERT_TRUE(refitted.has_value());
  ASSERT_TRUE(refitted->multiplicative());
  EXPECT_NEAR(refitted->detailAt(kInsideJobMs), relative, 0.05);
  // Inside the job the profile's factor is its harmonics' times about 1.3,
  // not times 150.
  EXPECT_LT(refitted->at(kInsideJobMs), 3.0);
}

// A refit that finds no daily shape in the hours keeps the harmonics the
// engine holds, but fits their detail again on schedule: a nightly job that
// stopped leaves the detail, and the plan no longer provides for it. (It
// kept the whole profile: ec2_network_in's hourly bursts stayed in its
// detail for the eight days after they stopped.)
TEST(SeasonalProfiles, WithoutADailyShapeInTheHoursTheDetailStillFollowsTheMinutes) {
  pso::testing::TempDir dir;
  // A flat load: no daily shape, no job.
  const auto db = storeOfWeb(dir, [](int64_t) { return 100.0; });
  ASSERT_NE(db, nullptr);
  engine::DecisionEngine engine = webEngine();
  engine::SystemObservation web;
  web.system = "web";
  const int64_t now_ms = kNowMs;
  // The engine holds a profile with the job at 02:00 in its detail, as one
  // fitted while the job ran would.
  std::vector<engine::CoarseBucket> fine;
  for (int64_t ms = kFirstMidnightMs; ms < now_ms; ms += engine::kDetailBucketMs) {
    fine.push_back(
        {ms, 50.0 + 20.0 * std::sin(dayPhase(ms)) + (inTheNightlyJob(ms) ? 150.0 : 0.0)});
  }
  auto held = engine::SeasonalProfile::fit(pso::testing::hourlyOf(fine), kOneHourMs);
  ASSERT_TRUE(held.has_value());
  held->fitDailyDetail(fine, engine::kDetailBucketMs);
  ASSERT_GT(held->detailAt(kInsideJobMs), 100.0);
  engine.setSeasonalProfile("web", held);

  SeasonalProfiles profiles;
  profiles.refresh(*db, engine, {web}, kDemandMetric, now_ms);
  const auto after = engine.seasonalProfile("web");
  ASSERT_TRUE(after.has_value()) << "the harmonics are kept";
  ASSERT_FALSE(held->multiplicative());
  ASSERT_FALSE(after->multiplicative());
  const int64_t afternoon = now_ms + 14 * kOneHourMs;
  for (int64_t at : {kInsideJobMs, afternoon}) {
    EXPECT_NEAR(after->at(at) - after->detailAt(at), held->at(at) - held->detailAt(at), 1e-9);
  }
  // The job is gone from the shape: the held profile rose 150 into it from
  // an hour before; the refitted detail follows the flat minutes.
  const int64_t hour_before = kInsideJobMs - kOneHourMs;
  EXPECT_GT(held->at(kInsideJobMs) - held->at(hour_before), 100.0);
  EXPECT_LT(std::abs(after->at(kInsideJobMs) - after->at(hour_before)), 10.0) << after->describe();
}

}  // namespace
}  // namespace pso::controller::cycle
