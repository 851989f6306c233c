#include "controller/service/api/alerts_handler.h"

#include <algorithm>
#include <cmath>
#include <nlohmann/json.hpp>
#include <string>

#include "common/text.h"
#include "controller/engine/alert_rules.h"
#include "controller/service/api/query.h"
#include "controller/service/api/response.h"

namespace pso::controller::service {

using nlohmann::json;

namespace {

int stateOrder(const std::string& state) {
  if (state == "firing") return 0;
  if (state == "pending") return 1;
  if (state == "resolved") return 2;
  return 3;
}

}  // namespace

AlertsHandler::AlertsHandler(store::Store& store) : store_(store) {}

HttpResponse AlertsHandler::list(const ApiRequest& request) {
  std::string wanted;
  if (auto it = request.query.find("state"); it != request.query.end()) wanted = it->second;
  if (!wanted.empty()) {
    if (auto known = common::checkOneOf("state", wanted, engine::alertStateFilters()); !known) {
      return errorResponse(400, known.error().message);
    }
  }
  auto alerts = store_.alerts();
  if (!alerts) return storeFailure(alerts.error());
  std::stable_sort(alerts->begin(), alerts->end(),
                   [](const store::AlertRecord& a, const store::AlertRecord& b) {
                     return stateOrder(a.state) < stateOrder(b.state);
                   });
  json list = json::array();
  for (const auto& a : alerts.value()) {
    if (wanted.empty() ? a.state == "inactive" : (wanted != "all" && a.state != wanted)) continue;
    list.push_back({{"rule", a.rule},
                    {"condition", a.condition},
                    {"subject", a.subject},
                    {"system", stringOrNull(a.system)},
                    {"agent", stringOrNull(a.agent)},
                    {"state", a.state},
                    {"value", a.value ? numberOrNull(*a.value) : json(nullptr)},
                    {"since", isoOrNull(a.since_ms)},
                    {"fired_at", isoOrNull(a.fired_ms)},
                    {"resolved_at", isoOrNull(a.resolved_ms)},
                    {"updated_at", isoOrNull(a.updated_ms)}});
  }
  return jsonResponse(200, {{"alerts", list}});
}

HttpResponse AlertsHandler::notifications(const ApiRequest& request) {
  auto limit = parseLimit(request.query, 50, 10000);
  if (!limit) return errorResponse(400, limit.error().message);
  auto notifications = store_.notifications(limit.value());
  if (!notifications) return storeFailure(notifications.error());
  json list = json::array();
  for (const auto& n : notifications.value()) {
    list.push_back(
        {{"id", n.id},
         {"rule", n.rule},
         {"subject", n.subject},
         {"event", n.event},
         {"url", n.url},
         {"status", n.status},
         {"attempts", n.attempts},
         {"created_at", isoOrNull(n.created_ms)},
         {"next_attempt_at", n.status == "pending" ? isoOrNull(n.next_attempt_ms) : json(nullptr)},
         {"delivered_at", isoOrNull(n.delivered_ms)},
         {"last_error", stringOrNull(n.last_error)}});
  }
  return jsonResponse(200, {{"notifications", list}});
}

}  // namespace pso::controller::service
