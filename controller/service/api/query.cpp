#include "controller/service/api/query.h"

#include <algorithm>
#include <utility>

#include "common/config.h"
#include "common/text.h"
#include "common/trace.h"

namespace pso::controller::service {

std::optional<std::string> param(const QueryParams& query, const std::string& name) {
  auto it = query.find(name);
  if (it == query.end()) return std::nullopt;
  return it->second;
}

bool isDigits(std::string_view text) {
  return !text.empty() &&
         std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; });
}

Result<int64_t> parseLimit(const QueryParams& query, int64_t fallback, int64_t maximum) {
  const std::optional<std::string> text = param(query, "limit");
  if (!text) return fallback;
  const std::optional<int64_t> value = common::parseInt64(*text);
  if (!value || *value < 1 || *value > maximum) {
    return makeError("invalid", "limit: expected an integer from 1 to " + std::to_string(maximum) +
                                    ", got '" + *text + "'");
  }
  return *value;
}

Result<int64_t> parseTimeParameter(const std::string& name, const std::string& text,
                                   int64_t now_ms) {
  if (isDigits(text)) {
    if (auto value = common::parseInt64(text)) return *value;
  } else if (!text.empty()) {
    if (auto duration = common::parseDuration(text); duration) return now_ms - duration->count();
    if (auto seconds = common::parseTimestamp(text); seconds) return seconds.value() * 1000;
  }
  return makeError("invalid", name +
                                  ": expected epoch milliseconds, an ISO 8601 time or a duration "
                                  "such as 10m, got '" +
                                  text + "'");
}

Result<TimeRange> parseTimeRange(const QueryParams& query, int64_t now_ms) {
  TimeRange range;
  const std::pair<const char*, std::optional<int64_t>*> bounds[] = {{"since", &range.since_ms},
                                                                    {"until", &range.until_ms}};
  for (const auto& [name, bound] : bounds) {
    const std::optional<std::string> text = param(query, name);
    if (!text) continue;
    auto parsed = parseTimeParameter(name, *text, now_ms);
    if (!parsed) return parsed.error();
    *bound = parsed.value();
  }
  return range;
}

Result<std::optional<double>> parsePositiveNumber(const QueryParams& query,
                                                  const std::string& name) {
  const std::optional<std::string> text = param(query, name);
  if (!text) return std::optional<double>();
  const std::optional<double> value = common::parseDouble(*text);
  if (!value || !(*value > 0.0)) {
    return makeError("invalid", name + ": expected a positive number, got '" + *text + "'");
  }
  return value;
}

}  // namespace pso::controller::service
