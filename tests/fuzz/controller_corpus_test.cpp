// Runs every seed of the controller's fuzz corpora (tests/fuzz/corpus/
// alert_condition and controller_config) through the same checks as the
// libFuzzer harnesses, so every build exercises them without libFuzzer.

#include <gtest/gtest.h>

#include "tests/fuzz/controller_fuzz_targets.h"
#include "tests/support/fuzz_corpus.h"

namespace pso::controller::fuzz {
namespace {

TEST(ControllerFuzzCorpus, EveryAlertConditionSeedKeepsTheParserContract) {
  const auto seeds = pso::testing::readFuzzCorpus(PSO_SOURCE_DIR, "alert_condition");
  ASSERT_TRUE(seeds.has_value()) << "no tests/fuzz/corpus/alert_condition";
  for (const auto& seed : *seeds) EXPECT_TRUE(checkAlertCondition(seed.bytes)) << seed.name;
  EXPECT_GE(seeds->size(), 10u);
}

TEST(ControllerFuzzCorpus, EveryControllerConfigSeedKeepsTheReaderContract) {
  const auto seeds = pso::testing::readFuzzCorpus(PSO_SOURCE_DIR, "controller_config");
  ASSERT_TRUE(seeds.has_value()) << "no tests/fuzz/corpus/controller_config";
  for (const auto& seed : *seeds) EXPECT_TRUE(checkControllerConfig(seed.bytes)) << seed.name;
  EXPECT_GE(seeds->size(), 10u);
}

}  // namespace
}  // namespace pso::controller::fuzz
