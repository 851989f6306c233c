#include "controller/store/series_id_cache.h"

#include <algorithm>

namespace pso::controller::store {
namespace {

// The entry of `metric` among a system's metrics, or end().
template <typename Metrics>
auto entryOf(Metrics& metrics, const std::string& metric) {
  return std::find_if(metrics.begin(), metrics.end(),
                      [&](const auto& entry) { return entry.first == metric; });
}

}  // namespace

SeriesIdCache::Metrics* SeriesIdCache::metricsOf(const std::string& system) {
  if (last_system_ != nullptr && *last_system_ == system) return last_metrics_;
  auto it = by_system_.find(system);
  if (it == by_system_.end()) return nullptr;
  last_system_ = &it->first;
  last_metrics_ = &it->second;
  return last_metrics_;
}

std::optional<int64_t> SeriesIdCache::find(const protocol::SeriesKey& key) {
  const Metrics* metrics = metricsOf(key.system);
  if (metrics == nullptr) return std::nullopt;
  const auto entry = entryOf(*metrics, key.metric);
  if (entry == metrics->end()) return std::nullopt;
  return entry->second;
}

void SeriesIdCache::insert(const protocol::SeriesKey& key, int64_t id) {
  Metrics* metrics = metricsOf(key.system);
  if (metrics == nullptr) {
    auto [it, added] = by_system_.try_emplace(key.system);
    last_system_ = &it->first;
    last_metrics_ = &it->second;
    metrics = last_metrics_;
  }
  if (auto entry = entryOf(*metrics, key.metric); entry != metrics->end()) {
    entry->second = id;
    return;
  }
  metrics->emplace_back(key.metric, id);
  ++size_;
}

void SeriesIdCache::erase(const protocol::SeriesKey& key) {
  auto it = by_system_.find(key.system);
  if (it == by_system_.end()) return;
  Metrics& metrics = it->second;
  const auto found = entryOf(metrics, key.metric);
  if (found == metrics.end()) return;
  metrics.erase(found);
  --size_;
  if (metrics.empty()) {
    if (last_metrics_ == &metrics) {
      last_system_ = nullptr;
      last_metrics_ = nullptr;
    }
    by_system_.erase(it);
  }
}

}  // namespace pso::controller::store
