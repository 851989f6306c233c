// Runs every seed of psoctl's fuzz corpora (tests/fuzz/corpus/prometheus_range,
// tests/fuzz/corpus/runbook, tests/fuzz/corpus/assignment_file,
// tests/fuzz/corpus/badge)
// through the same checks as the libFuzzer harnesses, so every build
// exercises them without libFuzzer.

#include <gtest/gtest.h>

#include "controller/scenarios/badge.h"
#include "tests/fuzz/cli_fuzz_targets.h"
#include "tests/support/fuzz_corpus.h"

namespace pso::cli::fuzz {
namespace {

TEST(CliFuzzCorpus, EveryPrometheusRangeSeedKeepsTheParserContract) {
  const auto seeds = pso::testing::readFuzzCorpus(PSO_SOURCE_DIR, "prometheus_range");
  ASSERT_TRUE(seeds.has_value()) << "no tests/fuzz/corpus/prometheus_range";
  for (const auto& seed : *seeds) {
    EXPECT_TRUE(checkPrometheusRangeAnswer(seed.bytes)) << seed.name;
  }
  EXPECT_GE(seeds->size(), 10u);
}

TEST(CliFuzzCorpus, EveryRunbookSeedKeepsTheParserContract) {
  const auto seeds = pso::testing::readFuzzCorpus(PSO_SOURCE_DIR, "runbook");
  ASSERT_TRUE(seeds.has_value()) << "no tests/fuzz/corpus/runbook";
  for (const auto& seed : *seeds) {
    EXPECT_TRUE(checkRunbook(seed.bytes)) << seed.name;
  }
  EXPECT_GE(seeds->size(), 10u);
}

TEST(CliFuzzCorpus, EveryAssignmentFileSeedKeepsTheParserContract) {
  const auto seeds = pso::testing::readFuzzCorpus(PSO_SOURCE_DIR, "assignment_file");
  ASSERT_TRUE(seeds.has_value()) << "no tests/fuzz/corpus/assignment_file";
  for (const auto& seed : *seeds) {
    EXPECT_TRUE(checkAssignmentFile(seed.bytes)) << seed.name;
  }
  EXPECT_GE(seeds->size(), 10u);
}

TEST(CliFuzzCorpus, EveryBadgeSeedKeepsTheVerifierContract) {
  const auto seeds = pso::testing::readFuzzCorpus(PSO_SOURCE_DIR, "badge");
  ASSERT_TRUE(seeds.has_value()) << "no tests/fuzz/corpus/badge";
  std::size_t valid = 0;
  for (const auto& seed : *seeds) {
    EXPECT_TRUE(checkBadge(seed.bytes)) << seed.name;
    if (seed.name.rfind("valid_", 0) == 0) {
      ++valid;
      EXPECT_TRUE(controller::scenarios::verifyBadge(seed.bytes).ok()) << seed.name;
    }
  }
  EXPECT_GE(seeds->size(), 10u);
  EXPECT_GE(valid, 1u) << "the corpus needs a badge that verifies (valid_*.json)";
}

}  // namespace
}  // namespace pso::cli::fuzz
