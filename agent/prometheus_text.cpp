#include "agent/prometheus_text.h"

#include <charconv>

#include "agent/proc_text.h"
#include "common/metrics.h"

namespace pso::agent {
namespace {

// Sample values may be written +Inf, -Inf, NaN (from_chars takes no '+').
bool parseSampleValue(std::string_view token, double& value) {
  if (!token.empty() && token.front() == '+') token.remove_prefix(1);
  if (token.empty()) return false;
  auto [ptr, ec] = std::from_chars(token.data(), token.data() + token.size(), value);
  return ec == std::errc() && ptr == token.data() + token.size();
}

// Parses `{a="x",b="y"}` at the start of `rest`, checking each configured
// label; advances `rest` past the closing brace. False on bad syntax.
bool matchLabels(std::string_view& rest, const std::map<std::string, std::string>& wanted,
                 std::size_t& matched_labels, std::string& value) {
  rest.remove_prefix(1);  // '{'
  for (;;) {
    while (!rest.empty() && (rest.front() == ' ' || rest.front() == ',')) rest.remove_prefix(1);
    if (rest.empty()) return false;
    if (rest.front() == '}') {
      rest.remove_prefix(1);
      return true;
    }
    std::size_t n = 0;
    while (n < rest.size() && common::isPrometheusNameChar(rest[n], n == 0)) ++n;
    if (n == 0) return false;
    std::string_view label = rest.substr(0, n);
    rest.remove_prefix(n);
    while (!rest.empty() && rest.front() == ' ') rest.remove_prefix(1);
    if (rest.size() < 2 || rest[0] != '=' || rest[1] != '"') return false;
    rest.remove_prefix(2);
    value.clear();
    bool closed = false;
    while (!rest.empty()) {
      char c = rest.front();
      rest.remove_prefix(1);
      if (c == '"') {
        closed = true;
        break;
      }
      if (c == '\\') {
        if (rest.empty()) return false;
        char e = rest.front();
        rest.remove_prefix(1);
        value += e == 'n' ? '\n' : e;
      } else {
        value += c;
      }
    }
    if (!closed) return false;
    auto it = wanted.find(std::string(label));
    if (it != wanted.end() && it->second == value) ++matched_labels;
  }
}

}  // namespace

Result<MetricSelection> selectMetric(std::string_view text, std::string_view name,
                                     const std::map<std::string, std::string>& labels,
                                     const std::string& origin) {
  MetricSelection selection;
  std::string_view family = name;
  if (family.size() > 6 && family.substr(family.size() - 6) == "_total") {
    family.remove_suffix(6);
  }
  std::string value_buffer;
  LineCursor lines(text);
  std::string_view line;
  while (lines.next(line)) {
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    std::string_view rest = line;
    while (!rest.empty() && (rest.front() == ' ' || rest.front() == '\t')) rest.remove_prefix(1);
    if (rest.empty()) continue;
    if (rest.front() == '#') {
      std::string_view words = rest.substr(1);
      if (nextToken(words) != "TYPE") continue;
      std::string_view typed = nextToken(words);
      if (typed == name || typed == family) selection.type = std::string(nextToken(words));
      continue;
    }
    // Only the wanted metric's lines are parsed: "name", then '{', ' ' or end.
    if (rest.substr(0, name.size()) != name) continue;
    std::string_view after = rest.substr(name.size());
    if (!after.empty() && after.front() != '{' && after.front() != ' ' && after.front() != '\t') {
      continue;
    }
    std::size_t matched_labels = 0;
    if (!after.empty() && after.front() == '{' &&
        !matchLabels(after, labels, matched_labels, value_buffer)) {
      return lineError(origin, lines.number(), "name{label=\"value\",...} value", line);
    }
    double value = 0.0;
    if (!parseSampleValue(nextToken(after), value)) {
      return lineError(origin, lines.number(), "a sample value after the name and labels", line);
    }
    if (matched_labels == labels.size()) {
      selection.sum += value;
      ++selection.matched;
    }
  }
  return selection;
}

Result<double> CounterRate::update(double value, int64_t now_ms, const std::string& what) {
  const std::optional<double> previous = previous_;
  const int64_t previous_ms = previous_ms_;
  previous_ = value;
  previous_ms_ = now_ms;
  if (!previous) {
    return makeError("no_data", what + ": first reading of a counter; its rate needs a second");
  }
  if (value < *previous) {
    return makeError("no_data",
                     what + ": counter went backwards (restart); rate resumes next time");
  }
  if (now_ms <= previous_ms) {
    return makeError("no_data", what + ": no time elapsed since the previous reading");
  }
  return (value - *previous) / (static_cast<double>(now_ms - previous_ms) / 1000.0);
}

bool useRate(const std::string& mode, std::string_view type, std::string_view name) {
  if (mode == "true") return true;
  if (mode == "false") return false;
  if (!type.empty()) return type == "counter";
  return name.size() > 6 && name.substr(name.size() - 6) == "_total";
}

}  // namespace pso::agent
