#include "controller/service/api/status_handler.h"

#include <algorithm>
#include <cmath>
#include <nlohmann/json.hpp>
#include <utility>

#include "common/clock.h"
#include "controller/service/api/response.h"

namespace pso::controller::service {

using nlohmann::json;

double ControllerIdentity::uptimeSeconds() const {
  return static_cast<double>(common::steadyMs() - started_steady_ms) / 1000.0;
}

StatusHandler::StatusHandler(ControllerIdentity identity, store::Store& store,
                             common::MetricsRegistry& metrics, std::function<std::string()> mode)
    : identity_(std::move(identity)), store_(store), metrics_(metrics), mode_(std::move(mode)) {}

HttpResponse StatusHandler::show(const ApiRequest&) {
  auto agents = store_.agents();
  auto systems = store_.systems();
  auto last = store_.cycles(1);
  if (!agents) return storeFailure(agents.error());
  if (!systems) return storeFailure(systems.error());
  if (!last) return storeFailure(last.error());
  const auto connected = std::count_if(agents->begin(), agents->end(),
                                       [](const store::AgentRecord& a) { return a.connected; });
  json last_cycle = nullptr;
  int64_t cycles = 0;
  if (!last->empty()) {
    const auto& cycle = last->front();
    last_cycle = {{"id", cycle.id}, {"time", isoOrNull(cycle.ts_ms)}};
    // Cycle numbers run 1..n without gaps, so the newest one is the count.
    cycles = cycle.seq;
  }
  return jsonResponse(
      200, {{"controller_id", identity_.controller_id},
            {"version", identity_.version},
            {"mode", mode_ ? mode_() : identity_.mode},
            {"uptime_s", identity_.uptimeSeconds()},
            {"agents", {{"total", agents->size()}, {"connected", connected}}},
            {"systems", systems->size()},
            {"cycles", cycles},
            {"last_cycle", last_cycle},
            {"rejected_messages",
             static_cast<int64_t>(std::llround(metrics_.total("pso_rejected_messages_total")))}});
}

}  // namespace pso::controller::service
