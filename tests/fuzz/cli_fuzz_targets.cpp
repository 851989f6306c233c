#include "tests/fuzz/cli_fuzz_targets.h"

#include <cmath>
#include <exception>
#include <string>

#include "controller/cli/assignment_file.h"
#include "controller/cli/prometheus_range.h"
#include "controller/cli/runbook_parser.h"
#include "controller/scenarios/badge.h"
#include "tests/fuzz/one_line.h"

namespace pso::cli::fuzz {

bool checkPrometheusRangeAnswer(std::string_view input) {
  try {
    auto parsed = parseRangeAnswer(input);
    if (!parsed.ok()) {
      const auto& error = parsed.error();
      if (error.code != "malformed" && error.code != "prometheus") return false;
      if (error.message.empty()) return false;
      for (char ch : error.message) {
        if (static_cast<unsigned char>(ch) < 0x20 || ch == 0x7f) return false;
      }
      return true;
    }
    for (const auto& series : *parsed) {
      if (series.labels.size() < 2 || series.labels.front() != '{' || series.labels.back() != '}') {
        return false;
      }
      if (series.ts_ms.size() != series.values.size()) return false;
      for (double value : series.values) {
        if (!std::isfinite(value)) return false;
      }
    }
    return true;
  } catch (const std::exception&) {
    return false;
  }
}

bool checkRunbook(std::string_view input) {
  try {
    auto parsed = parseRunbook(std::string(input), "fuzz.yaml");
    if (!parsed.ok()) {
      const auto& error = parsed.error();
      if (error.code != "invalid" || error.message.rfind("fuzz.yaml: ", 0) != 0) return false;
      for (char ch : error.message) {
        if (static_cast<unsigned char>(ch) < 0x20 || ch == 0x7f) return false;
      }
      return true;
    }
    if (parsed->steps.empty()) return false;
    int number = 0;
    for (const auto& step : parsed->steps) {
      if (step.number != ++number) return false;
      switch (step.kind) {
        case RunbookStepKind::kScale:
          if (step.system.empty() || step.replicas < 0 || step.reason.empty()) return false;
          break;
        case RunbookStepKind::kHold:
          if (step.system.empty() || step.reason.empty() || step.duration_ms <= 0) return false;
          break;
        case RunbookStepKind::kRelease:
          if (step.system.empty()) return false;
          break;
        case RunbookStepKind::kWaitFor:
          if (step.system.empty() || step.duration_ms <= 0) return false;
          break;
        case RunbookStepKind::kWait:
          if (step.duration_ms <= 0) return false;
          break;
        case RunbookStepKind::kForecastOnly:
          break;
      }
    }
    return true;
  } catch (...) {
    return false;
  }
}

bool checkAssignmentFile(std::string_view input) {
  try {
    auto parsed = parseAssignmentKey(input, "fuzz.json");
    if (!parsed.ok()) {
      const auto& error = parsed.error();
      if (error.code != "invalid" || error.message.rfind("fuzz.json ", 0) != 0) return false;
      for (char ch : error.message) {
        if (static_cast<unsigned char>(ch) < 0x20 || ch == 0x7f) return false;
      }
    } else if (!parsed->question.is_null() && !parsed->question.is_object()) {
      return false;
    }
    if (const auto prediction = parsePrediction(input)) {
      // What was read is the input's number, blanks aside.
      const std::string digits = std::to_string(*prediction);
      if (input.find(digits) == std::string_view::npos) return false;
    }
    return true;
  } catch (const std::exception&) {
    return false;
  }
}

using pso::fuzz::isOneLine;

bool checkBadge(std::string_view input) {
  namespace scenarios = controller::scenarios;
  try {
    auto verified = scenarios::verifyBadge(input);
    if (!verified.ok()) {
      return verified.error().code == "invalid" && isOneLine(verified.error().message);
    }
    if (!isOneLine(verified->learner) || !isOneLine(verified->level) ||
        !isOneLine(verified->valid_from) || verified->issuer.rfind("did:key:z", 0) != 0) {
      return false;
    }
    // The issuer the badge named must be the one it verifies against.
    return scenarios::verifyBadge(input, verified->issuer).ok();
  } catch (...) {
    return false;
  }
}

}  // namespace pso::cli::fuzz
