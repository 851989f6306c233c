#include "controller/engine/guardrails.h"

#include <algorithm>
#include <cmath>

#include "controller/engine/wording.h"

namespace pso::controller::engine {

namespace {

constexpr int64_t kHourMs = 3600 * 1000;
/// Bounds on remembered entries whatever the call rate or limit.
constexpr std::size_t kMaxWindowEntries = 4096;
constexpr std::size_t kMaxRateEntries = 1000000;

int64_t windowMs(double window_s) {
  return window_s > 0.0 ? static_cast<int64_t>(std::llround(window_s * 1000.0)) : 0;
}

std::string instead(int64_t desired, int64_t current, int64_t wanted) {
  if (desired == current) {
    return "keeping " + std::to_string(current) + " instead of going to " + std::to_string(wanted);
  }
  return std::to_string(desired) + " instead of " + std::to_string(wanted);
}

}  // namespace

void StabilizationWindow::record(int64_t now_ms, int64_t replicas, double window_s) {
  const int64_t cutoff = now_ms - windowMs(window_s);
  while (!entries_.empty() &&
         (entries_.front().ms < cutoff || entries_.size() >= kMaxWindowEntries)) {
    entries_.pop_front();
  }
  entries_.push_back({now_ms, replicas});
}

std::optional<int64_t> StabilizationWindow::highestSince(int64_t now_ms, double window_s) const {
  const int64_t cutoff = now_ms - windowMs(window_s);
  std::optional<int64_t> highest;
  for (const Timed& e : entries_) {
    if (e.ms < cutoff || e.ms > now_ms) continue;
    highest = std::max(highest.value_or(e.replicas), e.replicas);
  }
  return highest;
}

void StabilizationWindow::save(StateWriter& writer) const {
  writer.putInt(static_cast<int64_t>(entries_.size()));
  for (const Timed& e : entries_) writer.putInt(e.ms).putInt(e.replicas);
}

void StabilizationWindow::load(StateReader& reader) {
  const int64_t n = reader.getInt(0, static_cast<int64_t>(kMaxWindowEntries));
  std::deque<Timed> entries;
  for (int64_t i = 0; i < n && reader.ok(); ++i) {
    Timed e;
    e.ms = reader.getInt();
    e.replicas = reader.getInt();
    entries.push_back(e);
  }
  if (reader.ok()) entries_ = std::move(entries);
}

int64_t ActionRateLimiter::countLastHour(int64_t now_ms) const {
  return std::count_if(dispatched_ms_.begin(), dispatched_ms_.end(),
                       [&](int64_t ms) { return ms > now_ms - kHourMs && ms <= now_ms; });
}

void ActionRateLimiter::record(int64_t now_ms) {
  while (!dispatched_ms_.empty() &&
         (dispatched_ms_.front() <= now_ms - kHourMs || dispatched_ms_.size() >= kMaxRateEntries)) {
    dispatched_ms_.pop_front();
  }
  dispatched_ms_.push_back(now_ms);
}

void ActionRateLimiter::save(StateWriter& writer) const {
  writer.putInt(static_cast<int64_t>(dispatched_ms_.size()));
  for (int64_t ms : dispatched_ms_) writer.putInt(ms);
}

void ActionRateLimiter::load(StateReader& reader) {
  const int64_t n = reader.getInt(0, static_cast<int64_t>(kMaxRateEntries));
  std::deque<int64_t> dispatched;
  for (int64_t i = 0; i < n && reader.ok(); ++i) dispatched.push_back(reader.getInt());
  if (reader.ok()) dispatched_ms_ = std::move(dispatched);
}

GuardrailOutcome applyGuardrails(const GuardrailInput& input, const EngineSettings& settings,
                                 GuardState& state, ActionRateLimiter& limiter) {
  GuardrailOutcome out;
  const int64_t current = input.current;
  const int64_t now = input.now_ms;
  // Recorded even under a hold, so stabilisation is coherent when it ends.
  state.stabilization.record(now, input.recommended, settings.scale_down_stabilization_s);

  if (input.hold && now < input.hold->until_ms) {
    out.held = true;
    out.desired = input.hold->replicas;
    const double remaining_s = static_cast<double>(input.hold->until_ms - now) / 1000.0;
    std::string note = "Operator hold: " + formatReplicas(input.hold->replicas) + " for another " +
                       formatSeconds(remaining_s);
    if (!input.hold->reason.empty()) note += " (" + input.hold->reason + ")";
    if (out.desired != input.recommended) {
      note += ", instead of the recommended " + std::to_string(input.recommended);
    }
    out.notes.push_back(note + ".");
    out.effects.push_back({GuardrailKind::kOperatorHold, input.recommended, out.desired});
  } else {
    int64_t desired = input.recommended;

    if (input.stabilize_scale_down && desired < current) {
      int64_t highest = state.stabilization.highestSince(now, settings.scale_down_stabilization_s)
                            .value_or(desired);
      if (input.ceiling) highest = std::min(highest, std::max(desired, *input.ceiling));
      const int64_t stabilized = std::min(current, std::max(desired, highest));
      if (stabilized != desired) {
        out.notes.push_back("Scale-down stabilisation: recommendations in the last " +
                            formatSeconds(settings.scale_down_stabilization_s) +
                            " went as high as " + std::to_string(highest) + ", so " +
                            instead(stabilized, current, desired) + ".");
        out.effects.push_back({GuardrailKind::kScaleDownStabilization, desired, stabilized});
        desired = stabilized;
      }
      // A step down that frees no more than scale_down_min_share of what
      // runs is not worth a change: the count comes down in fewer, larger
      // steps.
      const bool pool_needs_them = input.ceiling && *input.ceiling < current;
      if (input.calm_steps_down && !pool_needs_them && desired < current &&
          static_cast<double>(current - desired) <=
              settings.scale_down_min_share * static_cast<double>(current)) {
        out.notes.push_back(
            "Scale-down stabilisation: going from " + std::to_string(current) + " to " +
            std::to_string(desired) + " frees " +
            formatPercent(static_cast<double>(current - desired) / static_cast<double>(current)) +
            " of the running replicas, not more than " +
            formatPercent(settings.scale_down_min_share) + ", so " +
            instead(current, current, desired) + ".");
        out.effects.push_back({GuardrailKind::kScaleDownStabilization, desired, current});
        desired = current;
      }
    }

    if (settings.max_step_up > 0 && desired - current > settings.max_step_up) {
      const int64_t limited = current + settings.max_step_up;
      out.notes.push_back("Step limit: at most " + formatReplicas(settings.max_step_up) +
                          " added per decision, so " + instead(limited, current, desired) + ".");
      out.effects.push_back({GuardrailKind::kStepLimitUp, desired, limited});
      desired = limited;
    }
    if (settings.max_step_down > 0 && current - desired > settings.max_step_down) {
      const int64_t limited = current - settings.max_step_down;
      out.notes.push_back("Step limit: at most " + formatReplicas(settings.max_step_down) +
                          " removed per decision, so " + instead(limited, current, desired) + ".");
      out.effects.push_back({GuardrailKind::kStepLimitDown, desired, limited});
      desired = limited;
    }

    if (desired != current && settings.cooldown_s > 0.0 && state.last_change_ms &&
        now - *state.last_change_ms < windowMs(settings.cooldown_s)) {
      const double since_s = static_cast<double>(now - *state.last_change_ms) / 1000.0;
      out.notes.push_back("Cooldown: the last change was " + formatSeconds(since_s) +
                          " ago, within the " + formatSeconds(settings.cooldown_s) +
                          " cooldown, so " + instead(current, current, desired) + ".");
      out.effects.push_back({GuardrailKind::kCooldown, desired, current});
      desired = current;
    }

    if (desired != current) {
      const int64_t recent = limiter.countLastHour(now);
      if (recent >= settings.actions_per_hour) {
        out.notes.push_back("Actions-per-hour limit: " + std::to_string(recent) +
                            " changes already dispatched in the last hour (limit " +
                            std::to_string(settings.actions_per_hour) + "), so " +
                            instead(current, current, desired) + ".");
        out.effects.push_back({GuardrailKind::kActionsPerHour, desired, current});
        desired = current;
      }
    }
    out.desired = desired;
  }

  const bool changed = out.desired != current;
  if (changed && settings.forecast_only) {
    out.notes.push_back("Forecast-only mode: the change to " + std::to_string(out.desired) +
                        " is recorded, not dispatched.");
    out.effects.push_back({GuardrailKind::kForecastOnly, out.desired, out.desired});
  }
  out.dispatch = changed && !settings.forecast_only;
  // Operator holds are the operator's changes: they neither start a cooldown
  // nor use up the engine's hourly budget.
  if (out.dispatch && !out.held) {
    state.last_change_ms = now;
    limiter.record(now);
  }
  return out;
}

}  // namespace pso::controller::engine
