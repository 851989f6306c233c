#pragma once

// Guardrails between a recommendation and a dispatched change: operator
// holds, scale-down stabilisation, step limits, per-system cooldown, the
// global actions-per-hour limit and forecast-only mode. Each one that changes
// a decision says so in a sentence.

#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <vector>

#include "controller/engine/state_codec.h"
#include "controller/engine/types.h"

namespace pso::controller::engine {

/// Timestamped recommendations of one system over a sliding window; the
/// scale-down stabilisation keeps the highest of them.
class StabilizationWindow {
 public:
  /// Drops entries older than window_s before now_ms, then adds this one.
  void record(int64_t now_ms, int64_t replicas, double window_s);
  /// Highest recommendation within window_s before now_ms (inclusive); nullopt if none.
  std::optional<int64_t> highestSince(int64_t now_ms, double window_s) const;

  void save(StateWriter& writer) const;
  void load(StateReader& reader);

 private:
  struct Timed {
    int64_t ms = 0;
    int64_t replicas = 0;
  };
  std::deque<Timed> entries_;
};

/// The engine's dispatched changes over the last hour, across all systems.
class ActionRateLimiter {
 public:
  /// Changes dispatched within the hour before now_ms.
  int64_t countLastHour(int64_t now_ms) const;
  void record(int64_t now_ms);

  void save(StateWriter& writer) const;
  void load(StateReader& reader);

 private:
  std::deque<int64_t> dispatched_ms_;
};

/// One system's guardrail memory.
struct GuardState {
  StabilizationWindow stabilization;
  std::optional<int64_t> last_change_ms;  ///< last engine-dispatched change
};

struct GuardrailInput {
  int64_t recommended = 0;  ///< the policy's recommendation
  int64_t current = 0;      ///< launched replicas now
  int64_t now_ms = 0;
  std::optional<OperatorHold> hold;
  /// Apply scale-down stabilisation here; false when the policy (the HPA
  /// rule) already stabilises its own recommendations.
  bool stabilize_scale_down = true;
  /// Hold back a step down that frees no more than
  /// EngineSettings::scale_down_min_share of the running replicas (with
  /// stabilize_scale_down); false for an alert rule's step, which asks for
  /// exactly that step. Never holds the count above `ceiling`.
  bool calm_steps_down = true;
  /// A shared pool's grant: scale-down stabilisation does not hold the count
  /// above it (the pool needs those replicas elsewhere now).
  std::optional<int64_t> ceiling;
};

struct GuardrailOutcome {
  int64_t desired = 0;
  bool dispatch = false;                 ///< desired != current, allowed, and not forecast-only
  bool held = false;                     ///< an operator hold decided the count
  std::vector<std::string> notes;        ///< one sentence per guardrail that changed the decision
  std::vector<GuardrailEffect> effects;  ///< the same guardrails as typed effects, same order
};

/// Applies, in order: operator hold (desired = hold.replicas while now <
/// until; the engine's own limits do not apply to an operator's count, but
/// forecast-only still withholds dispatch), scale-down stabilisation (a
/// decrease goes no lower than the highest recommendation of the last
/// scale_down_stabilization_s, and a step down that frees no more than
/// scale_down_min_share of the running replicas waits), max step up/down,
/// per-system cooldown (no change within cooldown_s of the last dispatched
/// change), the global actions-per-hour limit, forecast-only (decide, do not
/// dispatch).
/// Records the recommendation in the window and, when the change is
/// dispatched, its time in `state` and `limiter`.
GuardrailOutcome applyGuardrails(const GuardrailInput& input, const EngineSettings& settings,
                                 GuardState& state, ActionRateLimiter& limiter);

}  // namespace pso::controller::engine
