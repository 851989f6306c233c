#include "controller/service/api.h"

#include <spdlog/spdlog.h>

#include <unistd.h>
#include <algorithm>
#include <atomic>
#include <cctype>
#include <charconv>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <limits>
#include <nlohmann/json.hpp>
#include <random>
#include <sstream>
#include <system_error>

#include "common/clock.h"
#include "common/config.h"
#include "common/trace.h"
#include "controller/engine/long_horizon.h"
#include "controller/scenarios/exporter.h"
#include "controller/scenarios/scenario.h"

namespace pso::controller::service {

namespace {

using nlohmann::json;

constexpr const char* kApiPrefix = "/api/v1/";
constexpr const char* kPrometheusContentType = "text/plain; version=0.0.4; charset=utf-8";

// Strings in responses come from agents and files: never let invalid UTF-8
// turn a response into an exception.
std::string dumpJson(const json& value) {
  return value.dump(-1, ' ', false, json::error_handler_t::replace);
}

HttpResponse jsonResponse(int status, const json& body) {
  return HttpResponse{status, "application/json", dumpJson(body), {}};
}

// Errors are one line even when they quote what the client sent.
HttpResponse errorResponse(int status, std::string message) {
  for (char& c : message) {
    if (static_cast<unsigned char>(c) < 0x20) c = ' ';
  }
  return jsonResponse(status, json{{"error", message}});
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

int hexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::optional<std::string> urlDecode(std::string_view text, bool plus_is_space) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c == '%') {
      if (i + 2 >= text.size()) return std::nullopt;
      const int hi = hexValue(text[i + 1]);
      const int lo = hexValue(text[i + 2]);
      if (hi < 0 || lo < 0) return std::nullopt;
      out.push_back(static_cast<char>(hi * 16 + lo));
      i += 2;
    } else if (c == '+' && plus_is_space) {
      out.push_back(' ');
    } else {
      out.push_back(c);
    }
  }
  return out;
}

std::string trim(std::string_view text) {
  std::size_t begin = 0;
  std::size_t end = text.size();
  while (begin < end && std::isspace(static_cast<unsigned char>(text[begin]))) ++begin;
  while (end > begin && std::isspace(static_cast<unsigned char>(text[end - 1]))) --end;
  return std::string(text.substr(begin, end - begin));
}

bool allDigits(std::string_view text) {
  return !text.empty() &&
         std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; });
}

// Compares without an early exit, so response timing does not reveal how much
// of a token matched.
bool constantTimeEquals(std::string_view a, std::string_view b) {
  unsigned char diff = a.size() == b.size() ? 0 : 1;
  const std::size_t n = std::max(a.size(), b.size());
  for (std::size_t i = 0; i < n; ++i) {
    const unsigned char x = i < a.size() ? static_cast<unsigned char>(a[i]) : 0;
    const unsigned char y = i < b.size() ? static_cast<unsigned char>(b[i]) : 0;
    diff |= static_cast<unsigned char>(x ^ y);
  }
  return diff == 0;
}

Result<int64_t> parseLimit(const std::map<std::string, std::string>& query, int64_t fallback,
                           int64_t maximum) {
  auto it = query.find("limit");
  if (it == query.end()) return fallback;
  int64_t value = 0;
  const auto& text = it->second;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || ec != std::errc() || end != text.data() + text.size() || value < 1 ||
      value > maximum) {
    return makeError("invalid", "limit: expected an integer from 1 to " + std::to_string(maximum) +
                                    ", got '" + text + "'");
  }
  return value;
}

std::optional<std::string> param(const std::map<std::string, std::string>& query,
                                 const std::string& name) {
  auto it = query.find(name);
  if (it == query.end()) return std::nullopt;
  return it->second;
}

// Hourly history a long-horizon forecast replays at most: enough for weekly
// seasons to be detected (AutoModel needs three), bounded so one request stays
// a few milliseconds.
constexpr int64_t kLongHistoryHours = 12 * 7 * 24;
// A duration horizon longer than this is served from the hourly rollups: it
// spans more than one hourly step, and the cycle-step model tracks its errors
// only a few cycles ahead.
constexpr int64_t kOperationalHorizonMs = 60LL * 60 * 1000;

/// How GET /systems/{name}/forecast was asked to forecast.
struct ForecastQuery {
  bool hourly = false;
  int64_t steps = 0;  ///< at the chosen resolution
};

// "horizon" is a step count (cycle steps, or hours with resolution=1h) or a
// duration with a unit ("30m", "168h", "7d"); "resolution" is "1h" or "cycle".
Result<ForecastQuery> parseForecastQuery(const std::map<std::string, std::string>& query,
                                         double step_s) {
  ForecastQuery out;
  std::optional<std::string> resolution = param(query, "resolution");
  if (resolution && *resolution != "1h" && *resolution != "cycle") {
    return makeError("invalid", "resolution: expected 1h or cycle, got '" + *resolution + "'");
  }
  out.hourly = resolution && *resolution == "1h";
  const std::optional<std::string> text = param(query, "horizon");
  if (!text) {
    out.steps = out.hourly ? engine::kMaxLongHorizonSteps : 20;
    return out;
  }
  const int64_t max_steps = out.hourly ? engine::kMaxLongHorizonSteps : 10000;
  if (allDigits(*text)) {
    int64_t steps = 0;
    const auto [end, ec] = std::from_chars(text->data(), text->data() + text->size(), steps);
    if (ec == std::errc() && end == text->data() + text->size() && steps >= 1 &&
        steps <= max_steps) {
      out.steps = steps;
      return out;
    }
  } else if (auto duration = common::parseDuration(*text); duration && duration->count() > 0) {
    const int64_t ms = duration->count();
    if (!resolution) out.hourly = ms > kOperationalHorizonMs;
    const auto step_ms = out.hourly ? static_cast<double>(kOperationalHorizonMs) : step_s * 1000.0;
    const double steps = std::ceil(static_cast<double>(ms) / step_ms);
    const int64_t limit = out.hourly ? engine::kMaxLongHorizonSteps : 10000;
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

std::string uniqueTempName(const std::string& extension) {
  static std::atomic<uint64_t> counter{0};
  std::random_device random;
  return "pso-export-" + std::to_string(::getpid()) + "-" + std::to_string(random()) + "-" +
         std::to_string(counter++) + "." + extension;
}

std::string exportContentType(const std::string& format) {
  if (format == "jsonl") return "application/x-ndjson";
  if (format == "xapi") return "application/json";
  if (format == "html") return "text/html; charset=utf-8";
  return "text/plain; charset=utf-8";
}

}  // namespace

Result<std::vector<std::string>> loadApiTokens(const std::string& path) {
  std::ifstream in(path);
  if (!in) {
    return makeError("io", "api_tokens_file " + path +
                               ": cannot open: " + std::generic_category().message(errno));
  }
  std::vector<std::string> tokens;
  std::string line;
  while (std::getline(in, line)) {
    const std::string token = trim(line);
    if (token.empty() || token.front() == '#') continue;
    tokens.push_back(token);
  }
  if (in.bad()) return makeError("io", "api_tokens_file " + path + ": read error");
  return tokens;
}

Result<int64_t> parseTimeParameter(const std::string& name, const std::string& text,
                                   int64_t now_ms) {
  if (allDigits(text)) {
    int64_t value = 0;
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (ec == std::errc() && end == text.data() + text.size()) return value;
  } else if (!text.empty()) {
    if (auto duration = common::parseDuration(text); duration) return now_ms - duration->count();
    if (auto seconds = common::parseTimestamp(text); seconds) return seconds.value() * 1000;
  }
  return makeError("invalid", name +
                                  ": expected epoch milliseconds, an ISO 8601 time or a duration "
                                  "such as 10m, got '" +
                                  text + "'");
}

Api::Api(ApiOptions options, store::Store& store, CycleRunner& cycles,
         common::MetricsRegistry& metrics)
    : options_(std::move(options)), store_(store), cycles_(cycles), metrics_(metrics) {
  metrics_.describe("pso_uptime_seconds", "gauge", "Seconds since the controller started");
}

HttpResponse Api::handle(const HttpRequest& request) {
  const auto question = request.target.find('?');
  const std::string path = request.target.substr(0, question);
  if (path.empty() || path.front() != '/') return errorResponse(400, "malformed request target");
  std::map<std::string, std::string> query;
  if (question != std::string::npos) {
    std::string_view rest = std::string_view(request.target).substr(question + 1);
    while (!rest.empty()) {
      const auto amp = rest.find('&');
      const std::string_view pair = rest.substr(0, amp);
      rest = amp == std::string_view::npos ? std::string_view() : rest.substr(amp + 1);
      if (pair.empty()) continue;
      const auto eq = pair.find('=');
      auto key = urlDecode(pair.substr(0, eq), true);
      auto value =
          urlDecode(eq == std::string_view::npos ? std::string_view() : pair.substr(eq + 1), true);
      if (!key || !value) return errorResponse(400, "malformed query string: bad %-escape");
      query[*key] = *value;
    }
  }
  try {
    return route(request, path, query);
  } catch (const json::exception& e) {
    spdlog::error("http: {} {}: {}", request.method, request.target, e.what());
    return errorResponse(500, std::string("internal error: ") + e.what());
  }
}

std::optional<HttpResponse> Api::authorize(const HttpRequest& request) const {
  if (!options_.tokens) {
    return errorResponse(403, "mutating API disabled: no api_tokens_file configured");
  }
  constexpr std::string_view kScheme = "bearer ";
  const std::string header = trim(request.authorization);
  auto unauthorized = [](const std::string& message) {
    HttpResponse response = errorResponse(401, message);
    response.headers.emplace_back("WWW-Authenticate", "Bearer");
    return response;
  };
  if (header.size() <= kScheme.size() ||
      !std::equal(kScheme.begin(), kScheme.end(), header.begin(), [](char a, char b) {
        return a == std::tolower(static_cast<unsigned char>(b));
      })) {
    return unauthorized("missing bearer token: send 'Authorization: Bearer <token>'");
  }
  const std::string token = trim(std::string_view(header).substr(kScheme.size()));
  bool accepted = false;
  for (const auto& known : *options_.tokens) accepted |= constantTimeEquals(known, token);
  if (!accepted) return unauthorized("invalid bearer token");
  return std::nullopt;
}

HttpResponse Api::route(const HttpRequest& request, const std::string& path,
                        const std::map<std::string, std::string>& query) {
  auto methodNotAllowed = [](const std::string& allow) {
    HttpResponse response = errorResponse(405, "method not allowed; use " + allow);
    response.headers.emplace_back("Allow", allow);
    return response;
  };
  const bool get = request.method == "GET";

  if (path == "/metrics") return get ? getMetrics() : methodNotAllowed("GET");

  const std::string prefix = kApiPrefix;
  if (path.compare(0, prefix.size(), prefix) != 0) {
    return errorResponse(404, "no such endpoint: " + path);
  }
  // Split before decoding, so an escaped '/' stays inside its segment.
  std::vector<std::string> parts;
  {
    std::string_view rest = std::string_view(path).substr(prefix.size());
    if (!rest.empty() && rest.back() == '/') rest.remove_suffix(1);
    for (;;) {
      const auto slash = rest.find('/');
      auto part = urlDecode(rest.substr(0, slash), false);
      if (!part) return errorResponse(400, "malformed request path: bad %-escape");
      parts.push_back(std::move(*part));
      if (slash == std::string_view::npos) break;
      rest.remove_prefix(slash + 1);
    }
  }
  auto segment = [&](std::size_t i) -> const std::string& { return parts[i]; };
  const std::size_t n = parts.size();

  if (n == 1 && segment(0) == "status") return get ? getStatus() : methodNotAllowed("GET");
  if (n == 1 && segment(0) == "agents") return get ? getAgents() : methodNotAllowed("GET");
  if (n == 1 && segment(0) == "systems") {
    return get ? getSystems(std::nullopt) : methodNotAllowed("GET");
  }
  if (n == 2 && segment(0) == "systems" && !segment(1).empty()) {
    return get ? getSystems(segment(1)) : methodNotAllowed("GET");
  }
  if (n == 3 && segment(0) == "systems" && segment(2) == "samples") {
    return get ? getSamples(segment(1), query) : methodNotAllowed("GET");
  }
  if (n == 3 && segment(0) == "systems" && segment(2) == "forecast") {
    return get ? getForecast(segment(1), query) : methodNotAllowed("GET");
  }
  if (n == 1 && segment(0) == "cycles") return get ? getCycles(query) : methodNotAllowed("GET");
  if (n == 1 && segment(0) == "directives") {
    if (get) return getDirectives(query);
    if (request.method == "POST") {
      if (auto refused = authorize(request)) return *refused;
      return postDirective(request);
    }
    return methodNotAllowed("GET, POST");
  }
  if (n == 1 && segment(0) == "scenarios") {
    return get ? getScenarios(query) : methodNotAllowed("GET");
  }
  if (n == 2 && segment(0) == "scenarios" && segment(1) == "export") {
    return get ? exportScenarios(query) : methodNotAllowed("GET");
  }
  if (n == 2 && segment(0) == "scenarios" && !segment(1).empty()) {
    return get ? getScenario(segment(1)) : methodNotAllowed("GET");
  }
  return errorResponse(404, "no such endpoint: " + path);
}

HttpResponse Api::getStatus() {
  auto agents = store_.agents();
  auto systems = store_.systems();
  auto last = store_.cycles(1);
  if (!agents) return errorResponse(500, "store: " + agents.error().message);
  if (!systems) return errorResponse(500, "store: " + systems.error().message);
  if (!last) return errorResponse(500, "store: " + last.error().message);
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
      200,
      {{"controller_id", options_.controller_id},
       {"version", options_.version},
       {"mode", options_.mode},
       {"uptime_s", static_cast<double>(common::steadyMs() - options_.started_steady_ms) / 1000.0},
       {"agents", {{"total", agents->size()}, {"connected", connected}}},
       {"systems", systems->size()},
       {"cycles", cycles},
       {"last_cycle", last_cycle},
       {"rejected_messages",
        static_cast<int64_t>(std::llround(metrics_.total("pso_rejected_messages_total")))}});
}

HttpResponse Api::getAgents() {
  auto agents = store_.agents();
  auto systems = store_.systems();
  if (!agents) return errorResponse(500, "store: " + agents.error().message);
  if (!systems) return errorResponse(500, "store: " + systems.error().message);
  json list = json::array();
  for (const auto& agent : agents.value()) {
    json names = json::array();
    for (const auto& system : systems.value()) {
      if (system.agent_id == agent.id) names.push_back(system.name);
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
                    {"systems", names}});
  }
  return jsonResponse(200, {{"agents", list}});
}

HttpResponse Api::getSystems(const std::optional<std::string>& name) {
  auto systems = store_.systems();
  if (!systems) return errorResponse(500, "store: " + systems.error().message);
  auto last = store_.cycles(1);
  if (!last) return errorResponse(500, "store: " + last.error().message);

  // What the last cycle decided, by system.
  std::map<std::string, json> decided;
  if (!last->empty()) {
    json decisions = json::parse(last->front().decisions_json, nullptr, false);
    if (decisions.is_array()) {
      for (const auto& d : decisions) {
        if (d.is_object() && d.contains("system") && d["system"].is_string()) {
          decided[d["system"].get<std::string>()] = d;
        }
      }
    }
  }
  const int64_t now = common::wallMs();

  json list = json::array();
  for (const auto& system : systems.value()) {
    if (name && system.name != *name) continue;
    const auto& info = system.info;
    auto latest = store_.latestSample(system.name, "demand");
    auto hold = store_.activeHold(system.name, now);
    auto health = store_.health(system.name);
    if (!latest) return errorResponse(500, "store: " + latest.error().message);
    if (!hold) return errorResponse(500, "store: " + hold.error().message);
    if (!health) return errorResponse(500, "store: " + health.error().message);

    json demand = nullptr;
    if (latest.value()) {
      demand = {{"time", isoOrNull(latest.value()->ts_ms)},
                {"value", numberOrNull(latest.value()->value)}};
    }
    json hold_json = nullptr;
    if (hold.value()) {
      hold_json = {{"replicas", hold.value()->replicas},
                   {"until", isoOrNull(hold.value()->hold_until_ms)},
                   {"reason", hold.value()->reason},
                   {"directive", hold.value()->id}};
    }
    // The newest result of each check.
    std::map<std::string, store::HealthRecord> checks;
    for (const auto& record : health.value()) {
      auto it = checks.find(record.check);
      if (it == checks.end() || it->second.ts_ms <= record.ts_ms) checks[record.check] = record;
    }
    json health_json = json::array();
    std::size_t ok = 0;
    for (const auto& [check, record] : checks) {
      ok += record.status == "ok" ? 1 : 0;
      health_json.push_back({{"check", record.check},
                             {"status", record.status},
                             {"latency_ms", numberOrNull(record.latency_ms)},
                             {"error", stringOrNull(record.error)},
                             {"time", isoOrNull(record.ts_ms)}});
    }
    json health_score = nullptr;
    if (!checks.empty()) {
      health_score = 100.0 * static_cast<double>(ok) / static_cast<double>(checks.size());
    }

    json desired = nullptr;
    json forecast = nullptr;
    json last_rule = nullptr;
    json last_rationale = nullptr;
    if (auto it = decided.find(system.name); it != decided.end()) {
      const json& d = it->second;
      desired = d.value("desired", json(nullptr));
      if (d.contains("forecast_point") && !d["forecast_point"].is_null()) {
        forecast = {{"point", d["forecast_point"]},
                    {"hi", d.value("forecast_hi", json(nullptr))},
                    {"lo", d.value("forecast_lo", json(nullptr))},
                    {"model", d.value("forecast_model", json(nullptr))},
                    {"lead_steps", d.value("lead_steps", json(nullptr))}};
      }
      last_rule = d.value("rule", json(nullptr));
      last_rationale = d.value("rationale", json(nullptr));
    }

    list.push_back({{"name", system.name},
                    {"agent", system.agent_id},
                    {"actuator", info.actuator},
                    {"replicas", system.replicas >= 0 ? json(system.replicas) : json(nullptr)},
                    {"desired", desired},
                    {"min_replicas", info.min_replicas},
                    {"max_replicas", info.max_replicas},
                    {"capacity_per_replica", info.capacity_per_replica},
                    {"target_utilization", info.target_utilization},
                    {"warmup_s", static_cast<double>(info.warmup_ms) / 1000.0},
                    {"priority", info.priority},
                    {"depends_on", info.depends_on},
                    {"updated", isoOrNull(system.updated_ms)},
                    {"demand", demand},
                    {"forecast", forecast},
                    {"hold", hold_json},
                    {"health", health_json},
                    {"health_score", health_score},
                    {"last_rule", last_rule},
                    {"last_rationale", last_rationale}});
  }
  if (name) {
    if (list.empty()) return errorResponse(404, "unknown system '" + *name + "'");
    return jsonResponse(200, list.front());
  }
  return jsonResponse(200, {{"systems", list}});
}

HttpResponse Api::getSamples(const std::string& name,
                             const std::map<std::string, std::string>& query) {
  auto systems = store_.systems();
  if (!systems) return errorResponse(500, "store: " + systems.error().message);
  const bool known = std::any_of(systems->begin(), systems->end(),
                                 [&](const store::SystemRecord& s) { return s.name == name; });
  if (!known) return errorResponse(404, "unknown system '" + name + "'");

  const int64_t now = common::wallMs();
  const std::string metric = param(query, "metric").value_or("demand");
  if (metric.empty()) return errorResponse(400, "metric: must not be empty");
  int64_t since = now - 60LL * 60 * 1000;
  int64_t until = now + 1;
  if (auto text = param(query, "since")) {
    auto parsed = parseTimeParameter("since", *text, now);
    if (!parsed) return errorResponse(400, parsed.error().message);
    since = parsed.value();
  }
  if (auto text = param(query, "until")) {
    auto parsed = parseTimeParameter("until", *text, now);
    if (!parsed) return errorResponse(400, parsed.error().message);
    until = parsed.value();
  }
  auto limit = parseLimit(query, 10000, 1000000);
  if (!limit) return errorResponse(400, limit.error().message);

  auto samples = store_.samples(name, metric, since, until, limit.value());
  if (!samples) return errorResponse(500, "store: " + samples.error().message);
  json rows = json::array();
  for (const auto& sample : samples.value()) {
    rows.push_back(json::array({sample.ts_ms, numberOrNull(sample.value)}));
  }
  return jsonResponse(200, {{"system", name}, {"metric", metric}, {"samples", rows}});
}

HttpResponse Api::getForecast(const std::string& name,
                              const std::map<std::string, std::string>& query) {
  auto system = store_.system(name);
  if (!system) return errorResponse(500, "store: " + system.error().message);
  if (!system.value()) return errorResponse(404, "unknown system '" + name + "'");
  const double step_s = cycles_.settings().step_s;
  auto asked = parseForecastQuery(query, step_s);
  if (!asked) return errorResponse(400, asked.error().message);
  if (asked->hourly) return getLongForecast(*system.value(), asked->steps, query);
  auto forecast = cycles_.forecast(name, static_cast<int>(asked->steps));
  if (!forecast) {
    return errorResponse(404, "no forecast for '" + name + "' yet: no decision cycle included it");
  }
  const int64_t origin = cycles_.lastCycleMs();
  json points = json::array();
  for (std::size_t i = 0; i < forecast->point.size(); ++i) {
    const int64_t step = static_cast<int64_t>(i) + 1;
    points.push_back(
        {{"step", step},
         {"time", isoOrNull(origin > 0 ? origin + static_cast<int64_t>(std::llround(
                                                      static_cast<double>(step) * step_s * 1000))
                                       : 0)},
         {"point", numberOrNull(forecast->point[i])},
         {"lo", i < forecast->lo.size() ? numberOrNull(forecast->lo[i]) : json(nullptr)},
         {"hi", i < forecast->hi.size() ? numberOrNull(forecast->hi[i]) : json(nullptr)}});
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

HttpResponse Api::getLongForecast(const store::SystemRecord& system, int64_t hours,
                                  const std::map<std::string, std::string>& query) {
  const std::string& name = system.name;
  engine::LongHorizonRequest request;
  request.horizon = static_cast<int>(hours);
  request.coverage = cycles_.settings().coverage;
  if (auto model = param(query, "model")) request.model = *model;
  // Capacity planning asks when demand outgrows the most the system can serve.
  double capacity =
      static_cast<double>(system.info.max_replicas) * system.info.capacity_per_replica;
  if (auto text = param(query, "capacity")) {
    const auto [end, ec] = std::from_chars(text->data(), text->data() + text->size(), capacity);
    if (text->empty() || ec != std::errc() || end != text->data() + text->size() ||
        !(capacity > 0.0) || !std::isfinite(capacity)) {
      return errorResponse(400, "capacity: expected a positive number, got '" + *text + "'");
    }
  }
  if (capacity > 0.0 && std::isfinite(capacity)) request.capacity = capacity;

  const int64_t origin = store_.rolledUntil(store::RollupResolution::kHour);
  if (origin <= 0) {
    return errorResponse(
        404, "no hourly forecast for '" + name + "' yet: no hour of demand has been rolled up");
  }
  auto rows = store_.rollups(name, "demand", store::RollupResolution::kHour,
                             origin - kLongHistoryHours * store::kHourMs, origin);
  if (!rows) return errorResponse(500, "store: " + rows.error().message);
  if (rows->empty()) {
    return errorResponse(404, "no hourly forecast for '" + name +
                                  "' yet: its demand has no complete hour in the rollups");
  }
  // One value per hour from the first bucket to the origin; hours without a
  // row stay missing.
  const int64_t first = rows->front().start_ms;
  request.hourly.assign(static_cast<std::size_t>((origin - first) / store::kHourMs),
                        std::numeric_limits<double>::quiet_NaN());
  for (const auto& row : *rows) {
    request.hourly[static_cast<std::size_t>((row.start_ms - first) / store::kHourMs)] = row.mean;
  }
  request.origin_ms = origin;
  auto result = engine::forecastLongHorizon(request);
  if (!result) {
    return errorResponse(result.error().code == "invalid" ? 400 : 404, result.error().message);
  }
  const auto& f = result->forecast;
  json points = json::array();
  for (std::size_t i = 0; i < f.point.size(); ++i) {
    const int64_t step = static_cast<int64_t>(i) + 1;
    points.push_back({{"step", step},
                      {"time", isoOrNull(origin + step * store::kHourMs)},
                      {"point", numberOrNull(f.point[i])},
                      {"lo", i < f.lo.size() ? numberOrNull(f.lo[i]) : json(nullptr)},
                      {"hi", i < f.hi.size() ? numberOrNull(f.hi[i]) : json(nullptr)}});
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
  return jsonResponse(200,
                      {{"system", name},
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
                       {"capacity", request.capacity ? json(*request.capacity) : json(nullptr)},
                       {"breach", breach},
                       {"points", points}});
}

HttpResponse Api::getCycles(const std::map<std::string, std::string>& query) {
  auto limit = parseLimit(query, 20, 10000);
  if (!limit) return errorResponse(400, limit.error().message);
  auto cycles = store_.cycles(limit.value());
  if (!cycles) return errorResponse(500, "store: " + cycles.error().message);
  std::sort(cycles->begin(), cycles->end(),
            [](const store::CycleRecord& a, const store::CycleRecord& b) { return a.seq > b.seq; });
  json list = json::array();
  for (const auto& cycle : cycles.value()) {
    json decisions = json::parse(cycle.decisions_json, nullptr, false);
    if (decisions.is_discarded()) decisions = nullptr;
    // The cycle's events live in its scenario; a cycle whose scenario could not
    // be recorded shows none.
    const std::string scenario_id = scenarios::scenarioIdForCycle(cycle.id);
    auto scenario = store_.scenario(scenario_id);
    json events = json::array();
    if (scenario.ok() && scenario.value().has_value()) events = scenario.value()->events;
    list.push_back({{"id", cycle.id},
                    {"scenario", scenario_id},
                    {"events", events},
                    {"time", isoOrNull(cycle.ts_ms)},
                    {"mode", cycle.mode},
                    {"duration_ms", cycle.duration_ms},
                    {"decisions", decisions}});
  }
  return jsonResponse(200, {{"cycles", list}});
}

HttpResponse Api::getDirectives(const std::map<std::string, std::string>& query) {
  auto limit = parseLimit(query, 100, 10000);
  if (!limit) return errorResponse(400, limit.error().message);
  auto directives = store_.directives(limit.value(), param(query, "system").value_or(""));
  if (!directives) return errorResponse(500, "store: " + directives.error().message);
  std::stable_sort(directives->begin(), directives->end(),
                   [](const store::DirectiveRecord& a, const store::DirectiveRecord& b) {
                     return a.created_ms > b.created_ms;
                   });
  json list = json::array();
  for (const auto& directive : directives.value()) list.push_back(directiveJson(directive));
  return jsonResponse(200, {{"directives", list}});
}

HttpResponse Api::postDirective(const HttpRequest& request) {
  const json body = json::parse(request.body, nullptr, false);
  if (body.is_discarded()) return errorResponse(400, "body: not valid JSON");
  if (!body.is_object()) return errorResponse(400, "body: expected a JSON object");

  OperatorDirectiveRequest directive;
  if (!body.contains("system") || !body["system"].is_string() ||
      body["system"].get<std::string>().empty()) {
    return errorResponse(400, "system: required, a non-empty string");
  }
  directive.system = body["system"].get<std::string>();
  if (body.contains("action")) {
    if (!body["action"].is_string()) return errorResponse(400, "action: expected a string");
    directive.action = body["action"].get<std::string>();
  }
  if (!body.contains("replicas") || !body["replicas"].is_number_integer()) {
    return errorResponse(400, "replicas: required, an integer");
  }
  directive.replicas = body["replicas"].get<int64_t>();
  if (body.contains("reason")) {
    if (!body["reason"].is_string()) return errorResponse(400, "reason: expected a string");
    directive.reason = body["reason"].get<std::string>();
  }
  if (body.contains("hold") && body.contains("hold_s")) {
    return errorResponse(400, "hold and hold_s: give one of them");
  }
  if (body.contains("hold")) {
    if (!body["hold"].is_string()) {
      return errorResponse(400, "hold: expected a duration string such as \"10m\"");
    }
    auto hold = common::parseDuration(body["hold"].get<std::string>());
    if (!hold) return errorResponse(400, "hold: " + hold.error().message);
    directive.hold_ms = hold->count();
  } else if (body.contains("hold_s")) {
    if (!body["hold_s"].is_number() || !std::isfinite(body["hold_s"].get<double>()) ||
        body["hold_s"].get<double>() < 0 || body["hold_s"].get<double>() > 1e9) {
      return errorResponse(400, "hold_s: expected a non-negative number of seconds");
    }
    directive.hold_ms = static_cast<int64_t>(std::llround(body["hold_s"].get<double>() * 1000.0));
  }
  if (directive.hold_ms < 0) return errorResponse(400, "hold: must not be negative");

  auto created = cycles_.submitOperatorDirective(directive, common::wallMs());
  if (!created) {
    const auto& error = created.error();
    return errorResponse(error.code == "store" ? 500 : 422, error.message);
  }
  HttpResponse response = jsonResponse(201, {{"directive", directiveJson(created.value())}});
  response.headers.emplace_back("Location", "/api/v1/directives?system=" + directive.system);
  return response;
}

namespace {

Result<store::ScenarioFilter> scenarioFilter(const std::map<std::string, std::string>& query,
                                             int64_t default_limit) {
  store::ScenarioFilter filter;
  filter.event = param(query, "event");
  filter.level = param(query, "level");
  filter.system = param(query, "system");
  const int64_t now = common::wallMs();
  if (auto text = param(query, "since")) {
    auto parsed = parseTimeParameter("since", *text, now);
    if (!parsed) return parsed.error();
    filter.since_ms = parsed.value();
  }
  if (auto text = param(query, "until")) {
    auto parsed = parseTimeParameter("until", *text, now);
    if (!parsed) return parsed.error();
    filter.until_ms = parsed.value();
  }
  auto limit = parseLimit(query, default_limit, 1000000);
  if (!limit) return limit.error();
  filter.limit = limit.value();
  return filter;
}

}  // namespace

HttpResponse Api::getScenarios(const std::map<std::string, std::string>& query) {
  auto filter = scenarioFilter(query, 100);
  if (!filter) return errorResponse(400, filter.error().message);
  filter->newest_first = true;
  auto scenarios = store_.scenarios(filter.value());
  if (!scenarios) return errorResponse(500, "store: " + scenarios.error().message);
  json list = json::array();
  for (const auto& scenario : scenarios.value()) {
    list.push_back({{"id", scenario.id},
                    {"cycle_id", scenario.cycle_id},
                    {"time", isoOrNull(scenario.ts_ms)},
                    {"level", scenario.level},
                    {"events", scenario.events},
                    {"systems", scenario.systems},
                    {"outcome_filled", scenario.outcome_filled}});
  }
  return jsonResponse(200, {{"scenarios", list}});
}

HttpResponse Api::getScenario(const std::string& id) {
  auto scenario = store_.scenario(id);
  if (!scenario) return errorResponse(500, "store: " + scenario.error().message);
  if (!scenario.value()) return errorResponse(404, "unknown scenario '" + id + "'");
  json document = json::parse(scenario.value()->json, nullptr, false);
  if (document.is_discarded()) {
    return errorResponse(500, "scenario '" + id + "' is stored as invalid JSON");
  }
  return jsonResponse(200, document);
}

HttpResponse Api::exportScenarios(const std::map<std::string, std::string>& query) {
  const std::string format = param(query, "format").value_or("jsonl");
  auto exporter = scenarios::makeExporter(format);
  if (!exporter) return errorResponse(400, "format: " + exporter.error().message);
  auto filter = scenarioFilter(query, 1000000);
  if (!filter) return errorResponse(400, filter.error().message);
  filter->newest_first = false;
  auto records = store_.scenarios(filter.value());
  if (!records) return errorResponse(500, "store: " + records.error().message);

  // Exporters write files (psoctl's use); serve the file they write.
  std::error_code ec;
  const auto path = std::filesystem::temp_directory_path(ec) / uniqueTempName(format);
  if (ec) return errorResponse(500, "export: no temporary directory: " + ec.message());
  auto written = exporter.value()->write(records.value(), path.string());
  struct Cleanup {
    std::filesystem::path path;
    ~Cleanup() {
      std::error_code ignored;
      std::filesystem::remove_all(path, ignored);
    }
  } cleanup{path};
  if (!written) return errorResponse(500, "export: " + written.error().message);
  if (std::filesystem::is_directory(path, ec)) {
    return errorResponse(
        400, "format '" + format + "' writes one file per lesson; use psoctl scenarios export");
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) return errorResponse(500, "export: cannot read the exported file");
  std::ostringstream body;
  body << in.rdbuf();
  HttpResponse response{200, exportContentType(format), body.str(), {}};
  response.headers.emplace_back("X-Scenario-Count", std::to_string(written.value()));
  return response;
}

HttpResponse Api::getMetrics() {
  metrics_.set("pso_uptime_seconds", {},
               static_cast<double>(common::steadyMs() - options_.started_steady_ms) / 1000.0);
  return HttpResponse{200, kPrometheusContentType, metrics_.renderPrometheus(), {}};
}

}  // namespace pso::controller::service
