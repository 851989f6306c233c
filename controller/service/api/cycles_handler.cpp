#include "controller/service/api/cycles_handler.h"

#include <algorithm>
#include <nlohmann/json.hpp>
#include <string>

#include "controller/scenarios/scenario.h"
#include "controller/service/api/query.h"
#include "controller/service/api/response.h"

namespace pso::controller::service {

using nlohmann::json;

CyclesHandler::CyclesHandler(store::Store& store) : store_(store) {}

HttpResponse CyclesHandler::list(const ApiRequest& request) {
  auto limit = parseLimit(request.query, 20, 10000);
  if (!limit) return errorResponse(400, limit.error().message);
  auto cycles = store_.cycles(limit.value());
  if (!cycles) return storeFailure(cycles.error());
  std::sort(cycles->begin(), cycles->end(),
            [](const store::CycleRecord& a, const store::CycleRecord& b) { return a.seq > b.seq; });
  json list = json::array();
  for (const auto& cycle : cycles.value()) {
    json decisions = json::parse(cycle.decisions_json, nullptr, false);
    if (decisions.is_discarded()) decisions = nullptr;
    // The cycle's events live in its scenario; a cycle whose scenario could not
    // be recorded shows none.
    const std::string scenario_id = scenarios::scenarioIdForCycle(cycle.id);
    auto scenario = store_.scenario(scenario_id);
    json events = json::array();
    if (scenario.ok() && scenario.value().has_value()) events = scenario.value()->events;
    list.push_back({{"id", cycle.id},
                    {"scenario", scenario_id},
                    {"events", events},
                    {"time", isoOrNull(cycle.ts_ms)},
                    {"mode", cycle.mode},
                    {"duration_ms", cycle.duration_ms},
                    {"decisions", decisions}});
  }
  return jsonResponse(200, {{"cycles", list}});
}

}  // namespace pso::controller::service
