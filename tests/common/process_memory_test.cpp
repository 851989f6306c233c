#include "common/process_memory.h"

#include <gtest/gtest.h>

#include <cstring>
#include <thread>
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

TEST(ProcessMemory, FreedPagesPinnedBySurvivorsAreHandedBackByARelease) {
#if defined(__SANITIZE_ADDRESS__)
  GTEST_SKIP() << "the sanitizer's allocator keeps its own free lists; malloc_trim is glibc's";
#endif
  // What the controller sees after a backlog: another thread allocated many
  // small blocks (its own arena), then nearly all were freed out of order. A
  // survivor every 64 KiB keeps each heap from shrinking at its top, so the
  // free pages stay resident until the release.
  constexpr std::size_t kBlock = 2048;
  constexpr std::size_t kBlocks = (std::size_t{192} << 20) / kBlock;
  std::vector<char*> blocks(kBlocks, nullptr);
  std::thread allocator([&] {
    for (char*& b : blocks) {
      b = new char[kBlock];
      std::memset(b, 7, kBlock);
    }
  });
  allocator.join();
  for (std::size_t i = 0; i < kBlocks; ++i) {
    if (i % 32 == 31) continue;
    delete[] blocks[i];
    blocks[i] = nullptr;
  }
  const HeapRelease release = releaseFreeHeap();
  for (char* b : blocks) delete[] b;
  ASSERT_GT(release.resident_before, 0);
  // 31 blocks of 32 freed: about 186 MiB, of which the whole pages between
  // survivors (60 KiB of each 64 KiB) go back.
  EXPECT_GE(release.released(), int64_t{128} << 20)
      << "before " << release.resident_before << " after " << release.resident_after;
  EXPECT_GE(release.duration_us, 0);
}

}  // namespace
}  // namespace pso::common
