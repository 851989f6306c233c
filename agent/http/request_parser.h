#pragma once

// The HTTP/1.1 request-head parser of the agent's metrics listener
// (agent/metrics_server.h). Its input comes from whoever connects to the
// listener, so every byte sequence is possible: a violation or an exceeded
// limit is refused with a one-line Error quoting at most 80 bytes of what was
// wrong (control bytes as \xNN), never a crash (tests/fuzz checks it).

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/result.h"

namespace pso::agent::http {

/// The request line and header fields of one request.
struct RequestHead {
  std::string method;     ///< a token, case kept ("GET")
  std::string target;     ///< origin-form as sent: path and optional query
  std::string path;       ///< target up to the first '?'
  int minor_version = 1;  ///< HTTP/1.<minor_version>, 0 or 1
  /// Header fields in the order sent; names in lower case, values without the
  /// white space around them.
  std::vector<std::pair<std::string, std::string>> headers;
  std::size_t head_bytes = 0;  ///< bytes of the head, the empty line that ends it included

  /// The first value of header `name` (lower case), nullopt when absent.
  std::optional<std::string_view> header(std::string_view name) const;
};

/// Bounds on what one request head may hold.
struct RequestLimits {
  std::size_t max_head_bytes = 8 * 1024;  ///< request line plus headers plus the empty line
  std::size_t max_headers = 64;
};

/// Parses the request head at the start of `bytes` (whatever follows the
/// empty line, a body or a pipelined request, is not read).
///
/// Lines end with CRLF or a bare LF (RFC 9112 section 2.2). The request line
/// is `method SP origin-form SP HTTP/1.0|HTTP/1.1`; header names are tokens
/// directly followed by ':', values hold no control byte but HTAB; obsolete
/// line folding, an empty line before the request line and an HTTP/1.1
/// request without exactly one Host header are refused.
///
/// @return nullopt while the head is incomplete and within the limits (read
/// more and call again with all the bytes); the head once complete; or an
/// Error: code "too_large" when the head (or its header count) exceeds
/// `limits`, "malformed" for anything else ("malformed HTTP request: <why>").
/// The outcome depends only on the bytes, not on how they arrived.
[[nodiscard]] Result<std::optional<RequestHead>> parseRequestHead(std::string_view bytes,
                                                                  RequestLimits limits = {});

}  // namespace pso::agent::http
