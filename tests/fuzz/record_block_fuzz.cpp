// libFuzzer harness: see checkRecordBlock() in store_fuzz_targets.h for what
// is fed and what must hold. Run: record_block_fuzz
// <repo>/tests/fuzz/corpus/record_block

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "tests/fuzz/store_fuzz_targets.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (!pso::controller::store::fuzz::checkRecordBlock(
          std::string_view(reinterpret_cast<const char*>(data), size))) {
    __builtin_trap();
  }
  return 0;
}
