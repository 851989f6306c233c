#include "controller/service/api/response.h"

#include <cmath>
#include <utility>

#include "common/clock.h"

namespace pso::controller::service {

using nlohmann::json;

HttpResponse jsonResponse(int status, const json& body) {
  return HttpResponse{
      status, "application/json", body.dump(-1, ' ', false, json::error_handler_t::replace), {}};
}

HttpResponse errorResponse(int status, std::string message) {
  for (char& c : message) {
    if (static_cast<unsigned char>(c) < 0x20) c = ' ';
  }
  return jsonResponse(status, json{{"error", std::move(message)}});
}

HttpResponse storeFailure(const Error& error) {
  return errorResponse(500, "store: " + error.message);
}

json isoOrNull(int64_t ms) {
  return ms > 0 ? json(common::formatIso8601(ms)) : json(nullptr);
}

json numberOrNull(double value) {
  return std::isfinite(value) ? json(value) : json(nullptr);
}

json stringOrNull(const std::string& text) {
  return text.empty() ? json(nullptr) : json(text);
}

}  // namespace pso::controller::service
