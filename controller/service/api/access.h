#pragma once

// Who may call what on the HTTP API: the roles a route can require, the
// bearer tokens that grant them, and the one check the router applies before
// any handler runs.

#include <optional>
#include <string>
#include <vector>

#include "common/result.h"
#include "controller/service/http_server.h"

namespace pso::controller::service {

/// What a caller may do. Ordered: each role includes the ones before it.
enum class Role {
  kNone,     ///< liveness and metrics scraping
  kRead,     ///< the fleet's state, decisions and history
  kOperate,  ///< changing what the controller does (operator directives)
};

/// Reads an api_tokens_file: one token per line, surrounding blanks trimmed,
/// blank lines and lines starting with '#' ignored. Error code "io" names the
/// file.
[[nodiscard]] Result<std::vector<std::string>> loadApiTokens(const std::string& path);

/// Decides whether a request holds the role a route requires. A caller
/// without a token holds the anonymous role; a bearer token from the tokens
/// file holds every role.
class AccessPolicy {
 public:
  /// `tokens` is nullopt when no api_tokens_file is configured: then nobody
  /// holds more than `anonymous`.
  AccessPolicy(std::optional<std::vector<std::string>> tokens, Role anonymous);

  /// nullopt when `request` may call a route requiring `required`. Otherwise
  /// the refusal: 403 when no tokens file is configured, 401 with
  /// WWW-Authenticate when the bearer token is missing or unknown. Tokens are
  /// compared in constant time.
  std::optional<HttpResponse> check(Role required, const HttpRequest& request) const;

 private:
  std::optional<std::vector<std::string>> tokens_;
  Role anonymous_;
};

}  // namespace pso::controller::service
