#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "agent/actuator.h"

namespace pso::agent {

/// The rules every actuator obeys, whatever its kind.
struct GuardPolicy {
  std::string system;
  int64_t min_replicas = 0;
  int64_t max_replicas = 0;
  common::Duration cooldown{0};  ///< refuse changes this soon after the last applied one
  bool dry_run = false;          ///< report what would be done, change nothing
  /// Bounds of a limits directive; 0 means no bound on that side.
  double min_cpu = 0.0;
  double max_cpu = 0.0;
  int64_t min_memory = 0;
  int64_t max_memory = 0;
};

/// Wraps an actuator with local bounds, cooldown, dry-run and deadlines, in this
/// order of checks:
///  1. a directive whose deadline_ms (wall clock, 0 = none) has passed is
///     "expired";
///  2. an unknown action, a scale without replicas or limits without cpu or
///     memory is "refused", and so is a cpu or memory outside the policy's
///     limit bounds (naming the bound);
///  3. replicas outside [min_replicas, max_replicas] are "refused" with a message
///     naming the bound -- never clamped;
///  4. within `cooldown` of the last applied change it is "refused", unless it
///     asks for the replica count already running (no change; it does not
///     start a cooldown either);
///  5. in dry-run mode it is "dry_run" and nothing changes;
///  6. otherwise the wrapped actuator applies it.
class GuardedActuator final : public Actuator {
 public:
  GuardedActuator(std::unique_ptr<Actuator> inner, GuardPolicy policy);

  const char* kind() const override { return inner_->kind(); }
  [[nodiscard]] Status start() override { return inner_->start(); }
  int64_t currentReplicas() const override { return inner_->currentReplicas(); }
  [[nodiscard]] ActuationResult apply(const protocol::Directive& directive) override;
  void poll() override { inner_->poll(); }
  void stop() override { inner_->stop(); }

  const GuardPolicy& policy() const { return policy_; }
  /// The wrapped implementation (for introspection in logs and tests).
  Actuator& inner() { return *inner_; }

 private:
  std::unique_ptr<Actuator> inner_;
  GuardPolicy policy_;
  std::optional<int64_t> last_change_steady_ms_;
};

}  // namespace pso::agent
