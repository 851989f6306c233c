#include "agent/host_sampler.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <initializer_list>

namespace pso::agent {
namespace {

constexpr std::array<const char*, 14> kMetricNames = {"cpu.usage",
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
                                                      "disk.write_bytes_per_s"};

// Sectors in /proc/diskstats are always 512 bytes, whatever the device's own size.
constexpr double kSectorBytes = 512.0;

// Walks a buffer line by line, counting lines from 1 for error messages.
class LineCursor {
 public:
  explicit LineCursor(std::string_view text) : text_(text) {}
  bool next(std::string_view& line) {
    if (pos_ >= text_.size()) return false;
    std::size_t end = text_.find('\n', pos_);
    if (end == std::string_view::npos) end = text_.size();
    line = text_.substr(pos_, end - pos_);
    pos_ = end + 1;
    ++number_;
    return true;
  }
  int number() const { return number_; }

 private:
  std::string_view text_;
  std::size_t pos_ = 0;
  int number_ = 0;
};

// Returns the next whitespace-separated token and advances `rest` past it.
std::string_view nextToken(std::string_view& rest) {
  std::size_t begin = rest.find_first_not_of(" \t");
  if (begin == std::string_view::npos) {
    rest = {};
    return {};
  }
  std::size_t end = rest.find_first_of(" \t", begin);
  if (end == std::string_view::npos) end = rest.size();
  std::string_view token = rest.substr(begin, end - begin);
  rest = rest.substr(end);
  return token;
}

bool parseU64(std::string_view token, uint64_t& value) {
  if (token.empty()) return false;
  auto [ptr, ec] = std::from_chars(token.data(), token.data() + token.size(), value);
  return ec == std::errc() && ptr == token.data() + token.size();
}

bool parseDouble(std::string_view token, double& value) {
  if (token.empty()) return false;
  auto [ptr, ec] = std::from_chars(token.data(), token.data() + token.size(), value);
  return ec == std::errc() && ptr == token.data() + token.size();
}

// Quotes a bad line for an error message, cut short so a binary file cannot
// produce a huge log line.
std::string quoteLine(std::string_view line) {
  constexpr std::size_t kMax = 80;
  std::string quoted = "'";
  quoted.append(line.substr(0, kMax));
  if (line.size() > kMax) quoted.append("...");
  quoted.append("'");
  return quoted;
}

Error lineError(const std::string& path, int line_number, const std::string& expected,
                std::string_view line) {
  return makeError("malformed", path + ":" + std::to_string(line_number) + ": expected " +
                                    expected + ", got " + quoteLine(line));
}

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

HostSampler::HostSampler(std::string proc_root, common::MetricsRegistry* metrics)
    : metrics_(metrics) {
  while (proc_root.size() > 1 && proc_root.back() == '/') proc_root.pop_back();
  stat_path_ = proc_root + "/stat";
  meminfo_path_ = proc_root + "/meminfo";
  loadavg_path_ = proc_root + "/loadavg";
  net_dev_path_ = proc_root + "/net/dev";
  diskstats_path_ = proc_root + "/diskstats";
  for (std::size_t i = 0; i < kMetricCount; ++i) keys_[i] = {"", kMetricNames[i]};
  buffer_.reserve(16 * 1024);
  if (metrics_ != nullptr) {
    metrics_->describe("pso_agent_sampler_errors_total", "counter",
                       "Sampler reads that failed, by sampler and file");
  }
}

std::optional<double> HostSampler::latest(std::string_view metric) const {
  for (std::size_t i = 0; i < kMetricCount; ++i) {
    if (metric == kMetricNames[i]) return latest_[i];
  }
  return std::nullopt;
}

bool HostSampler::isKnownMetric(std::string_view metric) {
  for (const char* name : kMetricNames) {
    if (metric == name) return true;
  }
  return false;
}

std::string HostSampler::knownMetricList() {
  std::string list;
  for (const char* name : kMetricNames) {
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
  if (errors.empty()) return {};
  return makeError("sampler", std::move(errors));
}

Status HostSampler::readFile(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    return makeError("io", "cannot read " + path + ": " + std::strerror(errno));
  }
  buffer_.clear();
  // Files under /proc report size 0, so read until EOF, growing only when the
  // reused buffer is too small.
  std::size_t used = 0;
  for (;;) {
    if (buffer_.capacity() - used < 4096) buffer_.reserve(buffer_.capacity() * 2 + 4096);
    buffer_.resize(buffer_.capacity());
    ssize_t n = ::read(fd, buffer_.data() + used, buffer_.size() - used);
    if (n < 0) {
      if (errno == EINTR) continue;
      int err = errno;
      ::close(fd);
      buffer_.clear();
      return makeError("io", "cannot read " + path + ": " + std::strerror(err));
    }
    if (n == 0) break;
    used += static_cast<std::size_t>(n);
  }
  ::close(fd);
  buffer_.resize(used);
  return {};
}

void HostSampler::emit(Metric metric, double value, std::vector<SamplePoint>& out) {
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

}  // namespace pso::agent
