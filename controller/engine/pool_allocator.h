#pragma once

// Shared capacity across systems: dividing a pool of replicas by priority and
// forecast need when the systems in it want more than it holds, and spotting
// a predicted pool shortage ahead of time.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "controller/engine/types.h"

namespace pso::controller::engine {

/// One system's claim on a pool in one cycle.
struct PoolClaim {
  int64_t priority = 0;  ///< higher is served first
  int64_t minimum =
      0;  ///< the system's min_replicas: not cut below unless the pool cannot hold the minimums
  int64_t wanted = 0;  ///< what its own plan asks for
};

/// How a pool was divided among its claims (same order).
struct PoolDivision {
  std::vector<int64_t> granted;
  int64_t wanted_total = 0;
  int64_t minimum_total = 0;
  bool shortage = false;        ///< the claims wanted more than the capacity
  bool minimums_unmet = false;  ///< even the minimums do not fit: an alert
};

/// Divides `capacity` replicas. When everything wanted fits, each claim gets
/// what it wanted. Otherwise every claim first gets its minimum (capped at
/// what it wants); the rest goes tier by tier from the highest priority
/// down: a tier whose extra needs fit gets them in full, the first tier that
/// does not fit shares what is left in proportion to each claim's extra need
/// (largest remainders for the odd replicas, earlier claims first on ties),
/// and lower tiers get no more than their minimum. When even the minimums do
/// not fit (minimums_unmet), the minimums themselves are divided the same way
/// by priority. Deterministic; never grants more than a claim wanted, never
/// more than the capacity in total.
PoolDivision dividePool(int64_t capacity, const std::vector<PoolClaim>& claims);

/// What one system of a pool is forecast to need, for shortage detection.
struct PoolMemberForecast {
  const Forecast* forecast = nullptr;  ///< the system's reported forecast
  double per_replica = 0.0;            ///< capacity per replica x target utilisation
  int64_t minimum = 0;
  int64_t maximum = 0;
};

/// The earliest step of the members' forecasts at which the replicas they
/// need at the upper bound (each ceil(hi / per_replica), clamped to its
/// bounds, summed) exceed the pool's `capacity`: a Bottleneck of kind "pool"
/// whose predicted_demand and capacity are in replicas, with an ETA. Its
/// probability treats the members' forecast errors as moving together (the
/// cautious case): the chance that the summed need at that step, normal with
/// the summed means and spreads, exceeds the capacity. nullopt when no step
/// breaches.
std::optional<Bottleneck> detectPoolShortage(int64_t capacity,
                                             const std::vector<PoolMemberForecast>& members,
                                             int64_t now_ms, double step_s);

}  // namespace pso::controller::engine
