#include "controller/service/api/systems_handler.h"

#include <algorithm>
#include <map>
#include <nlohmann/json.hpp>

#include "controller/service/api/query.h"
#include "controller/service/api/response.h"

namespace pso::controller::service {

using nlohmann::json;

namespace {

constexpr int64_t kDefaultSamplesWindowMs = 60LL * 60 * 1000;

// What a cycle decided, by system, from its stored decisions document.
std::map<std::string, json> decisionsBySystem(const std::string& decisions_json) {
  std::map<std::string, json> decided;
  json decisions = json::parse(decisions_json, nullptr, false);
  if (!decisions.is_array()) return decided;
  for (const auto& d : decisions) {
    if (d.is_object() && d.contains("system") && d["system"].is_string()) {
      decided[d["system"].get<std::string>()] = d;
    }
  }
  return decided;
}

// The newest result of each check, and the share of them that are ok.
std::pair<json, json> healthJson(const std::vector<store::HealthRecord>& records) {
  std::map<std::string, store::HealthRecord> checks;
  for (const auto& record : records) {
    auto it = checks.find(record.check);
    if (it == checks.end() || it->second.ts_ms <= record.ts_ms) checks[record.check] = record;
  }
  json health = json::array();
  std::size_t ok = 0;
  for (const auto& [check, record] : checks) {
    ok += record.status == "ok" ? 1 : 0;
    health.push_back({{"check", record.check},
                      {"status", record.status},
                      {"latency_ms", numberOrNull(record.latency_ms)},
                      {"error", stringOrNull(record.error)},
                      {"time", isoOrNull(record.ts_ms)}});
  }
  json score = nullptr;
  if (!checks.empty()) score = 100.0 * static_cast<double>(ok) / static_cast<double>(checks.size());
  return {health, score};
}

// Whether `metric` is stored for the series' owner; the error names the
// metric and lists the stored ones. A system's default metric ("demand") is
// always known: the engine reads it for every system, stored or not yet.
Status knownMetric(store::TelemetryStore& store, const std::string& series_system,
                   const std::string& metric, const std::string& owner_key,
                   const std::string& owner, const std::string& default_metric) {
  if (!default_metric.empty() && metric == default_metric) return Status();
  auto stored = store.metrics(series_system);
  if (!stored) return stored.error();
  if (std::find(stored->begin(), stored->end(), metric) != stored->end()) return Status();
  std::string listed;
  for (const auto& name : *stored) listed += (listed.empty() ? "" : ", ") + name;
  return makeError("not_found", "unknown metric '" + metric + "' for " + owner_key + " " + owner +
                                    "; stored metrics: " + (listed.empty() ? "none" : listed));
}

}  // namespace

SystemsHandler::SystemsHandler(store::Store& store) : store_(store) {}

HttpResponse SystemsHandler::list(const ApiRequest& request) {
  return describe(std::nullopt, request.now_ms);
}

HttpResponse SystemsHandler::show(const ApiRequest& request) {
  return describe(request.segment("name"), request.now_ms);
}

HttpResponse SystemsHandler::describe(const std::optional<std::string>& name, int64_t now_ms) {
  auto systems = store_.systems();
  if (!systems) return storeFailure(systems.error());
  auto last = store_.cycles(1);
  if (!last) return storeFailure(last.error());
  const std::map<std::string, json> decided = last->empty()
                                                  ? std::map<std::string, json>()
                                                  : decisionsBySystem(last->front().decisions_json);

  json list = json::array();
  for (const auto& system : systems.value()) {
    if (name && system.name != *name) continue;
    const auto& info = system.info;
    auto latest = store_.latestSample(system.name, "demand");
    auto hold = store_.activeHold(system.name, now_ms);
    auto health = store_.health(system.name);
    if (!latest) return storeFailure(latest.error());
    if (!hold) return storeFailure(hold.error());
    if (!health) return storeFailure(health.error());

    json demand = nullptr;
    if (latest.value()) {
      demand = {{"time", isoOrNull(latest.value()->ts_ms)},
                {"value", numberOrNull(latest.value()->value)}};
    }
    json hold_json = nullptr;
    if (hold.value()) {
      hold_json = {{"replicas", hold.value()->replicas},
                   {"until", isoOrNull(hold.value()->hold_until_ms)},
                   {"reason", hold.value()->reason},
                   {"directive", hold.value()->id}};
    }
    const auto [health_json, health_score] = healthJson(health.value());

    json desired = nullptr;
    json forecast = nullptr;
    json last_rule = nullptr;
    json last_rationale = nullptr;
    if (auto it = decided.find(system.name); it != decided.end()) {
      const json& d = it->second;
      desired = d.value("desired", json(nullptr));
      if (d.contains("forecast_point") && !d["forecast_point"].is_null()) {
        forecast = {{"point", d["forecast_point"]},
                    {"hi", d.value("forecast_hi", json(nullptr))},
                    {"lo", d.value("forecast_lo", json(nullptr))},
                    {"model", d.value("forecast_model", json(nullptr))},
                    {"lead_steps", d.value("lead_steps", json(nullptr))}};
      }
      last_rule = d.value("rule", json(nullptr));
      last_rationale = d.value("rationale", json(nullptr));
    }

    list.push_back({{"name", system.name},
                    {"agent", system.agent_id},
                    {"actuator", info.actuator},
                    {"replicas", system.replicas >= 0 ? json(system.replicas) : json(nullptr)},
                    {"desired", desired},
                    {"min_replicas", info.min_replicas},
                    {"max_replicas", info.max_replicas},
                    {"capacity_per_replica", info.capacity_per_replica},
                    {"target_utilization", info.target_utilization},
                    {"warmup_s", static_cast<double>(info.warmup_ms) / 1000.0},
                    {"priority", info.priority},
                    {"depends_on", info.depends_on},
                    {"updated", isoOrNull(system.updated_ms)},
                    {"demand", demand},
                    {"forecast", forecast},
                    {"hold", hold_json},
                    {"health", health_json},
                    {"health_score", health_score},
                    {"last_rule", last_rule},
                    {"last_rationale", last_rationale}});
  }
  if (name) {
    if (list.empty()) return errorResponse(404, "unknown system '" + *name + "'");
    return jsonResponse(200, list.front());
  }
  return jsonResponse(200, {{"systems", list}});
}

HttpResponse seriesSamples(store::TelemetryStore& store, const ApiRequest& request,
                           const std::string& series_system, const std::string& owner_key,
                           const std::string& owner, const std::string& default_metric) {
  const auto asked = param(request.query, "metric");
  if (!asked && default_metric.empty()) return errorResponse(400, "metric: required");
  const std::string metric = asked.value_or(default_metric);
  if (metric.empty()) return errorResponse(400, "metric: must not be empty");
  auto range = parseTimeRange(request.query, request.now_ms);
  if (!range) return errorResponse(400, range.error().message);
  auto limit = parseLimit(request.query, 10000, 1000000);
  if (!limit) return errorResponse(400, limit.error().message);
  if (auto known = knownMetric(store, series_system, metric, owner_key, owner, default_metric);
      !known) {
    if (known.error().code != "not_found") return storeFailure(known.error());
    return errorResponse(404, known.error().message);
  }

  // A limit keeps the newest samples of the range (what an operator looking
  // at "the last N" means), still served oldest first: the newest `limit`
  // before `until`, less those before `since`, are the newest of the range.
  const int64_t since_ms = range->since_ms.value_or(request.now_ms - kDefaultSamplesWindowMs);
  auto samples = store.recentSamples(series_system, metric,
                                     range->until_ms.value_or(request.now_ms + 1), limit.value());
  if (!samples) return storeFailure(samples.error());
  json rows = json::array();
  for (const auto& sample : samples.value()) {
    if (sample.ts_ms < since_ms) continue;
    rows.push_back(json::array({sample.ts_ms, numberOrNull(sample.value)}));
  }
  return jsonResponse(200, {{owner_key, owner}, {"metric", metric}, {"samples", rows}});
}

HttpResponse SystemsHandler::samples(const ApiRequest& request) {
  const std::string& name = request.segment("name");
  auto systems = store_.systems();
  if (!systems) return storeFailure(systems.error());
  const bool known = std::any_of(systems->begin(), systems->end(),
                                 [&](const store::SystemRecord& s) { return s.name == name; });
  if (!known) return errorResponse(404, "unknown system '" + name + "'");
  return seriesSamples(store_, request, name, "system", name, "demand");
}

}  // namespace pso::controller::service
