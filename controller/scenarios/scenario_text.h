#pragma once

// Reading scenario documents without throwing, and formatting their numbers for
// people. Shared by the scenario builder and the exporters: a stored document
// may come from an older schema version or be hand-edited, so every read has a
// fallback instead of an exception.

#include <algorithm>
#include <cstdint>
#include <limits>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace pso::controller::scenarios {

/// The member `key` of an object, or a null value when absent or `j` is not an object.
const nlohmann::json& memberAt(const nlohmann::json& j, std::string_view key);
/// A number (NaN-safe: null and non-numbers give `fallback`).
double asNumber(const nlohmann::json& j,
                double fallback = std::numeric_limits<double>::quiet_NaN());
double numberAt(const nlohmann::json& j, std::string_view key,
                double fallback = std::numeric_limits<double>::quiet_NaN());
int64_t integerAt(const nlohmann::json& j, std::string_view key, int64_t fallback = 0);
std::string textAt(const nlohmann::json& j, std::string_view key, std::string fallback = "");
bool boolAt(const nlohmann::json& j, std::string_view key, bool fallback = false);
/// The string elements of an array member (other elements are skipped).
std::vector<std::string> stringsAt(const nlohmann::json& j, std::string_view key);
/// The numbers of an array member, null elements as NaN.
std::vector<double> numbersAt(const nlohmann::json& j, std::string_view key);

/// A finite number as JSON, NaN or infinity as null (JSON has no NaN).
nlohmann::json jsonNumber(double value);

/// A number for prose and tables: integers without decimals, otherwise three
/// significant decimals at most, trailing zeros removed; "n/a" when not finite.
std::string formatNumber(double value);

/// The decision in words: "Keep 4 replicas" or "Scale from 4 to 7 replicas".
std::string scaleText(int64_t from, int64_t to);
/// A fraction as a percentage, e.g. 0.705 -> "70.5%"; "n/a" when not finite.
std::string formatPercent(double fraction);

/// Items joined with a separator.
std::string join(const std::vector<std::string>& items, const std::string& separator);

/// A learning level for people ("advanced_optimization" -> "Advanced optimization").
std::string levelTitle(const std::string& level);
/// The systems a document names under `unchanged` and does not describe (a
/// system named there is also described until its outcome is filled), in
/// key order.
std::vector<std::string> namedUnchangedOnly(const nlohmann::json& scenario);
/// A lesson's headline from its document: "Scaling web 3 -> 5", "Quiet cycle: ...".
std::string lessonTitle(const nlohmann::json& scenario);
/// The levels that are keys of `by_level`, in teaching order (scenarioLevels()),
/// unknown levels after them in key order: the order of a curriculum.
template <typename Map>
std::vector<std::string> curriculumOrder(const Map& by_level);
/// Rank of a level in teaching order; unknown levels rank after every known one.
std::size_t levelRank(const std::string& level);

template <typename Map>
std::vector<std::string> curriculumOrder(const Map& by_level) {
  std::vector<std::pair<std::size_t, std::string>> ranked;
  for (const auto& entry : by_level) ranked.emplace_back(levelRank(entry.first), entry.first);
  std::sort(ranked.begin(), ranked.end());
  std::vector<std::string> out;
  for (auto& r : ranked) out.push_back(std::move(r.second));
  return out;
}

}  // namespace pso::controller::scenarios
