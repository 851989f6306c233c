#include "controller/service/alerting.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>
#include <nlohmann/json.hpp>
#include <utility>

#include "common/clock.h"
#include "common/text.h"
#include "controller/service/api/response.h"

namespace pso::controller::service {
namespace {

using nlohmann::json;

constexpr int64_t kDirectiveFailureWindowMs = 60LL * 60 * 1000;
// Directives read per system to count the last hour's failures: more than
// enough at any sane actions_per_hour.
constexpr int64_t kDirectivesRead = 200;
constexpr const char* kSubjectPlaceholder = "$subject";

json optionalNumber(std::optional<double> value) {
  return value ? numberOrNull(*value) : json(nullptr);
}

// Alertmanager identifies an alert by a hash of its labels; ours are the rule
// and the subject.
std::string fingerprint(const std::string& rule, const std::string& subject) {
  uint64_t hash = 14695981039346656037ULL;
  auto mix = [&](const std::string& text) {
    for (unsigned char c : text) {
      hash ^= c;
      hash *= 1099511628211ULL;
    }
  };
  mix(rule);
  mix(std::string(1, '\0'));
  mix(subject);
  char hex[17];
  std::snprintf(hex, sizeof hex, "%016llx", static_cast<unsigned long long>(hash));
  return hex;
}

std::string dashboardLink(const AlertNotifyContext& context, const store::AlertRecord& alert) {
  if (alert.system.empty()) return context.dashboard_url + "/";
  return context.dashboard_url + "/#/systems/" + common::percentEncode(alert.system);
}

std::string summaryLine(const AlertRuleConfig& rule, const store::AlertRecord& alert) {
  char value[32] = "no value";
  if (alert.value && std::isfinite(*alert.value)) {
    std::snprintf(value, sizeof value, "%.6g", *alert.value);
  }
  const std::string what = alert.system.empty() ? "agent " + alert.subject : alert.subject;
  return rule.name + " " + alert.state + " on " + what + ": " + alert.condition + " (now " + value +
         ")";
}

std::optional<double> figureOf(const AlertFigures::Subject& subject, const std::string& metric) {
  auto it = subject.values.find(metric);
  if (it == subject.values.end()) return std::nullopt;
  return it->second;
}

}  // namespace

AlertFigures collectAlertFigures(const engine::CycleDecisions& decisions,
                                 const std::vector<store::SystemRecord>& systems,
                                 store::Store& store, const std::set<std::string>& stored_metrics,
                                 bool directive_failures, int64_t now_ms, int64_t fresh_ms,
                                 double step_s) {
  AlertFigures figures;
  std::map<std::string, const engine::SystemDecision*> decided;
  for (const auto& d : decisions.systems) decided[d.system] = &d;
  // Each stored metric of the whole fleet in one read.
  std::vector<std::string> names;
  names.reserve(systems.size());
  for (const auto& system : systems) names.push_back(system.name);
  std::map<std::string, std::map<std::string, store::Sample>> latest_of;
  for (const std::string& metric : stored_metrics) {
    auto latest = store.latestSamples(names, metric);
    if (!latest) {
      spdlog::warn("alerts: reading {} failed: {}", metric, latest.error().message);
      continue;
    }
    latest_of[metric] = std::move(latest).value();
  }
  for (const auto& system : systems) {
    auto& subject = figures.systems[system.name];
    subject.agent = system.agent_id;
    auto& v = subject.values;
    if (system.replicas >= 0) v["replicas"] = static_cast<double>(system.replicas);
    if (auto it = decided.find(system.name); it != decided.end()) {
      const engine::SystemDecision& d = *it->second;
      v["desired"] = static_cast<double>(d.desired_replicas);
      if (system.replicas >= 0) {
        v["replica_gap"] = static_cast<double>(d.desired_replicas - system.replicas);
      }
      if (std::isfinite(d.demand)) {
        v["demand"] = d.demand;
        const double serving = static_cast<double>(d.current_replicas) * d.capacity_per_replica;
        if (serving > 0) v["utilization"] = d.demand / serving;
      }
      // No breach forecast is an ETA beyond any threshold.
      v["breach_eta_s"] = d.bottleneck ? static_cast<double>(d.bottleneck->steps_ahead) * step_s
                                       : std::numeric_limits<double>::infinity();
      if (const auto at = engine::leadStepIndex(d)) {
        v["forecast"] = d.forecast.point[*at];
        if (*at < d.forecast.hi.size()) v["forecast_hi"] = d.forecast.hi[*at];
      }
    }
    for (const auto& [metric, latest] : latest_of) {
      auto sample = latest.find(system.name);
      if (sample != latest.end() && sample->second.ts_ms >= now_ms - fresh_ms) {
        v[metric] = sample->second.value;
      }
    }
    if (directive_failures) {
      auto directives = store.directives(kDirectivesRead, system.name);
      if (!directives) {
        spdlog::warn("alerts: reading directives of {} failed: {}", system.name,
                     directives.error().message);
        continue;
      }
      double failures = 0;
      for (const auto& directive : directives.value()) {
        if (directive.created_ms < now_ms - kDirectiveFailureWindowMs) break;  // newest first
        const auto& s = directive.status;
        if (s == "refused" || s == "failed" || s == "expired") failures += 1;
      }
      v["directive_failures"] = failures;
    }
  }
  auto agents = store.agents();
  if (!agents) {
    spdlog::warn("alerts: listing agents failed: {}", agents.error().message);
    return figures;
  }
  for (const auto& agent : agents.value()) {
    auto& subject = figures.agents[agent.id];
    subject.agent = agent.id;
    subject.values["agent_connected"] = agent.connected ? 1.0 : 0.0;
    if (agent.last_seen_ms > 0) {
      subject.values["agent_last_seen_s"] =
          static_cast<double>(std::max<int64_t>(0, now_ms - agent.last_seen_ms)) / 1000.0;
    }
  }
  return figures;
}

std::string notificationBody(const std::string& format, const AlertRuleConfig& rule,
                             const store::AlertRecord& alert, const AlertFigures::Subject* figures,
                             const AlertNotifyContext& context) {
  const std::string link = dashboardLink(context, alert);
  const bool resolved = alert.state == "resolved";
  const std::string status = resolved ? "resolved" : "firing";
  if (format == "alertmanager") {
    json labels = {{"alertname", rule.name}, {"controller", context.controller_id}};
    if (!alert.system.empty()) labels["system"] = alert.system;
    if (!alert.agent.empty()) labels["agent"] = alert.agent;
    const json annotations = {{"summary", summaryLine(rule, alert)},
                              {"condition", alert.condition}};
    // Alertmanager's zero time marks an alert that has not ended.
    const std::string ends =
        resolved ? common::formatIso8601(alert.resolved_ms) : std::string("0001-01-01T00:00:00Z");
    json item = {
        {"status", status},
        {"labels", labels},
        {"annotations", annotations},
        {"startsAt", common::formatIso8601(alert.fired_ms > 0 ? alert.fired_ms : alert.since_ms)},
        {"endsAt", ends},
        {"generatorURL", link},
        {"fingerprint", fingerprint(alert.rule, alert.subject)}};
    json body = {{"version", "4"},
                 {"groupKey", "{}:{alertname=\"" + rule.name + "\"}"},
                 {"truncatedAlerts", 0},
                 {"status", status},
                 {"receiver", context.controller_id},
                 {"groupLabels", {{"alertname", rule.name}}},
                 {"commonLabels", labels},
                 {"commonAnnotations", annotations},
                 {"externalURL", context.dashboard_url},
                 {"alerts", json::array({item})}};
    return body.dump();
  }
  json values = json::object();
  if (figures != nullptr) {
    for (const auto& [name, value] : figures->values) values[name] = numberOrNull(value);
  }
  auto condition = engine::AlertCondition::parse(alert.condition);
  json body = {{"version", 1},
               {"status", status},
               {"rule", rule.name},
               {"condition", alert.condition},
               {"threshold", condition ? json(condition->threshold) : json(nullptr)},
               {"for_s", static_cast<double>(rule.for_duration.count()) / 1000.0},
               {"subject", alert.subject},
               {"system", alert.system.empty() ? json(nullptr) : json(alert.system)},
               {"agent", alert.agent.empty() ? json(nullptr) : json(alert.agent)},
               {"value", optionalNumber(alert.value)},
               {"since", isoOrNull(alert.since_ms)},
               {"fired_at", isoOrNull(alert.fired_ms)},
               {"resolved_at", isoOrNull(alert.resolved_ms)},
               {"summary", summaryLine(rule, alert)},
               {"figures", values},
               {"dashboard_url", link},
               {"controller", context.controller_id},
               {"fingerprint", fingerprint(alert.rule, alert.subject)}};
  return body.dump();
}

AlertRuleSet::AlertRuleSet(std::vector<AlertRuleConfig> rules, AlertNotifyContext context,
                           store::AlertStore& store, common::MetricsRegistry& metrics)
    : context_(std::move(context)), store_(store), metrics_(metrics) {
  for (auto& config : rules) {
    auto condition = engine::AlertCondition::parse(config.when);
    // The config reader refused a bad condition already; this is a caller's bug.
    if (!condition) {
      spdlog::error("alert rule {}: {}; the rule is not evaluated", config.name,
                    condition.error().message);
      continue;
    }
    engine::AlertRule rule;
    rule.name = config.name.empty() ? condition->text() : config.name;
    config.name = rule.name;
    rule.condition = *condition;
    rule.for_ms = config.for_duration.count();
    rule.hysteresis = config.hysteresis;
    const bool agent_figure = engine::isAgentFigure(condition->metric);
    const std::string& metric = condition->metric;
    if (!agent_figure) {
      const bool built_in =
          std::any_of(std::begin(engine::kSystemFigures), std::end(engine::kSystemFigures),
                      [&](const char* name) { return metric == name; });
      if (metric == "directive_failures") needs_directive_failures_ = true;
      if (!built_in) stored_metrics_.insert(metric);
    }
    rules_.push_back(
        Rule{std::move(config), engine::AlertRuleState(std::move(rule)), agent_figure});
  }
  metrics_.describe("pso_alert_transitions_total", "counter",
                    "Alert state changes, by rule and new state");
  metrics_.describe("pso_alerts", "gauge", "Alerts by state (pending, firing)");
  metrics_.describe("pso_alert_store_errors_total", "counter",
                    "Alert state changes the store did not take");
}

Status AlertRuleSet::restore() {
  auto stored = store_.alerts();
  if (!stored) return stored.error();
  for (const auto& record : stored.value()) {
    for (auto& rule : rules_) {
      // A changed condition makes the old state meaningless: start afresh.
      if (rule.config.name != record.rule ||
          rule.state.rule().condition.text() != record.condition) {
        continue;
      }
      auto state = engine::alertStateFromName(record.state);
      if (!state) continue;
      engine::AlertStatus status;
      status.state = *state;
      status.value = record.value;
      status.since_ms = record.since_ms;
      status.fired_ms = record.fired_ms;
      status.resolved_ms = record.resolved_ms;
      rule.state.restore(record.subject, status);
      if (!record.system.empty()) owners_[record.subject] = record.agent;
    }
  }
  return Status();
}

std::size_t AlertRuleSet::evaluate(const AlertFigures& figures, int64_t now_ms) {
  std::size_t queued = 0;
  double pending = 0;
  double firing = 0;
  for (auto& rule : rules_) {
    const AlertRuleConfig& config = rule.config;
    const std::string& metric = rule.state.rule().condition.metric;
    const auto& subjects = rule.agent_figure ? figures.agents : figures.systems;
    const std::string& only = rule.agent_figure ? config.agent : config.system;
    std::vector<std::pair<std::string, std::optional<double>>> values;
    for (const auto& [name, subject] : subjects) {
      if (!only.empty() && name != only) continue;
      values.emplace_back(name, figureOf(subject, metric));
      if (!rule.agent_figure) owners_[name] = subject.agent;
    }
    const auto transitions = rule.state.evaluate(values, now_ms);
    std::set<std::string> changed;
    for (const auto& t : transitions) changed.insert(t.subject);

    for (const auto& [subject, status] : rule.state.statuses()) {
      const bool active = status.state == engine::AlertState::kPending ||
                          status.state == engine::AlertState::kFiring;
      pending += status.state == engine::AlertState::kPending ? 1 : 0;
      firing += status.state == engine::AlertState::kFiring ? 1 : 0;
      const bool transitioned = changed.count(subject) > 0;
      // Active alerts are rewritten every cycle so the stored value is current.
      if (!transitioned && !active) continue;
      store::AlertRecord record;
      record.rule = config.name;
      record.subject = subject;
      record.condition = rule.state.rule().condition.text();
      if (rule.agent_figure) {
        record.agent = subject;
      } else {
        record.system = subject;
        record.agent = owners_[subject];
      }
      record.state = engine::alertStateName(status.state);
      record.value = status.value;
      record.since_ms = status.since_ms;
      record.fired_ms = status.fired_ms;
      record.resolved_ms = status.resolved_ms;
      record.updated_ms = now_ms;

      std::vector<store::NotificationRecord> notifications;
      const bool fired = transitioned && status.state == engine::AlertState::kFiring;
      const bool resolved = transitioned && status.state == engine::AlertState::kResolved;
      if (!config.notify.empty() && (fired || (resolved && config.send_resolved))) {
        const auto& pool = rule.agent_figure ? figures.agents : figures.systems;
        auto it = pool.find(subject);
        store::NotificationRecord n;
        n.rule = config.name;
        n.subject = subject;
        n.event = record.state;
        n.url = config.notify;
        n.body = notificationBody(config.format, config, record,
                                  it == pool.end() ? nullptr : &it->second, context_);
        n.created_ms = now_ms;
        n.next_attempt_ms = now_ms;
        notifications.push_back(std::move(n));
      }
      if (auto stored = store_.recordAlert(record, notifications); !stored) {
        metrics_.increment("pso_alert_store_errors_total");
        spdlog::error("alert {} on {}: storing its state failed: {}", config.name, subject,
                      stored.error().message);
        continue;
      }
      queued += notifications.size();
      if (transitioned) {
        metrics_.increment("pso_alert_transitions_total",
                           {{"rule", config.name}, {"state", record.state}});
        spdlog::info("alert {}", summaryLine(config, record));
      }
    }
  }
  metrics_.set("pso_alerts", {{"state", "pending"}}, pending);
  metrics_.set("pso_alerts", {{"state", "firing"}}, firing);
  return queued;
}

std::map<std::string, std::vector<engine::AlertRequest>> AlertRuleSet::requests() const {
  std::map<std::string, std::vector<engine::AlertRequest>> out;
  for (const auto& rule : rules_) {
    const AlertRuleConfig& c = rule.config;
    std::string target;
    engine::AlertAction action = engine::AlertAction::kScaleUp;
    if (!c.scale_up.empty()) {
      target = c.scale_up;
    } else if (!c.scale_down.empty()) {
      target = c.scale_down;
      action = engine::AlertAction::kScaleDown;
    } else if (!c.hold.empty()) {
      target = c.hold;
      action = engine::AlertAction::kHold;
    } else {
      continue;
    }
    for (const auto& [subject, status] : rule.state.statuses()) {
      if (status.state != engine::AlertState::kFiring) continue;
      const std::string& system = target == kSubjectPlaceholder ? subject : target;
      out[system].push_back(
          engine::AlertRequest{c.name, rule.state.rule().condition.text(), action, c.step});
    }
  }
  return out;
}

}  // namespace pso::controller::service
