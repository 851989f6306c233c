#include "common/trace.h"

#include <cctype>
#include <chrono>
#include <fstream>
#include <map>
#include <optional>
#include <sstream>

#include "common/text.h"

namespace pso::common {
namespace {

// Reads exactly `width` digits at `pos`.
bool digits(std::string_view s, std::size_t& pos, std::size_t width, int64_t& out) {
  if (pos + width > s.size()) return false;
  out = 0;
  for (std::size_t i = 0; i < width; ++i) {
    const char ch = s[pos + i];
    if (ch < '0' || ch > '9') return false;
    out = out * 10 + (ch - '0');
  }
  pos += width;
  return true;
}

bool expect(std::string_view s, std::size_t& pos, char ch) {
  if (pos >= s.size() || s[pos] != ch) return false;
  ++pos;
  return true;
}

// "YYYY-MM-DD[ T]HH:MM:SS[.fraction][Z|+HH:MM|+HHMM|-HH:MM|-HHMM]".
bool parseCalendar(std::string_view s, int64_t& out) {
  std::size_t pos = 0;
  int64_t year = 0, month = 0, day = 0, hour = 0, minute = 0, second = 0;
  if (!digits(s, pos, 4, year) || !expect(s, pos, '-') || !digits(s, pos, 2, month) ||
      !expect(s, pos, '-') || !digits(s, pos, 2, day)) {
    return false;
  }
  if (pos >= s.size() || (s[pos] != ' ' && s[pos] != 'T')) return false;
  ++pos;
  if (!digits(s, pos, 2, hour) || !expect(s, pos, ':') || !digits(s, pos, 2, minute) ||
      !expect(s, pos, ':') || !digits(s, pos, 2, second)) {
    return false;
  }
  // A proleptic Gregorian date in UTC, so parsing never depends on the local time zone.
  const std::chrono::year_month_day date{std::chrono::year(static_cast<int>(year)),
                                         std::chrono::month(static_cast<unsigned>(month)),
                                         std::chrono::day(static_cast<unsigned>(day))};
  if (!date.ok() || hour > 23 || minute > 59 || second > 59) return false;
  // A fraction of a second is accepted and dropped: traces have whole-second steps.
  if (pos < s.size() && s[pos] == '.') {
    ++pos;
    const std::size_t start = pos;
    while (pos < s.size() && std::isdigit(static_cast<unsigned char>(s[pos]))) ++pos;
    if (pos == start) return false;
  }
  int64_t offset_s = 0;
  if (pos < s.size()) {
    if (s[pos] == 'Z' && pos + 1 == s.size()) {
      ++pos;
    } else if (s[pos] == '+' || s[pos] == '-') {
      const int64_t sign = s[pos] == '+' ? 1 : -1;
      ++pos;
      int64_t oh = 0, om = 0;
      if (!digits(s, pos, 2, oh)) return false;
      if (pos < s.size() && s[pos] == ':') ++pos;
      if (!digits(s, pos, 2, om) || oh > 23 || om > 59) return false;
      offset_s = sign * (oh * 3600 + om * 60);
    } else {
      return false;
    }
  }
  if (pos != s.size()) return false;
  const int64_t days = std::chrono::sys_days(date).time_since_epoch().count();
  out = days * 86400 + hour * 3600 + minute * 60 + second - offset_s;
  return true;
}

// Epoch seconds, optionally with a fraction (dropped).
bool parseEpoch(std::string_view s, int64_t& out) {
  const std::size_t dot = s.find('.');
  const std::string_view whole = s.substr(0, dot);
  if (whole.empty()) return false;
  const std::optional<int64_t> seconds = parseInt64(whole);
  if (!seconds) return false;
  out = *seconds;
  if (dot != std::string_view::npos) {
    const std::string_view fraction = s.substr(dot + 1);
    if (fraction.empty()) return false;
    for (char ch : fraction) {
      if (!std::isdigit(static_cast<unsigned char>(ch))) return false;
    }
  }
  return true;
}

bool parseValue(std::string_view s, double& out) {
  const std::optional<double> value = parseDouble(s);
  if (value) out = *value;
  return value.has_value();
}

}  // namespace

Result<int64_t> parseTimestamp(const std::string& text) {
  const std::string_view s = trim(text);
  int64_t out = 0;
  if (parseCalendar(s, out) || parseEpoch(s, out)) {
    if (out >= kMinTimestampS && out <= kMaxTimestampS) return out;
    return makeError("invalid",
                     "timestamp '" + std::string(s) + "' is outside 0000-01-01 .. 9999-12-31");
  }
  return makeError("invalid", "bad timestamp '" + std::string(s) +
                                  "' (expected 'YYYY-MM-DD HH:MM:SS', ISO 8601 or epoch seconds)");
}

Result<Trace> parseTrace(const std::string& csv, const std::string& origin) {
  Trace trace;
  std::istringstream in(csv);
  std::string raw;
  int line_no = 0;
  bool header_seen = false;
  std::map<int64_t, int64_t> gap_counts;
  while (std::getline(in, raw)) {
    ++line_no;
    std::string_view line = raw;
    if (line_no == 1 && line.substr(0, 3) == "\xEF\xBB\xBF") line.remove_prefix(3);
    line = trim(line);
    if (line.empty()) continue;
    const auto where = origin + ":" + std::to_string(line_no) + ": ";
    if (!header_seen) {
      const std::size_t comma = line.find(',');
      if (comma == std::string_view::npos || trim(line.substr(0, comma)) != "timestamp" ||
          trim(line.substr(comma + 1)) != "value") {
        return makeError("invalid", where + "expected header 'timestamp,value', got '" +
                                        std::string(line) + "'");
      }
      header_seen = true;
      continue;
    }
    const std::size_t comma = line.find(',');
    if (comma == std::string_view::npos || line.find(',', comma + 1) != std::string_view::npos) {
      return makeError("invalid", where + "expected two fields 'timestamp,value', got '" +
                                      std::string(line) + "'");
    }
    auto ts = parseTimestamp(std::string(trim(line.substr(0, comma))));
    if (!ts) return makeError("invalid", where + ts.error().message);
    TracePoint point{*ts, 0.0};
    const std::string_view value_text = trim(line.substr(comma + 1));
    if (!parseValue(value_text, point.value)) {
      return makeError("invalid", where + "bad value '" + std::string(value_text) +
                                      "' (expected a finite number)");
    }
    if (!trace.points.empty()) {
      const int64_t gap = point.ts_s - trace.points.back().ts_s;
      if (gap < 0) {
        return makeError("invalid", where + "time goes backwards (" + std::to_string(point.ts_s) +
                                        " after " + std::to_string(trace.points.back().ts_s) + ")");
      }
      if (gap > 0) ++gap_counts[gap];
    }
    trace.points.push_back(point);
  }
  if (!header_seen) return makeError("invalid", origin + ": empty trace (no header)");
  if (trace.points.empty()) return makeError("invalid", origin + ": no data rows");
  // The step is the most common gap; on a tie, the smaller one (map order), so
  // a trace with a few long gaps keeps its real cadence.
  int64_t best_count = 0;
  for (const auto& [gap, count] : gap_counts) {
    if (count > best_count) {
      best_count = count;
      trace.step_s = gap;
    }
  }
  return trace;
}

Result<Trace> readTrace(const std::string& path) {
  std::ifstream file(path, std::ios::binary);
  if (!file) return makeError("io", "cannot open trace " + path);
  std::ostringstream content;
  content << file.rdbuf();
  if (file.bad()) return makeError("io", "cannot read trace " + path);
  return parseTrace(content.str(), path);
}

std::vector<double> resampleLinear(const std::vector<double>& values, int64_t factor) {
  if (factor < 2 || values.empty()) return values;
  std::vector<double> out;
  out.reserve((values.size() - 1) * static_cast<std::size_t>(factor) + 1);
  for (std::size_t i = 0; i + 1 < values.size(); ++i) {
    const double a = values[i];
    const double b = values[i + 1];
    out.push_back(a);
    // A NaN at either end makes every point between them NaN.
    for (int64_t k = 1; k < factor; ++k) {
      const double w = static_cast<double>(k) / static_cast<double>(factor);
      out.push_back(a + w * (b - a));
    }
  }
  out.push_back(values.back());
  return out;
}

std::vector<double> resampleHold(const std::vector<double>& values, int64_t factor) {
  if (factor < 2) return values;
  std::vector<double> out;
  out.reserve(values.size() * static_cast<std::size_t>(factor));
  for (const double v : values) out.insert(out.end(), static_cast<std::size_t>(factor), v);
  return out;
}

std::vector<double> resample(const std::vector<double>& values, int64_t factor, Resampling how) {
  return how == Resampling::kHold ? resampleHold(values, factor) : resampleLinear(values, factor);
}

}  // namespace pso::common
