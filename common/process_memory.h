#pragma once

#include <cstdint>

namespace pso::common {

/// The resident memory of this process, in bytes (/proc/self/statm); -1 when
/// it cannot be read.
int64_t residentBytes();

/// What one releaseFreeHeap() call gave back.
struct HeapRelease {
  int64_t resident_before = -1;  ///< bytes, before the call
  int64_t resident_after = -1;   ///< bytes, after it
  int64_t duration_us = 0;       ///< how long the call took

  /// Bytes the kernel took back (0 when nothing was, or RSS was unreadable).
  int64_t released() const {
    return resident_before > resident_after && resident_after >= 0
               ? resident_before - resident_after
               : 0;
  }
};

/// Hands the heap's free pages back to the kernel: glibc's malloc_trim(0),
/// which walks every arena's free chunks and discards the whole pages inside
/// them, not only the free space at the top of each heap.
///
/// Why a process calls it: glibc returns freed memory to the kernel only from
/// the top of a heap. A burst of small allocations freed out of order (a
/// backlog of ZeroMQ messages that waited while the store was slow, decoded
/// and freed by another thread) leaves the pages resident for good, so a
/// long-running controller's RSS ratchets up with every burst it ever had.
/// The call locks each arena in turn while it walks it, so threads that
/// allocate meanwhile wait: call it from a background thread, not often
/// (once a minute is plenty). Under a sanitizer's allocator it releases
/// nothing.
HeapRelease releaseFreeHeap();

}  // namespace pso::common
