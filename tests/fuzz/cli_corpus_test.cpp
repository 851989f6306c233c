// Runs every seed of psoctl's fuzz corpora (tests/fuzz/corpus/prometheus_range)
// through the same checks as the libFuzzer harnesses, so every build
// exercises them without libFuzzer.

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "tests/fuzz/cli_fuzz_targets.h"

namespace pso::cli::fuzz {
namespace {

TEST(CliFuzzCorpus, EveryPrometheusRangeSeedKeepsTheParserContract) {
  const std::filesystem::path dir =
      std::filesystem::path(PSO_SOURCE_DIR) / "tests" / "fuzz" / "corpus" / "prometheus_range";
  ASSERT_TRUE(std::filesystem::is_directory(dir)) << dir;
  int files = 0;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    if (!entry.is_regular_file()) continue;
    std::ifstream in(entry.path(), std::ios::binary);
    std::ostringstream bytes;
    bytes << in.rdbuf();
    EXPECT_TRUE(checkPrometheusRangeAnswer(bytes.str())) << entry.path().filename();
    ++files;
  }
  EXPECT_GE(files, 10);
}

}  // namespace
}  // namespace pso::cli::fuzz
