// Keeps the fuzz seed corpus (tests/fuzz/corpus/protocol) valid: every file
// must decode, and re-encode to the same bytes, with the current codec.

#include <gtest/gtest.h>

#include "protocol/codec.h"
#include "tests/support/fuzz_corpus.h"

namespace pso::protocol {
namespace {

TEST(ProtocolCorpus, EverySeedFrameDecodesAndReencodesIdentically) {
  const auto seeds = pso::testing::readFuzzCorpus(PSO_SOURCE_DIR, "protocol");
  ASSERT_TRUE(seeds.has_value()) << "no tests/fuzz/corpus/protocol";
  for (const auto& seed : *seeds) {
    auto decoded = decode(seed.bytes);
    ASSERT_TRUE(decoded.ok()) << seed.name << ": " << decoded.error().message;
    EXPECT_EQ(encode(*decoded), seed.bytes) << seed.name;
  }
  // One seed per message type at least.
  EXPECT_GE(seeds->size(), 8u);
}

}  // namespace
}  // namespace pso::protocol
