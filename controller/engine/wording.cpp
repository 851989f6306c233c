#include "controller/engine/wording.h"

#include <algorithm>
#include <charconv>
#include <cmath>

namespace pso::controller::engine {

namespace {

std::string fixed(double value, int decimals) {
  char buffer[64];
  const auto result =
      std::to_chars(buffer, buffer + sizeof(buffer), value, std::chars_format::fixed, decimals);
  std::string text(buffer, result.ptr);
  if (text.find('.') != std::string::npos) {
    while (text.back() == '0') text.pop_back();
    if (text.back() == '.') text.pop_back();
  }
  if (text == "-0") text = "0";
  return text;
}

template <typename Enum>
struct Named {
  Enum value;
  std::string_view code;
};

// Each enum's names, listed once: code() and parse() both read the table.
constexpr Named<DecisionRule> kRules[] = {
    {DecisionRule::kNoData, "no-data"},
    {DecisionRule::kWarmingUp, "warming-up"},
    {DecisionRule::kDemandAtTarget, "demand-at-target"},
    {DecisionRule::kPredictive, "predictive-upper-quantile"},
    {DecisionRule::kPredictiveMinBound, "min-bound"},
    {DecisionRule::kPredictiveMaxBound, "max-bound"},
    {DecisionRule::kPredictiveWithinTolerance, "within-tolerance"},
    {DecisionRule::kObservedDemandFloor, "observed-demand-floor"},
    {DecisionRule::kReactiveHpa, "reactive-hpa"},
};
constexpr Named<GuardrailKind> kGuardrails[] = {
    {GuardrailKind::kOperatorHold, "operator_hold"},
    {GuardrailKind::kScaleDownStabilization, "scale_down_stabilization"},
    {GuardrailKind::kStepLimitUp, "step_limit_up"},
    {GuardrailKind::kStepLimitDown, "step_limit_down"},
    {GuardrailKind::kCooldown, "cooldown"},
    {GuardrailKind::kActionsPerHour, "actions_per_hour"},
    {GuardrailKind::kForecastOnly, "forecast_only"},
};
constexpr Named<CoordinationKind> kCoordination[] = {
    {CoordinationKind::kDependency, "dependency"},
    {CoordinationKind::kPool, "pool"},
};
constexpr Named<AlertAction> kAlertActions[] = {
    {AlertAction::kScaleUp, "scale_up"},
    {AlertAction::kScaleDown, "scale_down"},
    {AlertAction::kHold, "hold"},
};
constexpr Named<ReactiveReason> kReactiveReasons[] = {
    {ReactiveReason::kNoMetric, "no_metric"},
    {ReactiveReason::kNoneRunning, "none_running"},
    {ReactiveReason::kNoneReady, "none_ready"},
    {ReactiveReason::kWarmingKeep, "warming_keep"},
    {ReactiveReason::kWarmingScale, "warming_scale"},
    {ReactiveReason::kWithinTolerance, "within_tolerance"},
    {ReactiveReason::kRatio, "ratio"},
};

template <typename Enum, std::size_t N>
std::string_view codeOf(const Named<Enum> (&table)[N], Enum value) {
  for (const auto& entry : table) {
    if (entry.value == value) return entry.code;
  }
  return "unknown";
}

template <typename Enum, std::size_t N>
std::optional<Enum> parseCode(const Named<Enum> (&table)[N], std::string_view code) {
  for (const auto& entry : table) {
    if (entry.code == code) return entry.value;
  }
  return std::nullopt;
}

}  // namespace

std::string_view ruleCode(DecisionRule rule) {
  return codeOf(kRules, rule);
}
std::optional<DecisionRule> parseDecisionRule(std::string_view code) {
  return parseCode(kRules, code);
}
std::string_view guardrailCode(GuardrailKind kind) {
  return codeOf(kGuardrails, kind);
}
std::optional<GuardrailKind> parseGuardrailKind(std::string_view code) {
  return parseCode(kGuardrails, code);
}
std::string_view coordinationCode(CoordinationKind kind) {
  return codeOf(kCoordination, kind);
}
std::optional<CoordinationKind> parseCoordinationKind(std::string_view code) {
  return parseCode(kCoordination, code);
}
std::string_view alertActionCode(AlertAction action) {
  return codeOf(kAlertActions, action);
}
std::optional<AlertAction> parseAlertAction(std::string_view code) {
  return parseCode(kAlertActions, code);
}
std::string_view reactiveReasonCode(ReactiveReason reason) {
  return codeOf(kReactiveReasons, reason);
}
std::optional<ReactiveReason> parseReactiveReason(std::string_view code) {
  return parseCode(kReactiveReasons, code);
}

std::string formatQuantity(double value) {
  if (std::isnan(value)) return "unknown";
  if (std::isinf(value)) return value > 0 ? "unbounded" : "-unbounded";
  const double magnitude = std::abs(value);
  if (magnitude >= 100.0) return fixed(value, 0);
  if (magnitude >= 10.0) return fixed(value, 1);
  return fixed(value, 2);
}

std::string formatPercent(double fraction) {
  if (!std::isfinite(fraction)) return formatQuantity(fraction);
  return fixed(fraction * 100.0, 0) + "%";
}

std::string formatSeconds(double seconds) {
  return formatQuantity(seconds) + " s";
}

std::string formatReplicas(int64_t count) {
  return std::to_string(count) + (count == 1 ? " replica" : " replicas");
}

std::string formatSteps(int64_t count) {
  return std::to_string(count) + (count == 1 ? " step" : " steps");
}

int64_t ceilCount(double value) {
  if (!(value > 0.0)) return 0;
  constexpr double kMaxCount = 1e15;
  if (value > kMaxCount) return static_cast<int64_t>(kMaxCount);
  return static_cast<int64_t>(std::ceil(value - 1e-9 * std::max(1.0, value)));
}

}  // namespace pso::controller::engine
