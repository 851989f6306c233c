#pragma once

#include <cstdint>
#include <string>

#include "agent/actuator.h"

namespace pso::agent {

/// Vertical scaling of one cgroup v2 directory: a "limits" directive's cpu
/// (cores) becomes cpu.max "<quota> <period>" and its memory (bytes) becomes
/// memory.max. What the kernel accepted is read back and reported (it rounds
/// memory.max down to whole pages). A write the kernel refuses, or a file
/// that reads back unlike any value it could have made of the request, fails
/// the directive with the file and the reason. Scale directives are refused:
/// a cgroup is one replica. Bounds on cpu and memory are the GuardedActuator's.
class CgroupActuator final : public Actuator {
 public:
  /// @param directory the cgroup's directory (<sys_root>/fs/cgroup/<cgroup>)
  /// @param cpu_period_us the period written with every quota
  CgroupActuator(std::string system, std::string directory, int64_t cpu_period_us);

  const char* kind() const override { return "cgroup"; }
  /// Checks that cpu.max and memory.max exist (the cpu and memory controllers
  /// are enabled for the cgroup); an Error names the missing file.
  [[nodiscard]] Status start() override;
  int64_t currentReplicas() const override { return 1; }
  [[nodiscard]] ActuationResult apply(const protocol::Directive& directive) override;
  void poll() override {}
  void stop() override {}

 private:
  Status write(const std::string& file, const std::string& value);

  std::string system_;
  std::string directory_;
  int64_t cpu_period_us_;
  std::string buffer_;
};

/// Registers kind "cgroup" (keys min_cpu, max_cpu, min_memory, max_memory,
/// cpu_period_us; it needs the system's `cgroup`).
void registerCgroupActuator(ActuatorRegistry& registry);

}  // namespace pso::agent
