#include "controller/engine/alert_rules.h"

#include <algorithm>
#include <array>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <iterator>
#include <sstream>

namespace pso::controller::engine {
namespace {

struct OpName {
  AlertOp op;
  const char* text;
};

constexpr std::array<OpName, 6> kOps = {{{AlertOp::kLess, "<"},
                                         {AlertOp::kLessEqual, "<="},
                                         {AlertOp::kGreater, ">"},
                                         {AlertOp::kGreaterEqual, ">="},
                                         {AlertOp::kEqual, "=="},
                                         {AlertOp::kNotEqual, "!="}}};

constexpr std::array<const char*, 4> kStateNames = {"inactive", "pending", "firing", "resolved"};

// A metric name as the store keeps them: letters, digits, '_', '.', '-', ':'.
bool validMetric(const std::string& metric) {
  if (metric.empty() || metric.size() > 128) return false;
  for (char c : metric) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '_' || c == '.' || c == '-' || c == ':';
    if (!ok) return false;
  }
  return true;
}

std::optional<double> parseNumber(const std::string& text) {
  if (text.empty()) return std::nullopt;
  errno = 0;
  char* end = nullptr;
  const double value = std::strtod(text.c_str(), &end);
  if (errno != 0 || end != text.c_str() + text.size() || !std::isfinite(value)) {
    return std::nullopt;
  }
  return value;
}

}  // namespace

bool isAgentFigure(const std::string& metric) {
  return std::any_of(std::begin(kAgentFigures), std::end(kAgentFigures),
                     [&](const char* name) { return metric == name; });
}

Result<AlertCondition> AlertCondition::parse(const std::string& text) {
  std::istringstream words(text);
  std::string metric, op, number, rest;
  words >> metric >> op >> number >> rest;
  AlertCondition condition;
  const auto* found =
      std::find_if(kOps.begin(), kOps.end(), [&](const OpName& o) { return op == o.text; });
  const auto threshold = parseNumber(number);
  if (!validMetric(metric) || found == kOps.end() || !threshold || !rest.empty()) {
    return makeError("invalid",
                     "expected '<metric> <op> <number>' with op one of < <= > >= == != and a "
                     "finite number, got '" +
                         text + "'");
  }
  condition.metric = metric;
  condition.op = found->op;
  condition.threshold = *threshold;
  return condition;
}

bool AlertCondition::holds(double value) const {
  if (std::isnan(value)) return false;
  switch (op) {
    case AlertOp::kLess:
      return value < threshold;
    case AlertOp::kLessEqual:
      return value <= threshold;
    case AlertOp::kGreater:
      return value > threshold;
    case AlertOp::kGreaterEqual:
      return value >= threshold;
    case AlertOp::kEqual:
      return value == threshold;
    case AlertOp::kNotEqual:
      return value != threshold;
  }
  return false;
}

bool AlertCondition::clears(double value, double margin) const {
  if (std::isnan(value)) return false;
  switch (op) {
    case AlertOp::kLess:
      return value >= threshold + margin;
    case AlertOp::kLessEqual:
      return value > threshold + margin;
    case AlertOp::kGreater:
      return value <= threshold - margin;
    case AlertOp::kGreaterEqual:
      return value < threshold - margin;
    case AlertOp::kEqual:
      return std::fabs(value - threshold) > margin;
    case AlertOp::kNotEqual:
      return margin > 0 ? std::fabs(value - threshold) <= margin : value == threshold;
  }
  return false;
}

std::string AlertCondition::text() const {
  const char* op_text = "?";
  for (const auto& o : kOps) {
    if (o.op == op) op_text = o.text;
  }
  char number[32];
  std::snprintf(number, sizeof number, "%.15g", threshold);
  return metric + " " + op_text + " " + number;
}

const char* alertStateName(AlertState state) {
  return kStateNames[static_cast<std::size_t>(state)];
}

const std::vector<std::string>& alertStateFilters() {
  static const std::vector<std::string> kFilters = {kStateNames[0], kStateNames[1], kStateNames[2],
                                                    kStateNames[3], "all"};
  return kFilters;
}

std::optional<AlertState> alertStateFromName(const std::string& name) {
  for (std::size_t i = 0; i < kStateNames.size(); ++i) {
    if (name == kStateNames[i]) return static_cast<AlertState>(i);
  }
  return std::nullopt;
}

void AlertRuleState::restore(const std::string& subject, const AlertStatus& status) {
  statuses_[subject] = status;
}

std::vector<AlertTransition> AlertRuleState::evaluate(
    const std::vector<std::pair<std::string, std::optional<double>>>& figures, int64_t now_ms) {
  std::vector<AlertTransition> transitions;
  for (const auto& [subject, figure] : figures) {
    if (!figure || std::isnan(*figure)) continue;
    AlertStatus& status = statuses_[subject];
    const AlertState before = status.state;
    status.value = *figure;
    const bool holds = rule_.condition.holds(*figure);
    switch (status.state) {
      case AlertState::kInactive:
      case AlertState::kResolved:
        if (holds) {
          status.state = AlertState::kPending;
          status.since_ms = now_ms;
          status.fired_ms = 0;
          status.resolved_ms = 0;
        }
        break;
      case AlertState::kPending:
        if (!holds) status.state = AlertState::kInactive;
        break;
      case AlertState::kFiring:
        if (rule_.condition.clears(*figure, rule_.hysteresis)) {
          status.state = AlertState::kResolved;
          status.resolved_ms = now_ms;
        }
        break;
    }
    // A pending alert that has held long enough fires in the same evaluation
    // (at once when for_ms is 0).
    if (status.state == AlertState::kPending && now_ms - status.since_ms >= rule_.for_ms) {
      status.state = AlertState::kFiring;
      status.fired_ms = now_ms;
    }
    if (status.state != before) transitions.push_back({subject, before, status});
  }
  return transitions;
}

}  // namespace pso::controller::engine
