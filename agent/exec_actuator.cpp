#include "agent/exec_actuator.h"

#include <spdlog/spdlog.h>

#include <charconv>
#include <utility>

#include "agent/subprocess.h"
#include "common/clock.h"

namespace pso::agent {
namespace {

// How often poll() re-reads the status command: often enough to notice a change
// made outside the agent within one default sample interval.
constexpr int64_t kStatusRefreshMs = 5000;
constexpr std::size_t kMaxStatusOutput = 4096;

std::string_view trim(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\n' || text.front() == '\t' ||
                           text.front() == '\r')) {
    text.remove_prefix(1);
  }
  while (!text.empty() && (text.back() == ' ' || text.back() == '\n' || text.back() == '\t' ||
                           text.back() == '\r')) {
    text.remove_suffix(1);
  }
  return text;
}

}  // namespace

ExecActuator::ExecActuator(std::string system, std::vector<std::string> command,
                           std::vector<std::string> status_command, common::Duration timeout,
                           int64_t initial_replicas, common::MetricsRegistry* metrics)
    : system_(std::move(system)),
      command_(std::move(command)),
      status_command_(std::move(status_command)),
      timeout_(timeout),
      metrics_(metrics),
      current_(initial_replicas) {
  if (metrics_ != nullptr) {
    metrics_->describe("pso_agent_status_command_errors_total", "counter",
                       "Status commands that failed or printed no replica count, by system");
  }
}

Status ExecActuator::start() {
  if (status_command_.empty()) return {};
  return refreshStatus();
}

Status ExecActuator::refreshStatus() {
  last_status_ms_ = common::steadyMs();
  auto fail = [this](std::string message) -> Status {
    if (metrics_ != nullptr) {
      metrics_->increment("pso_agent_status_command_errors_total", {{"system", system_}});
    }
    return makeError("status_command", "system " + system_ + ": status command " + message);
  };
  std::vector<std::string> argv = substituteArgs(status_command_, {{"system", system_}});
  Result<CommandOutcome> outcome = runCommand(argv, timeout_, kMaxStatusOutput);
  if (!outcome) return fail(outcome.error().message);
  if (!outcome->succeeded()) return fail(outcome->describe(timeout_));
  std::string_view text = trim(outcome->output);
  int64_t replicas = -1;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), replicas);
  if (text.empty() || ec != std::errc() || ptr != text.data() + text.size() || replicas < 0) {
    std::string shown(text.substr(0, 80));
    return fail("printed '" + shown + "', expected a replica count");
  }
  current_ = replicas;
  return {};
}

ActuationResult ExecActuator::apply(const protocol::Directive& directive) {
  std::string replicas;
  if (directive.replicas) {
    replicas = std::to_string(*directive.replicas);
  } else if (current_ >= 0) {
    replicas = std::to_string(current_);
  }
  std::string cpu = directive.cpu ? fmt::format("{:g}", *directive.cpu) : std::string();
  std::string memory = directive.memory_bytes ? std::to_string(*directive.memory_bytes) : "";
  std::vector<std::string> argv = substituteArgs(
      command_, {{"replicas", replicas}, {"cpu", cpu}, {"memory", memory}, {"system", system_}});

  Result<CommandOutcome> outcome = runCommand(argv, timeout_);
  if (!outcome) {
    return {ActuationStatus::kFailed, current_,
            "system " + system_ + ": " + outcome.error().message};
  }
  if (!outcome->succeeded()) {
    std::string message = "system " + system_ + ": command " + outcome->describe(timeout_);
    spdlog::warn("{} (directive {})", message, directive.id);
    if (!status_command_.empty()) (void)refreshStatus();
    return {ActuationStatus::kFailed, current_, message};
  }
  if (directive.action == "scale" && directive.replicas) current_ = *directive.replicas;
  if (!status_command_.empty()) {
    if (Status status = refreshStatus(); !status) spdlog::warn("{}", status.error().message);
  }
  spdlog::info("system {}: command applied directive {} in {} ms", system_, directive.id,
               outcome->duration_ms);
  return {ActuationStatus::kApplied, current_,
          "system " + system_ + ": command succeeded in " + std::to_string(outcome->duration_ms) +
              " ms"};
}

void ExecActuator::poll() {
  if (status_command_.empty()) return;
  if (common::steadyMs() - last_status_ms_ < kStatusRefreshMs) return;
  Status status = refreshStatus();
  // A broken status command fails every few seconds: log it when it changes.
  std::string error = status.ok() ? std::string() : status.error().message;
  if (!error.empty() && error != last_status_error_) spdlog::warn("{}", error);
  last_status_error_ = std::move(error);
}

namespace {

Result<std::unique_ptr<Actuator>> buildExec(const SystemConfig& system,
                                            const ActuatorContext& context) {
  const ActuatorConfig& config = system.actuator;
  // Without a status command the count is only known once the agent has
  // applied a scale itself, unless the config states where the system starts.
  const int64_t known = system.initial_replicas >= 0 ? context.initial_replicas : -1;
  return std::unique_ptr<Actuator>(std::make_unique<ExecActuator>(
      system.name, config.command, config.status_command, config.timeout, known, context.metrics));
}

}  // namespace

void registerExecActuator(ActuatorRegistry& registry) {
  using A = ActuatorConfig;
  registry.add(ActuatorKind{
      .name = "exec",
      .keys = {{"command", &A::command,
                "argv run per directive with {replicas}, {cpu}, {memory}, {system}",
                common::checks::required()},
               {"status_command", &A::status_command, "argv printing the current replica count"}},
      .build = &buildExec,
  });
}

}  // namespace pso::agent
