#pragma once

// The controller's alert rules (config `alerts`): evaluated after every
// decision cycle over the figures of each system and agent, their states kept
// in the store, their notifications queued in the store's outbox (delivered
// by WebhookOutbox), and their scale actions handed to the next cycle's
// engine input, where the guardrails apply to them as to any plan.

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "common/metrics.h"
#include "controller/config/controller_config.h"
#include "controller/engine/alert_rules.h"
#include "controller/engine/types.h"
#include "controller/store/store.h"

namespace pso::controller::service {

/// What the alert rules see after one cycle. Figures a subject does not have
/// are absent (the alert keeps its state).
struct AlertFigures {
  struct Subject {
    std::string agent;  ///< a system's owner, or the agent itself
    std::map<std::string, double> values;
  };
  std::map<std::string, Subject> systems;  ///< by system name
  std::map<std::string, Subject> agents;   ///< by agent id
};

/// Where notifications link to and what they say they come from.
struct AlertNotifyContext {
  std::string controller_id;
  std::string dashboard_url;  ///< base URL, no trailing '/'
};

/// The built-in figures of every system and agent after a cycle (alert_rules.h
/// kSystemFigures, kAgentFigures), plus the latest sample of each metric in
/// `stored_metrics` no older than `fresh_ms`. Reads directive results only
/// when `directive_failures` is needed. Store failures leave figures absent.
AlertFigures collectAlertFigures(const engine::CycleDecisions& decisions,
                                 const std::vector<store::SystemRecord>& systems,
                                 store::Store& store, const std::set<std::string>& stored_metrics,
                                 bool directive_failures, int64_t now_ms, int64_t fresh_ms,
                                 double step_s);

/// The payload of one notification: format "pso" (this product's JSON, see
/// docs/operations.md) or "alertmanager" (Alertmanager's webhook JSON,
/// version 4, so its receivers work unchanged).
std::string notificationBody(const std::string& format, const AlertRuleConfig& rule,
                             const store::AlertRecord& alert, const AlertFigures::Subject* figures,
                             const AlertNotifyContext& context);

/// The configured rules and their states. Not thread-safe: the cycle runner
/// calls it under its own lock.
class AlertRuleSet {
 public:
  AlertRuleSet(std::vector<AlertRuleConfig> rules, AlertNotifyContext context,
               store::AlertStore& store, common::MetricsRegistry& metrics);

  bool empty() const { return rules_.empty(); }
  /// Metric names the rules read from stored samples (not built-in figures).
  const std::set<std::string>& storedMetrics() const { return stored_metrics_; }
  /// Whether a rule reads directive_failures.
  bool needsDirectiveFailures() const { return needs_directive_failures_; }

  /// Loads the states stored before a restart, so a firing alert is not
  /// notified again. A state of a rule no longer configured is ignored.
  [[nodiscard]] Status restore();

  /// Evaluates every rule at now_ms; stores each change of state with its
  /// notifications (one per transition to firing, and to resolved when
  /// send_resolved) in one transaction. Returns the number of notifications
  /// queued. A failed store write is logged and counted; the rule keeps its
  /// new state and the transition is tried again at the next change.
  std::size_t evaluate(const AlertFigures& figures, int64_t now_ms);

  /// The scale requests of the rules firing now, by system, for the next
  /// cycle's engine input.
  std::map<std::string, std::vector<engine::AlertRequest>> requests() const;

 private:
  struct Rule {
    AlertRuleConfig config;
    engine::AlertRuleState state;
    bool agent_figure = false;
  };

  std::vector<Rule> rules_;
  AlertNotifyContext context_;
  store::AlertStore& store_;
  common::MetricsRegistry& metrics_;
  std::set<std::string> stored_metrics_;
  bool needs_directive_failures_ = false;
  // The subject each rule last evaluated, with its owner: where $subject
  // points and which agent a system alert names.
  std::map<std::string, std::string> owners_;
};

}  // namespace pso::controller::service
