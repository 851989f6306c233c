#include "controller/engine/guardrails.h"

#include <gtest/gtest.h>

namespace pso::controller::engine {
namespace {

GuardrailInput input(int64_t recommended, int64_t current, int64_t now_ms) {
  GuardrailInput in;
  in.recommended = recommended;
  in.current = current;
  in.now_ms = now_ms;
  return in;
}

bool mentions(const GuardrailOutcome& out, const std::string& words) {
  for (const std::string& note : out.notes) {
    if (note.find(words) != std::string::npos) return true;
  }
  return false;
}

TEST(Guardrails, NoneChangesAnUnconstrainedDecision) {
  GuardState state;
  ActionRateLimiter limiter;
  const GuardrailOutcome out = applyGuardrails(input(7, 5, 0), EngineSettings{}, state, limiter);
  EXPECT_EQ(out.desired, 7);
  EXPECT_TRUE(out.dispatch);
  EXPECT_TRUE(out.notes.empty());
  EXPECT_EQ(state.last_change_ms, 0);
  EXPECT_EQ(limiter.countLastHour(0), 1);
}

TEST(Guardrails, ScaleDownStabilisationKeepsTheWindowsHighest) {
  EngineSettings settings;
  settings.scale_down_stabilization_s = 300.0;
  settings.scale_down_min_share = 0.0;  // the window alone
  GuardState state;
  ActionRateLimiter limiter;
  EXPECT_EQ(applyGuardrails(input(8, 8, 0), settings, state, limiter).desired, 8);
  const GuardrailOutcome held = applyGuardrails(input(4, 8, 60'000), settings, state, limiter);
  EXPECT_EQ(held.desired, 8);
  EXPECT_FALSE(held.dispatch);
  EXPECT_TRUE(mentions(held, "Scale-down stabilisation")) << held.notes.front();
  EXPECT_TRUE(mentions(held, "as high as 8"));
  // Partial: the highest in the window (6) is below current.
  GuardState partial;
  applyGuardrails(input(6, 8, 0), settings, partial, limiter);
  EXPECT_EQ(applyGuardrails(input(3, 8, 10'000), settings, partial, limiter).desired, 6);
  // Once the high recommendation has left the window, the decrease goes through.
  const GuardrailOutcome later = applyGuardrails(input(4, 8, 360'001), settings, state, limiter);
  EXPECT_EQ(later.desired, 4);
  EXPECT_TRUE(later.notes.empty());
  // Increases are never stabilised.
  EXPECT_EQ(applyGuardrails(input(12, 8, 360'002), settings, state, limiter).desired, 12);
}

TEST(Guardrails, AStepDownFreeingTooSmallAShareWaitsUntilItIsWorthAChange) {
  EngineSettings settings;
  settings.scale_down_stabilization_s = 300.0;
  settings.scale_down_min_share = 0.1;
  GuardState state;
  ActionRateLimiter limiter;
  applyGuardrails(input(20, 20, 0), settings, state, limiter);
  // Past the window, 19 would free 5% of 20: kept, and said why.
  const GuardrailOutcome small = applyGuardrails(input(19, 20, 400'000), settings, state, limiter);
  EXPECT_EQ(small.desired, 20);
  EXPECT_FALSE(small.dispatch);
  EXPECT_TRUE(mentions(small, "frees 5% of the running replicas, not more than 10%"))
      << small.notes.front();
  ASSERT_EQ(small.effects.size(), 1u);
  EXPECT_EQ(small.effects.front().kind, GuardrailKind::kScaleDownStabilization);
  // 18 frees exactly 10%: still kept; 17 frees 15%: one change of three replicas.
  EXPECT_EQ(applyGuardrails(input(18, 20, 800'000), settings, state, limiter).desired, 20);
  EXPECT_EQ(applyGuardrails(input(17, 20, 1'200'000), settings, state, limiter).desired, 17);
  // At small counts one replica is more than the share: it goes at once.
  GuardState few;
  applyGuardrails(input(5, 5, 0), settings, few, limiter);
  EXPECT_EQ(applyGuardrails(input(4, 5, 400'000), settings, few, limiter).desired, 4);

  // The default share, a quarter: 20 -> 15 is held, 20 -> 14 goes; at three
  // replicas or fewer one replica is more than a quarter and goes at once.
  const EngineSettings defaults;
  EXPECT_DOUBLE_EQ(defaults.scale_down_min_share, 0.25);
  GuardState quarter;
  applyGuardrails(input(20, 20, 0), defaults, quarter, limiter);
  EXPECT_EQ(applyGuardrails(input(15, 20, 400'000), defaults, quarter, limiter).desired, 20);
  EXPECT_EQ(applyGuardrails(input(14, 20, 800'000), defaults, quarter, limiter).desired, 14);
  GuardState three;
  applyGuardrails(input(3, 3, 0), defaults, three, limiter);
  EXPECT_EQ(applyGuardrails(input(2, 3, 400'000), defaults, three, limiter).desired, 2);
  // Nor above a pool's grant: the pool needs those replicas now.
  GuardState pooled;
  applyGuardrails(input(8, 8, 0), defaults, pooled, limiter);
  GuardrailInput granted = input(7, 8, 400'000);
  granted.ceiling = 7;
  EXPECT_EQ(applyGuardrails(granted, defaults, pooled, limiter).desired, 7);
  // Nor an alert rule's step, which asks for exactly that step.
  GuardState asked;
  applyGuardrails(input(5, 5, 0), defaults, asked, limiter);
  GuardrailInput rule = input(4, 5, 400'000);
  rule.calm_steps_down = false;
  EXPECT_EQ(applyGuardrails(rule, defaults, asked, limiter).desired, 4);
  // None is held back at a share of 0.
  EngineSettings none = defaults;
  none.scale_down_min_share = 0.0;
  GuardState any;
  applyGuardrails(input(20, 20, 0), none, any, limiter);
  EXPECT_EQ(applyGuardrails(input(19, 20, 400'000), none, any, limiter).desired, 19);
}

TEST(Guardrails, StabilisationIsSkippedWhenThePolicyStabilisesItself) {
  GuardState state;
  ActionRateLimiter limiter;
  applyGuardrails(input(8, 8, 0), EngineSettings{}, state, limiter);
  GuardrailInput in = input(4, 8, 1000);
  in.stabilize_scale_down = false;
  EXPECT_EQ(applyGuardrails(in, EngineSettings{}, state, limiter).desired, 4);
}

TEST(Guardrails, StepLimitsBoundEachChange) {
  EngineSettings settings;
  settings.max_step_up = 3;
  settings.max_step_down = 2;
  settings.scale_down_stabilization_s = 0.0;
  GuardState state;
  ActionRateLimiter limiter;
  const GuardrailOutcome up = applyGuardrails(input(10, 2, 0), settings, state, limiter);
  EXPECT_EQ(up.desired, 5);
  EXPECT_TRUE(mentions(up, "at most 3 replicas added"));
  const GuardrailOutcome down = applyGuardrails(input(1, 9, 1000), settings, state, limiter);
  EXPECT_EQ(down.desired, 7);
  EXPECT_TRUE(mentions(down, "at most 2 replicas removed"));
}

TEST(Guardrails, CooldownBlocksChangesSoonAfterTheLastOne) {
  EngineSettings settings;
  settings.cooldown_s = 120.0;
  GuardState state;
  ActionRateLimiter limiter;
  EXPECT_TRUE(applyGuardrails(input(6, 5, 0), settings, state, limiter).dispatch);
  const GuardrailOutcome blocked = applyGuardrails(input(8, 6, 40'000), settings, state, limiter);
  EXPECT_EQ(blocked.desired, 6);
  EXPECT_FALSE(blocked.dispatch);
  EXPECT_TRUE(mentions(blocked, "Cooldown: the last change was 40 s ago"));
  const GuardrailOutcome allowed = applyGuardrails(input(8, 6, 120'000), settings, state, limiter);
  EXPECT_EQ(allowed.desired, 8);
  EXPECT_TRUE(allowed.dispatch);
}

TEST(Guardrails, ActionsPerHourIsAGlobalSlidingWindow) {
  EngineSettings settings;
  settings.actions_per_hour = 2;
  GuardState a, b, c;
  ActionRateLimiter limiter;
  EXPECT_TRUE(applyGuardrails(input(3, 2, 0), settings, a, limiter).dispatch);
  EXPECT_TRUE(applyGuardrails(input(3, 2, 1000), settings, b, limiter).dispatch);
  const GuardrailOutcome third = applyGuardrails(input(3, 2, 2000), settings, c, limiter);
  EXPECT_EQ(third.desired, 2);
  EXPECT_FALSE(third.dispatch);
  EXPECT_TRUE(mentions(third, "Actions-per-hour limit: 2 changes"));
  // An hour after the first, one slot is free again.
  EXPECT_TRUE(applyGuardrails(input(3, 2, 3'600'001), settings, c, limiter).dispatch);
}

TEST(Guardrails, ForecastOnlyDecidesButDoesNotDispatch) {
  EngineSettings settings;
  settings.forecast_only = true;
  GuardState state;
  ActionRateLimiter limiter;
  const GuardrailOutcome out = applyGuardrails(input(7, 5, 0), settings, state, limiter);
  EXPECT_EQ(out.desired, 7);
  EXPECT_FALSE(out.dispatch);
  EXPECT_TRUE(mentions(out, "Forecast-only mode"));
  EXPECT_FALSE(state.last_change_ms.has_value());
  EXPECT_EQ(limiter.countLastHour(0), 0);
}

TEST(Guardrails, OperatorHoldWinsOverEveryOtherGuardrail) {
  EngineSettings settings;
  settings.max_step_up = 1;
  settings.cooldown_s = 600.0;
  settings.actions_per_hour = 0;
  GuardState state;
  state.last_change_ms = 0;
  ActionRateLimiter limiter;
  GuardrailInput in = input(3, 4, 10'000);
  in.hold = OperatorHold{9, 70'000, "load test"};
  const GuardrailOutcome out = applyGuardrails(in, settings, state, limiter);
  EXPECT_TRUE(out.held);
  EXPECT_EQ(out.desired, 9);
  EXPECT_TRUE(out.dispatch);
  ASSERT_EQ(out.notes.size(), 1u);
  EXPECT_EQ(out.notes[0],
            "Operator hold: 9 replicas for another 60 s (load test), instead of the "
            "recommended 3.");
  // An expired hold no longer applies.
  in.now_ms = 70'000;
  EXPECT_FALSE(applyGuardrails(in, settings, state, limiter).held);
}

}  // namespace
}  // namespace pso::controller::engine
