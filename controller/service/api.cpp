#include "controller/service/api.h"

#include <utility>

#include "controller/service/api/agents_handler.h"
#include "controller/service/api/alerts_handler.h"
#include "controller/service/api/cycles_handler.h"
#include "controller/service/api/directives_handler.h"
#include "controller/service/api/forecast_handler.h"
#include "controller/service/api/health_handler.h"
#include "controller/service/api/metrics_handler.h"
#include "controller/service/api/mode_handler.h"
#include "controller/service/api/router.h"
#include "controller/service/api/scenarios_handler.h"
#include "controller/service/api/status_handler.h"
#include "controller/service/api/systems_handler.h"
#include "controller/service/dashboard/dashboard_handler.h"

namespace pso::controller::service {

namespace {

template <typename Handler>
RouteHandler call(Handler& handler, HttpResponse (Handler::*method)(const ApiRequest&)) {
  return [&handler, method](const ApiRequest& request) { return (handler.*method)(request); };
}

}  // namespace

/// One object per resource; the routes call into them.
struct Api::Handlers {
  Handlers(const ControllerIdentity& identity, store::Store& store, CycleRunner& cycles,
           common::MetricsRegistry& metrics, int64_t cycle_interval_ms)
      : status(identity, store, metrics, [&cycles] { return cycles.mode(); }),
        health(identity, store, cycles, cycle_interval_ms),
        metrics(identity, metrics),
        agents(store),
        systems(store),
        forecast(store, cycles),
        directives(store, cycles),
        cycles(store),
        scenarios(store),
        alerts(store),
        mode(cycles) {}

  StatusHandler status;
  HealthHandler health;
  MetricsHandler metrics;
  AgentsHandler agents;
  SystemsHandler systems;
  ForecastHandler forecast;
  DirectivesHandler directives;
  CyclesHandler cycles;
  ScenariosHandler scenarios;
  AlertsHandler alerts;
  ModeHandler mode;
};

Api::Api(ApiOptions options, store::Store& store, CycleRunner& cycles,
         common::MetricsRegistry& metrics)
    : clock_(std::move(options.clock)) {
  const ControllerIdentity identity{options.controller_id, options.version, options.mode,
                                    options.started_steady_ms};
  handlers_ =
      std::make_unique<Handlers>(identity, store, cycles, metrics, options.cycle_interval_ms);
  Handlers& h = *handlers_;
  // Liveness and scraping stay open whatever the anonymous role; every route
  // that changes what the controller does needs kOperate.
  std::vector<Route> routes = {
      {"GET", "/metrics", Role::kNone, call(h.metrics, &MetricsHandler::render)},
      {"GET", "/healthz", Role::kNone, call(h.health, &HealthHandler::live)},
      {"GET", "/readyz", Role::kNone, call(h.health, &HealthHandler::ready)},
      {"GET", "/api/v1/status", Role::kNone, call(h.status, &StatusHandler::show)},
      {"GET", "/api/v1/agents", Role::kRead, call(h.agents, &AgentsHandler::list)},
      {"GET", "/api/v1/agents/{id}/samples", Role::kRead, call(h.agents, &AgentsHandler::samples)},
      {"GET", "/api/v1/systems", Role::kRead, call(h.systems, &SystemsHandler::list)},
      {"GET", "/api/v1/systems/{name}", Role::kRead, call(h.systems, &SystemsHandler::show)},
      {"GET", "/api/v1/systems/{name}/samples", Role::kRead,
       call(h.systems, &SystemsHandler::samples)},
      {"GET", "/api/v1/systems/{name}/forecast", Role::kRead,
       call(h.forecast, &ForecastHandler::show)},
      {"GET", "/api/v1/cycles", Role::kRead, call(h.cycles, &CyclesHandler::list)},
      {"GET", "/api/v1/directives", Role::kRead, call(h.directives, &DirectivesHandler::list)},
      {"POST", "/api/v1/directives", Role::kOperate,
       call(h.directives, &DirectivesHandler::create)},
      {"GET", "/api/v1/scenarios", Role::kRead, call(h.scenarios, &ScenariosHandler::list)},
      {"GET", "/api/v1/scenarios/export", Role::kRead,
       call(h.scenarios, &ScenariosHandler::exportAll)},
      {"GET", "/api/v1/scenarios/{id}", Role::kRead, call(h.scenarios, &ScenariosHandler::show)},
      {"GET", "/api/v1/alerts", Role::kRead, call(h.alerts, &AlertsHandler::list)},
      {"GET", "/api/v1/notifications", Role::kRead, call(h.alerts, &AlertsHandler::notifications)},
      {"POST", "/api/v1/mode", Role::kOperate, call(h.mode, &ModeHandler::set)},
      // The dashboard's page and assets hold no data: its script reads the
      // routes above with the caller's token.
      {"GET", "/", Role::kNone, serveDashboardPage},
      {"GET", "/ui/{asset}", Role::kNone, serveDashboardAsset},
  };
  router_ = std::make_unique<Router>(
      std::move(routes), AccessPolicy(std::move(options.tokens), options.anonymous_role));
}

Api::~Api() = default;

HttpResponse Api::handle(const HttpRequest& request) {
  return router_->handle(request, clock_());
}

}  // namespace pso::controller::service
