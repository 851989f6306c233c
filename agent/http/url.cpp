#include "agent/http/url.h"

#include "common/text.h"

namespace pso::agent::http {
namespace {

constexpr std::string_view kScheme = "http://";

bool isUrlByte(unsigned char c) {
  return c > 0x20 && c != 0x7f;
}

}  // namespace

std::string printable(std::string_view text, std::size_t max) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (std::size_t i = 0; i < text.size() && i < max; ++i) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (c >= 0x20 && c < 0x7f) {
      out += static_cast<char>(c);
    } else {
      out += "\\x";
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  if (text.size() > max) out += "...";
  return out;
}

Result<PlainUrl> parsePlainUrl(std::string_view url) {
  const auto refuse = [url](const std::string& why) -> Error {
    return makeError("invalid", "URL " + printable(url, 200) + ": " + why);
  };
  if (url.substr(0, kScheme.size()) != kScheme) return refuse("expected http://");
  for (char c : url) {
    if (!isUrlByte(static_cast<unsigned char>(c))) {
      return refuse("space or control character in the URL");
    }
  }
  const std::string_view rest = url.substr(kScheme.size());
  const std::size_t end = rest.find_first_of("/?#");
  PlainUrl parts;
  parts.authority = std::string(rest.substr(0, end));
  if (end != std::string_view::npos) {
    std::string_view target = rest.substr(end);
    target = target.substr(0, target.find('#'));
    parts.target = std::string(target);
  }
  if (parts.target.empty() || parts.target.front() != '/') parts.target.insert(0, "/");
  if (parts.authority.empty() || parts.authority.find('@') != std::string::npos) {
    return refuse("expected http://host[:port]/path");
  }

  // splitHostPort wants a port; a URL may leave it out.
  const std::string& authority = parts.authority;
  const bool bracketed = authority.front() == '[';
  const bool has_port =
      bracketed ? authority.back() != ']' : authority.find(':') != std::string::npos;
  if (!has_port) {
    parts.host = bracketed ? authority.substr(1, authority.size() - 2) : authority;
    if (parts.host.empty()) return refuse("missing host");
    return parts;
  }
  std::string why;
  const std::optional<common::HostPort> split = common::splitHostPort(authority, false, &why);
  if (!split) return refuse(why);
  parts.host = split->host;
  parts.port = split->port;
  return parts;
}

}  // namespace pso::agent::http
