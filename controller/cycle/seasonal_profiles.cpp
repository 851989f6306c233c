#include "controller/cycle/seasonal_profiles.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cmath>

#include "controller/engine/seasonal_profile.h"

namespace pso::controller::cycle {

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
    fitted_[system.system] = Fitted{now_ms, epoch};
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
    if (!profile) continue;
    spdlog::debug("seasonal profile of {}: {} from {} hours", system.system, profile->describe(),
                  buckets.size());
    engine.setSeasonalProfile(system.system, std::move(profile));
  }
}

}  // namespace pso::controller::cycle
