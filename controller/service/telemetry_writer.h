#pragma once

// Telemetry storage off the ingest loop's thread: the loop decodes and
// validates, this writer commits, and the loop acks what was committed.

#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "common/metrics.h"
#include "controller/store/telemetry_store.h"
#include "protocol/messages.h"

namespace pso::controller::service {

struct TelemetryWriterLimits {
  /// Most samples written in one store transaction. The writer takes whatever
  /// waits when it is free, so a transaction grows with the load (one batch
  /// when the fleet is quiet, this many when it keeps up with a flood).
  std::size_t max_samples_per_transaction = 20000;
  /// Samples waiting for the writer beyond which full() asks the loop to stop
  /// reading the socket: agents' batches then wait in ZeroMQ's queues and in
  /// the agents' spools, not in the controller's memory.
  std::size_t max_queued_samples = 200000;
};

/// Writes agents' telemetry batches to the store on its own thread, so the
/// ingest loop goes on reading the socket (hellos, heartbeats, results) while a
/// transaction commits. Batches are written in the order they were pushed.
/// Thread-safe; push(), full(), takeWritten() and awaitAgent() are meant for
/// the ingest loop's thread.
class TelemetryWriter {
 public:
  /// A batch and what the store made of it. No outcome when the store failed
  /// (counted and logged): the batch is not acked, so its agent sends it again.
  struct Written {
    protocol::TelemetryBatch batch;
    std::optional<store::IngestOutcome> outcome;
  };

  /// `on_written` is called on the writer's thread after each transaction, to
  /// wake the loop that takes the outcomes; `now_ms` is the clock samples'
  /// time windows are checked against.
  TelemetryWriter(store::TelemetryStore& store, common::MetricsRegistry& metrics,
                  TelemetryWriterLimits limits, std::function<void()> on_written,
                  std::function<int64_t()> now_ms);
  ~TelemetryWriter();
  TelemetryWriter(const TelemetryWriter&) = delete;
  TelemetryWriter& operator=(const TelemetryWriter&) = delete;

  /// Hands what each successful transaction wrote to `forward` (on the
  /// writer's thread, after the commit), e.g. to a RemoteWriter. Called
  /// before start().
  void setForwarder(std::function<void(std::vector<store::StoredSeries>)> forward);

  void start();
  /// Writes every batch pushed so far, then stops the thread. Idempotent.
  void stop();

  /// Queues a batch for writing; never blocks.
  void push(protocol::TelemetryBatch batch);
  /// Whether the queued samples reached max_queued_samples.
  bool full() const;
  /// The batches written since the last call, in the order they were pushed.
  std::vector<Written> takeWritten();
  /// Blocks until no batch of the agent waits or is being written, so what
  /// the store holds for it is final (a welcome names its stored position).
  /// Returns at once while the thread is not running.
  void awaitAgent(const std::string& agent_id);

 private:
  void run();
  /// Writes one group: in one transaction, or batch by batch when that fails,
  /// so one bad batch does not hold back the others.
  std::vector<Written> write(std::vector<protocol::TelemetryBatch> group);

  store::TelemetryStore& store_;
  common::MetricsRegistry& metrics_;
  const TelemetryWriterLimits limits_;
  const std::function<void()> on_written_;
  const std::function<int64_t()> now_ms_;
  std::function<void(std::vector<store::StoredSeries>)> forward_;

  mutable std::mutex mutex_;
  std::condition_variable work_;      // something queued, or stopping
  std::condition_variable progress_;  // a group written
  std::deque<protocol::TelemetryBatch> queued_;
  std::size_t queued_samples_ = 0;
  /// Batches per agent queued or being written.
  std::map<std::string, std::size_t> in_flight_;
  std::vector<Written> written_;
  bool stopping_ = false;
  bool running_ = false;  // the thread takes work
  std::thread thread_;
};

/// Samples a batch carries (timestamps x series), what it costs to write.
std::size_t batchSamples(const protocol::TelemetryBatch& batch);

}  // namespace pso::controller::service
