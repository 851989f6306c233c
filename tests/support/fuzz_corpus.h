#pragma once

// The seed files of one fuzz corpus (tests/fuzz/corpus/<name>), for the tests
// that replay every seed in every build, without libFuzzer.

#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

namespace pso::testing {

struct CorpusSeed {
  std::string name;   ///< the file name, for failure messages
  std::string bytes;  ///< the whole file
};

/// Every regular file of `source_dir`/tests/fuzz/corpus/`corpus`; nullopt when
/// that is not a directory.
inline std::optional<std::vector<CorpusSeed>> readFuzzCorpus(const std::string& source_dir,
                                                             const std::string& corpus) {
  const std::filesystem::path dir =
      std::filesystem::path(source_dir) / "tests" / "fuzz" / "corpus" / corpus;
  if (!std::filesystem::is_directory(dir)) return std::nullopt;
  std::vector<CorpusSeed> seeds;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    if (!entry.is_regular_file()) continue;
    std::ifstream in(entry.path(), std::ios::binary);
    std::ostringstream bytes;
    bytes << in.rdbuf();
    seeds.push_back({entry.path().filename().string(), bytes.str()});
  }
  return seeds;
}

}  // namespace pso::testing
