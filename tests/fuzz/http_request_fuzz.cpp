// libFuzzer harness: see checkHttpRequest() in http_fuzz_targets.h for what is fed and
// what must hold. Run: http_request_fuzz -dict=<repo>/tests/fuzz/http_request.dict
// <repo>/tests/fuzz/corpus/http_request

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "tests/fuzz/http_fuzz_targets.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (!pso::agent::fuzz::checkHttpRequest(
          std::string_view(reinterpret_cast<const char*>(data), size))) {
    __builtin_trap();
  }
  return 0;
}
