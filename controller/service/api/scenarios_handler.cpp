#include "controller/service/api/scenarios_handler.h"

#include <nlohmann/json.hpp>
#include <sstream>
#include <string>

#include "common/text.h"
#include "controller/scenarios/exporter.h"
#include "controller/scenarios/scenario.h"
#include "controller/service/api/query.h"
#include "controller/service/api/response.h"

namespace pso::controller::service {

using nlohmann::json;

namespace {

// The trigger events a scenario can carry (scenario.h).
Result<store::ScenarioFilter> scenarioFilter(const ApiRequest& request, int64_t default_limit) {
  store::ScenarioFilter filter;
  filter.event = param(request.query, "event");
  filter.level = param(request.query, "level");
  // A misspelt event or level would match nothing: refuse it instead of
  // answering an empty list that looks like "no such scenarios".
  if (filter.event) {
    if (auto known = common::checkOneOf("event", *filter.event, scenarios::scenarioEvents());
        !known) {
      return known.error();
    }
  }
  if (filter.level) {
    if (auto known = common::checkOneOf("level", *filter.level, scenarios::scenarioLevels());
        !known) {
      return known.error();
    }
  }
  filter.system = param(request.query, "system");
  auto range = parseTimeRange(request.query, request.now_ms);
  if (!range) return range.error();
  filter.since_ms = range->since_ms;
  filter.until_ms = range->until_ms;
  auto limit = parseLimit(request.query, default_limit, 1000000);
  if (!limit) return limit.error();
  filter.limit = limit.value();
  return filter;
}

}  // namespace

ScenariosHandler::ScenariosHandler(store::Store& store) : store_(store) {}

HttpResponse ScenariosHandler::list(const ApiRequest& request) {
  auto filter = scenarioFilter(request, 100);
  if (!filter) return errorResponse(400, filter.error().message);
  filter->newest_first = true;
  auto scenarios = store_.scenarios(filter.value());
  if (!scenarios) return storeFailure(scenarios.error());
  json list = json::array();
  for (const auto& scenario : scenarios.value()) {
    list.push_back({{"id", scenario.id},
                    {"cycle_id", scenario.cycle_id},
                    {"time", isoOrNull(scenario.ts_ms)},
                    {"level", scenario.level},
                    {"events", scenario.events},
                    {"systems", scenario.systems},
                    {"outcome_filled", scenario.outcome_filled}});
  }
  return jsonResponse(200, {{"scenarios", list}});
}

HttpResponse ScenariosHandler::show(const ApiRequest& request) {
  const std::string& id = request.segment("id");
  auto scenario = store_.scenario(id);
  if (!scenario) return storeFailure(scenario.error());
  if (!scenario.value()) return errorResponse(404, "unknown scenario '" + id + "'");
  json document = json::parse(scenario.value()->json, nullptr, false);
  if (document.is_discarded()) {
    return errorResponse(500, "scenario '" + id + "' is stored as invalid JSON");
  }
  return jsonResponse(200, document);
}

HttpResponse ScenariosHandler::exportAll(const ApiRequest& request) {
  const std::string format = param(request.query, "format").value_or("jsonl");
  auto exporter = scenarios::makeExporter(format);
  if (!exporter) return errorResponse(400, "format: " + exporter.error().message);
  auto filter = scenarioFilter(request, 1000000);
  if (!filter) return errorResponse(400, filter.error().message);
  filter->newest_first = false;
  auto records = store_.scenarios(filter.value());
  if (!records) return storeFailure(records.error());

  // Every format streams: the Markdown and HTML lessons as one document each.
  std::ostringstream body;
  auto written = exporter.value()->writeTo(records.value(), body);
  if (!written) return errorResponse(500, "export: " + written.error().message);
  HttpResponse response{200, exporter.value()->contentType(), std::move(body).str(), {}};
  response.headers.emplace_back("X-Scenario-Count", std::to_string(written.value()));
  return response;
}

}  // namespace pso::controller::service
