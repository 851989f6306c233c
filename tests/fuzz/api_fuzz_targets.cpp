#include "tests/fuzz/api_fuzz_targets.h"

#include <nlohmann/json.hpp>

#include <cstdint>
#include <set>
#include <sstream>
#include <string>

#include "common/metrics.h"
#include "controller/service/api/metrics_handler.h"
#include "controller/service/api/query.h"
#include "controller/service/api/response.h"
#include "controller/service/api/router.h"

namespace pso::controller::fuzz {
namespace {

using service::ApiRequest;
using service::HttpRequest;
using service::HttpResponse;
using service::Role;

constexpr int64_t kNowMs = 1767225600000;

// The lines of a page that stay the same from one render to the next (the
// uptime and the resident memory are read at each).
std::set<std::string> steadyLines(const std::string& page) {
  std::set<std::string> lines;
  std::istringstream in(page);
  for (std::string line; std::getline(in, line);) {
    if (line.starts_with("pso_uptime_seconds ") ||
        line.starts_with("process_resident_memory_bytes ")) {
      continue;
    }
    lines.insert(line);
  }
  return lines;
}

bool isOneLineError(const HttpResponse& response) {
  const auto body = nlohmann::json::parse(response.body, nullptr, /*allow_exceptions=*/false);
  if (!body.is_object() || !body.contains("error") || !body["error"].is_string()) return false;
  const auto& message = body["error"].get_ref<const std::string&>();
  return !message.empty() && message.find('\n') == std::string::npos;
}

// What /q answers: the parameters as the API's resources read them.
HttpResponse readParameters(const ApiRequest& request) {
  auto limit = service::parseLimit(request.query, 50, 1000);
  if (!limit) return service::errorResponse(400, limit.error().message);
  auto range = service::parseTimeRange(request.query, request.now_ms);
  if (!range) return service::errorResponse(400, range.error().message);
  auto ratio = service::parsePositiveNumber(request.query, "ratio");
  if (!ratio) return service::errorResponse(400, ratio.error().message);
  return service::jsonResponse(
      200, {{"name", request.segment("name")}, {"limit", *limit}, {"ratio", ratio->value_or(0)}});
}

}  // namespace

bool checkApiRequest(std::string_view input) {
  common::MetricsRegistry metrics;
  metrics.describe("pso_cycles_total", "counter", "Cycles.");
  metrics.increment("pso_cycles_total");
  metrics.describeHistogram("pso_cycle_duration_seconds", "Cycle durations.", {0.1, 1});
  metrics.observe("pso_cycle_duration_seconds", {}, 0.5);
  metrics.setGaugeTable("pso_system_demand", "system", {{"web", 12.5}, {"a\"b", 1}});
  metrics.increment("pso:recorded_rule", {{"k", "v"}});
  service::MetricsHandler handler(service::ControllerIdentity{"fuzz", "0", "act", 0}, metrics);
  const service::Router router(
      {{"GET", "/metrics", Role::kNone,
        [&handler](const ApiRequest& request) { return handler.render(request); }},
       {"GET", "/q/{name}", Role::kNone, readParameters}},
      service::AccessPolicy(std::nullopt, Role::kNone));

  HttpRequest request;
  request.method = "GET";
  request.target = std::string(input);
  const HttpResponse response = router.handle(request, kNowMs);
  switch (response.status) {
    case 200:
      break;
    case 400:
    case 404:
    case 405:
      return isOneLineError(response);
    default:
      return false;
  }
  if (!request.target.starts_with("/metrics")) return true;
  // A filtered page is part of the whole one.
  HttpRequest whole;
  whole.method = "GET";
  whole.target = "/metrics";
  const std::set<std::string> all = steadyLines(router.handle(whole, kNowMs).body);
  for (const std::string& line : steadyLines(response.body)) {
    if (!all.contains(line)) return false;
  }
  return true;
}

}  // namespace pso::controller::fuzz
