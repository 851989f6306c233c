#include "controller/cli/runbook.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <limits>
#include <nlohmann/json.hpp>
#include <ostream>
#include <thread>

#include "common/config.h"
#include "controller/cli/directive_request.h"

namespace pso::cli {

using nlohmann::json;

namespace {

std::string systemPath(const std::string& system) {
  return "/api/v1/systems/" + ApiClient::escape(system);
}

std::string number(double value) {
  if (std::isnan(value)) return "none";
  if (value == std::floor(value) && std::fabs(value) < 1e15) {
    return std::to_string(static_cast<int64_t>(value));
  }
  char text[32];
  std::snprintf(text, sizeof text, "%.2f", value);
  return text;
}

/// A wait_for figure of GET /api/v1/systems/{name}; NaN when the system has
/// none yet (no replica report, no demand sample).
double figureOf(const json& system, const std::string& figure) {
  const json* value = nullptr;
  if (figure == "demand") {
    const json& demand = system.value("demand", json());
    if (demand.is_object() && demand.contains("value")) value = &demand.at("value");
  } else if (system.contains(figure)) {
    value = &system.at(figure);
  }
  return value != nullptr && value->is_number() ? value->get<double>()
                                                : std::numeric_limits<double>::quiet_NaN();
}

std::string durationText(int64_t ms) {
  return common::formatDuration(common::Duration(ms));
}

/// What a step did, or why it failed.
struct StepOutcome {
  bool ok = true;
  std::string text;
};

StepOutcome postDirective(const ApiClient& client, const Result<json>& body) {
  if (!body) return {false, body.error().message};
  auto answer = client.postJson("/api/v1/directives", *body);
  if (!answer) return {false, answer.error().message};
  return {true, directiveSummary(*answer)};
}

StepOutcome waitFor(const ApiClient& client, const RunbookStep& step, const RunbookTiming& timing) {
  const auto start = std::chrono::steady_clock::now();
  const auto deadline = start + std::chrono::milliseconds(step.duration_ms);
  const std::string figure = step.condition.metric;
  double last = std::numeric_limits<double>::quiet_NaN();
  for (;;) {
    auto system = client.getJson(systemPath(step.system));
    if (!system) return {false, system.error().message};
    last = figureOf(*system, figure);
    const auto waited = std::chrono::duration_cast<std::chrono::milliseconds>(
        std::chrono::steady_clock::now() - start);
    if (step.condition.holds(last)) {
      return {true, "met after " + durationText(waited.count()) + " (" + figure + " " +
                        number(last) + ")"};
    }
    const auto now = std::chrono::steady_clock::now();
    if (now >= deadline) break;
    std::this_thread::sleep_for(std::min<std::chrono::steady_clock::duration>(
        std::chrono::milliseconds(timing.poll_ms), deadline - now));
  }
  return {false, "timed out after " + durationText(step.duration_ms) + ": " + figure + " is " +
                     number(last) + ", wanted " + step.condition.text()};
}

StepOutcome runStep(const ApiClient& client, const RunbookStep& step, const RunbookTiming& timing) {
  switch (step.kind) {
    case RunbookStepKind::kScale:
      return postDirective(client,
                           scaleDirectiveBody(step.system, step.replicas, step.reason, step.hold));
    case RunbookStepKind::kHold: {
      // A hold keeps the count the system runs now: a scale to it, held.
      auto system = client.getJson(systemPath(step.system));
      if (!system) return {false, system.error().message};
      const double replicas = figureOf(*system, "replicas");
      if (std::isnan(replicas)) {
        return {false, step.system + " reports no replica count yet: nothing to hold"};
      }
      return postDirective(
          client, scaleDirectiveBody(step.system, std::llround(replicas), step.reason, step.hold));
    }
    case RunbookStepKind::kRelease:
      return postDirective(client, releaseDirectiveBody(step.system, step.reason));
    case RunbookStepKind::kWaitFor:
      return waitFor(client, step, timing);
    case RunbookStepKind::kForecastOnly: {
      auto answer = client.postJson("/api/v1/mode",
                                    json{{"mode", step.forecast_only ? "forecast-only" : "act"}});
      if (!answer) return {false, answer.error().message};
      return {true, "controller mode " + answer->value("mode", std::string("?"))};
    }
    case RunbookStepKind::kWait:
      std::this_thread::sleep_for(std::chrono::milliseconds(step.duration_ms));
      return {true, "waited " + durationText(step.duration_ms)};
  }
  return {false, "unknown step"};
}

}  // namespace

int runbookStepExitCode(int step) {
  return std::min(kRunbookStepExitBase + std::max(step, 0), 255);
}

std::string describeRunbookStep(const RunbookStep& step) {
  switch (step.kind) {
    case RunbookStepKind::kScale:
      return "scale " + step.system + " to " + std::to_string(step.replicas) + " replicas" +
             (step.hold.empty() ? "" : ", held " + step.hold) + " (" + step.reason + ")";
    case RunbookStepKind::kHold:
      return "hold " + step.system + " at its current count for " + step.hold + " (" + step.reason +
             ")";
    case RunbookStepKind::kRelease:
      return "release the hold on " + step.system +
             (step.reason.empty() ? "" : " (" + step.reason + ")");
    case RunbookStepKind::kWaitFor:
      return "wait up to " + durationText(step.duration_ms) + " for " + step.system + " " +
             step.condition.text();
    case RunbookStepKind::kForecastOnly:
      return step.forecast_only ? "switch the controller to forecast-only (decide, act on nothing)"
                                : "switch the controller to act";
    case RunbookStepKind::kWait:
      return "wait " + durationText(step.duration_ms);
  }
  return "?";
}

Status checkRunbookWithController(const Runbook& runbook, const std::string& file,
                                  const ApiClient& client) {
  for (const auto& step : runbook.steps) {
    if (step.system.empty()) continue;
    const std::string where =
        file + ": step " + std::to_string(step.number) + " (" + runbookStepName(step.kind) + "): ";
    auto system = client.getJson(systemPath(step.system));
    if (!system) {
      if (system.error().code == "http_404") {
        return makeError("invalid",
                         where + "system: the controller manages no system '" + step.system + "'");
      }
      return system.error();
    }
    if (step.kind != RunbookStepKind::kScale) continue;
    const json low = system->value("min_replicas", json());
    const json high = system->value("max_replicas", json());
    if (low.is_number_integer() && high.is_number_integer() &&
        (step.replicas < low.get<int64_t>() || step.replicas > high.get<int64_t>())) {
      return makeError("invalid", where + "replicas: " + std::to_string(step.replicas) +
                                      " is outside " + step.system + "'s bounds " +
                                      std::to_string(low.get<int64_t>()) + "-" +
                                      std::to_string(high.get<int64_t>()));
    }
  }
  return Status();
}

int runRunbookSteps(const Runbook& runbook, const std::string& file, const ApiClient& client,
                    std::ostream& out, std::ostream& err, const RunbookTiming& timing) {
  const std::size_t total = runbook.steps.size();
  for (const auto& step : runbook.steps) {
    const std::string label = "step " + std::to_string(step.number) + "/" + std::to_string(total) +
                              " " + runbookStepName(step.kind);
    const StepOutcome outcome = runStep(client, step, timing);
    out << label << ": " << (outcome.ok ? "ok: " : "FAILED: ") << outcome.text << '\n'
        << std::flush;
    if (!outcome.ok) {
      const std::size_t left = total - static_cast<std::size_t>(step.number);
      err << "psoctl: " << file << ": step " << step.number << " (" << runbookStepName(step.kind)
          << ") failed: " << outcome.text << "; " << left << " later step" << (left == 1 ? "" : "s")
          << " not run\n";
      return runbookStepExitCode(step.number);
    }
  }
  return 0;
}

}  // namespace pso::cli
