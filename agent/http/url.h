#pragma once

// The parts of a plain http:// URL that the agent's built-in HTTP/1.1 client
// needs to connect and to write its request line and Host header.

#include <cstdint>
#include <string>
#include <string_view>

#include "common/result.h"

namespace pso::agent::http {

/// An http:// URL split for one request.
struct PlainUrl {
  std::string host;       ///< name or address to resolve, without IPv6 brackets
  uint16_t port = 80;     ///< 1-65535
  std::string authority;  ///< host[:port] as written, sent as Host
  std::string target;     ///< path and query, starting with '/'; the fragment is dropped
};

/// Splits an http:// URL ("http://host[:port][/path][?query][#fragment]").
/// The authority is host, host:port or [v6-address][:port] (common/text.h's
/// splitHostPort rules); userinfo is refused. Every byte must be printable
/// ASCII or above (no space, control character or DEL), so nothing taken
/// from the URL can break the request line or add a header.
/// @return the parts, or an Error with code "invalid" and a one-line
/// message "URL <url>: <reason>".
[[nodiscard]] Result<PlainUrl> parsePlainUrl(std::string_view url);

/// `text` clipped to `max` bytes with every byte outside printable ASCII
/// written as \xNN, so that it fits on one line of an error message or log.
std::string printable(std::string_view text, std::size_t max = 80);

}  // namespace pso::agent::http
