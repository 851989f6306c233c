#pragma once

// Alert rules: a condition over one figure of a system or an agent
// ("health_score < 95"), how long it must hold before the alert fires (`for`),
// and how far past the threshold the figure must come back before a firing
// alert resolves (hysteresis). Pure state machines: figures and the time come
// in, transitions go out; the service stores them and acts on them.

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "common/result.h"

namespace pso::controller::engine {

/// The figures an alert condition can name. Agent figures have agents for
/// subjects; every other name is a system figure: one of these, or the latest
/// value of any metric the system's agent reports (e.g. "p95_latency_ms").
inline constexpr const char* kAgentFigures[] = {
    "agent_last_seen_s",  ///< seconds since the agent was last heard from
    "agent_connected",    ///< 1 while the agent is connected, else 0
};
inline constexpr const char* kSystemFigures[] = {
    "demand",              ///< mean demand over the last cycle
    "utilization",         ///< demand / (launched replicas x capacity per replica)
    "replicas",            ///< replicas the agent last reported running
    "desired",             ///< the count the last decision asked for
    "replica_gap",         ///< desired - replicas: still to launch (negative: to stop)
    "breach_eta_s",        ///< seconds to the forecast breach; infinite when none is forecast
    "directive_failures",  ///< directives refused, failed or expired in the last hour
    "forecast",            ///< forecast point at the decision's lead time
    "forecast_hi",         ///< upper bound of the forecast interval at the lead time
};

/// Whether `metric` is an agent figure (kAgentFigures).
bool isAgentFigure(const std::string& metric);

enum class AlertOp { kLess, kLessEqual, kGreater, kGreaterEqual, kEqual, kNotEqual };

/// "<metric> <op> <number>", op one of < <= > >= == !=.
struct AlertCondition {
  std::string metric;
  AlertOp op = AlertOp::kLess;
  double threshold = 0.0;

  /// Parses the text form; an error names what was wrong (code "invalid").
  [[nodiscard]] static Result<AlertCondition> parse(const std::string& text);

  /// Whether `value` meets the condition. NaN never does; +/-infinity
  /// compares as such (an absent forecast breach is an infinite ETA).
  bool holds(double value) const;
  /// Whether `value` is clear of the condition by `margin`: the condition
  /// does not hold at the threshold moved `margin` against it ("x < 95" with
  /// margin 2 clears at x >= 97; "x == 1" clears at |x - 1| > margin, and
  /// "x != 1" at |x - 1| <= margin). With margin 0, exactly !holds(value).
  bool clears(double value, double margin) const;
  /// The canonical text, e.g. "health_score < 95".
  std::string text() const;
};

enum class AlertState {
  kInactive,  ///< the condition does not hold (or never did)
  kPending,   ///< the condition holds, not yet for `for_ms`
  kFiring,    ///< the condition held for `for_ms`; stays until it clears
  kResolved,  ///< was firing, then cleared; pending or firing again when it holds
};

/// "inactive", "pending", "firing", "resolved".
const char* alertStateName(AlertState state);
/// Every state's name, in the enum's order, then "all": what a filter over
/// alert states accepts (the API's and psoctl's --state).
const std::vector<std::string>& alertStateFilters();
/// The state of a name written by alertStateName; nullopt for anything else.
std::optional<AlertState> alertStateFromName(const std::string& name);

/// What a rule needs to decide.
struct AlertRule {
  std::string name;
  AlertCondition condition;
  int64_t for_ms = 0;       ///< the condition must hold this long before firing
  double hysteresis = 0.0;  ///< a firing alert resolves once clears(value, hysteresis)
};

/// One rule's state for one subject (a system or an agent).
struct AlertStatus {
  AlertState state = AlertState::kInactive;
  std::optional<double> value;  ///< the figure at the last evaluation that had one
  int64_t since_ms = 0;         ///< when the condition started holding (pending, firing)
  int64_t fired_ms = 0;         ///< when it fired, 0 if it has not
  int64_t resolved_ms = 0;      ///< when it resolved, 0 if it has not
};

/// A change of state, as evaluate() reports it.
struct AlertTransition {
  std::string subject;
  AlertState from = AlertState::kInactive;
  AlertStatus status;  ///< the new status
};

/// Evaluates one rule over its subjects. A subject whose figure is absent
/// keeps its state: a metric that stops reporting neither fires nor resolves
/// an alert.
///
/// Transitions: inactive/resolved -> pending when the condition holds (or
/// straight to firing when for_ms is 0); pending -> firing once it has held
/// for for_ms; pending -> inactive when it stops holding; firing -> resolved
/// when the figure clears the condition by the hysteresis. While the figure
/// is between the threshold and the hysteresis margin, a firing alert stays
/// firing and a resolved one stays resolved.
class AlertRuleState {
 public:
  explicit AlertRuleState(AlertRule rule) : rule_(std::move(rule)) {}

  const AlertRule& rule() const { return rule_; }

  /// Sets a subject's status (restoring it from the store after a restart).
  void restore(const std::string& subject, const AlertStatus& status);

  /// Evaluates every subject in `figures` at now_ms; returns the subjects
  /// whose state changed, in the order of `figures`. Every subject's value
  /// is updated, changed or not.
  std::vector<AlertTransition> evaluate(
      const std::vector<std::pair<std::string, std::optional<double>>>& figures, int64_t now_ms);

  /// The status of each subject seen so far (inactive ones included).
  const std::map<std::string, AlertStatus>& statuses() const { return statuses_; }

 private:
  AlertRule rule_;
  std::map<std::string, AlertStatus> statuses_;
};

}  // namespace pso::controller::engine
