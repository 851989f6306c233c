#include "controller/cli/prometheus_range.h"

#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <nlohmann/json.hpp>

namespace pso::cli {
namespace {

using nlohmann::json;

// Outside text in a one-line message: control characters become '?', and a
// long text is cut.
std::string oneLine(std::string_view text, std::size_t max_chars = 200) {
  std::string out;
  for (char ch : text.substr(0, max_chars)) {
    out += static_cast<unsigned char>(ch) < 0x20 || ch == 0x7f ? '?' : ch;
  }
  if (text.size() > max_chars) out += "...";
  return out;
}

Error malformed(const std::string& what) {
  return makeError("malformed", "Prometheus answer " + what);
}

std::string labelSet(const json& metric) {
  std::string out = "{";
  for (const auto& [name, value] : metric.items()) {
    if (out.size() > 1) out += ",";
    out +=
        oneLine(name, 100) + "=\"" +
        (value.is_string() ? oneLine(value.get<std::string>(), 100) : oneLine(value.dump(), 100)) +
        "\"";
  }
  return out + "}";
}

// Prometheus sends a sample's value as a Go float string: a number, "NaN",
// "+Inf" or "-Inf".
bool parseValue(const std::string& text, double& value) {
  if (text.empty() || text.size() > 64) return false;
  const char* begin = text.c_str();
  char* end = nullptr;
  errno = 0;
  value = std::strtod(begin, &end);
  return end == begin + text.size() && (errno == 0 || errno == ERANGE);
}

}  // namespace

std::vector<RangeChunk> planRangeChunks(int64_t start_ms, int64_t end_ms, int64_t step_ms,
                                        int64_t max_points) {
  std::vector<RangeChunk> chunks;
  if (step_ms <= 0 || max_points <= 0 || end_ms < start_ms) return chunks;
  const int64_t span = (max_points - 1) * step_ms;
  for (int64_t from = start_ms; from <= end_ms;) {
    const int64_t to = end_ms - from > span ? from + span : end_ms;
    chunks.push_back({from, to});
    if (to == end_ms || to > end_ms - step_ms) break;
    from = to + step_ms;
  }
  return chunks;
}

std::string prometheusTime(int64_t ms) {
  const bool negative = ms < 0;
  const uint64_t magnitude = negative ? 0 - static_cast<uint64_t>(ms) : static_cast<uint64_t>(ms);
  std::string out = (negative ? "-" : "") + std::to_string(magnitude / 1000);
  if (const uint64_t frac = magnitude % 1000; frac != 0) {
    std::string digits = std::to_string(frac);
    digits.insert(0, 3 - digits.size(), '0');
    while (digits.back() == '0') digits.pop_back();
    out += "." + digits;
  }
  return out;
}

Result<std::vector<RangeSeries>> parseRangeAnswer(std::string_view body) {
  const json doc = json::parse(body.begin(), body.end(), nullptr, false);
  if (doc.is_discarded()) return malformed("is not valid JSON");
  if (!doc.is_object()) return malformed("is not a JSON object");
  const auto status = doc.find("status");
  if (status == doc.end() || !status->is_string()) return malformed("has no \"status\"");
  if (*status == "error") {
    const auto type = doc.find("errorType");
    const auto error = doc.find("error");
    const std::string type_text =
        type != doc.end() && type->is_string() ? type->get<std::string>() : "error";
    const std::string error_text =
        error != doc.end() && error->is_string() ? error->get<std::string>() : "(no message)";
    return makeError("prometheus", oneLine(type_text, 60) + ": " + oneLine(error_text));
  }
  if (*status != "success") {
    return malformed("has status \"" + oneLine(status->get<std::string>(), 60) + "\"");
  }
  const auto data = doc.find("data");
  if (data == doc.end() || !data->is_object()) return malformed("has no \"data\" object");
  const auto type = data->find("resultType");
  if (type == data->end() || !type->is_string()) return malformed("has no \"data.resultType\"");
  if (*type != "matrix") {
    return malformed("has resultType \"" + oneLine(type->get<std::string>(), 60) +
                     "\", not \"matrix\" (is the query a range vector?)");
  }
  const auto result = data->find("result");
  if (result == data->end() || !result->is_array()) return malformed("has no \"data.result\" list");

  std::vector<RangeSeries> series;
  for (std::size_t i = 0; i < result->size(); ++i) {
    const json& item = (*result)[i];
    const std::string where = "series " + std::to_string(i);
    if (!item.is_object()) return malformed(where + " is not an object");
    RangeSeries out;
    const auto metric = item.find("metric");
    if (metric != item.end()) {
      if (!metric->is_object()) return malformed(where + ": \"metric\" is not an object");
      out.labels = labelSet(*metric);
    } else {
      out.labels = "{}";
    }
    const auto values = item.find("values");
    if (values == item.end() || !values->is_array()) {
      return malformed(where + " has no \"values\" list");
    }
    for (std::size_t j = 0; j < values->size(); ++j) {
      const json& pair = (*values)[j];
      const std::string at = where + " value " + std::to_string(j);
      if (!pair.is_array() || pair.size() != 2 || !pair[0].is_number() || !pair[1].is_string()) {
        return malformed(at + " is not [<time>, \"<value>\"]");
      }
      const double seconds = pair[0].get<double>();
      // Milliseconds must fit an int64 (about 292 million years either way).
      if (!std::isfinite(seconds) || std::fabs(seconds) > 9.0e15) {
        return malformed(at + " has time " + oneLine(pair[0].dump(), 40));
      }
      double value = 0;
      if (!parseValue(pair[1].get<std::string>(), value)) {
        return malformed(at + " has value \"" + oneLine(pair[1].get<std::string>(), 40) +
                         "\", not a number");
      }
      if (!std::isfinite(value)) {
        ++out.non_finite;
        continue;
      }
      out.ts_ms.push_back(std::llround(seconds * 1000.0));
      out.values.push_back(value);
    }
    series.push_back(std::move(out));
  }
  return series;
}

}  // namespace pso::cli
