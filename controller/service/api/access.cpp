#include "controller/service/api/access.h"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <fstream>
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

Result<std::vector<std::string>> loadApiTokens(const std::string& path) {
  std::ifstream in(path);
  if (!in) {
    return makeError("io", "api_tokens_file " + path +
                               ": cannot open: " + std::generic_category().message(errno));
  }
  std::vector<std::string> tokens;
  std::string line;
  while (std::getline(in, line)) {
    const std::string_view token = common::trim(line);
    if (token.empty() || token.front() == '#') continue;
    tokens.emplace_back(token);
  }
  if (in.bad()) return makeError("io", "api_tokens_file " + path + ": read error");
  return tokens;
}

AccessPolicy::AccessPolicy(std::optional<std::vector<std::string>> tokens, Role anonymous)
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
  // Every token is compared, so the time taken does not tell which one matched.
  bool accepted = false;
  for (const auto& token : *tokens_) accepted |= constantTimeEquals(token, presented);
  if (!accepted) return unauthorized("invalid bearer token");
  return std::nullopt;
}

}  // namespace pso::controller::service
