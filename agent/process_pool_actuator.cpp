#include "agent/process_pool_actuator.h"

#include <signal.h>
#include <sys/wait.h>

#include <algorithm>
#include <cerrno>
#include <thread>
#include <utility>

#include <spdlog/spdlog.h>

#include "agent/subprocess.h"
#include "common/clock.h"

namespace pso::agent {
namespace {

// A worker that ran at least this long before dying is not crash-looping, so
// its restart backoff starts over.
constexpr int64_t kStableRunMs = 10000;
constexpr int64_t kFirstBackoffMs = 500;
constexpr int64_t kMaxBackoffMs = 30000;
// How long stop() waits past the grace period for killed workers to be reaped
// (a process in uninterruptible sleep cannot be), so shutdown cannot hang.
constexpr int64_t kReapAfterKillMs = 5000;

std::string describeExit(int status) {
  if (WIFEXITED(status)) return "exit " + std::to_string(WEXITSTATUS(status));
  if (WIFSIGNALED(status)) return "signal " + std::to_string(WTERMSIG(status));
  return "status " + std::to_string(status);
}

// True when `pid` has exited and is now reaped; `status` receives its wait status.
bool reaped(pid_t pid, int& status) {
  pid_t result;
  do {
    result = ::waitpid(pid, &status, WNOHANG);
  } while (result < 0 && errno == EINTR);
  // ECHILD: someone else reaped it; either way it is gone.
  return result == pid || (result < 0 && errno == ECHILD);
}

}  // namespace

ProcessPoolActuator::ProcessPoolActuator(std::string system, std::vector<std::string> command,
                                         common::Duration stop_grace, int64_t initial_replicas,
                                         common::MetricsRegistry* metrics)
    : system_(std::move(system)),
      command_(std::move(command)),
      stop_grace_(stop_grace),
      initial_replicas_(initial_replicas),
      metrics_(metrics) {
  if (metrics_ != nullptr) {
    metrics_->describe("pso_agent_worker_restarts_total", "counter",
                       "Workers restarted after exiting unexpectedly, by system");
  }
}

ProcessPoolActuator::~ProcessPoolActuator() {
  stop();
}

Status ProcessPoolActuator::start() {
  desired_ = std::max<int64_t>(0, initial_replicas_);
  Status status = reconcile();
  if (!status) {
    desired_ = 0;
    stop();
  }
  return status;
}

int64_t ProcessPoolActuator::currentReplicas() const {
  return std::count_if(slots_.begin(), slots_.end(), [](const Slot& s) { return s.pid > 0; });
}

ActuationResult ProcessPoolActuator::apply(const protocol::Directive& directive) {
  if (directive.action != "scale") {
    return {ActuationStatus::kRefused, currentReplicas(),
            "process-pool cannot apply '" + directive.action + "' directives, only scale"};
  }
  if (!directive.replicas || *directive.replicas < 0) {
    return {ActuationStatus::kRefused, currentReplicas(),
            "scale directive without a replica count"};
  }
  const int64_t before = desired_;
  desired_ = *directive.replicas;
  if (Status status = reconcile(); !status) {
    // Report a failure as no change: the workers this directive started go again.
    desired_ = before;
    (void)reconcile();
    return {ActuationStatus::kFailed, currentReplicas(), status.error().message};
  }
  spdlog::info("system {}: scaled from {} to {} workers (directive {})", system_, before, desired_,
               directive.id);
  return {ActuationStatus::kApplied, currentReplicas(),
          "scaled " + system_ + " from " + std::to_string(before) + " to " +
              std::to_string(desired_) + " workers"};
}

void ProcessPoolActuator::poll() {
  reap();
  (void)reconcile();
}

void ProcessPoolActuator::stop() {
  desired_ = 0;
  (void)reconcile();
  const int64_t give_up = common::steadyMs() + stop_grace_.count() + kReapAfterKillMs;
  while (true) {
    reap();
    if (stopping_.empty()) break;
    if (common::steadyMs() >= give_up) {
      for (const StoppingWorker& worker : stopping_) {
        spdlog::error("system {}: worker {} (pid {}) did not exit after SIGKILL", system_,
                      worker.index, worker.pid);
      }
      stopping_.clear();
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  slots_.clear();
}

std::vector<pid_t> ProcessPoolActuator::workerPids() const {
  std::vector<pid_t> pids;
  for (const Slot& slot : slots_) pids.push_back(slot.pid);
  return pids;
}

std::vector<pid_t> ProcessPoolActuator::stoppingPids() const {
  std::vector<pid_t> pids;
  for (const StoppingWorker& worker : stopping_) pids.push_back(worker.pid);
  return pids;
}

Status ProcessPoolActuator::reconcile() {
  const int64_t now = common::steadyMs();
  const std::size_t desired = static_cast<std::size_t>(std::max<int64_t>(0, desired_));
  for (std::size_t i = desired; i < slots_.size(); ++i) {
    if (slots_[i].pid <= 0) continue;
    signalProcessGroup(slots_[i].pid, SIGTERM);
    stopping_.push_back(StoppingWorker{slots_[i].pid, i, now, false});
    spdlog::info("system {}: stopping worker {} (pid {})", system_, i, slots_[i].pid);
  }
  if (slots_.size() > desired) slots_.resize(desired);
  if (slots_.size() < desired) slots_.resize(desired);

  Status first_error;
  for (std::size_t i = 0; i < desired; ++i) {
    Slot& slot = slots_[i];
    if (slot.pid > 0 || slot.restart_at_ms > now) continue;
    bool previous_still_running =
        std::any_of(stopping_.begin(), stopping_.end(),
                    [i](const StoppingWorker& worker) { return worker.index == i; });
    if (previous_still_running) continue;
    if (Status status = startWorker(i, now); !status.ok() && first_error.ok()) {
      first_error = status;
    }
  }
  return first_error;
}

Status ProcessPoolActuator::startWorker(std::size_t index, int64_t now_ms) {
  Slot& slot = slots_[index];
  std::vector<std::string> argv =
      substituteArgs(command_, {{"index", std::to_string(index)}, {"system", system_}});
  Result<pid_t> pid = spawnProcess(argv);
  if (!pid) {
    ++slot.consecutive_failures;
    slot.restart_at_ms = now_ms + std::min(kMaxBackoffMs, kFirstBackoffMs << std::min(
                                                              slot.consecutive_failures - 1, 10));
    std::string message = "system " + system_ + ": cannot start worker " + std::to_string(index) +
                          ": " + pid.error().message;
    spdlog::warn("{}", message);
    return makeError("spawn", message);
  }
  slot.pid = *pid;
  slot.started_ms = now_ms;
  if (slot.died) {
    slot.died = false;
    ++restarts_;
    if (metrics_ != nullptr) {
      metrics_->increment("pso_agent_worker_restarts_total", {{"system", system_}});
    }
    spdlog::info("system {}: restarted worker {} as pid {}", system_, index, *pid);
  } else {
    spdlog::info("system {}: started worker {} as pid {}", system_, index, *pid);
  }
  return {};
}

void ProcessPoolActuator::reap() {
  const int64_t now = common::steadyMs();
  for (std::size_t i = 0; i < slots_.size(); ++i) {
    Slot& slot = slots_[i];
    int status = 0;
    if (slot.pid <= 0 || !reaped(slot.pid, status)) continue;
    int64_t lived = now - slot.started_ms;
    if (lived >= kStableRunMs) slot.consecutive_failures = 0;
    ++slot.consecutive_failures;
    // First death restarts at once; repeated quick deaths back off exponentially.
    int64_t delay = slot.consecutive_failures <= 1
                        ? 0
                        : std::min(kMaxBackoffMs,
                                   kFirstBackoffMs << std::min(slot.consecutive_failures - 2, 10));
    spdlog::warn(
        "system {}: worker {} (pid {}) exited unexpectedly ({}) after {} ms; "
        "restarting in {} ms",
        system_, i, slot.pid, describeExit(status), lived, delay);
    slot.pid = 0;
    slot.died = true;
    slot.restart_at_ms = now + delay;
  }
  for (auto it = stopping_.begin(); it != stopping_.end();) {
    int status = 0;
    if (reaped(it->pid, status)) {
      spdlog::info("system {}: worker {} (pid {}) stopped ({})", system_, it->index, it->pid,
                   describeExit(status));
      it = stopping_.erase(it);
      continue;
    }
    if (!it->killed && now - it->term_sent_ms >= stop_grace_.count()) {
      spdlog::warn("system {}: worker {} (pid {}) still running {} after SIGTERM; sending SIGKILL",
                   system_, it->index, it->pid, common::formatDuration(stop_grace_));
      signalProcessGroup(it->pid, SIGKILL);
      it->killed = true;
    }
    ++it;
  }
}

namespace {

Result<std::unique_ptr<Actuator>> buildProcessPool(const SystemConfig& system,
                                                   const ActuatorContext& context) {
  return std::unique_ptr<Actuator>(std::make_unique<ProcessPoolActuator>(
      system.name, system.actuator.command, system.actuator.stop_grace, context.initial_replicas,
      context.metrics));
}

}  // namespace

void registerProcessPoolActuator(ActuatorRegistry& registry) {
  using A = ActuatorConfig;
  registry.add(ActuatorKind{
      .name = "process-pool",
      .keys = {{"command", &A::command, "one worker's argv; {index} becomes the worker's index",
                common::checks::required()},
               {"stop_grace", &A::stop_grace, "SIGTERM, then SIGKILL this long after"}},
      .build = &buildProcessPool,
  });
}

}  // namespace pso::agent
