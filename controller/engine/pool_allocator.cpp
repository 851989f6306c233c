#include "controller/engine/pool_allocator.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "controller/engine/statistics.h"
#include "controller/engine/wording.h"

namespace pso::controller::engine {

namespace {

/// Gives `amount` to the claims in `members` in proportion to `need`, each
/// share capped at its need; the odd replicas go to the largest remainders
/// (earlier members first on ties).
void shareProportionally(int64_t amount, const std::vector<std::size_t>& members,
                         const std::vector<int64_t>& need, std::vector<int64_t>& granted) {
  const int64_t total = std::accumulate(members.begin(), members.end(), int64_t{0},
                                        [&](int64_t sum, std::size_t i) { return sum + need[i]; });
  if (total <= 0 || amount <= 0) return;
  if (amount >= total) {
    for (std::size_t i : members) granted[i] += need[i];
    return;
  }
  std::vector<std::pair<double, std::size_t>> remainders;
  int64_t given = 0;
  for (std::size_t i : members) {
    const double exact =
        static_cast<double>(amount) * static_cast<double>(need[i]) / static_cast<double>(total);
    const auto whole = std::min(need[i], static_cast<int64_t>(std::floor(exact)));
    granted[i] += whole;
    given += whole;
    remainders.emplace_back(exact - static_cast<double>(whole), i);
  }
  std::stable_sort(remainders.begin(), remainders.end(),
                   [](const auto& a, const auto& b) { return a.first > b.first; });
  for (const auto& [fraction, i] : remainders) {
    if (given >= amount) break;
    (void)fraction;
    granted[i] += 1;
    ++given;
  }
}

/// Serves `need` tier by tier from the highest priority down out of `amount`.
void serveByPriority(int64_t amount, const std::vector<PoolClaim>& claims,
                     const std::vector<int64_t>& need, std::vector<int64_t>& granted) {
  std::vector<std::size_t> order(claims.size());
  std::iota(order.begin(), order.end(), std::size_t{0});
  std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
    return claims[a].priority > claims[b].priority;
  });
  std::size_t i = 0;
  while (i < order.size() && amount > 0) {
    std::vector<std::size_t> tier;
    const int64_t priority = claims[order[i]].priority;
    int64_t tier_need = 0;
    for (; i < order.size() && claims[order[i]].priority == priority; ++i) {
      tier.push_back(order[i]);
      tier_need += need[order[i]];
    }
    shareProportionally(amount, tier, need, granted);
    amount -= std::min(amount, tier_need);
  }
}

}  // namespace

PoolDivision dividePool(int64_t capacity, const std::vector<PoolClaim>& claims) {
  PoolDivision out;
  capacity = std::max<int64_t>(0, capacity);
  const std::size_t n = claims.size();
  std::vector<int64_t> wanted(n);
  std::vector<int64_t> floor(n);
  for (std::size_t i = 0; i < n; ++i) {
    wanted[i] = std::max<int64_t>(0, claims[i].wanted);
    floor[i] = std::clamp<int64_t>(claims[i].minimum, 0, wanted[i]);
    out.wanted_total += wanted[i];
    out.minimum_total += std::max<int64_t>(0, claims[i].minimum);
  }
  out.shortage = out.wanted_total > capacity;
  out.minimums_unmet = out.minimum_total > capacity;
  if (!out.shortage) {
    out.granted = wanted;
    return out;
  }
  out.granted.assign(n, 0);
  const int64_t floors = std::accumulate(floor.begin(), floor.end(), int64_t{0});
  if (floors > capacity) {
    serveByPriority(capacity, claims, floor, out.granted);
    return out;
  }
  out.granted = floor;
  std::vector<int64_t> extra(n);
  for (std::size_t i = 0; i < n; ++i) extra[i] = wanted[i] - floor[i];
  serveByPriority(capacity - floors, claims, extra, out.granted);
  return out;
}

std::optional<Bottleneck> detectPoolShortage(int64_t capacity,
                                             const std::vector<PoolMemberForecast>& members,
                                             int64_t now_ms, double step_s) {
  std::size_t steps = 0;
  for (const PoolMemberForecast& m : members) {
    if (m.forecast != nullptr) steps = std::max(steps, m.forecast->hi.size());
  }
  for (std::size_t h = 0; h < steps; ++h) {
    int64_t needed = 0;
    double mean = 0.0;
    double sigma = 0.0;
    for (const PoolMemberForecast& m : members) {
      const Forecast* f = m.forecast;
      const int64_t upper = std::max(m.minimum, m.maximum);
      if (f == nullptr || h >= f->hi.size() || h >= f->lo.size() || !(m.per_replica > 0.0)) {
        // Without a forecast the member is counted at its minimum.
        needed += m.minimum;
        mean += static_cast<double>(m.minimum);
        continue;
      }
      needed += std::clamp(ceilCount(f->hi[h] / m.per_replica), m.minimum, upper);
      const double z = centralZ(f->coverage);
      mean += (f->lo[h] + f->hi[h]) / 2.0 / m.per_replica;
      if (z > 0.0) sigma += (f->hi[h] - f->lo[h]) / (2.0 * z) / m.per_replica;
    }
    if (needed <= capacity) continue;
    Bottleneck b;
    b.kind = "pool";
    b.steps_ahead = static_cast<int64_t>(h) + 1;
    b.eta_ms = now_ms + static_cast<int64_t>(
                            std::llround(static_cast<double>(b.steps_ahead) * step_s * 1000.0));
    b.predicted_demand = static_cast<double>(needed);
    b.capacity = static_cast<double>(capacity);
    b.probability = exceedanceProbability(mean, sigma, static_cast<double>(capacity));
    return b;
  }
  return std::nullopt;
}

}  // namespace pso::controller::engine
