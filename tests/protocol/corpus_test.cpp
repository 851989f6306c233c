// Keeps the fuzz seed corpus (tests/fuzz/corpus/protocol) valid: every file
// must decode, and re-encode to the same bytes, with the current codec.

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "protocol/codec.h"

namespace pso::protocol {
namespace {

TEST(ProtocolCorpus, EverySeedFrameDecodesAndReencodesIdentically) {
  const std::filesystem::path dir =
      std::filesystem::path(PSO_SOURCE_DIR) / "tests" / "fuzz" / "corpus" / "protocol";
  ASSERT_TRUE(std::filesystem::is_directory(dir)) << dir;
  int files = 0;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    if (!entry.is_regular_file()) continue;
    std::ifstream in(entry.path(), std::ios::binary);
    std::ostringstream bytes;
    bytes << in.rdbuf();
    auto decoded = decode(bytes.str());
    ASSERT_TRUE(decoded.ok()) << entry.path().filename() << ": " << decoded.error().message;
    EXPECT_EQ(encode(*decoded), bytes.str()) << entry.path().filename();
    ++files;
  }
  // One seed per message type at least.
  EXPECT_GE(files, 8);
}

}  // namespace
}  // namespace pso::protocol
