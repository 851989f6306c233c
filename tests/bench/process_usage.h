#pragma once

// What a process has used so far, read from /proc, for the benchmarks that
// run the product's binaries as real processes (pso-agent, pso-controller).

#include <sys/types.h>

#include <optional>

namespace pso::bench {

struct ProcessUsage {
  long peak_rss_kb = -1;  ///< VmHWM
  long rss_kb = -1;       ///< VmRSS
  double cpu_s = -1;      ///< user + system CPU time
};

/// VmHWM and VmRSS from /proc/<pid>/status and utime + stime from
/// /proc/<pid>/stat; nullopt when the process is gone.
std::optional<ProcessUsage> readUsage(pid_t pid);

}  // namespace pso::bench
