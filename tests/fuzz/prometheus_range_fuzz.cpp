// libFuzzer harness: see checkPrometheusRangeAnswer() in cli_fuzz_targets.h for
// what is fed and what must hold. Run: prometheus_range_fuzz
// -dict=<repo>/tests/fuzz/prometheus_range.dict <repo>/tests/fuzz/corpus/prometheus_range

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "tests/fuzz/cli_fuzz_targets.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (!pso::cli::fuzz::checkPrometheusRangeAnswer(
          std::string_view(reinterpret_cast<const char*>(data), size))) {
    __builtin_trap();
  }
  return 0;
}
