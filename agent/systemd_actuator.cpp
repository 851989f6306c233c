#include "agent/systemd_actuator.h"

#include <spdlog/spdlog.h>

#include <algorithm>

#include "agent/proc_text.h"
#include "agent/subprocess.h"
#include "common/clock.h"

namespace pso::agent {
namespace {

constexpr int64_t kSystemdRefreshMs = 10000;

}  // namespace

SystemdActuator::SystemdActuator(std::string system, std::string unit, std::string systemctl,
                                 int64_t max_replicas, common::Duration timeout)
    : system_(std::move(system)),
      unit_(std::move(unit)),
      systemctl_(std::move(systemctl)),
      max_replicas_(max_replicas),
      timeout_(timeout),
      running_(static_cast<std::size_t>(std::max<int64_t>(0, max_replicas)), false) {}

std::string SystemdActuator::unitName(int64_t index) const {
  return unit_ + "@" + std::to_string(index) + ".service";
}

Status SystemdActuator::refresh() {
  last_refresh_ms_ = common::steadyMs();
  if (max_replicas_ <= 0) {
    current_ = 0;
    return {};
  }
  std::vector<std::string> argv{systemctl_, "is-active"};
  for (int64_t i = 0; i < max_replicas_; ++i) argv.push_back(unitName(i));
  Result<CommandOutcome> outcome = runCommand(argv, timeout_);
  if (!outcome) return makeError("systemctl", "system " + system_ + ": " + outcome.error().message);
  // is-active exits 3 when any unit is inactive; only the lines matter, but a
  // timeout or a signal means the answer is incomplete.
  if (outcome->timed_out || outcome->term_signal != 0) {
    return makeError("systemctl",
                     "system " + system_ + ": systemctl is-active " + outcome->describe(timeout_));
  }
  std::vector<bool> running;
  LineCursor lines(outcome->output);
  std::string_view line;
  while (lines.next(line)) {
    std::string_view rest = line;
    std::string_view state = nextToken(rest);
    if (state.empty()) continue;
    running.push_back(state == "active" || state == "activating" || state == "reloading");
  }
  if (running.size() != static_cast<std::size_t>(max_replicas_)) {
    return makeError("systemctl", "system " + system_ + ": systemctl is-active printed " +
                                      std::to_string(running.size()) + " state(s) for " +
                                      std::to_string(max_replicas_) + " units (" +
                                      outcome->describe(timeout_) + ")");
  }
  running_ = std::move(running);
  current_ = std::count(running_.begin(), running_.end(), true);
  return {};
}

Status SystemdActuator::start() {
  if (Status status = refresh(); !status) return status;
  spdlog::info("system {}: {} of {}@0..{}.service running", system_, current_, unit_,
               max_replicas_ - 1);
  return {};
}

ActuationResult SystemdActuator::apply(const protocol::Directive& directive) {
  const std::string origin = "system " + system_ + ": ";
  if (directive.action != "scale" || !directive.replicas) {
    return {ActuationStatus::kRefused, current_,
            origin + "the systemd actuator scales unit instances; '" + directive.action +
                "' is not supported"};
  }
  const int64_t wanted = *directive.replicas;
  if (Status status = refresh(); !status) {
    return {ActuationStatus::kFailed, current_, status.error().message};
  }
  const int64_t before = current_;
  std::vector<std::string> start{systemctl_, "start"};
  std::vector<std::string> stop{systemctl_, "stop"};
  for (int64_t i = 0; i < max_replicas_; ++i) {
    const bool up = running_[static_cast<std::size_t>(i)];
    if (i < wanted && !up) start.push_back(unitName(i));
    if (i >= wanted && up) stop.push_back(unitName(i));
  }
  for (const std::vector<std::string>* command : {&start, &stop}) {
    if (command->size() <= 2) continue;
    Result<CommandOutcome> outcome = runCommand(*command, timeout_);
    std::string problem;
    if (!outcome) {
      problem = outcome.error().message;
    } else if (!outcome->succeeded()) {
      problem = "systemctl " + (*command)[1] + " " + outcome->describe(timeout_);
    }
    if (!problem.empty()) {
      (void)refresh();
      spdlog::warn("{}{} (directive {})", origin, problem, directive.id);
      return {ActuationStatus::kFailed, current_, origin + problem};
    }
  }
  if (Status status = refresh(); !status) {
    return {ActuationStatus::kFailed, current_, status.error().message};
  }
  if (current_ != wanted) {
    return {ActuationStatus::kFailed, current_,
            origin + std::to_string(current_) + " instance(s) of " + unit_ +
                "@.service running after scaling to " + std::to_string(wanted)};
  }
  spdlog::info("{}{}@.service scaled from {} to {} instance(s)", origin, unit_, before, current_);
  return {ActuationStatus::kApplied, current_,
          origin + std::to_string(current_) + " instance(s) of " + unit_ +
              "@.service running (was " + std::to_string(before) + ")"};
}

void SystemdActuator::poll() {
  if (common::steadyMs() - last_refresh_ms_ < kSystemdRefreshMs) return;
  Status status = refresh();
  std::string error = status.ok() ? std::string() : status.error().message;
  if (!error.empty() && error != last_error_) spdlog::warn("{}", error);
  last_error_ = std::move(error);
}

namespace {

Result<std::unique_ptr<Actuator>> buildSystemd(const SystemConfig& system,
                                               const ActuatorContext& /*context*/) {
  const ActuatorConfig& config = system.actuator;
  return std::unique_ptr<Actuator>(std::make_unique<SystemdActuator>(
      system.name, config.unit, config.systemctl, system.max_replicas, config.timeout));
}

// A template's name: replica i runs as <unit>@<i>.service.
common::Finding checkUnit(const std::string& unit, const ActuatorConfig& /*config*/) {
  if (unit.empty() || unit.find('@') != std::string::npos || unit.find('/') != std::string::npos) {
    return common::Problem::required("the template's name without '@' (web for web@.service)");
  }
  return std::nullopt;
}

}  // namespace

void registerSystemdActuator(ActuatorRegistry& registry) {
  using A = ActuatorConfig;
  registry.add(ActuatorKind{
      .name = "systemd",
      .keys = {{"unit", &A::unit, "the template unit's name without \"@\"", &checkUnit},
               {"systemctl", &A::systemctl, "the systemctl program (searched in PATH)",
                common::checks::notEmpty()}},
      .build = &buildSystemd,
  });
}

}  // namespace pso::agent
