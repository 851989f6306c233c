#include "agent/agent_liveness.h"

#include <algorithm>

namespace pso::agent {

LivenessRule livenessRule(const AgentConfig& config) {
  LivenessRule rule;
  int64_t longest_action = 0;
  for (const SystemConfig& system : config.systems) {
    longest_action = std::max<int64_t>(longest_action, system.actuator.timeout.count());
  }
  rule.loop_stall_ms = 30000 + longest_action;
  rule.ack_stall_ms = std::max<int64_t>(60000, 6 * config.heartbeat_interval.count());
  return rule;
}

std::optional<std::string> unhealthyReason(const LoopLiveness& liveness, const LivenessRule& rule,
                                           int64_t now_ms) {
  const int64_t loop_ms = liveness.loop_ms.load();
  if (loop_ms == 0) return "agent loop has not started";
  if (now_ms - loop_ms > rule.loop_stall_ms) {
    return "agent loop has not run for " + std::to_string((now_ms - loop_ms) / 1000) + " s";
  }
  const int64_t since = liveness.unacked_since.load();
  if (since != 0 && now_ms - since > rule.ack_stall_ms) {
    return "no ack from the controller for " + std::to_string((now_ms - since) / 1000) + " s, " +
           std::to_string(liveness.pending.load()) + " batch(es) pending";
  }
  return std::nullopt;
}

}  // namespace pso::agent
