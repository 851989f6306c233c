#include "controller/cli/runbook_parser.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cctype>
#include <map>
#include <optional>

#include "common/config.h"
#include "common/text.h"

namespace pso::cli {
namespace {

/// Where a problem is: the file, and the step and its key when there is one.
struct Place {
  const std::string& file;
  int step = 0;
  std::string kind;

  Error at(const std::string& key, const std::string& what) const {
    std::string where = file + ": ";
    if (step > 0) where += "step " + std::to_string(step) + " (" + kind + "): ";
    if (!key.empty()) where += key + ": ";
    std::string message = where + what;
    // One line whatever the file holds: a key or value may carry newlines.
    for (char& ch : message) {
      if (static_cast<unsigned char>(ch) < 0x20 || ch == 0x7f) ch = ' ';
    }
    return makeError("invalid", message);
  }
};

/// A scalar quoted for a message, cut so a huge value stays one short line.
std::string quoted(const YAML::Node& node) {
  if (!node.IsScalar()) return node.IsMap() ? "a mapping" : node.IsSequence() ? "a list" : "null";
  std::string text = node.Scalar();
  if (text.size() > 40) text = text.substr(0, 40) + "...";
  return "'" + text + "'";
}

Result<std::string> scalarOf(const Place& at, const std::string& key, const YAML::Node& node) {
  if (!node.IsScalar() || node.Scalar().empty()) {
    return at.at(key, "must be a non-empty text, got " + quoted(node));
  }
  return node.Scalar();
}

/// A positive duration ("30s", "2m"), as parseDuration reads it.
Result<int64_t> durationOf(const Place& at, const std::string& key, const YAML::Node& node) {
  auto text = scalarOf(at, key, node);
  if (!text) return text.error();
  auto duration = common::parseDuration(*text);
  if (!duration) return at.at(key, "'" + *text + "' is not a duration (e.g. 30s, 2m, 1h)");
  if (duration->count() <= 0) return at.at(key, "must be longer than 0, got '" + *text + "'");
  return static_cast<int64_t>(duration->count());
}

/// The step's mapping: only `allowed` keys, each of `required` present.
Result<std::map<std::string, YAML::Node>> keysOf(const Place& at, const YAML::Node& body,
                                                 const std::vector<std::string>& allowed,
                                                 const std::vector<std::string>& required) {
  if (!body.IsMap()) return at.at("", "must be a mapping of keys, got " + quoted(body));
  std::map<std::string, YAML::Node> keys;
  for (const auto& entry : body) {
    if (!entry.first.IsScalar()) return at.at("", "a key must be a text");
    const std::string key = entry.first.Scalar();
    if (std::find(allowed.begin(), allowed.end(), key) == allowed.end()) {
      std::string listed;
      for (const auto& one : allowed) listed += (listed.empty() ? "" : ", ") + one;
      return at.at(key.size() > 40 ? key.substr(0, 40) + "..." : key,
                   "unknown key; accepted: " + listed);
    }
    if (keys.count(key) != 0) return at.at(key, "given twice");
    keys.emplace(key, entry.second);
  }
  for (const auto& key : required) {
    if (keys.count(key) == 0) return at.at(key, "missing");
  }
  return keys;
}

Status parseStep(const Place& at, RunbookStepKind kind, const YAML::Node& body, RunbookStep& step) {
  using K = RunbookStepKind;
  switch (kind) {
    case K::kScale: {
      auto keys = keysOf(at, body, {"system", "replicas", "reason", "hold"},
                         {"system", "replicas", "reason"});
      if (!keys) return keys.error();
      auto system = scalarOf(at, "system", (*keys)["system"]);
      if (!system) return system.error();
      step.system = *system;
      const YAML::Node& replicas = (*keys)["replicas"];
      const auto count =
          replicas.IsScalar() ? common::parseInt64(replicas.Scalar()) : std::optional<int64_t>();
      if (!count || *count < 0) {
        return at.at("replicas", "must be a whole number of at least 0, got " + quoted(replicas));
      }
      step.replicas = *count;
      auto reason = scalarOf(at, "reason", (*keys)["reason"]);
      if (!reason) return reason.error();
      step.reason = *reason;
      if (keys->count("hold") != 0) {
        auto hold = durationOf(at, "hold", (*keys)["hold"]);
        if (!hold) return hold.error();
        step.hold = (*keys)["hold"].Scalar();
      }
      return Status();
    }
    case K::kHold: {
      auto keys = keysOf(at, body, {"system", "for", "reason"}, {"system", "for", "reason"});
      if (!keys) return keys.error();
      auto system = scalarOf(at, "system", (*keys)["system"]);
      if (!system) return system.error();
      step.system = *system;
      auto hold = durationOf(at, "for", (*keys)["for"]);
      if (!hold) return hold.error();
      step.hold = (*keys)["for"].Scalar();
      step.duration_ms = *hold;
      auto reason = scalarOf(at, "reason", (*keys)["reason"]);
      if (!reason) return reason.error();
      step.reason = *reason;
      return Status();
    }
    case K::kRelease: {
      auto keys = keysOf(at, body, {"system", "reason"}, {"system"});
      if (!keys) return keys.error();
      auto system = scalarOf(at, "system", (*keys)["system"]);
      if (!system) return system.error();
      step.system = *system;
      if (keys->count("reason") != 0) {
        auto reason = scalarOf(at, "reason", (*keys)["reason"]);
        if (!reason) return reason.error();
        step.reason = *reason;
      }
      return Status();
    }
    case K::kWaitFor: {
      auto keys =
          keysOf(at, body, {"system", "condition", "timeout"}, {"system", "condition", "timeout"});
      if (!keys) return keys.error();
      auto system = scalarOf(at, "system", (*keys)["system"]);
      if (!system) return system.error();
      step.system = *system;
      auto text = scalarOf(at, "condition", (*keys)["condition"]);
      if (!text) return text.error();
      auto condition = controller::engine::AlertCondition::parse(*text);
      if (!condition) return at.at("condition", condition.error().message);
      const auto& figures = runbookFigures();
      if (std::find(figures.begin(), figures.end(), condition->metric) == figures.end()) {
        std::string listed;
        for (const auto& one : figures) listed += (listed.empty() ? "" : ", ") + one;
        return at.at("condition",
                     "unknown figure '" + condition->metric + "'; accepted: " + listed);
      }
      step.condition = *condition;
      auto timeout = durationOf(at, "timeout", (*keys)["timeout"]);
      if (!timeout) return timeout.error();
      step.duration_ms = *timeout;
      return Status();
    }
    case K::kForecastOnly: {
      // YAML 1.2 (yaml-cpp) keeps `on` and `off` as text; both spellings are read.
      std::string text = body.IsScalar() ? body.Scalar() : "";
      std::transform(text.begin(), text.end(), text.begin(),
                     [](unsigned char ch) { return static_cast<char>(std::tolower(ch)); });
      if (text == "on" || text == "true" || text == "yes") {
        step.forecast_only = true;
      } else if (text == "off" || text == "false" || text == "no") {
        step.forecast_only = false;
      } else {
        return at.at("forecast_only", "must be on or off, got " + quoted(body));
      }
      return Status();
    }
    case K::kWait: {
      auto pause = durationOf(at, "wait", body);
      if (!pause) return pause.error();
      step.duration_ms = *pause;
      return Status();
    }
  }
  return at.at("", "unknown step");
}

std::optional<RunbookStepKind> kindNamed(const std::string& name) {
  using K = RunbookStepKind;
  for (K kind : {K::kScale, K::kWaitFor, K::kForecastOnly, K::kHold, K::kRelease, K::kWait}) {
    if (name == runbookStepName(kind)) return kind;
  }
  return std::nullopt;
}

}  // namespace

const char* runbookStepName(RunbookStepKind kind) {
  switch (kind) {
    case RunbookStepKind::kScale:
      return "scale";
    case RunbookStepKind::kWaitFor:
      return "wait_for";
    case RunbookStepKind::kForecastOnly:
      return "forecast_only";
    case RunbookStepKind::kHold:
      return "hold";
    case RunbookStepKind::kRelease:
      return "release";
    case RunbookStepKind::kWait:
      return "wait";
  }
  return "?";
}

const std::vector<std::string>& runbookFigures() {
  static const std::vector<std::string> kFigures = {"replicas", "desired", "demand",
                                                    "health_score"};
  return kFigures;
}

Result<Runbook> parseRunbook(const std::string& text, const std::string& file) {
  const Place top{file, 0, ""};
  Runbook runbook;
  try {
    const YAML::Node root = YAML::Load(text);
    if (!root.IsMap()) return top.at("", "must be a mapping with name and steps");
    auto keys = keysOf(top, root, {"name", "steps"}, {"steps"});
    if (!keys) return keys.error();
    if (keys->count("name") != 0) {
      auto name = scalarOf(top, "name", (*keys)["name"]);
      if (!name) return name.error();
      runbook.name = *name;
    }
    const YAML::Node& steps = (*keys)["steps"];
    if (!steps.IsSequence() || steps.size() == 0) {
      return top.at("steps", "must be a non-empty list of steps");
    }
    int number = 0;
    for (const auto& item : steps) {
      ++number;
      Place at{file, number, "?"};
      if (!item.IsMap() || item.size() != 1) {
        return at.at("",
                     "must be one mapping of a step kind (scale, wait_for, forecast_only, "
                     "hold, release, wait) to its settings");
      }
      const auto entry = *item.begin();
      const std::string name = entry.first.IsScalar() ? entry.first.Scalar() : "";
      const auto kind = kindNamed(name);
      if (!kind) {
        at.kind = name.size() > 40 ? name.substr(0, 40) + "..." : name;
        return at.at("",
                     "unknown step kind; accepted: scale, wait_for, forecast_only, hold, "
                     "release, wait");
      }
      at.kind = name;
      RunbookStep step;
      step.number = number;
      step.kind = *kind;
      if (Status parsed = parseStep(at, *kind, entry.second, step); !parsed) return parsed.error();
      runbook.steps.push_back(std::move(step));
    }
  } catch (const YAML::Exception& e) {
    return top.at("", "not valid YAML: line " + std::to_string(e.mark.line + 1) + ": " + e.msg);
  }
  return runbook;
}

}  // namespace pso::cli
