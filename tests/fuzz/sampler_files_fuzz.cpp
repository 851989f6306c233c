// libFuzzer harness: see checkSamplerFiles() in agent_fuzz_targets.h for what is
// fed and what must hold. Run: sampler_files_fuzz <repo>/tests/fuzz/corpus/sampler_files

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "tests/fuzz/agent_fuzz_targets.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (!pso::agent::fuzz::checkSamplerFiles(
          std::string_view(reinterpret_cast<const char*>(data), size))) {
    __builtin_trap();
  }
  return 0;
}
