// libFuzzer harness: see checkAssignmentFile() in cli_fuzz_targets.h for what
// is fed and what must hold. Run: assignment_file_fuzz <repo>/tests/fuzz/corpus/assignment_file

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "tests/fuzz/cli_fuzz_targets.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (!pso::cli::fuzz::checkAssignmentFile(
          std::string_view(reinterpret_cast<const char*>(data), size))) {
    __builtin_trap();
  }
  return 0;
}
