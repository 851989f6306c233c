// libFuzzer harness: see checkEngineState() in controller_fuzz_targets.h
// for what is fed and what must hold. Run: engine_state_fuzz
// <repo>/tests/fuzz/corpus/engine_state

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "tests/fuzz/controller_fuzz_targets.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (!pso::controller::fuzz::checkEngineState(
          std::string_view(reinterpret_cast<const char*>(data), size))) {
    __builtin_trap();
  }
  return 0;
}
