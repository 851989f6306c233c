#include "agent/background_demand_source.h"

#include <algorithm>
#include <utility>

#include "common/clock.h"

namespace pso::agent {

BackgroundDemandSource::BackgroundDemandSource(std::unique_ptr<DemandSource> source,
                                               int64_t interval_ms, int64_t timeout_ms)
    : source_(std::move(source)),
      kind_(source_->kind()),
      interval_ms_(std::max<int64_t>(1, interval_ms)),
      stale_after_ms_(2 * std::max<int64_t>(1, interval_ms) + std::max<int64_t>(0, timeout_ms)) {}

BackgroundDemandSource::~BackgroundDemandSource() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (worker_.joinable()) worker_.join();
}

uint64_t BackgroundDemandSource::completedReads() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return completed_;
}

bool BackgroundDemandSource::freshLocked(int64_t now_steady_ms) const {
  return have_outcome_ && now_steady_ms - latest_steady_ms_ <= stale_after_ms_;
}

Result<double> BackgroundDemandSource::read(int64_t /*now_ms*/) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (!started_) {
    // Started by the first read rather than at construction, so building an
    // agent (or checking its configuration) runs no command and scrapes nothing.
    started_ = true;
    worker_ = std::thread([this] { run(); });
  }
  const int64_t now = common::steadyMs();
  if (freshLocked(now)) return latest_;
  if (!have_outcome_) {
    return makeError("pending", std::string(kind_) + " source: no value yet (its first read is " +
                                    "still running)");
  }
  std::string message = std::string(kind_) + " source: stale: last value is " +
                        std::to_string((now - latest_steady_ms_) / 1000) + " s old";
  if (reading_since_ms_ >= 0) {
    message += " (the read in progress has run " +
               std::to_string((now - reading_since_ms_) / 1000) + " s)";
  }
  return makeError("stale", message);
}

void BackgroundDemandSource::appendMetrics(std::vector<SamplePoint>& out) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (!freshLocked(common::steadyMs())) return;
  out.insert(out.end(), latest_series_.begin(), latest_series_.end());
}

void BackgroundDemandSource::run() {
  std::unique_lock<std::mutex> lock(mutex_);
  int64_t next = common::steadyMs();
  while (!stopping_) {
    const int64_t now = common::steadyMs();
    if (now < next) {
      wake_.wait_for(lock, std::chrono::milliseconds(next - now));
      continue;
    }
    reading_since_ms_ = now;
    lock.unlock();
    // The wrapped source is only ever touched here, without the lock, so a
    // slow read never holds up read() on the agent's loop.
    Result<double> outcome = source_->read(common::wallMs());
    scratch_.clear();
    source_->appendMetrics(scratch_);
    const int64_t done = common::steadyMs();
    lock.lock();
    latest_ = std::move(outcome);
    latest_series_.swap(scratch_);
    latest_steady_ms_ = done;
    have_outcome_ = true;
    reading_since_ms_ = -1;
    ++completed_;
    // A read longer than the interval is followed at once by the next one:
    // never more than one in flight, never a backlog.
    next = std::max(now + interval_ms_, done);
  }
}

}  // namespace pso::agent
