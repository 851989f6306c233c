#pragma once

// The controller's seasonal profiles: each system's daily and weekly demand
// shape, fitted from the store's hourly rollups and handed to the decision
// engine (engine/seasonal_profile.h), so a controller cycling every 15 s
// forecasts with the seasons its rollups hold.

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "controller/engine/decision_engine.h"
#include "controller/store/telemetry_store.h"

namespace pso::controller::cycle {

/// The controller's rollup pass writes a bucket once it ended this long ago:
/// agents send their samples in batches a little after taking them. Later
/// samples still reach the rollups (the store recomputes their buckets), at
/// some extra cost.
inline constexpr int64_t kRollupDelayMs = 2LL * 60 * 1000;

/// A profile reads the hours that ended this long before the cycle: the
/// rollup delay, plus the cycle whose upkeep (after its decisions) writes
/// them, at the steps that need a profile (under about a minute). A live
/// cycle therefore reads the same hours whenever its upkeep keeps up, and a
/// replay, whose store holds every rollup from the start, reads the same
/// hours as the controller would have.
inline constexpr int64_t kProfileRollupLagMs = kRollupDelayMs + 2LL * 60 * 1000;

/// Refits systems' profiles at most once per kProfileRefitMs each.
class SeasonalProfiles {
 public:
  /// For each of `systems` whose profile is due (never fitted, fitted
  /// kProfileRefitMs or more before now_ms, or fitted for another model:
  /// engine::DecisionEngine::modelEpoch() changed), when the engine's step is too
  /// fine for its season detection (engine::profileNeeded()): reads the
  /// `metric` hourly rollups of the kProfileMaxDays of hours completed by
  /// now_ms - kProfileRollupLagMs,
  /// fits the profile, adds its daily detail from the engine::kDetailMaxDays
  /// of minute rollups before the same mark (as 5-minute means,
  /// SeasonalProfile::fitDailyDetail; at most every engine::kDetailRefitMs
  /// per system, the refits between keeping the detail the engine's profile
  /// has, unless that profile is of the other form, additive or
  /// multiplicative, when the detail is fitted again) and gives it to the
  /// engine. A system without enough history or without a daily shape
  /// keeps the harmonics it had, their detail still fitted again when due
  /// (an event that stopped leaves it); a failed read is logged and retried
  /// at the next refit. At most twice the even share of systems per cycle
  /// (systems x cycle / refit period) are fitted in one call, the rest in
  /// the next cycles.
  void refresh(store::TelemetryStore& store, engine::DecisionEngine& engine,
               const std::vector<engine::SystemObservation>& systems, const std::string& metric,
               int64_t now_ms);

 private:
  struct Fitted {
    int64_t at_ms = 0;
    uint64_t epoch = 0;                   ///< the model it was given to
    std::optional<int64_t> detail_at_ms;  ///< when the detail was last fitted
  };
  std::map<std::string, Fitted> fitted_;
};

}  // namespace pso::controller::cycle
