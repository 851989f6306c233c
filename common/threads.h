#pragma once

#include <string_view>

namespace pso::common {

/// Names the calling thread (at most 15 bytes are kept, the kernel's limit),
/// so `top -H`, `ps -L`, gdb and perf show what each thread of a process is.
void nameThisThread(std::string_view name);

/// Lowers the calling thread's CPU priority to the nice value `nice` (0 to
/// 19; only this thread, not the process), or leaves it where it is already
/// as low. Background work (rollups, retention, compaction) then yields the
/// cores to ingest and the decision cycle when they are busy, and still runs
/// at full speed when they are not. Lowering a priority needs no privilege;
/// false when the kernel refused (the thread keeps its priority).
bool lowerThisThreadsPriority(int nice);

}  // namespace pso::common
