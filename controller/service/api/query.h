#pragma once

// Query parameters every API resource reads the same way: page sizes, times
// (epoch ms, ISO 8601 or "10m ago" durations), since/until ranges and positive
// numbers. Errors are code "invalid" with a message that names the parameter.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "controller/service/api/router.h"

namespace pso::controller::service {

/// The parameter's value; nullopt when it is absent.
std::optional<std::string> param(const QueryParams& query, const std::string& name);

/// Whether `text` is a non-empty run of the digits 0-9 (no sign, no blanks),
/// the form of step counts and epoch milliseconds.
bool isDigits(std::string_view text);

/// "limit": `fallback` when absent, else an integer from 1 to `maximum`.
[[nodiscard]] Result<int64_t> parseLimit(const QueryParams& query, int64_t fallback,
                                         int64_t maximum);

/// Parses a time query parameter: epoch milliseconds (digits only), ISO 8601 /
/// "YYYY-MM-DD HH:MM:SS", or a duration such as "10m" meaning now minus it.
[[nodiscard]] Result<int64_t> parseTimeParameter(const std::string& name, const std::string& text,
                                                 int64_t now_ms);

/// The "since" and "until" parameters, each as parseTimeParameter reads it;
/// an absent one is nullopt.
struct TimeRange {
  std::optional<int64_t> since_ms;
  std::optional<int64_t> until_ms;
};
[[nodiscard]] Result<TimeRange> parseTimeRange(const QueryParams& query, int64_t now_ms);

/// A finite number above zero; nullopt when the parameter is absent.
[[nodiscard]] Result<std::optional<double>> parsePositiveNumber(const QueryParams& query,
                                                                const std::string& name);


}  // namespace pso::controller::service
