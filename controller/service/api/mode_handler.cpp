#include "controller/service/api/mode_handler.h"

#include <nlohmann/json.hpp>
#include <string>

#include "controller/service/api/response.h"

namespace pso::controller::service {

using nlohmann::json;

HttpResponse ModeHandler::set(const ApiRequest& request) {
  const json body = json::parse(request.http.body, nullptr, false);
  if (body.is_discarded() || !body.is_object()) {
    return errorResponse(400,
                         "body: expected a JSON object {\"mode\": \"act\" | \"forecast-only\"}");
  }
  const json mode = body.value("mode", json());
  if (!mode.is_string() || (mode != "act" && mode != "forecast-only")) {
    return errorResponse(400, "mode: expected act or forecast-only");
  }
  const std::string previous = cycles_.mode();
  cycles_.setForecastOnly(mode == "forecast-only");
  return jsonResponse(200, {{"mode", cycles_.mode()}, {"previous", previous}});
}

}  // namespace pso::controller::service
