// libFuzzer harness: see checkBadge() in cli_fuzz_targets.h for what is fed
// and what must hold. Run: badge_verify_fuzz <repo>/tests/fuzz/corpus/badge

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "tests/fuzz/cli_fuzz_targets.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (!pso::cli::fuzz::checkBadge(std::string_view(reinterpret_cast<const char*>(data), size))) {
    __builtin_trap();
  }
  return 0;
}
