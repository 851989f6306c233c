#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "agent/actuator.h"
#include "common/metrics.h"

namespace pso::agent {

/// Applies a directive by running a command: `command` with "{replicas}",
/// "{cpu}", "{memory}" and "{system}" substituted (an absent value becomes an
/// empty string). Exit status 0 is "applied"; any other exit, a signal or
/// running past `timeout` (the command's process group is then killed) is
/// "failed", with the command's last output line in the message.
/// The current replica count comes from `status_command` when one is set (its
/// output, trimmed, must be a non-negative integer; refreshed by poll() every
/// few seconds and after each apply), otherwise from the last applied scale,
/// starting at `initial_replicas` (-1: unknown).
class ExecActuator final : public Actuator {
 public:
  ExecActuator(std::string system, std::vector<std::string> command,
               std::vector<std::string> status_command, common::Duration timeout,
               int64_t initial_replicas, common::MetricsRegistry* metrics = nullptr);

  const char* kind() const override { return "exec"; }
  /// Reads the status command once when there is one; an Error when it fails.
  [[nodiscard]] Status start() override;
  int64_t currentReplicas() const override { return current_; }
  [[nodiscard]] ActuationResult apply(const protocol::Directive& directive) override;
  void poll() override;
  void stop() override {}

  /// Runs the status command now and updates currentReplicas().
  [[nodiscard]] Status refreshStatus();

 private:
  std::string system_;
  std::vector<std::string> command_;
  std::vector<std::string> status_command_;
  common::Duration timeout_;
  common::MetricsRegistry* metrics_;
  int64_t current_;
  int64_t last_status_ms_ = 0;
  std::string last_status_error_;
};

/// Registers kind "exec" (keys command, status_command).
void registerExecActuator(ActuatorRegistry& registry);

}  // namespace pso::agent
