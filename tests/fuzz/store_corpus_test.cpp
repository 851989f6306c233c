// Runs every seed of the store's fuzz corpora (tests/fuzz/corpus/sample_chunk,
// sample_log, record_block)
// through the same check as the libFuzzer harness, so every build exercises
// it without libFuzzer.

#include <gtest/gtest.h>

#include "tests/fuzz/store_fuzz_targets.h"
#include "tests/support/fuzz_corpus.h"

namespace pso::controller::store::fuzz {
namespace {

TEST(StoreFuzzCorpus, EverySampleChunkSeedKeepsTheDecoderContract) {
  const auto seeds = pso::testing::readFuzzCorpus(PSO_SOURCE_DIR, "sample_chunk");
  ASSERT_TRUE(seeds.has_value()) << "no tests/fuzz/corpus/sample_chunk";
  for (const auto& seed : *seeds) EXPECT_TRUE(checkSampleChunk(seed.bytes)) << seed.name;
  EXPECT_GE(seeds->size(), 10u);
}

TEST(StoreFuzzCorpus, EverySampleLogSeedKeepsTheDecoderContract) {
  const auto seeds = pso::testing::readFuzzCorpus(PSO_SOURCE_DIR, "sample_log");
  ASSERT_TRUE(seeds.has_value()) << "no tests/fuzz/corpus/sample_log";
  for (const auto& seed : *seeds) EXPECT_TRUE(checkSampleLog(seed.bytes)) << seed.name;
  EXPECT_GE(seeds->size(), 8u);
}

TEST(StoreFuzzCorpus, EveryRecordBlockSeedKeepsTheDecoderContract) {
  const auto seeds = pso::testing::readFuzzCorpus(PSO_SOURCE_DIR, "record_block");
  ASSERT_TRUE(seeds.has_value()) << "no tests/fuzz/corpus/record_block";
  for (const auto& seed : *seeds) EXPECT_TRUE(checkRecordBlock(seed.bytes)) << seed.name;
  EXPECT_GE(seeds->size(), 10u);
}

}  // namespace
}  // namespace pso::controller::store::fuzz
