#include "controller/engine/seasonal_profile.h"

#include <gtest/gtest.h>

#include <cmath>
#include <numbers>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "controller/engine/decision_engine.h"
#include "controller/engine/model_selector.h"
#include "tests/support/coarse_buckets.h"
#include "tests/support/daily_load.h"

namespace pso::controller::engine {
namespace {

constexpr int64_t kProfileHourMs = 3'600'000;
constexpr int64_t kStepMs = 15'000;
constexpr int64_t kStepsPerDay = kDayMs / kStepMs;

using pso::testing::dailySeries;
using pso::testing::dailyShape;
using pso::testing::hourlyOf;

/// The means of the first `steps` values per completed hour, as hourly
/// rollups of samples at each step's centre hold them.
std::vector<CoarseBucket> hourlyMeans(const std::vector<double>& values, int64_t steps) {
  const int64_t per_hour = kProfileHourMs / kStepMs;
  std::vector<CoarseBucket> out;
  for (int64_t hour = 0; (hour + 1) * per_hour <= steps; ++hour) {
    double sum = 0.0;
    for (int64_t i = hour * per_hour; i < (hour + 1) * per_hour; ++i) {
      sum += values[static_cast<std::size_t>(i)];
    }
    out.push_back({hour * kProfileHourMs, sum / static_cast<double>(per_hour)});
  }
  return out;
}

ForecastModelParams autoParams(int horizon) {
  ForecastModelParams p;
  p.max_horizon = horizon;
  return p;
}

TEST(SeasonalProfile, RecoversTheDailyShapeFromHourlyMeans) {
  const auto series = dailySeries(3, 1);
  const auto profile = SeasonalProfile::fit(hourlyMeans(series, 3 * kStepsPerDay), kProfileHourMs);
  ASSERT_TRUE(profile.has_value());
  EXPECT_FALSE(profile->multiplicative());
  EXPECT_GE(profile->dailyHarmonics(), 8);
  EXPECT_EQ(profile->weeklyHarmonics(), 0);
  // The shape at any instant (not only at bucket centres), the bumps of 3 h
  // included: the averaging over an hour is undone.
  double worst = 0.0;
  for (int64_t ms = 0; ms < kDayMs; ms += 7 * 60'000) {
    worst = std::max(worst, std::abs(profile->at(ms) - (dailyShape(ms) - 100.0)));
  }
  EXPECT_LT(worst, 3.0);
  EXPECT_NEAR(profile->remove(profile->restore(42.0, 123'456), 123'456), 42.0, 1e-9);
}

TEST(SeasonalProfile, NeedsTwoDaysAndADailyShape) {
  const auto series = dailySeries(3, 2);
  EXPECT_FALSE(
      SeasonalProfile::fit(hourlyMeans(series, kStepsPerDay + kStepsPerDay / 2), kProfileHourMs));
  std::mt19937 rng(3);
  std::normal_distribution<double> noise(100.0, 5.0);
  std::vector<CoarseBucket> flat;
  for (int64_t h = 0; h < 96; ++h) flat.push_back({h * kProfileHourMs, noise(rng)});
  EXPECT_FALSE(SeasonalProfile::fit(flat, kProfileHourMs));
  // A bucket width that does not divide a day.
  EXPECT_FALSE(SeasonalProfile::fit(hourlyMeans(series, 3 * kStepsPerDay), 7 * 60'000));
}

TEST(SeasonalProfile, MultiplicativeWhenTheSwingGrowsWithTheLevel) {
  std::vector<CoarseBucket> growing, steady;
  for (int64_t h = 0; h < 8 * 24; ++h) {
    const double level = 100.0 * std::pow(1.25, static_cast<double>(h) / 24.0);
    const double phase = 2.0 * std::numbers::pi * static_cast<double>(h % 24) / 24.0;
    growing.push_back({h * kProfileHourMs, level * (1.0 + 0.4 * std::sin(phase))});
    steady.push_back({h * kProfileHourMs, level + 40.0 * std::sin(phase)});
  }
  const auto scaled = SeasonalProfile::fit(growing, kProfileHourMs);
  ASSERT_TRUE(scaled.has_value());
  EXPECT_TRUE(scaled->multiplicative());
  // A factor around one: 1.4 at the daily peak (6 h into the day).
  EXPECT_NEAR(scaled->at(6 * kProfileHourMs), 1.4, 0.05);
  const auto added = SeasonalProfile::fit(steady, kProfileHourMs);
  ASSERT_TRUE(added.has_value());
  EXPECT_FALSE(added->multiplicative());
}

TEST(SeasonalProfile, WeeklyHarmonicsWithTwoWeeksOfHistory) {
  std::vector<CoarseBucket> buckets;
  for (int64_t h = 0; h < 15 * 24; ++h) {
    const double day = 2.0 * std::numbers::pi * static_cast<double>(h % 24) / 24.0;
    const double weekend = (h / 24) % 7 >= 5 ? -30.0 : 0.0;
    buckets.push_back({h * kProfileHourMs, 100.0 + 30.0 * std::sin(day) + weekend});
  }
  const auto profile = SeasonalProfile::fit(buckets, kProfileHourMs);
  ASSERT_TRUE(profile.has_value());
  EXPECT_GT(profile->weeklyHarmonics(), 0);
  // A weekday noon sits above a weekend noon.
  EXPECT_GT(profile->at(8 * kDayMs + 6 * kProfileHourMs),
            profile->at(12 * kDayMs + 6 * kProfileHourMs) + 15.0);
}

TEST(SeasonalProfile, SurvivesTheStateCodec) {
  const auto profile =
      SeasonalProfile::fit(hourlyMeans(dailySeries(3, 4), 3 * kStepsPerDay), kProfileHourMs);
  ASSERT_TRUE(profile.has_value());
  StateWriter w;
  profile->save(w);
  StateReader r(w.str(), "profile");
  const auto loaded = SeasonalProfile::load(r, SeasonalProfile::Saved::kEvents);
  ASSERT_TRUE(loaded.has_value());
  EXPECT_EQ(*loaded, *profile);
}

/// A week of 5-minute means: a daily wave of 20 around 50, noise of sd 3,
/// and with `spike` a nightly job adding 150 (+-25%) for twenty minutes
/// from 02:00, give or take five minutes, as replay_bench's
/// syn_nightly_spikes draws it. `starts`, when given, receives each day's
/// first slot of the job.
std::vector<CoarseBucket> nightlyJobWeek(bool spike, unsigned seed,
                                         std::vector<int64_t>* starts = nullptr) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<double> u(0.0, 1.0);
  std::normal_distribution<double> noise(0.0, 3.0);
  std::vector<CoarseBucket> out;
  const int64_t per_day = kDayMs / kDetailBucketMs;
  int64_t start = 24;
  double height = 150.0;
  for (int64_t i = 0; i < 8 * per_day; ++i) {
    if (i % per_day == 0) {
      start = 24 + static_cast<int64_t>(std::floor(3.0 * u(rng))) - 1;
      height = 150.0 * (0.75 + 0.5 * u(rng));
      if (starts != nullptr) starts->push_back(start);
    }
    const double phase = 2.0 * std::numbers::pi * static_cast<double>(i % per_day) / per_day;
    double v = 50.0 + 20.0 * std::sin(phase) + noise(rng);
    const int64_t in_day = i % per_day;
    if (spike && in_day >= start && in_day < start + 4) v += height;
    out.push_back({i * kDetailBucketMs, v});
  }
  return out;
}

/// The profile of `fine`'s hourly means, without and with the daily detail
/// of `fine` itself.
struct ProfilePair {
  SeasonalProfile hourly_only;
  SeasonalProfile with_detail;
};
std::optional<ProfilePair> fitBoth(const std::vector<CoarseBucket>& fine) {
  auto profile = SeasonalProfile::fit(hourlyOf(fine), kProfileHourMs);
  if (!profile) return std::nullopt;
  ProfilePair pair{*profile, *profile};
  pair.with_detail.fitDailyDetail(fine, kDetailBucketMs);
  return pair;
}

// Hourly harmonics draw a twenty-minute nightly job as a low bump over
// hours; the five-minute detail puts it back at its time and height, and
// leaves the rest of the day to the harmonics.
TEST(SeasonalProfile, TheDailyDetailDrawsANightlyJobTheHourlyHarmonicsBlur) {
  const auto pair = fitBoth(nightlyJobWeek(true, 7));
  ASSERT_TRUE(pair.has_value());
  const SeasonalProfile& hourly_only = pair->hourly_only;
  const SeasonalProfile* profile = &pair->with_detail;
  EXPECT_GT(profile->detailSlots(), 0);
  EXPECT_NE(profile->describe().find("5-minute detail"), std::string::npos) << profile->describe();
  // 02:07:30, inside the job on every day; 14:00, far from it. The shape is
  // an offset from the day's level (50 plus the wave's 20 sin).
  const int64_t day = 8 * kDayMs;
  const int64_t in_job = day + 2 * kProfileHourMs + 450'000;
  const double wave_at_job = 20.0 * std::sin(2.0 * std::numbers::pi * (2.125 / 24.0));
  EXPECT_NEAR(profile->at(in_job), wave_at_job + 150.0, 30.0);
  EXPECT_LT(hourly_only.at(in_job), wave_at_job + 75.0) << "the harmonics alone blur it";
  const int64_t afternoon = day + 14 * kProfileHourMs;
  const double wave_afternoon = 20.0 * std::sin(2.0 * std::numbers::pi * (14.0 / 24.0));
  EXPECT_NEAR(profile->at(afternoon) - profile->at(day + 13 * kProfileHourMs),
              wave_afternoon - 20.0 * std::sin(2.0 * std::numbers::pi * (13.0 / 24.0)), 4.0);
  // Only the job's slots and their neighbours (where the harmonics' bump is
  // corrected) carry detail, not the noise of the other 280.
  EXPECT_LE(profile->detailSlots(), 30);
}

TEST(SeasonalProfile, NoDailyDetailWhereTheHarmonicsSayItAll) {
  for (unsigned seed : {11u, 12u, 13u}) {
    const auto pair = fitBoth(nightlyJobWeek(false, seed));
    ASSERT_TRUE(pair.has_value()) << seed;
    EXPECT_LE(pair->with_detail.detailSlots(), 1) << seed;
    double worst = 0.0;
    for (int64_t ms = 0; ms < kDayMs; ms += 60'000) {
      worst = std::max(worst, std::abs(pair->with_detail.at(ms) - pair->hourly_only.at(ms)));
    }
    EXPECT_LT(worst, 6.0) << seed;
  }
  // Too few days for a slot, or buckets no finer than an hour: no detail.
  auto fine = nightlyJobWeek(true, 7);
  auto profile = SeasonalProfile::fit(hourlyOf(fine), kProfileHourMs);
  ASSERT_TRUE(profile.has_value());
  fine.resize(static_cast<std::size_t>(2 * kDayMs / kDetailBucketMs));
  profile->fitDailyDetail(fine, kDetailBucketMs);
  EXPECT_EQ(profile->detailSlots(), 0);
  profile->fitDailyDetail(hourlyOf(nightlyJobWeek(true, 7)), kProfileHourMs);
  EXPECT_EQ(profile->detailSlots(), 0);
}

// A spike that moved (at 02:00 for four days, at 02:30 for the next three)
// is the median at 02:00 over the week, but no longer a calendar event: the
// detail keeps only what recurs on every day but one.
TEST(SeasonalProfile, ASpikeThatMovedIsNoDailyDetail) {
  std::mt19937 rng(5);
  std::normal_distribution<double> noise(0.0, 3.0);
  std::vector<CoarseBucket> fine;
  const int64_t per_day = kDayMs / kDetailBucketMs;
  for (int64_t i = 0; i < 7 * per_day; ++i) {
    const int64_t day = i / per_day;
    const int64_t in_day = i % per_day;
    const int64_t start = day < 4 ? 24 : 30;
    const double phase = 2.0 * std::numbers::pi * static_cast<double>(in_day) / per_day;
    double v = 50.0 + 20.0 * std::sin(phase) + noise(rng);
    if (in_day >= start && in_day < start + 4) v += 150.0;
    fine.push_back({i * kDetailBucketMs, v});
  }
  auto profile = SeasonalProfile::fit(hourlyOf(fine), kProfileHourMs);
  ASSERT_TRUE(profile.has_value());
  profile->fitDailyDetail(fine, kDetailBucketMs);
  // 02:07:30 and 02:37:30: each had the spike on four days and three.
  for (int64_t at : {2 * kProfileHourMs + 450'000, 2 * kProfileHourMs + 2'250'000}) {
    EXPECT_NEAR(profile->detailAt(7 * kDayMs + at), 0.0, 1e-9) << at;
  }
}

// The detail is saved with the profile, and a profile saved before there
// was one (the auto model's state before version 5) or before the usual
// events (version 5) still loads.
TEST(SeasonalProfile, TheDailyDetailSurvivesTheStateCodecAndOldFormsLoad) {
  const auto pair = fitBoth(nightlyJobWeek(true, 7));
  ASSERT_TRUE(pair.has_value());
  const SeasonalProfile& without = pair->hourly_only;
  const SeasonalProfile* profile = &pair->with_detail;
  ASSERT_GT(profile->detailSlots(), 0);
  ASSERT_GT(profile->eventSlots(), profile->detailSlots()) << "the job's edges stand out too";
  StateWriter w;
  profile->save(w);
  StateReader r(w.str(), "profile");
  const auto loaded = SeasonalProfile::load(r, SeasonalProfile::Saved::kEvents);
  ASSERT_TRUE(loaded.has_value());
  EXPECT_EQ(*loaded, *profile);
  // The forms before: the harmonics only, and the detail without events.
  // `tail` is what the later forms append, cut from the end of a save.
  // (A reader views its input: each form is kept in a string of its own.)
  const auto cut = [](const std::string& saved, const StateWriter& tail) {
    return saved.substr(0, saved.size() - (tail.str().size() - 1));
  };
  const auto slots = static_cast<int64_t>(kDayMs / kDetailBucketMs);
  StateWriter no_detail_nor_events;
  no_detail_nor_events.putInt(0).putInt(0).putInt(0);
  StateWriter events_tail;
  events_tail.putInt(slots);
  for (int64_t i = 0; i < slots; ++i) events_tail.putFloat(0.0f);

  StateWriter old;
  without.save(old);
  const std::string harmonics_only = cut(old.str(), no_detail_nor_events);
  StateReader legacy_reader(harmonics_only, "profile");
  const auto legacy_loaded =
      SeasonalProfile::load(legacy_reader, SeasonalProfile::Saved::kHarmonics);
  ASSERT_TRUE(legacy_loaded.has_value());
  EXPECT_EQ(*legacy_loaded, without);

  const std::string detail_only = cut(w.str(), events_tail);
  StateReader five_reader(detail_only, "profile");
  const auto five = SeasonalProfile::load(five_reader, SeasonalProfile::Saved::kDetail);
  ASSERT_TRUE(five.has_value());
  EXPECT_EQ(five->detailSlots(), profile->detailSlots());
  EXPECT_EQ(five->eventSlots(), profile->detailSlots()) << "without events, the detail's own";

  // A detail that does not divide the day is refused.
  StateWriter wrong;
  wrong.putInt(7 * 60'000).putInt(2).putFloat(1.0f).putFloat(2.0f).putInt(0);
  const std::string broken = harmonics_only + wrong.str().substr(1);
  StateReader broken_reader(broken, "profile");
  EXPECT_FALSE(SeasonalProfile::load(broken_reader, SeasonalProfile::Saved::kEvents).has_value());
  EXPECT_FALSE(broken_reader.ok());
  // So are events that are not one per slot of the detail.
  StateWriter two_events;
  two_events.putInt(2).putFloat(1.0f).putFloat(2.0f);
  const std::string mismatched = detail_only + two_events.str().substr(1);
  StateReader mismatched_reader(mismatched, "profile");
  EXPECT_FALSE(
      SeasonalProfile::load(mismatched_reader, SeasonalProfile::Saved::kEvents).has_value());
  EXPECT_FALSE(mismatched_reader.ok());
}

// A job that starts a slot early or late from night to night. Per slot,
// from the nights the detail reads (the last seven): the detail keeps the
// slots the job fills on every night but one, the usual events those it
// fills on most nights (a median of seven is the job's from four nights)
// and on one of the last two, and not those it filled on most nights but
// on neither of the last two (a job that stopped is not held for days). At
// a slot's centre the range is that slot's event; at the edge between two
// slots, the larger of theirs.
TEST(SeasonalProfile, TheUsualEventsAreTheSlotsAJobFillsOnMostNights) {
  std::vector<int64_t> starts;
  const auto pair = fitBoth(nightlyJobWeek(true, 7, &starts));
  ASSERT_TRUE(pair.has_value());
  const SeasonalProfile& profile = pair->with_detail;
  ASSERT_EQ(starts.size(), 8u);
  const std::vector<int64_t> read(starts.end() - kDetailMaxDays, starts.end());
  const auto fills = [](int64_t start, int64_t slot) { return slot >= start && slot < start + 4; };
  const auto nights = [&](int64_t slot) {
    return std::count_if(read.begin(), read.end(),
                         [&](int64_t start) { return fills(start, slot); });
  };
  const auto recent = [&](int64_t slot) {
    return fills(read[read.size() - 1], slot) || fills(read[read.size() - 2], slot);
  };
  const int64_t day = 8 * kDayMs;
  const auto centre = [&](int64_t slot) {
    return day + slot * kDetailBucketMs + kDetailBucketMs / 2;
  };
  int events_beyond_detail = 0;
  int stopped = 0;
  for (int64_t slot = 20; slot < 32; ++slot) {
    const auto filled = nights(slot);
    const double own = profile.eventRange(centre(slot)).second;
    EXPECT_EQ(own > 100.0, filled >= 6 || (filled >= 4 && recent(slot)))
        << "slot " << slot << ", job on " << filled << " nights";
    EXPECT_EQ(profile.detailAt(centre(slot)) > 100.0, filled >= 6)
        << "slot " << slot << ", job on " << filled << " nights";
    events_beyond_detail += filled >= 4 && filled < 6 && recent(slot) ? 1 : 0;
    stopped += filled >= 4 && filled < 6 && !recent(slot) ? 1 : 0;
    // Just inside the slot, the job in its neighbour before counts too.
    const int64_t edge = day + slot * kDetailBucketMs + 1;
    const double before = profile.eventRange(centre(slot - 1)).second;
    if (std::max(own, before) > 100.0) {
      EXPECT_DOUBLE_EQ(profile.eventRange(edge).second, std::max(own, before)) << "slot " << slot;
    }
  }
  ASSERT_GT(events_beyond_detail, 0) << "the week has a slot the job fills on most nights only";
  ASSERT_GT(stopped, 0) << "and one it filled on most nights but not on the last two";
  for (int64_t hour : {6, 10, 14, 18, 22}) {
    const auto [low, high] = profile.eventRange(day + hour * kProfileHourMs);
    EXPECT_LT(std::abs(low), 10.0) << hour;
    EXPECT_LT(std::abs(high), 10.0) << hour;
  }
  // Without a detail there are no events.
  EXPECT_EQ(pair->hourly_only.eventRange(centre(26)), (std::pair<double, double>{0.0, 0.0}));
}

// An additive detail is an offset in demand units, a multiplicative one a
// relative change: a refit of the harmonics keeps the detail it had only
// when both are of one form.
TEST(SeasonalProfile, TakesADetailOnlyFromAProfileOfItsForm) {
  const auto additive = fitBoth(nightlyJobWeek(true, 7));
  ASSERT_TRUE(additive.has_value());
  ASSERT_FALSE(additive->with_detail.multiplicative());
  const int64_t in_job = 8 * kDayMs + 2 * kProfileHourMs + 450'000;
  ASSERT_GT(additive->with_detail.detailAt(in_job), 100.0);

  std::vector<CoarseBucket> growing;
  for (int64_t h = 0; h < 8 * 24; ++h) {
    const double level = 100.0 * std::pow(1.25, static_cast<double>(h) / 24.0);
    const double phase = 2.0 * std::numbers::pi * static_cast<double>(h % 24) / 24.0;
    growing.push_back({h * kProfileHourMs, level * (1.0 + 0.4 * std::sin(phase))});
  }
  auto multiplicative = SeasonalProfile::fit(growing, kProfileHourMs);
  ASSERT_TRUE(multiplicative.has_value());
  ASSERT_TRUE(multiplicative->multiplicative());
  const double factor = multiplicative->at(in_job);
  EXPECT_FALSE(multiplicative->copyDetailFrom(additive->with_detail));
  EXPECT_FALSE(multiplicative->hasDetail());
  EXPECT_DOUBLE_EQ(multiplicative->at(in_job), factor);

  SeasonalProfile refitted = additive->hourly_only;
  ASSERT_FALSE(refitted.hasDetail());
  EXPECT_TRUE(refitted.copyDetailFrom(additive->with_detail));
  EXPECT_DOUBLE_EQ(refitted.detailAt(in_job), additive->with_detail.detailAt(in_job));
}

TEST(SeasonalProfile, NeededOnlyWhereADayIsBeyondTheDetector) {
  EXPECT_TRUE(profileNeeded(1.0));
  EXPECT_TRUE(profileNeeded(15.0));
  EXPECT_TRUE(profileNeeded(60.0));
  EXPECT_FALSE(profileNeeded(300.0));
  EXPECT_FALSE(profileNeeded(3600.0));
}

/// Days 1-3 learn (the profile fitted from their hourly means), days 4-5 are
/// held out: 30 minutes ahead, the forecast with the profile follows the
/// daily shape, and its 90% intervals cover about 90%.
TEST(AutoModelWithProfile, FollowsTheDailyShapeThirtyMinutesAhead) {
  const auto series = dailySeries(5, 5);
  const int64_t learn_steps = 3 * kStepsPerDay;
  constexpr int kAhead = 120;  // 30 minutes of 15 s steps
  AutoModel plain(autoParams(kAhead));
  AutoModel shaped(autoParams(kAhead));
  const auto profile = SeasonalProfile::fit(hourlyMeans(series, learn_steps), kProfileHourMs);
  ASSERT_TRUE(profile.has_value());

  double plain_error = 0.0, shaped_error = 0.0;
  int64_t origins = 0, inside = 0, scored = 0;
  std::string chosen;
  for (int64_t i = 0; i < static_cast<int64_t>(series.size()); ++i) {
    const int64_t end_ms = (i + 1) * kStepMs;
    plain.update(series[static_cast<std::size_t>(i)]);
    shaped.setStepTime(end_ms, kStepMs);
    shaped.update(series[static_cast<std::size_t>(i)]);
    if (i + 1 == learn_steps) shaped.setSeasonalProfile(profile);
    if (i < learn_steps || i % 40 != 0 || i + kAhead >= static_cast<int64_t>(series.size())) {
      continue;
    }
    const auto target = static_cast<std::size_t>(i + kAhead);
    // Error against the noise-free demand: what the forecast should follow.
    const double truth = dailyShape(static_cast<int64_t>(target) * kStepMs + kStepMs / 2);
    std::vector<double> path(kAhead);
    plain.pointForecast(path);
    plain_error += std::abs(path.back() - truth);
    const Forecast f = shaped.forecast(kAhead, 0.9);
    shaped_error += std::abs(f.point.back() - truth);
    ++origins;
    // Coverage of the noisy values on the last held-out day, after a day of
    // the profile candidates' errors.
    if (i >= 4 * kStepsPerDay) {
      ++scored;
      if (series[target] >= f.lo.back() && series[target] <= f.hi.back()) ++inside;
    }
    chosen = shaped.chosen();
  }
  ASSERT_GT(origins, 250);
  plain_error /= static_cast<double>(origins);
  shaped_error /= static_cast<double>(origins);
  const double coverage = static_cast<double>(inside) / static_cast<double>(scored);
  RecordProperty("plain_mae", std::to_string(plain_error));
  RecordProperty("profile_mae", std::to_string(shaped_error));
  RecordProperty("coverage", std::to_string(coverage));
  EXPECT_NE(chosen.find("/profile"), std::string::npos) << chosen;
  EXPECT_LT(shaped_error, 0.4 * plain_error)
      << "with profile " << shaped_error << ", level and trend only " << plain_error;
  EXPECT_GT(coverage, 0.8);
  EXPECT_LT(coverage, 0.97);
}

TEST(AutoModelWithProfile, WithoutAProfileForecastsAndStateAreUnchanged) {
  const auto series = dailySeries(1, 6);
  AutoModel before(autoParams(41));
  AutoModel timed(autoParams(41));
  for (std::size_t i = 0; i < series.size(); ++i) {
    before.update(series[i]);
    timed.setStepTime(static_cast<int64_t>(i + 1) * kStepMs, kStepMs);
    timed.update(series[i]);
    if (i == 100) timed.setSeasonalProfile(std::nullopt);
    if (i % 997 == 0) {
      const Forecast a = before.forecast(41, 0.9);
      const Forecast b = timed.forecast(41, 0.9);
      ASSERT_EQ(a.point, b.point) << "step " << i;
      ASSERT_EQ(a.lo, b.lo);
      ASSERT_EQ(a.hi, b.hi);
      ASSERT_EQ(a.model, b.model);
    }
  }
  EXPECT_EQ(before.saveState(), timed.saveState());
}

TEST(AutoModelWithProfile, StateRoundTripKeepsTheProfileCandidates) {
  const auto series = dailySeries(3, 7);
  AutoModel model(autoParams(41));
  const int64_t learn_steps = 5 * kStepsPerDay / 2;
  const auto profile = SeasonalProfile::fit(hourlyMeans(series, learn_steps), kProfileHourMs);
  ASSERT_TRUE(profile.has_value());
  for (std::size_t i = 0; i < static_cast<std::size_t>(learn_steps) + 2000; ++i) {
    model.setStepTime(static_cast<int64_t>(i + 1) * kStepMs, kStepMs);
    model.update(series[i]);
    if (i + 1 == static_cast<std::size_t>(learn_steps)) model.setSeasonalProfile(profile);
  }
  AutoModel loaded(autoParams(41));
  ASSERT_TRUE(loaded.loadState(model.saveState()).ok());
  ASSERT_TRUE(loaded.seasonalProfile().has_value());
  EXPECT_EQ(*loaded.seasonalProfile(), *profile);
  EXPECT_EQ(loaded.saveState(), model.saveState());
  const Forecast a = model.forecast(41, 0.9);
  const Forecast b = loaded.forecast(41, 0.9);
  EXPECT_EQ(a.point, b.point);
  EXPECT_EQ(a.hi, b.hi);
}

TEST(DecisionEngineWithProfile, ProfileReachesTheAutoModelOfTheSystem) {
  EngineSettings settings;
  DecisionEngine engine(settings);
  SystemSpec spec;
  spec.name = "web";
  engine.upsertSystem(spec);
  const auto series = dailySeries(3, 9);
  const int64_t learn_steps = 5 * kStepsPerDay / 2;
  const auto profile = SeasonalProfile::fit(hourlyMeans(series, learn_steps), kProfileHourMs);
  ASSERT_TRUE(profile.has_value());
  std::string model;
  for (std::size_t i = 0; i < series.size(); ++i) {
    if (i == static_cast<std::size_t>(learn_steps)) engine.setSeasonalProfile("web", profile);
    CycleInput input;
    input.now_ms = static_cast<int64_t>(i + 1) * kStepMs;
    SystemObservation obs;
    obs.system = "web";
    obs.demand = series[i];
    obs.current_replicas = 20;
    input.systems.push_back(obs);
    model = engine.decide(input).systems.front().forecast.model;
  }
  EXPECT_NE(model.find("/profile"), std::string::npos) << model;
  // Beyond the tracked horizon too, every step carries the shape at its time.
  const auto hour_ahead = engine.forecast("web", 240);
  ASSERT_TRUE(hour_ahead.has_value());
  const auto last_end = static_cast<int64_t>(series.size()) * kStepMs;
  for (int h : {60, 150, 240}) {
    EXPECT_NEAR(hour_ahead->point[static_cast<std::size_t>(h - 1)],
                dailyShape(last_end + h * kStepMs - kStepMs / 2), 8.0)
        << h << " steps ahead";
  }
  engine.setSeasonalProfile("unknown", profile);
  // The engine's state carries the profile: a restored engine forecasts the same.
  DecisionEngine restored(settings);
  ASSERT_TRUE(restored.loadState(engine.saveState()).ok());
  EXPECT_EQ(restored.forecast("web", 41)->point, engine.forecast("web", 41)->point);
}

}  // namespace
}  // namespace pso::controller::engine
