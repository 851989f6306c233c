#pragma once

// Small text helpers that parsers of configs, traces, HTTP and the API share:
// trimming, whole-string number parsing and host:port splitting. Each helper
// reads only what it is given and never throws.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"

namespace pso::common {

/// `text` without leading and trailing ASCII white space (space, tab, CR, LF,
/// vertical tab, form feed).
std::string_view trim(std::string_view text);

/// The whole of `text` as a base-10 integer; nullopt when anything else is
/// there (a sign on an unsigned type, white space, a trailing unit, an empty
/// string) or the value does not fit.
std::optional<int64_t> parseInt64(std::string_view text);
std::optional<uint64_t> parseUint64(std::string_view text);

/// The whole of `text` as a finite decimal number (from_chars grammar: no
/// leading '+', no white space); nullopt for anything else, NaN and infinity
/// included.
std::optional<double> parseDouble(std::string_view text);

/// The whole of `text` as a TCP port, 1-65535 (0 too when `allow_zero`, for a
/// listener that asks the kernel for a free port).
std::optional<uint16_t> parsePort(std::string_view text, bool allow_zero = false);

/// A network endpoint's host and port as written: "host:port",
/// "1.2.3.4:port" or "[v6-address]:port" (the brackets are removed).
struct HostPort {
  std::string host;
  uint16_t port = 0;
};

/// Splits "host:port" or "[v6]:port". The host must not be empty and the port
/// must satisfy parsePort(port, allow_zero). On failure returns nullopt and,
/// when `why` is given, sets it to a short reason ("expected host:port",
/// "unclosed '['", "missing host", "port must be a number from 1 to 65535").
std::optional<HostPort> splitHostPort(std::string_view text, bool allow_zero = false,
                                      std::string* why = nullptr);

/// `text` percent-encoded: every byte but the unreserved characters of RFC
/// 3986 (letters, digits, '-', '.', '_', '~') as %XX, upper-case hex. Safe as
/// a URL query value or an IRI path segment.
std::string percentEncode(std::string_view text);

/// Checks that `value` of `name` (a parameter, an option) is one of
/// `accepted`; the error (code "invalid") names the value and lists the
/// accepted ones, so one line says how to fix it.
[[nodiscard]] Status checkOneOf(const std::string& name, const std::string& value,
                                const std::vector<std::string>& accepted);

}  // namespace pso::common
