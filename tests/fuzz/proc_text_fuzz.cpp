// libFuzzer harness: see checkProcText() in agent_fuzz_targets.h for what is
// fed and what must hold. Run: proc_text_fuzz <repo>/tests/fuzz/corpus/proc_text

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "tests/fuzz/agent_fuzz_targets.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (!pso::agent::fuzz::checkProcText(
          std::string_view(reinterpret_cast<const char*>(data), size))) {
    __builtin_trap();
  }
  return 0;
}
