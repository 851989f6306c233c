#pragma once

// The controller's HTTP API (/api/v1/... and /metrics): routing, bearer-token
// auth for every POST, JSON bodies. Transport-free, so it is served by
// HttpServer and callable directly.

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "common/metrics.h"
#include "common/result.h"
#include "controller/service/cycle_runner.h"
#include "controller/service/http_server.h"
#include "controller/store/store.h"

namespace pso::controller::service {

struct ApiOptions {
  std::string controller_id = "pso-controller";
  std::string version;
  std::string mode = "act";
  /// Bearer tokens accepted for POST; nullopt = no api_tokens_file configured,
  /// so every POST is refused with 403.
  std::optional<std::vector<std::string>> tokens;
  int64_t started_steady_ms = 0;
};

/// Reads an api_tokens_file: one token per line, surrounding blanks trimmed,
/// blank lines and lines starting with '#' ignored. Error code "io" names the
/// file.
[[nodiscard]] Result<std::vector<std::string>> loadApiTokens(const std::string& path);

/// Parses a time query parameter: epoch milliseconds (digits only), ISO 8601 /
/// "YYYY-MM-DD HH:MM:SS", or a duration such as "10m" meaning now minus it.
/// Error code "invalid" names the parameter.
[[nodiscard]] Result<int64_t> parseTimeParameter(const std::string& name, const std::string& text,
                                                 int64_t now_ms);

/// Answers every endpoint of ARCHITECTURE.md's ops surface. Errors are
/// {"error":"one line"} with 400 (malformed request), 401 (missing or wrong
/// token), 403 (mutating API disabled), 404 (unknown path or object), 405,
/// 422 (a well-formed request the controller refuses), 500 (store failure).
/// Times are ISO 8601 strings; absent ones are null.
class Api {
 public:
  Api(ApiOptions options, store::Store& store, CycleRunner& cycles,
      common::MetricsRegistry& metrics);

  HttpResponse handle(const HttpRequest& request);

 private:
  HttpResponse route(const HttpRequest& request, const std::string& path,
                     const std::map<std::string, std::string>& query);
  std::optional<HttpResponse> authorize(const HttpRequest& request) const;

  HttpResponse getStatus();
  HttpResponse getAgents();
  HttpResponse getSystems(const std::optional<std::string>& name);
  HttpResponse getSamples(const std::string& name, const std::map<std::string, std::string>& query);
  HttpResponse getForecast(const std::string& name,
                           const std::map<std::string, std::string>& query);
  /// The long-horizon forecast of a system's demand from its hourly rollups
  /// (GET .../forecast with resolution=1h or a horizon longer than an hour).
  HttpResponse getLongForecast(const store::SystemRecord& system, int64_t hours,
                               const std::map<std::string, std::string>& query);
  HttpResponse getCycles(const std::map<std::string, std::string>& query);
  HttpResponse getDirectives(const std::map<std::string, std::string>& query);
  HttpResponse postDirective(const HttpRequest& request);
  HttpResponse getScenarios(const std::map<std::string, std::string>& query);
  HttpResponse getScenario(const std::string& id);
  HttpResponse exportScenarios(const std::map<std::string, std::string>& query);
  HttpResponse getMetrics();

  ApiOptions options_;
  store::Store& store_;
  CycleRunner& cycles_;
  common::MetricsRegistry& metrics_;
};

}  // namespace pso::controller::service
