#include "agent/health_monitor.h"

#include <fcntl.h>
#include <unistd.h>

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "common/clock.h"

namespace pso::agent {

HealthMonitor::HealthMonitor(common::MetricsRegistry* metrics) : metrics_(metrics) {
  if (::pipe2(wake_, O_NONBLOCK | O_CLOEXEC) != 0) wake_[0] = wake_[1] = -1;
  if (metrics_ != nullptr) {
    metrics_->describe("pso_agent_health_probes_total", "counter",
                       "Health probes run, by system and result (ok, fail)");
    metrics_->describe("pso_agent_health_results_dropped_total", "counter",
                       "Health results dropped because nobody took them in time");
    metrics_->describe("pso_agent_health_check_ok", "gauge",
                       "State of each health check: 1 ok, 0 failing (absent until probed)");
  }
}

HealthMonitor::~HealthMonitor() {
  stop();
  for (int fd : wake_) {
    if (fd >= 0) ::close(fd);
  }
}

Result<std::unique_ptr<HealthMonitor>> HealthMonitor::create(
    const std::vector<SystemConfig>& systems, common::MetricsRegistry* metrics) {
  std::unique_ptr<HealthMonitor> monitor(new HealthMonitor(metrics));
  if (monitor->wake_[0] < 0) {
    return makeError("io", std::string("health monitor: cannot create its wake-up pipe: ") +
                               std::strerror(errno));
  }
  const auto now = Clock::now();
  for (const SystemConfig& system : systems) {
    for (const HealthCheckConfig& config : system.health) {
      Result<std::unique_ptr<HealthCheck>> check = makeHealthCheck(config);
      if (!check) {
        return makeError(check.error().code,
                         "system " + system.name + ": " + check.error().message);
      }
      Entry entry;
      entry.system = system.name;
      entry.config = config;
      entry.check = std::move(check).value();
      entry.next_due = now;
      entry.state.system = system.name;
      entry.state.check = entry.check->name();
      entry.state.status = "unknown";
      monitor->entries_.push_back(std::move(entry));
    }
  }
  return monitor;
}

Status HealthMonitor::start() {
  if (entries_.empty() || thread_.joinable()) return {};
  {
    std::lock_guard lock(mutex_);
    stopping_ = false;
  }
  try {
    thread_ = std::thread([this] { loop(); });
  } catch (const std::system_error& error) {
    return makeError("io", std::string("health monitor: cannot start its thread: ") + error.what());
  }
  return {};
}

void HealthMonitor::stop() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_thread_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void HealthMonitor::loop() {
  std::unique_lock lock(mutex_);
  while (!stopping_) {
    auto due =
        std::min_element(entries_.begin(), entries_.end(),
                         [](const Entry& a, const Entry& b) { return a.next_due < b.next_due; });
    if (Clock::now() < due->next_due) {
      wake_thread_.wait_until(lock, due->next_due);
      continue;
    }
    Entry& entry = *due;
    const auto started = Clock::now();
    // The probe runs unlocked: readers of the states never wait for a timeout.
    lock.unlock();
    ProbeResult probe = entry.check->probe();
    lock.lock();
    record(entry, probe);
    // Scheduled from the start of the probe, so a check's rhythm does not
    // drift by its own latency; a probe that overran starts the next at once.
    entry.next_due = std::max(started + entry.config.interval, Clock::now());
  }
}

void HealthMonitor::record(Entry& entry, const ProbeResult& probe) {
  protocol::HealthCheckResult& state = entry.state;
  const std::string previous = state.status;
  if (probe.ok) {
    entry.consecutive_failures = 0;
    state.status = "ok";
    state.error.clear();
  } else {
    ++entry.consecutive_failures;
    if (entry.consecutive_failures >= entry.config.failure_threshold) state.status = "failing";
    state.error = probe.error;
  }
  state.latency_ms = probe.latency_ms;
  state.ts_ms = common::wallMs();
  if (state.status != previous) {
    if (state.status == "failing") {
      spdlog::warn("system {}: health check {} is failing: {}", entry.system, state.check,
                   state.error);
    } else {
      spdlog::info("system {}: health check {} is {}", entry.system, state.check, state.status);
    }
  }
  if (metrics_ != nullptr) {
    metrics_->increment("pso_agent_health_probes_total",
                        {{"system", entry.system}, {"result", probe.ok ? "ok" : "fail"}});
    // A failure below the threshold keeps the state, so this follows the state.
    if (state.status == "ok" || state.status == "failing") {
      metrics_->set("pso_agent_health_check_ok", {{"system", entry.system}, {"check", state.check}},
                    state.status == "ok" ? 1.0 : 0.0);
    }
  }
  if (queued_.size() >= kMaxQueued) {
    queued_.erase(queued_.begin());
    ++dropped_;
    if (metrics_ != nullptr) metrics_->increment("pso_agent_health_results_dropped_total");
  }
  queued_.push_back(state);
  char byte = 1;
  ssize_t ignored = ::write(wake_[1], &byte, 1);  // a full pipe already says "results waiting"
  (void)ignored;
}

void HealthMonitor::takeResults(std::vector<protocol::HealthCheckResult>& out) {
  char drain[64];
  while (::read(wake_[0], drain, sizeof drain) > 0) {
  }
  std::lock_guard lock(mutex_);
  for (protocol::HealthCheckResult& result : queued_) out.push_back(std::move(result));
  queued_.clear();
}

std::vector<protocol::HealthCheckResult> HealthMonitor::snapshot() const {
  std::lock_guard lock(mutex_);
  std::vector<protocol::HealthCheckResult> states;
  states.reserve(entries_.size());
  for (const Entry& entry : entries_) states.push_back(entry.state);
  return states;
}

std::optional<double> HealthMonitor::score(const std::string& system) const {
  std::lock_guard lock(mutex_);
  std::size_t total = 0;
  std::size_t ok = 0;
  for (const Entry& entry : entries_) {
    if (entry.system != system) continue;
    if (entry.state.status == "unknown") return std::nullopt;
    ++total;
    ok += entry.state.status == "ok" ? 1 : 0;
  }
  if (total == 0) return std::nullopt;
  return 100.0 * static_cast<double>(ok) / static_cast<double>(total);
}

uint64_t HealthMonitor::droppedResults() const {
  std::lock_guard lock(mutex_);
  return dropped_;
}

}  // namespace pso::agent
