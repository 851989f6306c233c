#pragma once

// The controller's HTTP API (/api/v1/... and /metrics) as a route table: each
// resource's handler lives in controller/service/api/, and the router applies
// access control once from each route's role. Transport-free, so it is served
// by HttpServer and callable directly.

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/metrics.h"
#include "controller/service/api/access.h"
#include "controller/service/cycle_runner.h"
#include "controller/service/http_server.h"
#include "controller/store/store.h"

namespace pso::controller::service {

class Router;

/// Wall-clock epoch milliseconds now (common::wallMs in production).
using WallClock = std::function<int64_t()>;

struct ApiOptions {
  std::string controller_id = "pso-controller";
  std::string version;
  std::string mode = "act";
  /// Bearer tokens and the role each grants; nullopt = no api_tokens_file
  /// configured, so a route needing more than `anonymous_role` is refused 403.
  std::optional<std::vector<ApiToken>> tokens;
  /// What a caller holds without a token: by default reads are open and
  /// changes need a token; kNone when api_read_requires_token is set.
  Role anonymous_role = Role::kRead;
  int64_t started_steady_ms = 0;
  /// The decision cycle's interval: /readyz calls a cycle three intervals late stuck.
  int64_t cycle_interval_ms = 15000;
  /// The instant each request is answered at (relative times such as
  /// since=10m, active holds, an operator directive's creation). Required.
  WallClock clock;
};

/// Answers every endpoint of docs/architecture.md's ops surface. Errors are
/// {"error":"one line"} with 400 (malformed request), 401 (missing or wrong
/// token), 403 (the route's role is not open and no tokens file is
/// configured, or the token's role is too low), 404 (unknown path or object), 405 (known path,
/// other method; with Allow), 422 (a well-formed request the controller refuses), 500 (store
/// failure). Times are ISO 8601 strings; absent ones are null.
class Api {
 public:
  Api(ApiOptions options, store::Store& store, CycleRunner& cycles,
      common::MetricsRegistry& metrics);
  ~Api();
  Api(const Api&) = delete;
  Api& operator=(const Api&) = delete;

  HttpResponse handle(const HttpRequest& request);

 private:
  struct Handlers;

  WallClock clock_;
  std::unique_ptr<Handlers> handlers_;
  std::unique_ptr<Router> router_;
};

}  // namespace pso::controller::service
