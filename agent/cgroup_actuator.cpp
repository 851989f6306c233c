#include "agent/cgroup_actuator.h"

#include <fcntl.h>
#include <unistd.h>

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstring>

#include "agent/guarded_actuator.h"
#include "agent/proc_text.h"

namespace pso::agent {
namespace {

// The kernel's smallest CPU quota (1 ms per period).
constexpr int64_t kMinQuotaUs = 1000;

std::string trimmed(const std::string& text) {
  std::string out = text;
  while (!out.empty() && (out.back() == '\n' || out.back() == ' ')) out.pop_back();
  return out;
}

}  // namespace

CgroupActuator::CgroupActuator(std::string system, std::string directory, int64_t cpu_period_us)
    : system_(std::move(system)), directory_(std::move(directory)), cpu_period_us_(cpu_period_us) {}

Status CgroupActuator::start() {
  for (const char* file : {"cpu.max", "memory.max"}) {
    if (Status status = readSmallFile(directory_ + "/" + file, buffer_); !status) {
      return makeError("invalid", "system " + system_ +
                                      ": actuator 'cgroup': " + status.error().message +
                                      " (is the controller enabled in the parent's "
                                      "cgroup.subtree_control?)");
    }
  }
  return {};
}

Status CgroupActuator::write(const std::string& file, const std::string& value) {
  const std::string path = directory_ + "/" + file;
  // O_TRUNC is a no-op on cgroupfs and keeps a plain file (a fixture) exact.
  int fd = ::open(path.c_str(), O_WRONLY | O_TRUNC | O_CLOEXEC);
  if (fd < 0) return makeError("io", "cannot open " + path + ": " + std::strerror(errno));
  ssize_t n = 0;
  do {
    n = ::write(fd, value.data(), value.size());
  } while (n < 0 && errno == EINTR);
  const int err = errno;
  ::close(fd);
  if (n != static_cast<ssize_t>(value.size())) {
    return makeError("io", "the kernel refused '" + value + "' in " + path + ": " +
                               (n < 0 ? std::strerror(err) : "short write"));
  }
  return {};
}

ActuationResult CgroupActuator::apply(const protocol::Directive& directive) {
  const std::string origin = "system " + system_ + ": ";
  if (directive.action != "limits") {
    return {ActuationStatus::kRefused, 1,
            origin + "the cgroup actuator sets limits (cpu, memory); '" + directive.action +
                "' is not supported"};
  }
  std::string report;
  auto fail = [&](const std::string& message) {
    spdlog::warn("{}{} (directive {})", origin, message, directive.id);
    return ActuationResult{ActuationStatus::kFailed, 1, origin + message};
  };

  if (directive.cpu) {
    const int64_t quota =
        static_cast<int64_t>(std::llround(*directive.cpu * static_cast<double>(cpu_period_us_)));
    if (quota < kMinQuotaUs) {
      return fail("cpu " + fmt::format("{:g}", *directive.cpu) + " is below the kernel's minimum " +
                  "quota of " + std::to_string(kMinQuotaUs) + "us per " +
                  std::to_string(cpu_period_us_) + "us period");
    }
    const std::string value = std::to_string(quota) + " " + std::to_string(cpu_period_us_);
    if (Status status = write("cpu.max", value); !status) return fail(status.error().message);
    if (Status status = readSmallFile(directory_ + "/cpu.max", buffer_); !status) {
      return fail(status.error().message);
    }
    std::string_view rest = buffer_;
    uint64_t held_quota = 0;
    uint64_t held_period = 0;
    if (!parseU64(nextToken(rest), held_quota) || !parseU64(nextToken(rest), held_period) ||
        held_period == 0) {
      return fail(directory_ + "/cpu.max reads '" + trimmed(buffer_) + "' after writing '" + value +
                  "'");
    }
    report +=
        "cpu.max '" + trimmed(buffer_) + "' (" +
        fmt::format("{:g}", static_cast<double>(held_quota) / static_cast<double>(held_period)) +
        " cores)";
  }
  if (directive.memory_bytes) {
    const std::string value = std::to_string(*directive.memory_bytes);
    if (Status status = write("memory.max", value); !status) return fail(status.error().message);
    if (Status status = readSmallFile(directory_ + "/memory.max", buffer_); !status) {
      return fail(status.error().message);
    }
    uint64_t held = 0;
    // The kernel keeps whole pages: anything above the request is not its doing.
    if (!parseU64(trimmed(buffer_), held) ||
        held > static_cast<uint64_t>(*directive.memory_bytes)) {
      return fail(directory_ + "/memory.max reads '" + trimmed(buffer_) + "' after writing '" +
                  value + "'");
    }
    report += report.empty() ? "" : ", ";
    report += "memory.max " + std::to_string(held);
  }
  spdlog::info("{}limits applied: {}", origin, report);
  return {ActuationStatus::kApplied, 1, origin + "now " + report};
}

namespace {

Result<std::unique_ptr<Actuator>> buildCgroupActuator(const SystemConfig& system,
                                                      const ActuatorContext& context) {
  return std::unique_ptr<Actuator>(std::make_unique<CgroupActuator>(
      system.name, context.cgroup_root + "/" + system.cgroup, system.actuator.cpu_period_us));
}

// The guard refuses limits outside the configured bounds; a max of 0 means
// "the whole host", since more than that cannot be meant.
void boundLimits(const SystemConfig& system, GuardPolicy& policy) {
  const ActuatorConfig& a = system.actuator;
  policy.min_cpu = a.min_cpu;
  policy.max_cpu = a.max_cpu;
  policy.min_memory = a.min_memory;
  policy.max_memory = a.max_memory;
  if (policy.max_cpu <= 0) {
    policy.max_cpu = static_cast<double>(std::max(1L, ::sysconf(_SC_NPROCESSORS_ONLN)));
  }
  if (policy.max_memory <= 0) {
    const long pages = ::sysconf(_SC_PHYS_PAGES);
    const long page_size = ::sysconf(_SC_PAGESIZE);
    if (pages > 0 && page_size > 0) policy.max_memory = static_cast<int64_t>(pages) * page_size;
  }
}

common::Finding checkMaxCpu(double max_cpu, const ActuatorConfig& config) {
  if (max_cpu == 0 || max_cpu >= config.min_cpu) return std::nullopt;
  return common::Problem::invalid("must be 0 (the host's CPU count) or at least min_cpu");
}

common::Finding checkMaxMemory(int64_t max_memory, const ActuatorConfig& config) {
  if (max_memory == 0 || max_memory >= config.min_memory) return std::nullopt;
  return common::Problem::invalid("must be 0 (the host's memory) or at least min_memory");
}

common::Finding checkCpuPeriod(int64_t period_us, const ActuatorConfig& /*config*/) {
  if (period_us >= 1000 && period_us <= 1000000) return std::nullopt;
  return common::Problem::invalid("must be between 1000 and 1000000 (the kernel's range)");
}

}  // namespace

void registerCgroupActuator(ActuatorRegistry& registry) {
  using A = ActuatorConfig;
  namespace checks = common::checks;
  registry.add(ActuatorKind{
      .name = "cgroup",
      .keys =
          {{"min_cpu", &A::min_cpu, "least cpu (cores) a directive may set", checks::positive()},
           {"max_cpu", &A::max_cpu, "most cpu (cores); 0 means the host's CPU count", &checkMaxCpu},
           {"min_memory", &A::min_memory, "least memory.max (bytes)", checks::positive()},
           {"max_memory", &A::max_memory, "most memory.max (bytes); 0 means the host's memory",
            &checkMaxMemory},
           {"cpu_period_us", &A::cpu_period_us, "the period written to cpu.max", &checkCpuPeriod}},
      .build = &buildCgroupActuator,
      .needs_cgroup = true,
      .bound = &boundLimits,
  });
}

}  // namespace pso::agent
