#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "agent/actuator.h"

namespace pso::agent {

/// Runs replicas as instances of a systemd template unit: replica i is
/// "<unit>@<i>.service", i from 0 to max_replicas - 1. The running set is read
/// with `systemctl is-active <every instance>` (active, activating and
/// reloading count as running). Scaling to N starts the instances below N that
/// are not running and stops those at N and above that are, each group in one
/// `systemctl start|stop` call bounded by `timeout`, then reads the set again.
/// Limits directives are refused.
class SystemdActuator final : public Actuator {
 public:
  SystemdActuator(std::string system, std::string unit, std::string systemctl, int64_t max_replicas,
                  common::Duration timeout);

  const char* kind() const override { return "systemd"; }
  /// Reads the running set once; an Error when systemctl cannot be run or
  /// answers something else than one state per unit.
  [[nodiscard]] Status start() override;
  int64_t currentReplicas() const override { return current_; }
  [[nodiscard]] ActuationResult apply(const protocol::Directive& directive) override;
  void poll() override;
  void stop() override {}

  /// Unit name of replica `index`.
  std::string unitName(int64_t index) const;

 private:
  Status refresh();

  std::string system_;
  std::string unit_;
  std::string systemctl_;
  int64_t max_replicas_;
  common::Duration timeout_;
  std::vector<bool> running_;
  int64_t current_ = -1;
  int64_t last_refresh_ms_ = 0;
  std::string last_error_;
};

/// Registers kind "systemd" (keys unit, systemctl).
void registerSystemdActuator(ActuatorRegistry& registry);

}  // namespace pso::agent
