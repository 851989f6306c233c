#include "controller/service/api/agents_handler.h"

#include <nlohmann/json.hpp>

#include "controller/service/api/response.h"
#include "controller/service/api/systems_handler.h"

namespace pso::controller::service {

using nlohmann::json;

AgentsHandler::AgentsHandler(store::Store& store) : store_(store) {}

HttpResponse AgentsHandler::list(const ApiRequest&) {
  auto agents = store_.agents();
  auto systems = store_.systems();
  if (!agents) return storeFailure(agents.error());
  if (!systems) return storeFailure(systems.error());
  json list = json::array();
  for (const auto& agent : agents.value()) {
    json names = json::array();
    for (const auto& system : systems.value()) {
      if (system.agent_id == agent.id) names.push_back(system.name);
    }
    json conflicts = json::array();
    for (const auto& conflict : agent.conflicts) {
      conflicts.push_back({{"system", conflict.system}, {"owner", conflict.owner}});
    }
    json host = json::parse(agent.host_facts_json, nullptr, false);
    if (host.is_discarded() || !host.is_object()) host = json::object();
    list.push_back({{"id", agent.id},
                    {"version", agent.version},
                    {"connected", agent.connected},
                    {"first_seen", isoOrNull(agent.first_seen_ms)},
                    {"last_seen", isoOrNull(agent.last_seen_ms)},
                    {"last_seq", agent.last_seq},
                    {"host", host},
                    {"systems", names},
                    {"conflicts", conflicts}});
  }
  return jsonResponse(200, {{"agents", list}});
}

HttpResponse AgentsHandler::samples(const ApiRequest& request) {
  const std::string& id = request.segment("id");
  auto agent = store_.agent(id);
  if (!agent) return storeFailure(agent.error());
  if (!agent.value()) return errorResponse(404, "unknown agent '" + id + "'");
  return seriesSamples(store_, request, store::hostSeriesSystem(id), "agent", id, "");
}

}  // namespace pso::controller::service
