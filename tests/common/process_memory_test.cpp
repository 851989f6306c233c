#include "common/process_memory.h"

#include <gtest/gtest.h>

#include <cstring>
#include <vector>

namespace pso::common {
namespace {

TEST(ProcessMemory, ResidentBytesSeesMemoryTouched) {
  const int64_t before = residentBytes();
  ASSERT_GT(before, 0);
  std::vector<char> block(64 << 20);
  std::memset(block.data(), 1, block.size());
  EXPECT_GE(residentBytes() - before, int64_t{48} << 20);
}

}  // namespace
}  // namespace pso::common
