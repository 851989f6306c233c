#include "agent/guarded_actuator.h"

#include <spdlog/spdlog.h>

#include <utility>

#include "common/clock.h"

namespace pso::agent {
namespace {

ActuationResult refuse(int64_t replicas, std::string message) {
  return ActuationResult{ActuationStatus::kRefused, replicas, std::move(message)};
}

std::string describeLimits(const protocol::Directive& directive) {
  std::string text;
  if (directive.cpu) text += "cpu " + fmt::format("{:g}", *directive.cpu);
  if (directive.memory_bytes) {
    text += text.empty() ? "" : ", ";
    text += "memory " + std::to_string(*directive.memory_bytes);
  }
  return text;
}

}  // namespace

const char* actuationStatusName(ActuationStatus status) {
  switch (status) {
    case ActuationStatus::kApplied:
      return "applied";
    case ActuationStatus::kRefused:
      return "refused";
    case ActuationStatus::kFailed:
      return "failed";
    case ActuationStatus::kDryRun:
      return "dry_run";
    case ActuationStatus::kExpired:
      return "expired";
  }
  return "failed";
}

GuardedActuator::GuardedActuator(std::unique_ptr<Actuator> inner, GuardPolicy policy)
    : inner_(std::move(inner)), policy_(std::move(policy)) {}

ActuationResult GuardedActuator::apply(const protocol::Directive& directive) {
  const std::string& system = policy_.system;
  const int64_t current = inner_->currentReplicas();

  if (directive.deadline_ms > 0) {
    int64_t late_ms = common::wallMs() - directive.deadline_ms;
    if (late_ms > 0) {
      return ActuationResult{ActuationStatus::kExpired, current,
                             "directive " + directive.id + " arrived " + std::to_string(late_ms) +
                                 " ms after its deadline; not applied"};
    }
  }

  const bool is_scale = directive.action == "scale";
  if (is_scale) {
    if (!directive.replicas) return refuse(current, "scale directive without replicas");
    const int64_t wanted = *directive.replicas;
    if (wanted < policy_.min_replicas) {
      return refuse(current, "system " + system + ": " + std::to_string(wanted) +
                                 " replicas is below min_replicas " +
                                 std::to_string(policy_.min_replicas));
    }
    if (wanted > policy_.max_replicas) {
      return refuse(current, "system " + system + ": " + std::to_string(wanted) +
                                 " replicas is above max_replicas " +
                                 std::to_string(policy_.max_replicas));
    }
  } else if (directive.action == "limits") {
    if (!directive.cpu && !directive.memory_bytes) {
      return refuse(current, "limits directive without cpu or memory");
    }
    if ((directive.cpu && !(*directive.cpu > 0.0)) ||
        (directive.memory_bytes && *directive.memory_bytes <= 0)) {
      return refuse(current, "limits directive with a cpu or memory that is not positive");
    }
    if (directive.cpu && policy_.min_cpu > 0 && *directive.cpu < policy_.min_cpu) {
      return refuse(current, fmt::format("system {}: cpu {:g} is below min_cpu {:g}", system,
                                         *directive.cpu, policy_.min_cpu));
    }
    if (directive.cpu && policy_.max_cpu > 0 && *directive.cpu > policy_.max_cpu) {
      return refuse(current, fmt::format("system {}: cpu {:g} is above max_cpu {:g}", system,
                                         *directive.cpu, policy_.max_cpu));
    }
    if (directive.memory_bytes && policy_.min_memory > 0 &&
        *directive.memory_bytes < policy_.min_memory) {
      return refuse(current, fmt::format("system {}: memory {} is below min_memory {}", system,
                                         *directive.memory_bytes, policy_.min_memory));
    }
    if (directive.memory_bytes && policy_.max_memory > 0 &&
        *directive.memory_bytes > policy_.max_memory) {
      return refuse(current, fmt::format("system {}: memory {} is above max_memory {}", system,
                                         *directive.memory_bytes, policy_.max_memory));
    }
  } else {
    return refuse(current, "unknown action '" + directive.action + "' (expected scale or limits)");
  }

  // Asking for what is already running is no change: the cooldown does not
  // hold it back and it does not start a new one. It still reaches the
  // actuator, which may be restoring that count (a process pool restarting a
  // worker) and must keep it as its target.
  const bool changes = !is_scale || *directive.replicas != current;
  if (changes && last_change_steady_ms_ && policy_.cooldown.count() > 0) {
    int64_t since = common::steadyMs() - *last_change_steady_ms_;
    if (since < policy_.cooldown.count()) {
      return refuse(current,
                    "system " + system + ": in cooldown, " +
                        common::formatDuration(common::Duration(policy_.cooldown.count() - since)) +
                        " left of " + common::formatDuration(policy_.cooldown) +
                        " since the last change");
    }
  }

  if (policy_.dry_run) {
    std::string what = is_scale ? "scale " + system + " from " + std::to_string(current) + " to " +
                                      std::to_string(*directive.replicas) + " replicas"
                                : "set limits of " + system + " to " + describeLimits(directive);
    spdlog::info("system {}: dry run, would {} (directive {})", system, what, directive.id);
    return ActuationResult{ActuationStatus::kDryRun, current, "dry run: would " + what};
  }

  ActuationResult result = inner_->apply(directive);
  if (result.status == ActuationStatus::kApplied && changes) {
    last_change_steady_ms_ = common::steadyMs();
  }
  return result;
}

}  // namespace pso::agent
