#include "controller/cli/directive_request.h"

#include "common/config.h"

namespace pso::cli {

using nlohmann::json;

namespace {

std::string field(const json& doc, const char* key) {
  if (!doc.is_object() || !doc.contains(key) || doc.at(key).is_null()) return "-";
  const json& v = doc.at(key);
  return v.is_string() ? v.get<std::string>() : v.dump();
}

}  // namespace

Result<json> scaleDirectiveBody(const std::string& system, int64_t replicas,
                                const std::string& reason, const std::string& hold) {
  if (replicas < 0) {
    return makeError("invalid", "--replicas must be at least 0, got " + std::to_string(replicas));
  }
  json body = {{"system", system}, {"action", "scale"}, {"replicas", replicas}, {"reason", reason}};
  if (!hold.empty()) {
    auto parsed = common::parseDuration(hold);
    if (!parsed) return makeError("invalid", "--hold: " + parsed.error().message);
    body["hold"] = hold;
  }
  return body;
}

json releaseDirectiveBody(const std::string& system, const std::string& reason) {
  json body = {{"system", system}, {"action", "release"}};
  if (!reason.empty()) body["reason"] = reason;
  return body;
}

std::string directiveSummary(const json& answer) {
  const json d = answer.is_object() ? answer.value("directive", json::object()) : json::object();
  if (field(d, "action") == "release") {
    return "directive " + field(d, "id") + ": released the hold on " + field(d, "system") + " (" +
           field(d, "result_message") + ")";
  }
  std::string line = "directive " + field(d, "id") + ": scale " + field(d, "system") + " to " +
                     field(d, "replicas") + " (" + field(d, "status") + ")";
  if (d.contains("hold_until") && !d["hold_until"].is_null()) {
    line += ", held until " + field(d, "hold_until");
  }
  return line;
}

}  // namespace pso::cli
