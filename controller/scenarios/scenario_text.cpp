#include "controller/scenarios/scenario_text.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "controller/engine/wording.h"
#include "controller/scenarios/scenario.h"

namespace pso::controller::scenarios {

const nlohmann::json& memberAt(const nlohmann::json& j, std::string_view key) {
  static const nlohmann::json kNull;
  if (!j.is_object()) return kNull;
  auto it = j.find(key);
  return it == j.end() ? kNull : *it;
}

double asNumber(const nlohmann::json& j, double fallback) {
  return j.is_number() ? j.get<double>() : fallback;
}

double numberAt(const nlohmann::json& j, std::string_view key, double fallback) {
  return asNumber(memberAt(j, key), fallback);
}

int64_t integerAt(const nlohmann::json& j, std::string_view key, int64_t fallback) {
  const auto& v = memberAt(j, key);
  if (v.is_number_integer()) return v.get<int64_t>();
  if (v.is_number_float()) {
    const double d = v.get<double>();
    if (std::isfinite(d)) return static_cast<int64_t>(std::llround(d));
  }
  return fallback;
}

std::string textAt(const nlohmann::json& j, std::string_view key, std::string fallback) {
  const auto& v = memberAt(j, key);
  return v.is_string() ? v.get<std::string>() : fallback;
}

bool boolAt(const nlohmann::json& j, std::string_view key, bool fallback) {
  const auto& v = memberAt(j, key);
  return v.is_boolean() ? v.get<bool>() : fallback;
}

std::vector<std::string> stringsAt(const nlohmann::json& j, std::string_view key) {
  std::vector<std::string> out;
  const auto& v = memberAt(j, key);
  if (!v.is_array()) return out;
  for (const auto& item : v) {
    if (item.is_string()) out.push_back(item.get<std::string>());
  }
  return out;
}

std::vector<double> numbersAt(const nlohmann::json& j, std::string_view key) {
  std::vector<double> out;
  const auto& v = memberAt(j, key);
  if (!v.is_array()) return out;
  out.reserve(v.size());
  for (const auto& item : v) out.push_back(asNumber(item));
  return out;
}

nlohmann::json jsonNumber(double value) {
  return std::isfinite(value) ? nlohmann::json(value) : nlohmann::json(nullptr);
}

std::string formatNumber(double value) {
  if (!std::isfinite(value)) return "n/a";
  char buffer[64];
  if (std::fabs(value) < 1e15 && value == std::round(value)) {
    std::snprintf(buffer, sizeof(buffer), "%.0f", value);
    return buffer;
  }
  const double magnitude = std::fabs(value);
  const int decimals = magnitude >= 100 ? 1 : (magnitude >= 1 ? 2 : 3);
  std::snprintf(buffer, sizeof(buffer), "%.*f", decimals, value);
  std::string out = buffer;
  while (!out.empty() && out.back() == '0') out.pop_back();
  if (!out.empty() && out.back() == '.') out.pop_back();
  if (out == "-0") out = "0";
  return out;
}

std::string formatPercent(double fraction) {
  if (!std::isfinite(fraction)) return "n/a";
  return formatNumber(std::round(fraction * 1000.0) / 10.0) + "%";
}

std::string join(const std::vector<std::string>& items, const std::string& separator) {
  std::string out;
  for (std::size_t i = 0; i < items.size(); ++i) out += (i ? separator : "") + items[i];
  return out;
}

std::string levelTitle(const std::string& level) {
  if (level == kLevelFoundation) return "Foundation";
  if (level == kLevelAdvancedOptimization) return "Advanced optimization";
  if (level == kLevelSystemIntegration) return "System integration";
  if (level == kLevelEnterpriseCoordination) return "Enterprise coordination";
  return level.empty() ? "Unclassified" : level;
}

std::size_t levelRank(const std::string& level) {
  const auto& levels = scenarioLevels();
  return static_cast<std::size_t>(std::find(levels.begin(), levels.end(), level) - levels.begin());
}

std::vector<std::string> namedUnchangedOnly(const nlohmann::json& scenario) {
  std::vector<std::string> out;
  const nlohmann::json& unchanged = memberAt(scenario, "unchanged");
  if (!unchanged.is_object()) return out;
  const auto described = stringsAt(scenario, "systems");
  for (const auto& [name, since] : unchanged.items()) {
    if (std::find(described.begin(), described.end(), name) == described.end()) {
      out.push_back(name);
    }
  }
  return out;
}

std::string lessonTitle(const nlohmann::json& doc) {
  const auto systems = stringsAt(doc, "systems");
  const nlohmann::json& rationale = memberAt(doc, "rationale");
  std::vector<std::string> changes;
  for (const auto& name : systems) {
    const nlohmann::json& r = memberAt(rationale, name);
    const int64_t current = integerAt(r, "current_replicas", -1);
    const int64_t desired = integerAt(r, "desired_replicas", -1);
    if (current >= 0 && desired >= 0 && current != desired) {
      changes.push_back(name + " " + std::to_string(current) + " -> " + std::to_string(desired));
    }
  }
  // The systems the cycle covers: those described, then those named unchanged.
  std::vector<std::string> covered = systems;
  for (auto& name : namedUnchangedOnly(doc)) covered.push_back(std::move(name));
  if (boolAt(doc, "quiet")) {
    return covered.empty() ? "Quiet cycle" : "Quiet cycle: " + join(covered, ", ") + " hold steady";
  }
  if (changes.empty()) return "Cycle " + textAt(doc, "cycle_id") + ": " + join(covered, ", ");
  if (changes.size() == 1) return "Scaling " + changes.front();
  return "Coordinated scaling: " + join(changes, ", ");
}

std::string scaleText(int64_t from, int64_t to) {
  if (from == to) return "Keep " + engine::formatReplicas(to);
  return "Scale from " + std::to_string(from) + " to " + engine::formatReplicas(to);
}

}  // namespace pso::controller::scenarios
