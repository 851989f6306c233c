#pragma once

// One HTTP request through libcurl, made the same way for psoctl's calls (the
// controller's API, a learning record store, a Prometheus server) and the
// controller's webhook notifications.

#include <cstddef>
#include <string>
#include <vector>

#include "common/result.h"

namespace pso::common {

/// One request to make.
struct HttpTransfer {
  std::string method = "GET";  ///< GET or POST (anything else is sent as is)
  std::string url;
  std::vector<std::string> headers;  ///< "Name: value", sent in this order
  std::string body;                  ///< sent with POST
  long timeout_ms = 10000;           ///< the whole transfer, connect included
  std::string basic_user;            ///< basic auth when not empty
  std::string basic_password;
  /// PEM file of the certificates to trust for an https:// URL (a private CA
  /// or a self-signed server certificate); empty: the system's CA store.
  /// The server's name is always verified.
  std::string ca_file;
  /// The most reply body bytes kept; a longer reply fails the transfer
  /// ("unreachable", "reply body larger than N bytes"). 0: no limit.
  std::size_t max_reply_bytes = 0;
};

/// Whether a POST answered with `status` is worth sending again later: 408,
/// 429 and 5xx (the receiver is busy or broken, not refusing the request).
inline bool isRetryableHttpStatus(long status) {
  return status == 408 || status == 429 || status >= 500;
}

/// What the server answered.
struct HttpReply {
  long status = 0;
  std::string body;
};

/// Performs `transfer` on its own easy handle (libcurl is initialised once
/// per process, on the first call). Any HTTP status is a reply; an Error is
/// a transfer that did not complete: code "unreachable" with curl's reason
/// and its detail ("Couldn't connect to server (Failed to connect to ...)",
/// "SSL peer certificate or SSH remote key was not OK (SSL certificate
/// problem: self-signed certificate)"), or "io" when libcurl cannot make a
/// handle. Callers prefix the message with what they tried to
/// reach.
[[nodiscard]] Result<HttpReply> performTransfer(const HttpTransfer& transfer);

/// Percent-encodes `value` for a URL query (curl_easy_escape); `value`
/// unchanged if libcurl cannot make a handle.
std::string escapeQueryValue(const std::string& value);

}  // namespace pso::common
