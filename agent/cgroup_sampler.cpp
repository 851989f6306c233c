#include "agent/cgroup_sampler.h"

#include "agent/sample_resolution.h"

#include <algorithm>

#include "agent/proc_text.h"

namespace pso::agent {
namespace {

constexpr std::array<const char*, 16> kCgroupMetricNames = {
    "cpu.usage",           "cpu.user",
    "cpu.system",          "cpu.throttled_ratio",
    "cpu.limit",           "memory.current",
    "memory.max",          "memory.oom_kills",
    "io.read_bytes_per_s", "io.write_bytes_per_s",
    "psi.cpu.some",        "psi.cpu.full",
    "psi.memory.some",     "psi.memory.full",
    "psi.io.some",         "psi.io.full"};

// "<key> <value>" lines (cpu.stat, memory.events): finds `key`'s value.
std::optional<uint64_t> keyedValue(std::string_view text, std::string_view key) {
  LineCursor lines(text);
  std::string_view line;
  while (lines.next(line)) {
    std::string_view rest = line;
    if (nextToken(rest) != key) continue;
    uint64_t value = 0;
    if (parseU64(nextToken(rest), value)) return value;
    return std::nullopt;
  }
  return std::nullopt;
}

// Checks that every non-empty line is "<key> <unsigned>", so a damaged file is
// reported rather than read as zeros.
std::optional<Error> checkKeyedLines(const std::string& path, std::string_view text) {
  LineCursor lines(text);
  std::string_view line;
  while (lines.next(line)) {
    if (line.find_first_not_of(" \t") == std::string_view::npos) continue;
    std::string_view rest = line;
    std::string_view key = nextToken(rest);
    uint64_t value = 0;
    if (key.empty() || !parseU64(nextToken(rest), value) || !nextToken(rest).empty()) {
      return lineError(path, lines.number(), "'<key> <counter>'", line);
    }
  }
  return std::nullopt;
}

std::string_view trimmedLine(std::string_view text) {
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.remove_suffix(1);
  return text;
}

}  // namespace

CgroupSampler::CgroupSampler(std::string system, std::string directory,
                             common::MetricsRegistry* metrics)
    : system_(std::move(system)),
      directory_(std::move(directory)),
      name_("cgroup:" + system_),
      metrics_(metrics) {
  while (directory_.size() > 1 && directory_.back() == '/') directory_.pop_back();
  for (std::size_t i = 0; i < kMetricCount; ++i) keys_[i] = {system_, kCgroupMetricNames[i]};
  buffer_.reserve(4096);
  path_.reserve(directory_.size() + 32);
  if (metrics_ != nullptr) {
    metrics_->describe("pso_agent_sampler_errors_total", "counter",
                       "Sampler reads that failed, by sampler and file");
  }
}

std::optional<double> CgroupSampler::latest(std::string_view metric) const {
  for (std::size_t i = 0; i < kMetricCount; ++i) {
    if (metric == kCgroupMetricNames[i]) return latest_[i];
  }
  return std::nullopt;
}

bool CgroupSampler::isKnownMetric(std::string_view metric) {
  return std::find(kCgroupMetricNames.begin(), kCgroupMetricNames.end(), metric) !=
         kCgroupMetricNames.end();
}

std::string CgroupSampler::knownMetricList() {
  std::string list;
  for (const char* name : kCgroupMetricNames) {
    if (!list.empty()) list += ", ";
    list += name;
  }
  return list;
}

Status CgroupSampler::sample(int64_t now_ms, std::vector<SamplePoint>& out) {
  std::string errors;
  auto collect = [&errors](const Status& status) {
    if (status.ok()) return;
    if (!errors.empty()) errors += "; ";
    errors += status.error().message;
  };
  collect(sampleCpu(now_ms, out));
  collect(sampleCpuMax(out));
  collect(sampleMemory(out));
  collect(sampleIo(now_ms, out));
  collect(samplePressure(out));
  if (errors.empty()) return {};
  return makeError("sampler", "system " + system_ + ": " + errors);
}

Status CgroupSampler::read(const char* file) {
  path_.assign(directory_).append("/").append(file);
  Status status = readSmallFile(path_, buffer_);
  not_found_ = !status.ok() && status.error().code == "not_found";
  return status;
}

void CgroupSampler::emit(Metric metric, double value, std::vector<SamplePoint>& out) {
  // Shares and rates computed here go out at the resolution that means
  // something (sample_resolution.h); what the kernel prints is kept as is.
  static constexpr std::array<int, kMetricCount> kDecimals = {
      kRatioDecimals,
      kRatioDecimals,
      kRatioDecimals,
      kRatioDecimals,  // cpu.* (cores), throttled
      kRatioDecimals,  // cpu.limit
      -1,
      -1,
      -1,  // memory.*
      kRateDecimals,
      kRateDecimals,  // io.*
      -1,
      -1,
      -1,
      -1,
      -1,
      -1};  // psi.*
  value = atDecimals(value, kDecimals[metric]);
  latest_[metric] = value;
  out.push_back(SamplePoint{keys_[metric], value});
}

Status CgroupSampler::fail(const char* file, Error error) {
  ++error_count_;
  if (metrics_ != nullptr) {
    metrics_->increment("pso_agent_sampler_errors_total", {{"sampler", "cgroup"}, {"file", file}});
  }
  return error;
}

Status CgroupSampler::sampleCpu(int64_t now_ms, std::vector<SamplePoint>& out) {
  if (Status status = read("cpu.stat"); !status) return fail("cpu.stat", status.error());
  if (auto bad = checkKeyedLines(path_, buffer_)) return fail("cpu.stat", *bad);
  std::optional<uint64_t> usage = keyedValue(buffer_, "usage_usec");
  if (!usage) return fail("cpu.stat", makeError("malformed", path_ + ": no usage_usec line"));
  CpuCounters now;
  now.usage = *usage;
  now.user = keyedValue(buffer_, "user_usec").value_or(0);
  now.system = keyedValue(buffer_, "system_usec").value_or(0);
  // nr_periods/nr_throttled exist only with the cpu controller enabled.
  now.periods = keyedValue(buffer_, "nr_periods").value_or(0);
  now.throttled = keyedValue(buffer_, "nr_throttled").value_or(0);
  if (prev_cpu_ && now_ms > prev_cpu_ms_ && now.usage >= prev_cpu_->usage &&
      now.user >= prev_cpu_->user && now.system >= prev_cpu_->system) {
    const double elapsed_usec = static_cast<double>(now_ms - prev_cpu_ms_) * 1000.0;
    emit(kCpuUsage, static_cast<double>(now.usage - prev_cpu_->usage) / elapsed_usec, out);
    emit(kCpuUser, static_cast<double>(now.user - prev_cpu_->user) / elapsed_usec, out);
    emit(kCpuSystem, static_cast<double>(now.system - prev_cpu_->system) / elapsed_usec, out);
    if (now.periods > prev_cpu_->periods && now.throttled >= prev_cpu_->throttled) {
      const double periods = static_cast<double>(now.periods - prev_cpu_->periods);
      emit(kCpuThrottledRatio,
           std::min(1.0, static_cast<double>(now.throttled - prev_cpu_->throttled) / periods), out);
    }
  }
  prev_cpu_ = now;
  prev_cpu_ms_ = now_ms;
  return {};
}

Status CgroupSampler::sampleCpuMax(std::vector<SamplePoint>& out) {
  if (Status status = read("cpu.max"); !status) {
    return not_found_ ? Status() : fail("cpu.max", status.error());
  }
  std::string_view rest = buffer_;
  std::string_view quota = nextToken(rest);
  std::string_view period_text = nextToken(rest);
  uint64_t period = 0;
  uint64_t limit = 0;
  const bool unlimited = quota == "max";
  if (!parseU64(period_text, period) || period == 0 || (!unlimited && !parseU64(quota, limit)) ||
      !nextToken(rest).empty()) {
    return fail("cpu.max",
                lineError(path_, 1, "'max <period>' or '<quota> <period>'", trimmedLine(buffer_)));
  }
  if (!unlimited) {
    emit(kCpuLimit, static_cast<double>(limit) / static_cast<double>(period), out);
  }
  return {};
}

Status CgroupSampler::sampleMemory(std::vector<SamplePoint>& out) {
  std::string errors;
  auto note = [&errors](const Error& error) {
    errors += errors.empty() ? "" : "; ";
    errors += error.message;
  };
  // memory.current and memory.max: a single number ("max" allowed for max).
  for (const auto& [file, metric, allow_max] : {std::tuple{"memory.current", kMemoryCurrent, false},
                                                std::tuple{"memory.max", kMemoryMax, true}}) {
    if (Status status = read(file); !status) {
      if (!not_found_) note(fail(file, status.error()).error());
      continue;
    }
    std::string_view text = trimmedLine(buffer_);
    uint64_t value = 0;
    if (allow_max && text == "max") continue;
    if (!parseU64(text, value)) {
      note(fail(file, lineError(path_, 1, allow_max ? "bytes or 'max'" : "bytes", text)).error());
      continue;
    }
    emit(metric, static_cast<double>(value), out);
  }
  if (Status status = read("memory.events"); !status) {
    if (!not_found_) note(fail("memory.events", status.error()).error());
  } else if (auto bad = checkKeyedLines(path_, buffer_)) {
    note(fail("memory.events", *bad).error());
  } else if (std::optional<uint64_t> kills = keyedValue(buffer_, "oom_kill")) {
    if (prev_oom_kills_ && *kills >= *prev_oom_kills_) {
      emit(kMemoryOomKills, static_cast<double>(*kills - *prev_oom_kills_), out);
    }
    prev_oom_kills_ = *kills;
  }
  if (errors.empty()) return {};
  return makeError("sampler", std::move(errors));
}

Status CgroupSampler::sampleIo(int64_t now_ms, std::vector<SamplePoint>& out) {
  if (Status status = read("io.stat"); !status) {
    return not_found_ ? Status() : fail("io.stat", status.error());
  }
  // "8:0 rbytes=1 wbytes=2 rios=3 wios=4 dbytes=0 dios=0", one line per device.
  uint64_t read_bytes = 0;
  uint64_t write_bytes = 0;
  LineCursor lines(buffer_);
  std::string_view line;
  while (lines.next(line)) {
    if (line.find_first_not_of(" \t") == std::string_view::npos) continue;
    std::string_view rest = line;
    std::string_view device = nextToken(rest);
    bool good = device.find(':') != std::string_view::npos;
    for (std::string_view field = nextToken(rest); good && !field.empty();
         field = nextToken(rest)) {
      const std::size_t eq = field.find('=');
      uint64_t value = 0;
      good = eq != std::string_view::npos && parseU64(field.substr(eq + 1), value);
      if (!good) break;
      if (field.substr(0, eq) == "rbytes") read_bytes += value;
      if (field.substr(0, eq) == "wbytes") write_bytes += value;
    }
    if (!good) {
      return fail("io.stat",
                  lineError(path_, lines.number(), "'<major>:<minor> key=value ...'", line));
    }
  }
  if (prev_io_ && now_ms > prev_io_ms_ && read_bytes >= prev_io_->first &&
      write_bytes >= prev_io_->second) {
    const double seconds = static_cast<double>(now_ms - prev_io_ms_) / 1000.0;
    emit(kIoRead, static_cast<double>(read_bytes - prev_io_->first) / seconds, out);
    emit(kIoWrite, static_cast<double>(write_bytes - prev_io_->second) / seconds, out);
  }
  prev_io_ = std::pair{read_bytes, write_bytes};
  prev_io_ms_ = now_ms;
  return {};
}

Status CgroupSampler::samplePressure(std::vector<SamplePoint>& out) {
  static constexpr struct {
    const char* file;
    Metric some;
    Metric full;
  } kFiles[] = {{"cpu.pressure", kPsiCpuSome, kPsiCpuFull},
                {"memory.pressure", kPsiMemorySome, kPsiMemoryFull},
                {"io.pressure", kPsiIoSome, kPsiIoFull}};
  std::string errors;
  for (const auto& entry : kFiles) {
    if (Status status = read(entry.file); !status) {
      if (!not_found_) {
        errors += errors.empty() ? "" : "; ";
        errors += fail(entry.file, status.error()).error().message;
      }
      continue;
    }
    Result<Pressure> pressure = parsePressure(path_, buffer_);
    if (!pressure) {
      errors += errors.empty() ? "" : "; ";
      errors += fail(entry.file, pressure.error()).error().message;
      continue;
    }
    emit(entry.some, pressure->some_avg10, out);
    if (pressure->full_avg10) emit(entry.full, *pressure->full_avg10, out);
  }
  if (errors.empty()) return {};
  return makeError("sampler", std::move(errors));
}

}  // namespace pso::agent
