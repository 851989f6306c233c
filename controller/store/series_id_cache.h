#pragma once

// The series ids a store connection has looked up or created, by (system,
// metric). Ingest asks for every series of every batch: ten a batch at one
// batch an agent a second, 100,000 lookups a second at 10,000 agents. One
// hash map of every (system, metric) key missed the processor's caches about
// twice a lookup (18% of the telemetry writer's time in a profile at 10,000
// agents, docs/scale.md "Ingest"); here a system's metrics are one small
// vector, and the system asked last is remembered, so a batch's series of
// one system cost one map lookup between them. Pure code: the standard
// library and protocol's SeriesKey only. Not thread-safe (the store's mutex
// guards it).

#include <cstdint>
#include <optional>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "protocol/messages.h"

namespace pso::controller::store {

class SeriesIdCache {
 public:
  /// The id cached for `key`, if any.
  std::optional<int64_t> find(const protocol::SeriesKey& key);
  /// Caches `id` for `key` (replacing an id cached before).
  void insert(const protocol::SeriesKey& key, int64_t id);
  /// Forgets `key` (a series created in a transaction that rolled back).
  void erase(const protocol::SeriesKey& key);
  /// Keys cached.
  std::size_t size() const { return size_; }

 private:
  using Metrics = std::vector<std::pair<std::string, int64_t>>;
  /// The metrics of `system`, or nullptr; remembers the answer.
  Metrics* metricsOf(const std::string& system);

  std::unordered_map<std::string, Metrics> by_system_;
  /// The system metricsOf() found last and its metrics (node-based map:
  /// both stay valid until that system's entry is erased).
  const std::string* last_system_ = nullptr;
  Metrics* last_metrics_ = nullptr;
  std::size_t size_ = 0;
};

}  // namespace pso::controller::store
