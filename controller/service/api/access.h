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

/// The role's name in a tokens file and in messages: "none", "read", "operate".
const char* roleName(Role role);

/// One bearer token of an api_tokens_file and the role it grants.
struct ApiToken {
  std::string secret;
  Role role = Role::kOperate;

  bool operator==(const ApiToken&) const = default;
};

/// Reads an api_tokens_file: one "TOKEN ROLE" per line, ROLE `read` or
/// `operate`; a line with a token alone grants operate (the format before
/// roles). Surrounding blanks are trimmed, blank lines and lines starting with
/// '#' ignored. Error codes: "io" (cannot open or read the file), "config" (a
/// line that is not "TOKEN [ROLE]", or an unknown role: the message names the
/// file and the line, never the token).
[[nodiscard]] Result<std::vector<ApiToken>> loadApiTokens(const std::string& path);

/// Decides whether a request holds the role a route requires. A caller
/// without a token holds the anonymous role; a bearer token from the tokens
/// file holds its role (and the ones before it).
class AccessPolicy {
 public:
  /// `tokens` is nullopt when no api_tokens_file is configured: then nobody
  /// holds more than `anonymous`.
  AccessPolicy(std::optional<std::vector<ApiToken>> tokens, Role anonymous);

  /// nullopt when `request` may call a route requiring `required`. Otherwise
  /// the refusal: 403 when no tokens file is configured; 401 with
  /// `WWW-Authenticate: Bearer` when the bearer token is missing or unknown;
  /// 403 with `WWW-Authenticate: Bearer error="insufficient_scope"` when the
  /// token is known but grants less than `required` (a read token on an
  /// operate route). Every token is compared, each in constant time.
  std::optional<HttpResponse> check(Role required, const HttpRequest& request) const;

 private:
  std::optional<std::vector<ApiToken>> tokens_;
  Role anonymous_;
};

}  // namespace pso::controller::service
