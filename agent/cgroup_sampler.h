#pragma once

// Per-system cgroup v2 statistics.

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "agent/sampler.h"
#include "common/metrics.h"

namespace pso::agent {

/// Samples one system's cgroup v2 directory (normally
/// /sys/fs/cgroup/<system's cgroup>; tests pass a fixture tree). Series, all
/// under the system's name:
///   cpu.usage, cpu.user, cpu.system   CPU cores used between two samples
///                                     (cpu.stat usage_usec/user_usec/system_usec)
///   cpu.throttled_ratio               share of enforcement periods throttled
///                                     between two samples (cpu.stat)
///   cpu.limit                         cores allowed by cpu.max; absent when "max"
///   memory.current                    bytes (memory.current)
///   memory.max                        bytes (memory.max); absent when "max"
///   memory.oom_kills                  OOM kills since the previous sample
///                                     (memory.events oom_kill)
///   io.read_bytes_per_s, io.write_bytes_per_s  summed over devices (io.stat)
///   psi.cpu.some, psi.cpu.full, psi.memory.some, psi.memory.full,
///   psi.io.some, psi.io.full          pressure stall avg10, percent (*.pressure)
/// Rates and deltas need two samples, so the first call emits none of them; a
/// counter that goes backwards skips one. cpu.stat must exist (its absence
/// means the cgroup is gone: an error); the files of a controller that is not
/// enabled for the cgroup (cpu.max, memory.*, io.stat, *.pressure) are skipped
/// silently. A malformed file is reported with its path and line, counted in
/// pso_agent_sampler_errors_total{sampler="cgroup",file=...}, and the other
/// files are still sampled. Buffers are reused across samples.
class CgroupSampler final : public Sampler {
 public:
  CgroupSampler(std::string system, std::string directory,
                common::MetricsRegistry* metrics = nullptr);

  const std::string& name() const override { return name_; }
  [[nodiscard]] Status sample(int64_t now_ms, std::vector<SamplePoint>& out) override;

  /// The value `metric` had at the last sample that produced it.
  std::optional<double> latest(std::string_view metric) const;
  static bool isKnownMetric(std::string_view metric);
  static std::string knownMetricList();

  const std::string& system() const { return system_; }
  const std::string& directory() const { return directory_; }
  uint64_t errorCount() const { return error_count_; }

 private:
  enum Metric : std::size_t {
    kCpuUsage,
    kCpuUser,
    kCpuSystem,
    kCpuThrottledRatio,
    kCpuLimit,
    kMemoryCurrent,
    kMemoryMax,
    kMemoryOomKills,
    kIoRead,
    kIoWrite,
    kPsiCpuSome,
    kPsiCpuFull,
    kPsiMemorySome,
    kPsiMemoryFull,
    kPsiIoSome,
    kPsiIoFull,
    kMetricCount
  };
  struct CpuCounters {
    uint64_t usage = 0, user = 0, system = 0, periods = 0, throttled = 0;
  };

  Status read(const char* file);
  Status sampleCpu(int64_t now_ms, std::vector<SamplePoint>& out);
  Status sampleCpuMax(std::vector<SamplePoint>& out);
  Status sampleMemory(std::vector<SamplePoint>& out);
  Status sampleIo(int64_t now_ms, std::vector<SamplePoint>& out);
  Status samplePressure(std::vector<SamplePoint>& out);
  void emit(Metric metric, double value, std::vector<SamplePoint>& out);
  Status fail(const char* file, Error error);

  std::string system_;
  std::string directory_;
  std::string name_;
  common::MetricsRegistry* metrics_;
  std::string path_;        ///< the file being read, reused
  std::string buffer_;      ///< its contents, reused
  bool not_found_ = false;  ///< the last read() found no file
  std::array<protocol::SeriesKey, kMetricCount> keys_;
  std::array<std::optional<double>, kMetricCount> latest_;

  std::optional<CpuCounters> prev_cpu_;
  int64_t prev_cpu_ms_ = 0;
  std::optional<uint64_t> prev_oom_kills_;
  std::optional<std::pair<uint64_t, uint64_t>> prev_io_;
  int64_t prev_io_ms_ = 0;
  uint64_t error_count_ = 0;
};

}  // namespace pso::agent
