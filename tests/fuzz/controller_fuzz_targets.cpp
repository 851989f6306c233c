#include "tests/fuzz/controller_fuzz_targets.h"

#include <exception>
#include <set>
#include <string>

#include "controller/config/controller_config.h"
#include "controller/engine/alert_rules.h"
#include "tests/fuzz/one_line.h"

namespace pso::controller::fuzz {

using pso::fuzz::isOneLine;

bool checkAlertCondition(std::string_view input) {
  try {
    auto parsed = engine::AlertCondition::parse(std::string(input));
    if (!parsed) {
      return parsed.error().code == "invalid" && !parsed.error().message.empty();
    }
    auto again = engine::AlertCondition::parse(parsed->text());
    return again && again->metric == parsed->metric && again->op == parsed->op &&
           again->threshold == parsed->threshold;
  } catch (const std::exception&) {
    return false;
  }
}

bool checkControllerConfig(std::string_view input) {
  try {
    auto parsed = parseControllerConfig(std::string(input), "fuzz.yaml");
    if (!parsed) {
      return isOneLine(parsed.error().message) &&
             parsed.error().message.find("fuzz.yaml") != std::string::npos;
    }
    if (parsed->cycle_interval.count() <= 0) return false;
    std::set<std::string> names;
    for (const auto& alert : parsed->alerts) {
      if (alert.name.empty() || !names.insert(alert.name).second) return false;
      if (!engine::AlertCondition::parse(alert.when)) return false;
      if (alert.step <= 0 || alert.hysteresis < 0) return false;
    }
    const auto& w = parsed->webhooks;
    return w.timeout.count() > 0 && w.max_backoff.count() > 0 && w.give_up_after.count() > 0;
  } catch (const std::exception&) {
    return false;
  }
}

}  // namespace pso::controller::fuzz
