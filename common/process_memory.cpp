#include "common/process_memory.h"

#include <malloc.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>

namespace pso::common {

int64_t residentBytes() {
  std::FILE* statm = std::fopen("/proc/self/statm", "r");
  if (statm == nullptr) return -1;
  long long size_pages = 0;
  long long resident_pages = 0;
  const int read = std::fscanf(statm, "%lld %lld", &size_pages, &resident_pages);
  std::fclose(statm);
  if (read != 2) return -1;
  return static_cast<int64_t>(resident_pages) * static_cast<int64_t>(::sysconf(_SC_PAGESIZE));
}

HeapRelease releaseFreeHeap() {
  HeapRelease release;
  release.resident_before = residentBytes();
  const auto started = std::chrono::steady_clock::now();
  ::malloc_trim(0);
  release.duration_us = std::chrono::duration_cast<std::chrono::microseconds>(
                            std::chrono::steady_clock::now() - started)
                            .count();
  release.resident_after = residentBytes();
  return release;
}

}  // namespace pso::common
