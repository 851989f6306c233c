#include "controller/service/api/forecast_handler.h"

#include <cmath>
#include <limits>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "common/config.h"
#include "common/text.h"
#include "controller/engine/forecast_model.h"
#include "controller/engine/long_horizon.h"
#include "controller/service/api/query.h"
#include "controller/service/api/response.h"

namespace pso::controller::service {

using nlohmann::json;

namespace {

// Hourly history a long-horizon forecast replays at most: enough for weekly
// seasons to be detected (AutoModel needs three), bounded so one request stays
// a few milliseconds.
constexpr int64_t kLongHistoryHours = 12 * 7 * 24;
// A duration horizon longer than this is served from the hourly rollups: it
// spans more than one hourly step, and the cycle-step model tracks its errors
// only a few cycles ahead.
constexpr int64_t kOperationalHorizonMs = 60LL * 60 * 1000;
constexpr int64_t kDefaultCycleSteps = 20;
constexpr int64_t kMaxCycleSteps = 10000;

/// How the forecast was asked for.
struct ForecastQuery {
  bool hourly = false;
  int64_t steps = 0;  ///< at the chosen resolution
};

Result<ForecastQuery> parseForecastQuery(const QueryParams& query, double step_s) {
  ForecastQuery out;
  const std::optional<std::string> resolution = param(query, "resolution");
  if (resolution && *resolution != "1h" && *resolution != "cycle") {
    return makeError("invalid", "resolution: expected 1h or cycle, got '" + *resolution + "'");
  }
  out.hourly = resolution && *resolution == "1h";
  if (const std::optional<std::string> model = param(query, "model")) {
    // Checked before any data is read, so a misspelt model is a 400 even
    // while no hour of demand has been rolled up.
    std::vector<std::string> models = {"auto-select"};
    for (auto& name : engine::forecastModelNames()) models.push_back(std::move(name));
    if (auto known = common::checkOneOf("model", *model, models); !known) return known.error();
  }
  const std::optional<std::string> text = param(query, "horizon");
  if (!text) {
    out.steps = out.hourly ? engine::kMaxLongHorizonSteps : kDefaultCycleSteps;
    return out;
  }
  const int64_t max_steps = out.hourly ? engine::kMaxLongHorizonSteps : kMaxCycleSteps;
  if (isDigits(*text)) {
    const std::optional<int64_t> steps = common::parseInt64(*text);
    if (steps && *steps >= 1 && *steps <= max_steps) {
      out.steps = *steps;
      return out;
    }
  } else if (auto duration = common::parseDuration(*text); duration && duration->count() > 0) {
    const int64_t ms = duration->count();
    if (!resolution) out.hourly = ms > kOperationalHorizonMs;
    const auto step_ms = out.hourly ? static_cast<double>(kOperationalHorizonMs) : step_s * 1000.0;
    const double steps = std::ceil(static_cast<double>(ms) / step_ms);
    const int64_t limit = out.hourly ? engine::kMaxLongHorizonSteps : kMaxCycleSteps;
    if (steps <= static_cast<double>(limit)) {
      out.steps = static_cast<int64_t>(steps);
      return out;
    }
    return makeError("invalid", "horizon: '" + *text + "' is longer than " +
                                    (out.hourly ? std::string("168h, the longest hourly forecast")
                                                : std::to_string(limit) + " cycle steps"));
  }
  return makeError("invalid", "horizon: expected a number of steps from 1 to " +
                                  std::to_string(max_steps) +
                                  " or a duration such as 30m or 168h, got '" + *text + "'");
}

json pointJson(const engine::Forecast& forecast, std::size_t i, int64_t time_ms) {
  return {{"step", static_cast<int64_t>(i) + 1},
          {"time", isoOrNull(time_ms)},
          {"point", numberOrNull(forecast.point[i])},
          {"lo", i < forecast.lo.size() ? numberOrNull(forecast.lo[i]) : json(nullptr)},
          {"hi", i < forecast.hi.size() ? numberOrNull(forecast.hi[i]) : json(nullptr)}};
}

}  // namespace

ForecastHandler::ForecastHandler(store::Store& store, CycleRunner& cycles)
    : store_(store), cycles_(cycles) {}

HttpResponse ForecastHandler::show(const ApiRequest& request) {
  const std::string& name = request.segment("name");
  auto system = store_.system(name);
  if (!system) return storeFailure(system.error());
  if (!system.value()) return errorResponse(404, "unknown system '" + name + "'");
  const double step_s = cycles_.settings().step_s;
  auto asked = parseForecastQuery(request.query, step_s);
  if (!asked) return errorResponse(400, asked.error().message);
  if (asked->hourly) return showHourly(*system.value(), asked->steps, request);
  auto forecast = cycles_.forecast(name, static_cast<int>(asked->steps));
  if (!forecast) {
    return errorResponse(404, "no forecast for '" + name + "' yet: no decision cycle included it");
  }
  const int64_t origin = cycles_.lastCycleMs();
  json points = json::array();
  for (std::size_t i = 0; i < forecast->point.size(); ++i) {
    const double step = static_cast<double>(i + 1);
    const int64_t time =
        origin > 0 ? origin + static_cast<int64_t>(std::llround(step * step_s * 1000)) : 0;
    points.push_back(pointJson(*forecast, i, time));
  }
  return jsonResponse(200, {{"system", name},
                            {"resolution", "cycle"},
                            {"model", forecast->model},
                            {"coverage", numberOrNull(forecast->coverage)},
                            {"observations", forecast->observations},
                            {"backtest_mae", numberOrNull(forecast->backtest_mae)},
                            {"origin", isoOrNull(origin)},
                            {"step_s", step_s},
                            {"points", points}});
}

HttpResponse ForecastHandler::showHourly(const store::SystemRecord& system, int64_t hours,
                                         const ApiRequest& request) {
  const std::string& name = system.name;
  engine::LongHorizonRequest asked;
  asked.horizon = static_cast<int>(hours);
  asked.coverage = cycles_.settings().coverage;
  if (auto model = param(request.query, "model")) asked.model = *model;
  auto capacity = parsePositiveNumber(request.query, "capacity");
  if (!capacity) return errorResponse(400, capacity.error().message);
  // Capacity planning asks when demand outgrows the most the system can serve.
  const double most =
      static_cast<double>(system.info.max_replicas) * system.info.capacity_per_replica;
  const double limit = capacity->value_or(most);
  if (limit > 0.0 && std::isfinite(limit)) asked.capacity = limit;

  const int64_t origin = store_.rolledUntil(store::RollupResolution::kHour);
  if (origin <= 0) {
    return errorResponse(
        404, "no hourly forecast for '" + name + "' yet: no hour of demand has been rolled up");
  }
  auto rows = store_.rollups(name, "demand", store::RollupResolution::kHour,
                             origin - kLongHistoryHours * store::kHourMs, origin);
  if (!rows) return storeFailure(rows.error());
  if (rows->empty()) {
    return errorResponse(404, "no hourly forecast for '" + name +
                                  "' yet: its demand has no complete hour in the rollups");
  }
  // One value per hour from the first bucket to the origin; hours without a
  // row stay missing.
  const int64_t first = rows->front().start_ms;
  asked.hourly.assign(static_cast<std::size_t>((origin - first) / store::kHourMs),
                      std::numeric_limits<double>::quiet_NaN());
  for (const auto& row : *rows) {
    asked.hourly[static_cast<std::size_t>((row.start_ms - first) / store::kHourMs)] = row.mean;
  }
  asked.origin_ms = origin;
  auto result = engine::forecastLongHorizon(asked);
  if (!result) {
    return errorResponse(result.error().code == "invalid" ? 400 : 404, result.error().message);
  }
  const auto& f = result->forecast;
  json points = json::array();
  for (std::size_t i = 0; i < f.point.size(); ++i) {
    points.push_back(pointJson(f, i, origin + static_cast<int64_t>(i + 1) * store::kHourMs));
  }
  json breach = nullptr;
  if (result->breach) {
    const auto& b = *result->breach;
    breach = {{"eta", isoOrNull(b.eta_ms)},
              {"steps_ahead", b.steps_ahead},
              {"predicted_demand", numberOrNull(b.predicted_demand)},
              {"capacity", numberOrNull(b.capacity)},
              {"probability", numberOrNull(b.probability)}};
  }
  return jsonResponse(200, {{"system", name},
                            {"resolution", "1h"},
                            {"model", f.model},
                            {"coverage", numberOrNull(f.coverage)},
                            {"observations", f.observations},
                            {"backtest_mae", numberOrNull(f.backtest_mae)},
                            {"origin", isoOrNull(origin)},
                            {"step_s", result->step_s},
                            {"history",
                             {{"since", isoOrNull(first)},
                              {"hours", result->history_hours},
                              {"missing_hours", result->missing_hours}}},
                            {"capacity", asked.capacity ? json(*asked.capacity) : json(nullptr)},
                            {"breach", breach},
                            {"points", points}});
}

}  // namespace pso::controller::service
