#include "controller/cycle/seasonal_profiles.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cmath>

#include "controller/engine/seasonal_profile.h"

namespace pso::controller::cycle {

namespace {

/// Minute rollups as 5-minute means (each minute weighted by its samples),
/// the buckets that end by `until_ms` only.
std::vector<engine::CoarseBucket> fiveMinuteMeans(const std::vector<store::RollupBucket>& minutes,
                                                  int64_t until_ms) {
  std::vector<engine::CoarseBucket> out;
  double sum = 0.0;
  int64_t count = 0;
  int64_t start = 0;
  auto flush = [&] {
    if (count > 0 && start + engine::kDetailBucketMs <= until_ms) {
      out.push_back({start, sum / static_cast<double>(count)});
    }
    sum = 0.0;
    count = 0;
  };
  for (const store::RollupBucket& m : minutes) {
    if (m.count <= 0 || !std::isfinite(m.mean)) continue;
    const int64_t bucket = store::floorToBucket(m.start_ms, engine::kDetailBucketMs);
    if (count > 0 && bucket != start) flush();
    start = bucket;
    sum += m.mean * static_cast<double>(m.count);
    count += m.count;
  }
  flush();
  return out;
}

}  // namespace

void SeasonalProfiles::refresh(store::TelemetryStore& store, engine::DecisionEngine& engine,
                               const std::vector<engine::SystemObservation>& systems,
                               const std::string& metric, int64_t now_ms) {
  if (!engine::profileNeeded(engine.settings().step_s)) return;
  const int64_t bucket_ms = store::rollupBucketMs(store::RollupResolution::kHour);
  // Fits are spread over the cycles of the refit period (twice the even
  // share per cycle), so a fleet started together does not fit every system
  // in one cycle each hour.
  const double cycles_per_refit =
      static_cast<double>(engine::kProfileRefitMs) / (engine.settings().step_s * 1000.0);
  auto budget = static_cast<int64_t>(
      std::ceil(2.0 * static_cast<double>(systems.size()) / std::max(1.0, cycles_per_refit)));
  for (const engine::SystemObservation& system : systems) {
    if (budget <= 0) break;
    const uint64_t epoch = engine.modelEpoch(system.system).value_or(0);
    auto fitted = fitted_.find(system.system);
    if (fitted != fitted_.end() && fitted->second.epoch == epoch &&
        now_ms - fitted->second.at_ms < engine::kProfileRefitMs) {
      continue;
    }
    --budget;
    // The detail is fitted again every kDetailRefitMs (and for a new model);
    // between, the profile keeps the detail the engine's has.
    std::optional<int64_t> detail_at_ms;
    if (fitted != fitted_.end() && fitted->second.epoch == epoch) {
      detail_at_ms = fitted->second.detail_at_ms;
    }
    bool detail_due = !detail_at_ms || now_ms - *detail_at_ms >= engine::kDetailRefitMs;
    Fitted& entry = fitted_[system.system];
    entry = Fitted{now_ms, epoch, detail_at_ms};
    // Completed hours only (the bucket in progress is a partial mean), and
    // only those the rollup pass has surely written.
    const int64_t until_ms = store::floorToBucket(now_ms - kProfileRollupLagMs, bucket_ms);
    auto rollups = store.rollups(system.system, metric, store::RollupResolution::kHour,
                                 until_ms - engine::kProfileMaxDays * engine::kDayMs, until_ms);
    if (!rollups) {
      spdlog::warn("seasonal profile of {}: reading hourly rollups failed: {}", system.system,
                   rollups.error().message);
      continue;
    }
    std::vector<engine::CoarseBucket> buckets;
    buckets.reserve(rollups.value().size());
    for (const store::RollupBucket& b : rollups.value()) {
      if (b.count > 0 && b.start_ms + bucket_ms <= until_ms)
        buckets.push_back({b.start_ms, b.mean});
    }
    auto profile = engine::SeasonalProfile::fit(buckets, bucket_ms);
    if (!profile) {
      // No daily shape in the hours now (a marginal shape, an absurd hour):
      // the engine keeps the harmonics it holds, but their detail is still
      // fitted again on schedule, so an event that stopped leaves it.
      if (!detail_due) continue;
      profile = engine.seasonalProfile(system.system);
      if (!profile) continue;
    } else if (!detail_due) {
      // A detail fitted for the other form (the harmonics' refit switched
      // between additive and multiplicative) is fitted again now.
      const auto held = engine.seasonalProfile(system.system);
      detail_due = !held || !profile->copyDetailFrom(*held);
    }
    if (detail_due) {
      // The detail the hourly harmonics blur (a twenty-minute nightly job),
      // from the last week's minute rollups as 5-minute means.
      const int64_t fine_until_ms =
          store::floorToBucket(now_ms - kProfileRollupLagMs, engine::kDetailBucketMs);
      auto minutes =
          store.rollups(system.system, metric, store::RollupResolution::kMinute,
                        fine_until_ms - engine::kDetailMaxDays * engine::kDayMs, fine_until_ms);
      if (minutes) {
        profile->fitDailyDetail(fiveMinuteMeans(minutes.value(), fine_until_ms),
                                engine::kDetailBucketMs);
        entry.detail_at_ms = now_ms;
      } else {
        spdlog::warn("seasonal profile of {}: reading minute rollups failed: {}", system.system,
                     minutes.error().message);
      }
    }
    spdlog::debug("seasonal profile of {}: {} from {} hours", system.system, profile->describe(),
                  buckets.size());
    engine.setSeasonalProfile(system.system, std::move(profile));
  }
}

}  // namespace pso::controller::cycle
