#include "common/text.h"

#include <algorithm>
#include <charconv>
#include <cmath>

namespace pso::common {
namespace {

bool isSpace(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

template <typename T>
std::optional<T> parseWhole(std::string_view text) {
  if (text.empty()) return std::nullopt;
  T value{};
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return value;
}

}  // namespace

std::string_view trim(std::string_view text) {
  while (!text.empty() && isSpace(text.front())) text.remove_prefix(1);
  while (!text.empty() && isSpace(text.back())) text.remove_suffix(1);
  return text;
}

std::optional<int64_t> parseInt64(std::string_view text) {
  return parseWhole<int64_t>(text);
}

std::optional<uint64_t> parseUint64(std::string_view text) {
  return parseWhole<uint64_t>(text);
}

std::optional<double> parseDouble(std::string_view text) {
  const std::optional<double> value = parseWhole<double>(text);
  if (!value || !std::isfinite(*value)) return std::nullopt;
  return value;
}

std::optional<uint16_t> parsePort(std::string_view text, bool allow_zero) {
  const std::optional<uint64_t> value = parseUint64(text);
  if (!value || *value > 65535 || (*value == 0 && !allow_zero)) return std::nullopt;
  return static_cast<uint16_t>(*value);
}

std::optional<HostPort> splitHostPort(std::string_view text, bool allow_zero, std::string* why) {
  auto fail = [why](const char* reason) -> std::optional<HostPort> {
    if (why) *why = reason;
    return std::nullopt;
  };
  std::string_view host;
  std::string_view port;
  if (!text.empty() && text.front() == '[') {
    const std::size_t close = text.find(']');
    if (close == std::string_view::npos) return fail("unclosed '['");
    if (close + 1 >= text.size() || text[close + 1] != ':')
      return fail("expected [v6-address]:port");
    host = text.substr(1, close - 1);
    port = text.substr(close + 2);
  } else {
    const std::size_t colon = text.rfind(':');
    if (colon == std::string_view::npos) return fail("expected host:port");
    host = text.substr(0, colon);
    port = text.substr(colon + 1);
  }
  if (host.empty()) return fail("missing host");
  const std::optional<uint16_t> number = parsePort(port, allow_zero);
  if (!number) {
    return fail(allow_zero ? "port must be a number from 0 to 65535"
                           : "port must be a number from 1 to 65535");
  }
  return HostPort{std::string(host), *number};
}

std::string percentEncode(std::string_view text) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(text.size() * 3);
  for (unsigned char c : text) {
    if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
        c == '_' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

Status checkOneOf(const std::string& name, const std::string& value,
                  const std::vector<std::string>& accepted) {
  if (std::find(accepted.begin(), accepted.end(), value) != accepted.end()) return Status();
  std::string listed;
  for (const auto& one : accepted) listed += (listed.empty() ? "" : ", ") + one;
  return makeError("invalid", name + ": unknown '" + value + "'; accepted: " + listed);
}

}  // namespace pso::common
