#include "controller/store/series_id_cache.h"

#include <gtest/gtest.h>

namespace pso::controller::store {
namespace {

using protocol::SeriesKey;

TEST(SeriesIdCache, FindsEachKeysOwnIdWhateverTheOrderOfAsking) {
  SeriesIdCache cache;
  cache.insert({"web", "demand"}, 1);
  cache.insert({"web", "replicas"}, 2);
  cache.insert({"@edge-1", "host.cpu"}, 3);
  cache.insert({"api", "demand"}, 4);
  // The system asked last is remembered: asking across systems and back
  // must not answer with the remembered system's metrics.
  EXPECT_EQ(cache.find({"web", "demand"}), 1);
  EXPECT_EQ(cache.find({"api", "demand"}), 4);
  EXPECT_EQ(cache.find({"web", "replicas"}), 2);
  EXPECT_EQ(cache.find({"@edge-1", "host.cpu"}), 3);
  EXPECT_EQ(cache.find({"web", "host.cpu"}), std::nullopt);
  EXPECT_EQ(cache.find({"api", "replicas"}), std::nullopt);
  EXPECT_EQ(cache.find({"db", "demand"}), std::nullopt);
  EXPECT_EQ(cache.find({"", "demand"}), std::nullopt);
  EXPECT_EQ(cache.size(), 4u);

  cache.insert({"web", "demand"}, 9);
  EXPECT_EQ(cache.find({"web", "demand"}), 9);
  EXPECT_EQ(cache.size(), 4u);
}

TEST(SeriesIdCache, AnErasedKeyIsGoneAndTheRestStay) {
  SeriesIdCache cache;
  cache.insert({"web", "demand"}, 1);
  cache.insert({"web", "replicas"}, 2);
  cache.insert({"api", "demand"}, 3);
  ASSERT_EQ(cache.find({"api", "demand"}), 3);  // api is remembered
  cache.erase({"api", "demand"});               // its last metric: api goes
  EXPECT_EQ(cache.find({"api", "demand"}), std::nullopt);
  EXPECT_EQ(cache.find({"web", "demand"}), 1);
  cache.erase({"web", "demand"});
  EXPECT_EQ(cache.find({"web", "demand"}), std::nullopt);
  EXPECT_EQ(cache.find({"web", "replicas"}), 2);
  cache.erase({"web", "nothing"});
  cache.erase({"nothing", "demand"});
  EXPECT_EQ(cache.size(), 1u);
  // A system whose entry went while it was remembered comes back fresh.
  cache.insert({"api", "replicas"}, 5);
  EXPECT_EQ(cache.find({"api", "replicas"}), 5);
  EXPECT_EQ(cache.find({"api", "demand"}), std::nullopt);
  EXPECT_EQ(cache.size(), 2u);
}

TEST(SeriesIdCache, HoldsTenThousandSystemsOfTenMetrics) {
  SeriesIdCache cache;
  const char* metrics[] = {"demand", "replicas", "cpu.usage", "memory.current", "latency_ms"};
  int64_t id = 0;
  for (int s = 0; s < 10000; ++s) {
    for (const char* m : metrics) cache.insert({"sys-" + std::to_string(s), m}, ++id);
  }
  EXPECT_EQ(cache.size(), 50000u);
  id = 0;
  for (int s = 0; s < 10000; ++s) {
    for (const char* m : metrics) {
      ASSERT_EQ(cache.find({"sys-" + std::to_string(s), m}), ++id) << s << " " << m;
    }
  }
}

}  // namespace
}  // namespace pso::controller::store
