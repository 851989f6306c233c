#include "controller/service/api/access.h"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <fstream>
#include <sstream>
#include <string_view>
#include <system_error>
#include <utility>

#include "common/text.h"
#include "controller/service/api/response.h"

namespace pso::controller::service {

namespace {

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

const char* roleDescription(Role role) {
  switch (role) {
    case Role::kNone:
      return "open API";
    case Role::kRead:
      return "reading API";
    case Role::kOperate:
      break;
  }
  return "mutating API";
}

HttpResponse unauthorized(const std::string& message) {
  HttpResponse response = errorResponse(401, message);
  response.headers.emplace_back("WWW-Authenticate", "Bearer");
  return response;
}

}  // namespace

const char* roleName(Role role) {
  switch (role) {
    case Role::kNone:
      return "none";
    case Role::kRead:
      return "read";
    case Role::kOperate:
      break;
  }
  return "operate";
}

Result<std::vector<ApiToken>> loadApiTokens(const std::string& path) {
  std::ifstream in(path);
  if (!in) {
    return makeError("io", "api_tokens_file " + path +
                               ": cannot open: " + std::generic_category().message(errno));
  }
  std::vector<ApiToken> tokens;
  std::string line;
  for (int number = 1; std::getline(in, line); ++number) {
    const std::string_view text = common::trim(line);
    if (text.empty() || text.front() == '#') continue;
    const auto at = [&] { return "api_tokens_file " + path + ":" + std::to_string(number) + ": "; };
    std::istringstream words{std::string(text)};
    std::string secret, role, extra;
    words >> secret >> role >> extra;
    if (!extra.empty()) {
      return makeError("config", at() + "expected 'TOKEN' or 'TOKEN ROLE', got more words");
    }
    ApiToken token{secret, Role::kOperate};
    if (role == "read") {
      token.role = Role::kRead;
    } else if (!role.empty() && role != "operate") {
      // Neither word is quoted: the message goes to logs, and a line that is
      // a token with a blank in it would show half the secret.
      return makeError("config", at() +
                                     "the word after the token is not a role: expected read or "
                                     "operate (a token cannot contain blanks)");
    }
    tokens.push_back(std::move(token));
  }
  if (in.bad()) return makeError("io", "api_tokens_file " + path + ": read error");
  return tokens;
}

AccessPolicy::AccessPolicy(std::optional<std::vector<ApiToken>> tokens, Role anonymous)
    : tokens_(std::move(tokens)), anonymous_(anonymous) {}

std::optional<HttpResponse> AccessPolicy::check(Role required, const HttpRequest& request) const {
  if (required <= anonymous_) return std::nullopt;
  if (!tokens_) {
    return errorResponse(
        403, std::string(roleDescription(required)) + " disabled: no api_tokens_file configured");
  }
  constexpr std::string_view kScheme = "bearer ";
  const std::string_view header = common::trim(request.authorization);
  if (header.size() <= kScheme.size() ||
      !std::equal(kScheme.begin(), kScheme.end(), header.begin(), [](char a, char b) {
        return a == std::tolower(static_cast<unsigned char>(b));
      })) {
    return unauthorized("missing bearer token: send 'Authorization: Bearer <token>'");
  }
  const std::string_view presented = common::trim(header.substr(kScheme.size()));
  // Every token is compared and the roles of matches are collected as bits,
  // so the time taken does not tell which token matched.
  unsigned granted = 0;
  for (const auto& token : *tokens_) {
    const unsigned match = constantTimeEquals(token.secret, presented) ? ~0u : 0u;
    granted |= match & (1u << static_cast<unsigned>(token.role));
  }
  if (granted == 0) return unauthorized("invalid bearer token");
  const unsigned needed = ~0u << static_cast<unsigned>(required);
  if ((granted & needed) == 0) {
    const Role held = (granted & (1u << static_cast<unsigned>(Role::kOperate))) != 0
                          ? Role::kOperate
                          : Role::kRead;
    HttpResponse response = errorResponse(
        403, std::string("a ") + roleName(held) + " token may not use the " +
                 roleDescription(required) + ": it needs an " + roleName(required) + " token");
    response.headers.emplace_back("WWW-Authenticate", "Bearer error=\"insufficient_scope\"");
    return response;
  }
  return std::nullopt;
}

}  // namespace pso::controller::service
