#include "controller/service/api/health_handler.h"

#include <nlohmann/json.hpp>
#include <string>

#include "common/clock.h"
#include "controller/service/api/response.h"

namespace pso::controller::service {

using nlohmann::json;

namespace {

// A cycle this many intervals late means the loop is stuck.
constexpr int64_t kLateIntervals = 3;

HttpResponse notReady(const std::string& reason) {
  return jsonResponse(503, {{"ready", false}, {"reason", reason}});
}

}  // namespace

HealthHandler::HealthHandler(ControllerIdentity identity, store::Store& store, CycleRunner& cycles,
                             int64_t cycle_interval_ms)
    : identity_(std::move(identity)),
      store_(store),
      cycles_(cycles),
      cycle_interval_ms_(cycle_interval_ms) {}

HttpResponse HealthHandler::live(const ApiRequest& /*request*/) {
  return jsonResponse(200, {{"status", "ok"}});
}

HttpResponse HealthHandler::ready(const ApiRequest& request) {
  if (auto probe = store_.cycles(1); !probe) {
    return notReady("the store does not answer: " + probe.error().message);
  }
  const int64_t allowance = kLateIntervals * cycle_interval_ms_;
  const int64_t interval_s = cycle_interval_ms_ / 1000;
  const int64_t last = cycles_.lastCycleMs();
  if (last > 0 && request.now_ms - last > allowance) {
    return notReady("the last decision cycle ran " +
                    std::to_string((request.now_ms - last) / 1000) + " s ago (cycle_interval " +
                    std::to_string(interval_s) + " s)");
  }
  const auto uptime_ms = static_cast<int64_t>(identity_.uptimeSeconds() * 1000.0);
  if (last == 0 && uptime_ms > allowance) {
    return notReady("no decision cycle has run in the " + std::to_string(uptime_ms / 1000) +
                    " s since the start (cycle_interval " + std::to_string(interval_s) + " s)");
  }
  return jsonResponse(200, {{"ready", true}});
}

}  // namespace pso::controller::service
