#include "controller/service/leadership.h"

#include <spdlog/spdlog.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cstdio>
#include <random>
#include <utility>

#include "common/clock.h"
#include "common/threads.h"

namespace pso::controller::service {
namespace {

constexpr int64_t kRoleCheckMs = 50;
constexpr int64_t kMinTtlMs = 600;

int64_t renewEveryMs(int64_t ttl_ms) {
  return ttl_ms / 3;
}

int64_t standbyPollMs(int64_t ttl_ms) {
  return std::min<int64_t>(ttl_ms / 6, 1000);
}

// The part of the term given up for safety: the term by this controller's
// steady clock ends this much before the database's.
int64_t termMarginMs(int64_t ttl_ms) {
  return ttl_ms / 6;
}

}  // namespace

Leadership::Leadership(std::unique_ptr<store::LeaderLease> lease, LeadershipSettings settings,
                       common::MetricsRegistry& metrics)
    : lease_(std::move(lease)), settings_(std::move(settings)), metrics_(metrics) {
  metrics_.describe(
      "pso_controller_leader", "gauge",
      "1 while this controller holds the leader lease and acts, 0 while it stands by");
  metrics_.describe("pso_controller_lease_calls_total", "counter",
                    "Calls taking or renewing the leader lease, by outcome (held, standby, lost, "
                    "error)");
  metrics_.set("pso_controller_leader", {}, 0);
}

Leadership::~Leadership() {
  stop();
}

std::string Leadership::uniqueHolder(const std::string& controller_id) {
  std::array<char, 256> host{};
  if (::gethostname(host.data(), host.size() - 1) != 0) host[0] = '\0';
  std::random_device random;
  char suffix[9];
  std::snprintf(suffix, sizeof suffix, "%08x", static_cast<unsigned>(random()));
  return controller_id + "@" + host.data() + "/" + std::to_string(::getpid()) + "/" + suffix;
}

Status Leadership::start(Activate activate, Fence fence) {
  if (settings_.ttl_ms < kMinTtlMs) {
    return makeError("config", "lease_ttl: must be at least " + std::to_string(kMinTtlMs) + "ms");
  }
  activate_ = std::move(activate);
  fence_ = std::move(fence);
  callLease();
  if (common::steadyMs() < term_end_ms_.load()) {
    if (auto status = activate_(); !status) {
      (void)lease_->release(settings_.holder);
      term_end_ms_ = 0;
      return status;
    }
    active_ = true;
    metrics_.set("pso_controller_leader", {}, 1);
    spdlog::info("leadership: {} holds the leader lease and acts", settings_.holder);
  }
  lease_thread_ = std::thread([this] {
    common::nameThisThread("pso-lease");
    leaseLoop();
  });
  role_thread_ = std::thread([this] {
    common::nameThisThread("pso-role");
    roleLoop();
  });
  return {};
}

void Leadership::stop() {
  {
    std::lock_guard lock(mutex_);
    if (stopping_) return;
    stopping_ = true;
  }
  wake_.notify_all();
  if (role_thread_.joinable()) role_thread_.join();
  if (lease_thread_.joinable()) lease_thread_.join();
  if (active_.exchange(false)) {
    fence_("this controller is stopping");
    metrics_.set("pso_controller_leader", {}, 0);
  }
  // Given up after the parts stopped, so the standby that takes it over finds
  // everything this controller acknowledged in the database.
  if (term_end_ms_.exchange(0) != 0) {
    if (auto status = lease_->release(settings_.holder); !status) {
      spdlog::warn(
          "leadership: cannot give the lease up ({}); a standby takes over when it expires",
          status.error().message);
    } else {
      spdlog::info("leadership: gave the leader lease up");
    }
  }
}

std::string Leadership::observedHolder() const {
  std::lock_guard lock(mutex_);
  return observed_holder_;
}

bool Leadership::waitFor(int64_t ms) {
  std::unique_lock lock(mutex_);
  wake_.wait_for(lock, std::chrono::milliseconds(ms), [this] { return stopping_; });
  return stopping_;
}

void Leadership::leaseLoop() {
  for (;;) {
    const bool holding = common::steadyMs() < term_end_ms_.load();
    const int64_t period =
        holding ? renewEveryMs(settings_.ttl_ms) : standbyPollMs(settings_.ttl_ms);
    if (waitFor(period)) return;
    callLease();
  }
}

void Leadership::callLease() {
  const int64_t sent = common::steadyMs();
  if (release_wanted_.exchange(false)) {
    term_end_ms_ = 0;
    (void)lease_->release(settings_.holder);
    return;
  }
  if (sent < back_off_until_ms_.load()) return;
  const bool holding = sent < term_end_ms_.load();
  Result<store::LeaseState> state = holding ? lease_->renew(settings_.holder, settings_.ttl_ms)
                                            : lease_->acquire(settings_.holder, settings_.ttl_ms);
  if (!state) {
    if (state.error().code == "lost") {
      term_end_ms_ = 0;
      metrics_.increment("pso_controller_lease_calls_total", {{"outcome", "lost"}});
      spdlog::error("leadership: lost the leader lease: {}", state.error().message);
    } else {
      // The term runs out by itself if this goes on; the role thread fences.
      metrics_.increment("pso_controller_lease_calls_total", {{"outcome", "error"}});
      spdlog::warn("leadership: cannot {} the leader lease: {}", holding ? "renew" : "take",
                   state.error().message);
    }
    return;
  }
  const bool held = state->heldBy(settings_.holder);
  if (held) term_end_ms_ = sent + settings_.ttl_ms - termMarginMs(settings_.ttl_ms);
  metrics_.increment("pso_controller_lease_calls_total", {{"outcome", held ? "held" : "standby"}});
  const std::string holder = state->now_ms < state->expires_ms ? state->holder : std::string();
  std::lock_guard lock(mutex_);
  observed_holder_ = holder;
  if (!held && holder != last_logged_holder_) {
    if (holder.empty()) {
      spdlog::info("leadership: the leader lease is free");
    } else {
      spdlog::info("leadership: standing by; the leader lease is held by '{}'", holder);
    }
    last_logged_holder_ = holder;
  } else if (held) {
    last_logged_holder_ = holder;
  }
}

void Leadership::roleLoop() {
  while (!waitFor(kRoleCheckMs)) {
    const int64_t now = common::steadyMs();
    const int64_t term_end = term_end_ms_.load();
    const bool in_term = now < term_end;
    if (in_term && !active_.load() && now >= back_off_until_ms_.load()) {
      becomeActive();
    } else if (!in_term && active_.load()) {
      fence(term_end == 0 ? "the leader lease was lost"
                          : "the leader lease could not be renewed within its term");
    }
  }
}

void Leadership::becomeActive() {
  spdlog::info("leadership: {} took the leader lease; starting to act", settings_.holder);
  if (auto status = activate_(); !status) {
    spdlog::error("leadership: cannot act ({}); giving the lease up for {} ms",
                  status.error().message, settings_.ttl_ms);
    back_off_until_ms_ = common::steadyMs() + settings_.ttl_ms;
    release_wanted_ = true;
    return;
  }
  active_ = true;
  metrics_.set("pso_controller_leader", {}, 1);
}

void Leadership::fence(const std::string& reason) {
  spdlog::error("leadership: {}: stopping to act and standing by", reason);
  fence_(reason);
  active_ = false;
  metrics_.set("pso_controller_leader", {}, 0);
}

}  // namespace pso::controller::service
