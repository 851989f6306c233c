#include "controller/service/api/router.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <nlohmann/json.hpp>
#include <optional>
#include <string_view>
#include <utility>

#include "controller/service/api/response.h"

namespace pso::controller::service {

namespace {

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

// "/a/b/" -> {"a", "b"}: the leading '/' and one trailing '/' are not segments.
std::vector<std::string_view> splitPath(std::string_view path) {
  path.remove_prefix(1);
  if (!path.empty() && path.back() == '/') path.remove_suffix(1);
  std::vector<std::string_view> parts;
  for (;;) {
    const auto slash = path.find('/');
    parts.push_back(path.substr(0, slash));
    if (slash == std::string_view::npos) return parts;
    path.remove_prefix(slash + 1);
  }
}

std::optional<QueryParams> parseQuery(std::string_view text) {
  QueryParams query;
  while (!text.empty()) {
    const auto amp = text.find('&');
    const std::string_view pair = text.substr(0, amp);
    text = amp == std::string_view::npos ? std::string_view() : text.substr(amp + 1);
    if (pair.empty()) continue;
    const auto eq = pair.find('=');
    auto key = urlDecode(pair.substr(0, eq), true);
    auto value =
        urlDecode(eq == std::string_view::npos ? std::string_view() : pair.substr(eq + 1), true);
    if (!key || !value) return std::nullopt;
    query[*key] = *value;
  }
  return query;
}

}  // namespace

Router::Router(std::vector<Route> routes, AccessPolicy access) : access_(std::move(access)) {
  for (auto& route : routes) {
    CompiledRoute compiled;
    for (std::string_view part : splitPath(route.pattern)) {
      const bool named = part.size() > 2 && part.front() == '{' && part.back() == '}';
      compiled.segments.push_back(
          Segment{std::string(named ? part.substr(1, part.size() - 2) : part), named});
    }
    compiled.route = std::move(route);
    routes_.push_back(std::move(compiled));
  }
}

bool Router::matches(const CompiledRoute& route, const std::vector<std::string>& segments,
                     std::map<std::string, std::string>& named) {
  if (route.segments.size() != segments.size()) return false;
  named.clear();
  for (std::size_t i = 0; i < segments.size(); ++i) {
    const Segment& want = route.segments[i];
    if (want.named) {
      if (segments[i].empty()) return false;
      named[want.text] = segments[i];
    } else if (want.text != segments[i]) {
      return false;
    }
  }
  return true;
}

HttpResponse Router::handle(const HttpRequest& request, int64_t now_ms) const {
  const auto question = request.target.find('?');
  const std::string path = request.target.substr(0, question);
  if (path.empty() || path.front() != '/') return errorResponse(400, "malformed request target");
  QueryParams query;
  if (question != std::string::npos) {
    auto parsed = parseQuery(std::string_view(request.target).substr(question + 1));
    if (!parsed) return errorResponse(400, "malformed query string: bad %-escape");
    query = std::move(*parsed);
  }
  std::vector<std::string> segments;
  for (std::string_view part : splitPath(path)) {
    auto decoded = urlDecode(part, false);
    if (!decoded) return errorResponse(400, "malformed request path: bad %-escape");
    segments.push_back(std::move(*decoded));
  }

  const CompiledRoute* chosen = nullptr;
  std::map<std::string, std::string> named;
  std::vector<std::string> allowed;
  bool path_known = false;
  for (const auto& candidate : routes_) {
    std::map<std::string, std::string> candidate_named;
    if (!matches(candidate, segments, candidate_named)) continue;
    path_known = true;
    if (candidate.route.method == request.method) {
      if (!chosen) {
        chosen = &candidate;
        named = std::move(candidate_named);
      }
    } else if (std::find(allowed.begin(), allowed.end(), candidate.route.method) == allowed.end()) {
      allowed.push_back(candidate.route.method);
    }
  }
  if (!path_known) return errorResponse(404, "no such endpoint: " + path);
  if (!chosen) {
    std::string allow;
    for (const auto& method : allowed) allow += (allow.empty() ? "" : ", ") + method;
    HttpResponse response = errorResponse(405, "method not allowed; use " + allow);
    response.headers.emplace_back("Allow", allow);
    return response;
  }
  if (auto refused = access_.check(chosen->route.role, request)) return *refused;
  try {
    return chosen->route.handler(ApiRequest{request, std::move(named), std::move(query), now_ms});
  } catch (const nlohmann::json::exception& e) {
    spdlog::error("http: {} {}: {}", request.method, request.target, e.what());
    return errorResponse(500, std::string("internal error: ") + e.what());
  }
}

}  // namespace pso::controller::service
