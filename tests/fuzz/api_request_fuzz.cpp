// libFuzzer harness: see checkApiRequest() in api_fuzz_targets.h for what is
// fed and what must hold. Run: api_request_fuzz <repo>/tests/fuzz/corpus/api_request

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "tests/fuzz/api_fuzz_targets.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (!pso::controller::fuzz::checkApiRequest(
          std::string_view(reinterpret_cast<const char*>(data), size))) {
    __builtin_trap();
  }
  return 0;
}
