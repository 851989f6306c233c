#include "common/config.h"

#include <yaml-cpp/yaml.h>

#include <cctype>
#include <charconv>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <optional>
#include <set>
#include <sstream>

#include "common/config_schema.h"
#include "common/text.h"

namespace pso::common {

Result<Duration> parseDuration(const std::string& text) {
  const auto bad = [&text] {
    return makeError("invalid",
                     "bad duration '" + text + "' (expected e.g. 500ms, 5s, 2m, 1h, 1d)");
  };
  std::size_t end = 0;
  while (end < text.size() &&
         (std::isdigit(static_cast<unsigned char>(text[end])) || text[end] == '.')) {
    ++end;
  }
  if (end == 0) return bad();
  double number = 0;
  const auto [ptr, ec] = std::from_chars(text.data(), text.data() + end, number);
  if (ec != std::errc() || ptr != text.data() + end) return bad();
  const std::string unit = text.substr(end);
  double ms_per_unit = 0;
  if (unit.empty() || unit == "s") {
    ms_per_unit = 1000;
  } else if (unit == "ms") {
    ms_per_unit = 1;
  } else if (unit == "m") {
    ms_per_unit = 60'000;
  } else if (unit == "h") {
    ms_per_unit = 3'600'000;
  } else if (unit == "d") {
    ms_per_unit = 86'400'000;
  } else {
    return bad();
  }
  const double ms = std::round(number * ms_per_unit);
  // Far beyond any sensible setting, but below the int64 limit.
  if (!std::isfinite(ms) || ms > 1e15) return bad();
  return Duration(static_cast<int64_t>(ms));
}

std::string formatDuration(Duration d) {
  int64_t ms = d.count();
  if (ms < 0) return "-" + formatDuration(Duration(-ms));
  if (ms == 0) return "0s";
  static constexpr std::pair<int64_t, const char*> kUnits[] = {
      {86'400'000, "d"}, {3'600'000, "h"}, {60'000, "m"}, {1000, "s"}};
  for (const auto& [size, unit] : kUnits) {
    if (ms % size == 0) return std::to_string(ms / size) + unit;
  }
  if (ms < 1000) return std::to_string(ms) + "ms";
  // Seconds with up to three decimals, trailing zeros dropped: "1.5s".
  std::string fraction = std::to_string(1000 + ms % 1000).substr(1);
  while (fraction.back() == '0') fraction.pop_back();
  return std::to_string(ms / 1000) + "." + fraction + "s";
}

namespace {

std::string describe(const YAML::Node& node) {
  switch (node.Type()) {
    case YAML::NodeType::Map:
      return "a mapping";
    case YAML::NodeType::Sequence:
      return "a list";
    case YAML::NodeType::Scalar:
      return "'" + node.Scalar() + "'";
    default:
      return "nothing";
  }
}

std::string where(const std::string& origin, const YAML::Mark& mark) {
  return mark.line >= 0 ? origin + ":" + std::to_string(mark.line + 1) : origin;
}

}  // namespace

ConfigReader::ConfigReader(std::string origin) : origin_(std::move(origin)) {}

void ConfigReader::fail(const YAML::Node& at, const std::string& path, const std::string& what) {
  if (error_) return;
  const YAML::Mark mark = at.IsDefined() ? at.Mark() : YAML::Mark::null_mark();
  error_ = Error{"invalid", where(origin_, mark) + ": " + (path.empty() ? "" : path + ": ") + what};
}

void ConfigReader::check(bool ok, const YAML::Node& map, const std::string& path,
                         std::string_view key, const std::string& what) {
  if (ok || failed()) return;
  const YAML::Node value = present(map) && map.IsMap() ? at(map, key) : YAML::Node();
  fail(value.IsDefined() ? value : map, child(path, key), what);
}

std::string ConfigReader::child(const std::string& path, std::string_view key) {
  return path.empty() ? std::string(key) : path + "." + std::string(key);
}

std::string ConfigReader::index(const std::string& path, std::size_t i) {
  return path + "[" + std::to_string(i) + "]";
}

bool ConfigReader::present(const YAML::Node& node) {
  return node.IsDefined() && !node.IsNull();
}

YAML::Node ConfigReader::at(const YAML::Node& map, std::string_view key) {
  if (!map.IsDefined() || !map.IsMap()) return YAML::Node(YAML::NodeType::Undefined);
  // A const lookup never adds the key to the document.
  const YAML::Node& lookup = map;
  return lookup[std::string(key)];
}

bool ConfigReader::map(const YAML::Node& node, const std::string& path,
                       const std::vector<std::string_view>& allowed) {
  if (failed() || !present(node)) return false;
  if (!node.IsMap()) {
    fail(node, path, "expected a mapping, got " + describe(node));
    return false;
  }
  std::set<std::string> seen;
  for (const auto& entry : node) {
    const YAML::Node& key = entry.first;
    const std::string name = key.IsScalar() ? key.Scalar() : "<non-scalar key>";
    bool known = false;
    for (std::string_view a : allowed) known = known || name == a;
    if (!known) {
      fail(key, child(path, name), "unknown key");
      return false;
    }
    if (!seen.insert(name).second) {
      fail(key, child(path, name), "duplicate key");
      return false;
    }
  }
  return true;
}

bool ConfigReader::sequence(const YAML::Node& node, const std::string& path) {
  if (failed() || !present(node)) return false;
  if (!node.IsSequence()) {
    fail(node, path, "expected a list, got " + describe(node));
    return false;
  }
  return true;
}

bool ConfigReader::scalar(const YAML::Node& node, const std::string& path, const char* expected) {
  if (failed() || !present(node)) return false;
  if (!node.IsScalar()) {
    fail(node, path, std::string("expected ") + expected + ", got " + describe(node));
    return false;
  }
  return true;
}

void ConfigReader::read(const YAML::Node& node, const std::string& path, std::string& out) {
  if (scalar(node, path, "a string")) out = node.Scalar();
}

void ConfigReader::field(const YAML::Node& map, const std::string& path, std::string_view key,
                         std::string& out) {
  read(at(map, key), child(path, key), out);
}

void ConfigReader::field(const YAML::Node& map, const std::string& path, std::string_view key,
                         int64_t& out) {
  const YAML::Node node = at(map, key);
  if (!scalar(node, child(path, key), "an integer")) return;
  const std::optional<int64_t> v = parseInt64(node.Scalar());
  if (!v) return fail(node, child(path, key), "expected an integer, got '" + node.Scalar() + "'");
  out = *v;
}

void ConfigReader::field(const YAML::Node& map, const std::string& path, std::string_view key,
                         double& out) {
  const YAML::Node node = at(map, key);
  if (!scalar(node, child(path, key), "a number")) return;
  const std::optional<double> v = parseDouble(node.Scalar());
  if (!v) return fail(node, child(path, key), "expected a number, got '" + node.Scalar() + "'");
  out = *v;
}

void ConfigReader::field(const YAML::Node& map, const std::string& path, std::string_view key,
                         bool& out) {
  const YAML::Node node = at(map, key);
  if (!scalar(node, child(path, key), "true or false")) return;
  const std::string& s = node.Scalar();
  if (s == "true" || s == "yes" || s == "on" || s == "True" || s == "TRUE") {
    out = true;
  } else if (s == "false" || s == "no" || s == "off" || s == "False" || s == "FALSE") {
    out = false;
  } else {
    fail(node, child(path, key), "expected true or false, got '" + s + "'");
  }
}

void ConfigReader::field(const YAML::Node& map, const std::string& path, std::string_view key,
                         Duration& out) {
  const YAML::Node node = at(map, key);
  if (!scalar(node, child(path, key), "a duration")) return;
  Result<Duration> d = parseDuration(node.Scalar());
  if (!d) return fail(node, child(path, key), d.error().message);
  out = *d;
}

void ConfigReader::field(const YAML::Node& map, const std::string& path, std::string_view key,
                         std::vector<std::string>& out) {
  const YAML::Node node = at(map, key);
  const std::string list_path = child(path, key);
  if (!sequence(node, list_path)) return;
  std::vector<std::string> items;
  for (std::size_t i = 0; i < node.size() && !failed(); ++i) {
    std::string item;
    if (!present(node[i])) fail(node[i], index(list_path, i), "expected a string, got null");
    read(node[i], index(list_path, i), item);
    items.push_back(std::move(item));
  }
  out = std::move(items);
}

void ConfigReader::field(const YAML::Node& map, const std::string& path, std::string_view key,
                         std::map<std::string, std::string>& out) {
  const YAML::Node node = at(map, key);
  const std::string map_path = child(path, key);
  if (failed() || !present(node)) return;
  if (!node.IsMap()) return fail(node, map_path, "expected a mapping, got " + describe(node));
  std::map<std::string, std::string> items;
  for (const auto& entry : node) {
    if (!entry.first.IsScalar()) return fail(entry.first, map_path, "keys must be strings");
    const std::string name = entry.first.Scalar();
    read(entry.second, child(map_path, name), items[name]);
  }
  out = std::move(items);
}

void ConfigReader::pathField(const YAML::Node& map, const std::string& path, std::string_view key,
                             std::string& out) {
  field(map, path, key, out);
  const std::filesystem::path base = std::filesystem::path(origin_).parent_path();
  if (!out.empty() && std::filesystem::path(out).is_relative() && !base.empty()) {
    out = (base / out).lexically_normal().string();
  }
}

Result<std::string> readConfigFile(const std::string& path) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) {
    return makeError("io", "cannot read config " + path + ": is a directory");
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) return makeError("io", "cannot open config " + path);
  std::ostringstream content;
  content << in.rdbuf();
  if (in.bad()) return makeError("io", "cannot read config " + path);
  return content.str();
}

Status readConfigDocument(const std::string& yaml, const std::string& origin,
                          const std::function<void(ConfigReader&, const YAML::Node& root)>& body) {
  YAML::Node root;
  try {
    root = YAML::Load(yaml);
  } catch (const YAML::Exception& e) {
    return makeError("invalid", where(origin, e.mark) + ": YAML syntax error: " + e.msg);
  }
  ConfigReader reader(origin);
  // yaml-cpp reports some problems (e.g. a bad alias) only when a node is used.
  try {
    body(reader, root);
  } catch (const YAML::Exception& e) {
    return makeError("invalid", where(origin, e.mark) + ": " + e.msg);
  }
  if (reader.failed()) return reader.error();
  return {};
}

const char* valueTypeName(ValueType type) {
  switch (type) {
    case ValueType::kString:
      return "string";
    case ValueType::kPath:
      return "path";
    case ValueType::kInteger:
      return "integer";
    case ValueType::kNumber:
      return "number";
    case ValueType::kBoolean:
      return "boolean";
    case ValueType::kDuration:
      return "duration";
    case ValueType::kList:
      return "list";
    case ValueType::kMapping:
      return "mapping";
    case ValueType::kSection:
      return "section";
  }
  return "unknown";
}

std::string formatConfigValue(const std::string& value) {
  return value;
}

std::string formatConfigValue(int64_t value) {
  return std::to_string(value);
}

std::string formatConfigValue(double value) {
  // The shortest text that reads back as the same number: 0.7, not 0.700000.
  char buffer[32];
  const auto [end, ec] = std::to_chars(buffer, buffer + sizeof buffer, value);
  return ec == std::errc() ? std::string(buffer, end) : std::to_string(value);
}

std::string formatConfigValue(bool value) {
  return value ? "true" : "false";
}

std::string formatConfigValue(Duration value) {
  return formatDuration(value);
}

std::string formatConfigValue(const std::vector<std::string>& value) {
  if (value.empty()) return "";
  std::string text;
  for (const std::string& item : value) text += (text.empty() ? "[" : ", ") + item;
  return text + "]";
}

std::string formatConfigValue(const std::map<std::string, std::string>& value) {
  if (value.empty()) return "";
  std::string text;
  for (const auto& [key, item] : value) text += (text.empty() ? "{" : ", ") + key + ": " + item;
  return text + "}";
}

}  // namespace pso::common
