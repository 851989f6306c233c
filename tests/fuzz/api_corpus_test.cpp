// Runs every seed of tests/fuzz/corpus/api_request through the check of the
// libFuzzer harness, so every build exercises it without libFuzzer.

#include <gtest/gtest.h>

#include "tests/fuzz/api_fuzz_targets.h"
#include "tests/support/fuzz_corpus.h"

namespace pso::controller::fuzz {
namespace {

TEST(ApiFuzzCorpus, EveryRequestTargetSeedKeepsTheRouterContract) {
  const auto seeds = pso::testing::readFuzzCorpus(PSO_SOURCE_DIR, "api_request");
  ASSERT_TRUE(seeds.has_value()) << "no tests/fuzz/corpus/api_request";
  for (const auto& seed : *seeds) EXPECT_TRUE(checkApiRequest(seed.bytes)) << seed.name;
  EXPECT_GE(seeds->size(), 10u);
}

// The check fails on what it must catch: an answer outside the contract.
TEST(ApiFuzzCorpus, TheCheckHoldsForGoodTargetsAndRefusals) {
  EXPECT_TRUE(checkApiRequest("/metrics"));
  EXPECT_TRUE(checkApiRequest("/metrics?name=pso_cycles_total,pso_cycle_duration_seconds"));
  EXPECT_TRUE(checkApiRequest("/metrics?name=a%7Bb"));
  EXPECT_TRUE(checkApiRequest("/q/web?limit=0"));
  EXPECT_TRUE(checkApiRequest("/q/web?since=10m&until=yesterday"));
  EXPECT_TRUE(checkApiRequest("/nowhere"));
  EXPECT_TRUE(checkApiRequest("no-slash"));
  EXPECT_TRUE(checkApiRequest(std::string_view("/q/%00?ratio=1e400", 18)));
}

}  // namespace
}  // namespace pso::controller::fuzz
