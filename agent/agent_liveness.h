#pragma once

// The rule behind the agent's GET /healthz (docs/agent.md "Metrics and health
// endpoint"): what the agent loop publishes each turn, and when that makes
// the agent unhealthy. Pure, with time passed in, so the rule is tested
// without waiting for it.

#include <atomic>
#include <cstdint>
#include <optional>
#include <string>

#include "agent/agent_config.h"

namespace pso::agent {

/// What the agent loop publishes after each turn for the listener's thread to
/// read; every member is written by the loop only. Times are steady-clock ms.
struct LoopLiveness {
  std::atomic<int64_t> loop_ms{0};        ///< end of the loop's latest turn
  std::atomic<int64_t> unacked_since{0};  ///< telemetry waiting for an ack since; 0: none waits
  std::atomic<int64_t> last_contact{0};   ///< last message from the controller; 0: none yet
  std::atomic<uint64_t> pending{0};       ///< spooled batches not yet acked
  std::atomic<bool> welcomed{false};      ///< the controller welcomed this session
};

/// How long each condition may last before /healthz answers 503.
struct LivenessRule {
  /// The loop has not finished a turn for this long. It turns at least every
  /// 250 ms, but applies a directive inside a turn, bounded by the actuator's
  /// timeout: 30 s plus the longest actuator timeout of the config.
  int64_t loop_stall_ms = 30000;
  /// Telemetry has waited this long without any ack progress: 60 s or
  /// 6 x heartbeat_interval (when the session gives up on the controller and
  /// says hello again), whichever is longer.
  int64_t ack_stall_ms = 60000;
};

/// The rule for `config`.
LivenessRule livenessRule(const AgentConfig& config);

/// nullopt while the agent is healthy at `now_ms`, else a one-line reason
/// ("agent loop has not run for 75 s", "no ack from the controller for 64 s,
/// 12 batch(es) pending"). A loop that has not started yet (loop_ms 0) is
/// unhealthy.
std::optional<std::string> unhealthyReason(const LoopLiveness& liveness, const LivenessRule& rule,
                                           int64_t now_ms);

}  // namespace pso::agent
