#include "controller/service/api/directives_handler.h"

#include <algorithm>
#include <cmath>
#include <nlohmann/json.hpp>
#include <string>

#include "common/config.h"
#include "controller/service/api/query.h"
#include "controller/service/api/response.h"

namespace pso::controller::service {

using nlohmann::json;

namespace {

// A hold_s beyond this (about 31 years) is a mistake, not a hold.
constexpr double kMaxHoldSeconds = 1e9;

json directiveJson(const store::DirectiveRecord& d) {
  return {{"id", d.id},
          {"cycle_id", stringOrNull(d.cycle_id)},
          {"system", d.system},
          {"agent", d.agent_id},
          {"action", d.action},
          {"replicas", d.replicas >= 0 ? json(d.replicas) : json(nullptr)},
          {"reason", d.reason},
          {"source", d.source},
          {"status", d.status},
          {"created", isoOrNull(d.created_ms)},
          {"sent", isoOrNull(d.sent_ms)},
          {"deadline", isoOrNull(d.deadline_ms)},
          {"result_time", isoOrNull(d.result_ms)},
          {"result_message", stringOrNull(d.result_message)},
          {"result_replicas", d.result_replicas >= 0 ? json(d.result_replicas) : json(nullptr)},
          {"hold_until", isoOrNull(d.hold_until_ms)}};
}

// The body's fields, each checked in turn; the first problem is the answer.
Result<OperatorDirectiveRequest> readDirective(const std::string& text) {
  const json body = json::parse(text, nullptr, false);
  if (body.is_discarded()) return makeError("invalid", "body: not valid JSON");
  if (!body.is_object()) return makeError("invalid", "body: expected a JSON object");

  OperatorDirectiveRequest directive;
  if (!body.contains("system") || !body["system"].is_string() ||
      body["system"].get<std::string>().empty()) {
    return makeError("invalid", "system: required, a non-empty string");
  }
  directive.system = body["system"].get<std::string>();
  if (body.contains("action")) {
    if (!body["action"].is_string()) return makeError("invalid", "action: expected a string");
    directive.action = body["action"].get<std::string>();
  }
  // A release ends a hold and sets no count; a scale needs one.
  if (directive.action == "release") {
    if (body.contains("replicas") || body.contains("hold") || body.contains("hold_s")) {
      return makeError("invalid", "release: takes no replicas and no hold");
    }
  } else if (!body.contains("replicas") || !body["replicas"].is_number_integer()) {
    return makeError("invalid", "replicas: required, an integer");
  } else {
    directive.replicas = body["replicas"].get<int64_t>();
  }
  if (body.contains("reason")) {
    if (!body["reason"].is_string()) return makeError("invalid", "reason: expected a string");
    directive.reason = body["reason"].get<std::string>();
  }
  if (body.contains("hold") && body.contains("hold_s")) {
    return makeError("invalid", "hold and hold_s: give one of them");
  }
  if (body.contains("hold")) {
    if (!body["hold"].is_string()) {
      return makeError("invalid", "hold: expected a duration string such as \"10m\"");
    }
    auto hold = common::parseDuration(body["hold"].get<std::string>());
    if (!hold) return makeError("invalid", "hold: " + hold.error().message);
    directive.hold_ms = hold->count();
  } else if (body.contains("hold_s")) {
    if (!body["hold_s"].is_number() || !std::isfinite(body["hold_s"].get<double>()) ||
        body["hold_s"].get<double>() < 0 || body["hold_s"].get<double>() > kMaxHoldSeconds) {
      return makeError("invalid", "hold_s: expected a non-negative number of seconds");
    }
    directive.hold_ms = static_cast<int64_t>(std::llround(body["hold_s"].get<double>() * 1000.0));
  }
  if (directive.hold_ms < 0) return makeError("invalid", "hold: must not be negative");
  return directive;
}

}  // namespace

DirectivesHandler::DirectivesHandler(store::Store& store, CycleRunner& cycles)
    : store_(store), cycles_(cycles) {}

HttpResponse DirectivesHandler::list(const ApiRequest& request) {
  auto limit = parseLimit(request.query, 100, 10000);
  if (!limit) return errorResponse(400, limit.error().message);
  auto directives = store_.directives(limit.value(), param(request.query, "system").value_or(""));
  if (!directives) return storeFailure(directives.error());
  std::stable_sort(directives->begin(), directives->end(),
                   [](const store::DirectiveRecord& a, const store::DirectiveRecord& b) {
                     return a.created_ms > b.created_ms;
                   });
  json list = json::array();
  for (const auto& directive : directives.value()) list.push_back(directiveJson(directive));
  return jsonResponse(200, {{"directives", list}});
}

HttpResponse DirectivesHandler::create(const ApiRequest& request) {
  auto directive = readDirective(request.http.body);
  if (!directive) return errorResponse(400, directive.error().message);
  auto created = cycles_.submitOperatorDirective(directive.value(), request.now_ms);
  if (!created) {
    const auto& error = created.error();
    return errorResponse(error.code == "store" ? 500 : 422, error.message);
  }
  HttpResponse response = jsonResponse(201, {{"directive", directiveJson(created.value())}});
  response.headers.emplace_back("Location",
                                "/api/v1/directives?system=" + directive.value().system);
  return response;
}

}  // namespace pso::controller::service
