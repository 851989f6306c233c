#pragma once

// Host-wide metrics from a proc tree: CPU, memory, load, network and disk I/O.

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "agent/proc_text.h"
#include "agent/sampler.h"
#include "common/metrics.h"

namespace pso::agent {

/// Samples the host from `proc_root` (normally "/proc"; tests pass a fixture
/// tree). Series, all with an empty system name:
///   cpu.usage, cpu.user, cpu.system, cpu.iowait  share of CPU time 0..1 between
///                                                two samples (/proc/stat)
///   memory.total, memory.available               bytes (/proc/meminfo)
///   memory.used_ratio                            1 - available / total
///   load.1, load.5, load.15                      (/proc/loadavg)
///   net.rx_bytes_per_s, net.tx_bytes_per_s       summed over every interface
///                                                but lo (/proc/net/dev)
///   disk.read_bytes_per_s, disk.write_bytes_per_s summed over whole disks, not
///                                                partitions, loop, ram or
///                                                device-mapper (/proc/diskstats)
///   psi.cpu.some, psi.memory.some, psi.memory.full, psi.io.some, psi.io.full
///                                                pressure stall, avg10 percent
///                                                (/proc/pressure; skipped when the
///                                                kernel has no PSI)
///   fs.size_bytes:<path>, fs.used_bytes:<path>, fs.used_ratio:<path>
///                                                each configured filesystem (statvfs)
/// Rates need two samples, so the first call emits none of them; a counter that
/// goes backwards (reset, interface removed) skips one rate instead of emitting a
/// negative one. A file that is missing or has a malformed line is reported in
/// the Status with its path and line number, counted, and the rest is sampled.
/// Buffers are reused: steady-state sampling does not grow memory.
class HostSampler final : public Sampler {
 public:
  /// @param proc_root directory holding stat, meminfo, loadavg, net/dev, diskstats
  /// @param metrics optional registry; errors are counted in
  ///        pso_agent_sampler_errors_total{sampler="host",file=...}
  /// @param filesystems mount points whose usage is sampled
  explicit HostSampler(std::string proc_root, common::MetricsRegistry* metrics = nullptr,
                       std::vector<std::string> filesystems = {});

  const std::string& name() const override { return name_; }
  [[nodiscard]] Status sample(int64_t now_ms, std::vector<SamplePoint>& out) override;

  /// The value a metric had at the last sample() that produced it; nullopt for
  /// a metric never sampled or not one of the names above.
  std::optional<double> latest(std::string_view metric) const;
  /// True when `metric` is one of the series this sampler produces.
  static bool isKnownMetric(std::string_view metric);
  /// The series names this sampler produces, comma separated (for messages).
  static std::string knownMetricList();

  /// Files that could not be read or parsed since construction.
  uint64_t errorCount() const { return error_count_; }

 private:
  enum Metric : std::size_t {
    kCpuUsage,
    kCpuUser,
    kCpuSystem,
    kCpuIowait,
    kMemoryTotal,
    kMemoryAvailable,
    kMemoryUsedRatio,
    kLoad1,
    kLoad5,
    kLoad15,
    kNetRx,
    kNetTx,
    kDiskRead,
    kDiskWrite,
    kPsiCpuSome,
    kPsiMemorySome,
    kPsiMemoryFull,
    kPsiIoSome,
    kPsiIoFull,
    kMetricCount
  };

  struct CpuCounters {
    uint64_t total = 0;
    uint64_t idle = 0;    ///< idle + iowait
    uint64_t user = 0;    ///< user + nice
    uint64_t system = 0;  ///< system + irq + softirq
    uint64_t iowait = 0;
  };
  struct ByteCounters {
    uint64_t in = 0;
    uint64_t out = 0;
  };

  Status readFile(const std::string& path);
  Status sampleCpu(std::vector<SamplePoint>& out);
  Status sampleMemory(std::vector<SamplePoint>& out);
  Status sampleLoad(std::vector<SamplePoint>& out);
  Status sampleNet(int64_t now_ms, std::vector<SamplePoint>& out);
  Status sampleDisk(int64_t now_ms, std::vector<SamplePoint>& out);
  Status samplePressure(std::vector<SamplePoint>& out);
  Status sampleFilesystems(std::vector<SamplePoint>& out);
  void emit(Metric metric, double value, std::vector<SamplePoint>& out);
  void countError(const char* file);

  std::string name_ = "host";
  std::string stat_path_;
  std::string meminfo_path_;
  std::string loadavg_path_;
  std::string net_dev_path_;
  std::string diskstats_path_;
  std::vector<std::string> pressure_paths_;  ///< cpu, memory, io
  struct Filesystem {
    std::string path;
    protocol::SeriesKey size, used, ratio;
  };
  std::vector<Filesystem> filesystems_;
  common::MetricsRegistry* metrics_;

  std::string buffer_;  ///< file contents, reused across reads
  std::array<protocol::SeriesKey, kMetricCount> keys_;
  std::array<std::optional<double>, kMetricCount> latest_;

  std::optional<CpuCounters> prev_cpu_;
  std::optional<ByteCounters> prev_net_;
  int64_t prev_net_ms_ = 0;
  std::optional<ByteCounters> prev_disk_;
  int64_t prev_disk_ms_ = 0;
  uint64_t error_count_ = 0;
};

}  // namespace pso::agent
