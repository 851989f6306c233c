#include "agent/host_sampler.h"

#include "agent/sample_resolution.h"

#include <sys/statvfs.h>

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <initializer_list>

namespace pso::agent {
namespace {

constexpr std::array<const char*, 19> kHostMetricNames = {"cpu.usage",
                                                          "cpu.user",
                                                          "cpu.system",
                                                          "cpu.iowait",
                                                          "memory.total",
                                                          "memory.available",
                                                          "memory.used_ratio",
                                                          "load.1",
                                                          "load.5",
                                                          "load.15",
                                                          "net.rx_bytes_per_s",
                                                          "net.tx_bytes_per_s",
                                                          "disk.read_bytes_per_s",
                                                          "disk.write_bytes_per_s",
                                                          "psi.cpu.some",
                                                          "psi.memory.some",
                                                          "psi.memory.full",
                                                          "psi.io.some",
                                                          "psi.io.full"};

// Sectors in /proc/diskstats are always 512 bytes, whatever the device's own size.
constexpr double kSectorBytes = 512.0;

bool allDigits(std::string_view text) {
  if (text.empty()) return false;
  for (char c : text) {
    if (c < '0' || c > '9') return false;
  }
  return true;
}

// `text` is `prefix` followed by lowercase letters and then, when
// `trailing_digits`, at least one digit (sda1, xvdb2) -- or nothing else.
bool matchLettersDigits(std::string_view text, std::string_view prefix, bool trailing_digits) {
  if (text.substr(0, prefix.size()) != prefix) return false;
  std::size_t i = prefix.size();
  std::size_t letters = i;
  while (i < text.size() && text[i] >= 'a' && text[i] <= 'z') ++i;
  if (i == letters) return false;
  std::string_view rest = text.substr(i);
  return trailing_digits ? allDigits(rest) : rest.empty();
}

// `text` is `prefix` + digits + `middle` + digits (nvme0n1p2 with middle "n"...).
bool matchDigitGroups(std::string_view text, std::string_view prefix,
                      std::initializer_list<std::string_view> separators) {
  if (text.substr(0, prefix.size()) != prefix) return false;
  std::string_view rest = text.substr(prefix.size());
  auto take_digits = [&rest]() {
    std::size_t n = 0;
    while (n < rest.size() && rest[n] >= '0' && rest[n] <= '9') ++n;
    rest = rest.substr(n);
    return n > 0;
  };
  if (!take_digits()) return false;
  for (std::string_view sep : separators) {
    if (rest.substr(0, sep.size()) != sep) return false;
    rest = rest.substr(sep.size());
    if (!take_digits()) return false;
  }
  return rest.empty();
}

// Whole physical disks only: partitions would count the same bytes twice, and
// loop, ram, zram, device-mapper and md devices are layers over other devices
// (the same exclusions as the Prometheus node exporter, plus the stacked ones).
bool isWholeDisk(std::string_view name) {
  for (std::string_view virtual_prefix : {"loop", "ram", "zram", "dm-", "md", "fd", "sr"}) {
    if (name.substr(0, virtual_prefix.size()) == virtual_prefix &&
        allDigits(name.substr(virtual_prefix.size()))) {
      return false;
    }
  }
  for (std::string_view prefix : {"sd", "hd", "vd", "xvd"}) {
    if (matchLettersDigits(name, prefix, true)) return false;
  }
  if (matchDigitGroups(name, "nvme", {"n", "p"})) return false;
  if (matchDigitGroups(name, "mmcblk", {"p"})) return false;
  return true;
}

}  // namespace

HostSampler::HostSampler(std::string proc_root, common::MetricsRegistry* metrics,
                         std::vector<std::string> filesystems)
    : metrics_(metrics) {
  while (proc_root.size() > 1 && proc_root.back() == '/') proc_root.pop_back();
  stat_path_ = proc_root + "/stat";
  meminfo_path_ = proc_root + "/meminfo";
  loadavg_path_ = proc_root + "/loadavg";
  net_dev_path_ = proc_root + "/net/dev";
  diskstats_path_ = proc_root + "/diskstats";
  for (const char* resource : {"cpu", "memory", "io"}) {
    pressure_paths_.push_back(proc_root + "/pressure/" + resource);
  }
  for (std::string& path : filesystems) {
    Filesystem fs;
    fs.size = {"", "fs.size_bytes:" + path};
    fs.used = {"", "fs.used_bytes:" + path};
    fs.ratio = {"", "fs.used_ratio:" + path};
    fs.path = std::move(path);
    filesystems_.push_back(std::move(fs));
  }
  for (std::size_t i = 0; i < kMetricCount; ++i) keys_[i] = {"", kHostMetricNames[i]};
  buffer_.reserve(16 * 1024);
  if (metrics_ != nullptr) {
    metrics_->describe("pso_agent_sampler_errors_total", "counter",
                       "Sampler reads that failed, by sampler and file");
  }
}

std::optional<double> HostSampler::latest(std::string_view metric) const {
  for (std::size_t i = 0; i < kMetricCount; ++i) {
    if (metric == kHostMetricNames[i]) return latest_[i];
  }
  return std::nullopt;
}

bool HostSampler::isKnownMetric(std::string_view metric) {
  for (const char* name : kHostMetricNames) {
    if (metric == name) return true;
  }
  return false;
}

std::string HostSampler::knownMetricList() {
  std::string list;
  for (const char* name : kHostMetricNames) {
    if (!list.empty()) list += ", ";
    list += name;
  }
  return list;
}

Status HostSampler::sample(int64_t now_ms, std::vector<SamplePoint>& out) {
  std::string errors;
  auto collect = [&errors](const Status& status) {
    if (status.ok()) return;
    if (!errors.empty()) errors += "; ";
    errors += status.error().message;
  };
  collect(sampleCpu(out));
  collect(sampleMemory(out));
  collect(sampleLoad(out));
  collect(sampleNet(now_ms, out));
  collect(sampleDisk(now_ms, out));
  collect(samplePressure(out));
  collect(sampleFilesystems(out));
  if (errors.empty()) return {};
  return makeError("sampler", std::move(errors));
}

Status HostSampler::readFile(const std::string& path) {
  return readSmallFile(path, buffer_);
}

void HostSampler::emit(Metric metric, double value, std::vector<SamplePoint>& out) {
  // Shares and rates computed here go out at the resolution that means
  // something (sample_resolution.h); what the kernel prints is kept as is.
  static constexpr std::array<int, kMetricCount> kDecimals = {kRatioDecimals,
                                                              kRatioDecimals,
                                                              kRatioDecimals,
                                                              kRatioDecimals,  // cpu.*
                                                              -1,
                                                              -1,
                                                              kRatioDecimals,  // memory.*
                                                              -1,
                                                              -1,
                                                              -1,  // load.*
                                                              kRateDecimals,
                                                              kRateDecimals,
                                                              kRateDecimals,
                                                              kRateDecimals,  // net.*, disk.*
                                                              -1,
                                                              -1,
                                                              -1,
                                                              -1,
                                                              -1};  // psi.*
  value = atDecimals(value, kDecimals[metric]);
  latest_[metric] = value;
  out.push_back(SamplePoint{keys_[metric], value});
}

void HostSampler::countError(const char* file) {
  ++error_count_;
  if (metrics_ != nullptr) {
    metrics_->increment("pso_agent_sampler_errors_total", {{"sampler", name_}, {"file", file}});
  }
}

Status HostSampler::sampleCpu(std::vector<SamplePoint>& out) {
  if (Status status = readFile(stat_path_); !status) {
    countError("stat");
    return status;
  }
  LineCursor lines(buffer_);
  std::string_view line;
  while (lines.next(line)) {
    std::string_view rest = line;
    if (nextToken(rest) != "cpu") continue;
    // user nice system idle [iowait irq softirq steal ...]; guest time is
    // already included in user and nice, so later columns are not added.
    std::array<uint64_t, 8> v{};
    std::size_t count = 0;
    for (std::string_view token = nextToken(rest); !token.empty() && count < v.size();
         token = nextToken(rest)) {
      if (!parseU64(token, v[count])) {
        countError("stat");
        return lineError(stat_path_, lines.number(), "'cpu' followed by jiffy counters", line);
      }
      ++count;
    }
    if (count < 4) {
      countError("stat");
      return lineError(stat_path_, lines.number(), "'cpu' followed by at least 4 counters", line);
    }
    CpuCounters now;
    now.user = v[0] + v[1];
    now.system = v[2] + v[5] + v[6];
    now.iowait = v[4];
    now.idle = v[3] + v[4];
    now.total = v[0] + v[1] + v[2] + v[3] + v[4] + v[5] + v[6] + v[7];
    if (prev_cpu_ && now.total > prev_cpu_->total && now.idle >= prev_cpu_->idle &&
        now.user >= prev_cpu_->user && now.system >= prev_cpu_->system &&
        now.iowait >= prev_cpu_->iowait) {
      double total = static_cast<double>(now.total - prev_cpu_->total);
      double idle = static_cast<double>(now.idle - prev_cpu_->idle);
      emit(kCpuUsage, std::clamp(1.0 - idle / total, 0.0, 1.0), out);
      emit(kCpuUser, static_cast<double>(now.user - prev_cpu_->user) / total, out);
      emit(kCpuSystem, static_cast<double>(now.system - prev_cpu_->system) / total, out);
      emit(kCpuIowait, static_cast<double>(now.iowait - prev_cpu_->iowait) / total, out);
    }
    prev_cpu_ = now;
    return {};
  }
  countError("stat");
  return makeError("malformed", stat_path_ + ": no 'cpu' summary line");
}

Status HostSampler::sampleMemory(std::vector<SamplePoint>& out) {
  if (Status status = readFile(meminfo_path_); !status) {
    countError("meminfo");
    return status;
  }
  std::optional<uint64_t> total_kb;
  std::optional<uint64_t> available_kb;
  std::optional<Error> first_error;
  LineCursor lines(buffer_);
  std::string_view line;
  while (lines.next(line)) {
    if (line.empty()) continue;
    std::size_t colon = line.find(':');
    std::string_view rest =
        colon == std::string_view::npos ? std::string_view{} : line.substr(colon + 1);
    std::string_view number = nextToken(rest);
    std::string_view unit = nextToken(rest);
    uint64_t value = 0;
    if (colon == std::string_view::npos || colon == 0 || !parseU64(number, value) ||
        !(unit.empty() || unit == "kB") || !nextToken(rest).empty()) {
      if (!first_error) {
        first_error = lineError(meminfo_path_, lines.number(), "'Key: number [kB]'", line);
      }
      continue;
    }
    std::string_view key = line.substr(0, colon);
    if (key == "MemTotal") total_kb = value;
    if (key == "MemAvailable") available_kb = value;
  }
  if (total_kb && available_kb && *total_kb > 0) {
    double total = static_cast<double>(*total_kb) * 1024.0;
    double available = static_cast<double>(*available_kb) * 1024.0;
    emit(kMemoryTotal, total, out);
    emit(kMemoryAvailable, available, out);
    emit(kMemoryUsedRatio, std::clamp(1.0 - available / total, 0.0, 1.0), out);
  } else if (!first_error) {
    first_error = makeError("malformed", meminfo_path_ + ": no MemTotal and MemAvailable lines");
  }
  if (first_error) {
    countError("meminfo");
    return *first_error;
  }
  return {};
}

Status HostSampler::sampleLoad(std::vector<SamplePoint>& out) {
  if (Status status = readFile(loadavg_path_); !status) {
    countError("loadavg");
    return status;
  }
  LineCursor lines(buffer_);
  std::string_view line;
  lines.next(line);
  std::string_view rest = line;
  std::array<double, 3> load{};
  for (double& value : load) {
    if (!parseDouble(nextToken(rest), value) || value < 0) {
      countError("loadavg");
      return lineError(loadavg_path_, 1, "three load averages", line);
    }
  }
  emit(kLoad1, load[0], out);
  emit(kLoad5, load[1], out);
  emit(kLoad15, load[2], out);
  return {};
}

Status HostSampler::sampleNet(int64_t now_ms, std::vector<SamplePoint>& out) {
  if (Status status = readFile(net_dev_path_); !status) {
    countError("net/dev");
    return status;
  }
  ByteCounters now;
  LineCursor lines(buffer_);
  std::string_view line;
  while (lines.next(line)) {
    // Two header lines; every other line is "iface: 8 receive and 8 transmit counters".
    if (lines.number() <= 2 || line.find_first_not_of(" \t") == std::string_view::npos) continue;
    std::size_t colon = line.find(':');
    std::string_view name_part = colon == std::string_view::npos ? line : line.substr(0, colon);
    std::string_view name_rest = name_part;
    std::string_view name = nextToken(name_rest);
    std::string_view rest =
        colon == std::string_view::npos ? std::string_view{} : line.substr(colon + 1);
    std::array<uint64_t, 9> v{};
    bool good = colon != std::string_view::npos && !name.empty();
    for (std::size_t i = 0; good && i < v.size(); ++i) good = parseU64(nextToken(rest), v[i]);
    if (!good) {
      // A partial sum would look like a counter reset: skip this rate and keep
      // the previous counters so the next good read spans both intervals.
      countError("net/dev");
      return lineError(net_dev_path_, lines.number(), "'interface: 16 counters'", line);
    }
    if (name == "lo") continue;
    now.in += v[0];
    now.out += v[8];
  }
  if (prev_net_ && now_ms > prev_net_ms_ && now.in >= prev_net_->in && now.out >= prev_net_->out) {
    double seconds = static_cast<double>(now_ms - prev_net_ms_) / 1000.0;
    emit(kNetRx, static_cast<double>(now.in - prev_net_->in) / seconds, out);
    emit(kNetTx, static_cast<double>(now.out - prev_net_->out) / seconds, out);
  }
  prev_net_ = now;
  prev_net_ms_ = now_ms;
  return {};
}

Status HostSampler::sampleDisk(int64_t now_ms, std::vector<SamplePoint>& out) {
  if (Status status = readFile(diskstats_path_); !status) {
    countError("diskstats");
    return status;
  }
  ByteCounters now;
  LineCursor lines(buffer_);
  std::string_view line;
  while (lines.next(line)) {
    if (line.find_first_not_of(" \t") == std::string_view::npos) continue;
    std::string_view rest = line;
    uint64_t major = 0;
    uint64_t minor = 0;
    bool good = parseU64(nextToken(rest), major) && parseU64(nextToken(rest), minor);
    std::string_view name = nextToken(rest);
    // reads, reads merged, sectors read, ms reading, writes, writes merged, sectors written
    std::array<uint64_t, 7> v{};
    good = good && !name.empty();
    for (std::size_t i = 0; good && i < v.size(); ++i) good = parseU64(nextToken(rest), v[i]);
    if (!good) {
      countError("diskstats");
      return lineError(diskstats_path_, lines.number(),
                       "'major minor device' followed by at least 7 counters", line);
    }
    if (!isWholeDisk(name)) continue;
    now.in += v[2];
    now.out += v[6];
  }
  if (prev_disk_ && now_ms > prev_disk_ms_ && now.in >= prev_disk_->in &&
      now.out >= prev_disk_->out) {
    double seconds = static_cast<double>(now_ms - prev_disk_ms_) / 1000.0;
    emit(kDiskRead, static_cast<double>(now.in - prev_disk_->in) * kSectorBytes / seconds, out);
    emit(kDiskWrite, static_cast<double>(now.out - prev_disk_->out) * kSectorBytes / seconds, out);
  }
  prev_disk_ = now;
  prev_disk_ms_ = now_ms;
  return {};
}

Status HostSampler::samplePressure(std::vector<SamplePoint>& out) {
  static constexpr Metric kSome[] = {kPsiCpuSome, kPsiMemorySome, kPsiIoSome};
  static constexpr Metric kFull[] = {kMetricCount, kPsiMemoryFull, kPsiIoFull};
  for (std::size_t i = 0; i < pressure_paths_.size(); ++i) {
    const std::string& path = pressure_paths_[i];
    if (Status status = readFile(path); !status) {
      // Kernels without PSI (or booted with psi=0) have no /proc/pressure.
      if (status.error().code == "not_found") continue;
      countError("pressure");
      return status;
    }
    Result<Pressure> pressure = parsePressure(path, buffer_);
    if (!pressure) {
      countError("pressure");
      return pressure.error();
    }
    emit(kSome[i], pressure->some_avg10, out);
    // cpu "full" is always 0 at the host level; only memory and io carry it.
    if (kFull[i] != kMetricCount && pressure->full_avg10)
      emit(kFull[i], *pressure->full_avg10, out);
  }
  return {};
}

Status HostSampler::sampleFilesystems(std::vector<SamplePoint>& out) {
  std::string errors;
  for (const Filesystem& fs : filesystems_) {
    struct statvfs st {};
    if (::statvfs(fs.path.c_str(), &st) != 0) {
      countError("statvfs");
      errors += errors.empty() ? "" : "; ";
      errors += "cannot stat filesystem " + fs.path + ": " + std::strerror(errno);
      continue;
    }
    const double unit = static_cast<double>(st.f_frsize);
    const double size = static_cast<double>(st.f_blocks) * unit;
    // "used" as df counts it: blocks not free; the ratio is against what an
    // unprivileged writer can reach (used + available), as df's Use% is.
    const double used = static_cast<double>(st.f_blocks - st.f_bfree) * unit;
    const double reachable = used + static_cast<double>(st.f_bavail) * unit;
    out.push_back(SamplePoint{fs.size, size});
    out.push_back(SamplePoint{fs.used, used});
    if (reachable > 0) {
      out.push_back(SamplePoint{fs.ratio, atDecimals(used / reachable, kRatioDecimals)});
    }
  }
  if (errors.empty()) return {};
  return makeError("io", std::move(errors));
}

}  // namespace pso::agent
