#pragma once

// The HTTP API's route table and the router that serves it. Each route is a
// method, a path pattern with named segments and the role a caller needs; the
// router answers unknown paths (404) and methods (405) itself, applies the
// access policy once, and hands the handler a request with its path segments
// and query decoded and the instant it is answered at.

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "controller/service/api/access.h"
#include "controller/service/http_server.h"

namespace pso::controller::service {

/// A request's query parameters, percent-decoded with '+' as a space; a
/// repeated name keeps its last value.
using QueryParams = std::map<std::string, std::string>;

/// One request as a handler sees it.
struct ApiRequest {
  const HttpRequest& http;
  /// The route's named segments ("{name}" -> "web"), percent-decoded.
  std::map<std::string, std::string> path;
  QueryParams query;
  /// Wall-clock epoch ms the request is answered at, from the API's clock.
  /// Handlers take the time from here only.
  int64_t now_ms = 0;

  /// The named segment `name` of the route's pattern.
  const std::string& segment(const std::string& name) const { return path.at(name); }
};

using RouteHandler = std::function<HttpResponse(const ApiRequest&)>;

/// One entry of the route table.
struct Route {
  std::string method;  ///< "GET", "POST"
  /// Absolute path of '/'-separated segments, each literal or "{name}"; a named
  /// segment matches any non-empty segment.
  std::string pattern;
  Role role = Role::kRead;  ///< checked by the router before the handler runs
  RouteHandler handler;
};

/// Serves a route table. Matching splits the path at '/' before decoding, so
/// an escaped '/' stays inside its segment; one trailing '/' is ignored.
class Router {
 public:
  /// Routes are tried in order: a literal route goes before a named one that
  /// would also match it ("/scenarios/export" before "/scenarios/{id}").
  Router(std::vector<Route> routes, AccessPolicy access);

  /// Answers `request` at `now_ms`: 400 for a malformed target or a bad
  /// %-escape, 404 when no pattern matches the path, 405 with an Allow header
  /// when patterns match but none for the method, the access policy's 401/403,
  /// else the route's handler. A JSON error escaping a handler becomes a 500.
  HttpResponse handle(const HttpRequest& request, int64_t now_ms) const;

 private:
  struct Segment {
    std::string text;  ///< the literal, or the name of a named segment
    bool named = false;
  };
  struct CompiledRoute {
    Route route;
    std::vector<Segment> segments;
  };

  /// Whether `segments` fit `route`; fills `named` with its named segments.
  static bool matches(const CompiledRoute& route, const std::vector<std::string>& segments,
                      std::map<std::string, std::string>& named);

  std::vector<CompiledRoute> routes_;
  AccessPolicy access_;
};

}  // namespace pso::controller::service
