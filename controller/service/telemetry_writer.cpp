#include "controller/service/telemetry_writer.h"

#include "common/clock.h"
#include "common/threads.h"
#include "controller/service/store_errors.h"

#include <spdlog/spdlog.h>

#include <utility>

namespace pso::controller::service {
namespace {

// A store call slower than this is logged with its size: the acks of every
// batch in it, and of all that queued behind it, waited that long.
constexpr int64_t kSlowTransactionMs = 1000;

}  // namespace

std::size_t batchSamples(const protocol::TelemetryBatch& batch) {
  return batch.timestamps_ms.size() * batch.series.size();
}

TelemetryWriter::TelemetryWriter(store::TelemetryStore& store, common::MetricsRegistry& metrics,
                                 TelemetryWriterLimits limits, std::function<void()> on_written,
                                 std::function<int64_t()> now_ms)
    : store_(store),
      metrics_(metrics),
      limits_(limits),
      on_written_(std::move(on_written)),
      now_ms_(std::move(now_ms)) {
  metrics_.describe("pso_telemetry_queued_samples", "gauge",
                    "Telemetry samples received and waiting for the store");
  metrics_.describeHistogram(
      "pso_telemetry_transaction_duration_seconds",
      "Durations of the writer's store calls (one transaction each), waiting for the store "
      "included",
      {0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10});
}

TelemetryWriter::~TelemetryWriter() {
  stop();
}

void TelemetryWriter::setForwarder(std::function<void(std::vector<store::StoredSeries>)> forward) {
  forward_ = std::move(forward);
}

void TelemetryWriter::start() {
  std::lock_guard lock(mutex_);
  if (thread_.joinable()) return;
  stopping_ = false;
  running_ = true;
  thread_ = std::thread([this] {
    common::nameThisThread("pso-writer");
    run();
  });
}

void TelemetryWriter::stop() {
  {
    std::lock_guard lock(mutex_);
    if (!thread_.joinable()) return;
    stopping_ = true;
  }
  work_.notify_all();
  thread_.join();
}

void TelemetryWriter::push(protocol::TelemetryBatch batch) {
  std::size_t queued = 0;
  {
    std::lock_guard lock(mutex_);
    queued_samples_ += batchSamples(batch);
    ++in_flight_[batch.agent_id];
    queued_.push_back(std::move(batch));
    queued = queued_samples_;
  }
  work_.notify_one();
  metrics_.set("pso_telemetry_queued_samples", {}, static_cast<double>(queued));
}

bool TelemetryWriter::full() const {
  std::lock_guard lock(mutex_);
  return queued_samples_ >= limits_.max_queued_samples;
}

std::vector<TelemetryWriter::Written> TelemetryWriter::takeWritten() {
  std::lock_guard lock(mutex_);
  std::vector<Written> out;
  out.swap(written_);
  return out;
}

void TelemetryWriter::awaitAgent(const std::string& agent_id) {
  std::unique_lock lock(mutex_);
  progress_.wait(lock, [&] { return !in_flight_.contains(agent_id) || !running_; });
}

void TelemetryWriter::run() {
  std::unique_lock lock(mutex_);
  for (;;) {
    work_.wait(lock, [&] { return stopping_ || !queued_.empty(); });
    if (queued_.empty()) break;  // stopping, and everything is written

    // Everything that waits, up to the transaction's bound; a batch larger
    // than the bound goes alone.
    std::vector<protocol::TelemetryBatch> group;
    std::size_t samples = 0;
    while (!queued_.empty()) {
      const std::size_t next = batchSamples(queued_.front());
      if (!group.empty() && samples + next > limits_.max_samples_per_transaction) break;
      samples += next;
      group.push_back(std::move(queued_.front()));
      queued_.pop_front();
    }
    queued_samples_ -= samples;
    const std::size_t queued = queued_samples_;
    lock.unlock();

    metrics_.set("pso_telemetry_queued_samples", {}, static_cast<double>(queued));
    std::vector<Written> done = write(std::move(group));

    lock.lock();
    for (auto& item : done) {
      auto agent = in_flight_.find(item.batch.agent_id);
      if (agent != in_flight_.end() && --agent->second == 0) in_flight_.erase(agent);
      written_.push_back(std::move(item));
    }
    progress_.notify_all();
    lock.unlock();
    on_written_();
    lock.lock();
  }
  running_ = false;
  progress_.notify_all();
}

std::vector<TelemetryWriter::Written> TelemetryWriter::write(
    std::vector<protocol::TelemetryBatch> group) {
  std::vector<Written> done;
  done.reserve(group.size());
  const int64_t now = now_ms_();
  auto failed = [&](const Error& error) { reportStoreError(metrics_, "ingest_telemetry", error); };

  std::vector<store::StoredSeries> stored;
  std::vector<store::StoredSeries>* report = forward_ ? &stored : nullptr;
  auto ingest = [&](const std::vector<protocol::TelemetryBatch>& batches) {
    const int64_t started = common::steadyMs();
    auto result = store_.ingestTelemetry(batches, now, report);
    const int64_t took = common::steadyMs() - started;
    metrics_.observe("pso_telemetry_transaction_duration_seconds", {},
                     static_cast<double>(took) / 1000.0);
    if (took >= kSlowTransactionMs) {
      std::size_t samples = 0;
      for (const auto& batch : batches) samples += batchSamples(batch);
      spdlog::warn("telemetry: a store transaction of {} batches ({} samples) took {} ms",
                   batches.size(), samples, took);
    }
    return result;
  };
  auto outcomes = ingest(group);
  if (outcomes) {
    metrics_.increment("pso_telemetry_transactions_total");
    for (std::size_t i = 0; i < group.size(); ++i) {
      std::optional<store::IngestOutcome> outcome;
      if (i < outcomes->size()) outcome = (*outcomes)[i];
      done.push_back({std::move(group[i]), outcome});
    }
    if (forward_ && !stored.empty()) forward_(std::move(stored));
    return done;
  }
  failed(outcomes.error());
  if (group.size() == 1) {
    done.push_back({std::move(group.front()), std::nullopt});
    return done;
  }
  for (auto& batch : group) {
    std::vector<protocol::TelemetryBatch> one{std::move(batch)};
    auto single = ingest(one);
    if (!single || single->empty()) {
      if (!single) failed(single.error());
      done.push_back({std::move(one.front()), std::nullopt});
      continue;
    }
    metrics_.increment("pso_telemetry_transactions_total");
    done.push_back({std::move(one.front()), single->front()});
  }
  if (forward_ && !stored.empty()) forward_(std::move(stored));
  return done;
}

}  // namespace pso::controller::service
