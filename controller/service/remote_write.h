#pragma once

// Forwarding of the telemetry the store wrote to a Prometheus remote_write
// receiver (Prometheus with --web.enable-remote-write-receiver,
// VictoriaMetrics, Mimir, Thanos Receive), for long-term storage and the
// user's own dashboards: remote write 1.0, a protobuf WriteRequest compressed
// with snappy in an HTTP POST (docs/operations.md "Remote write").

#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "common/metrics.h"
#include "controller/store/telemetry_store.h"

namespace pso::controller::service {

/// One series of a WriteRequest: its labels sorted by name, its samples in
/// time order.
struct RemoteSeries {
  std::vector<std::pair<std::string, std::string>> labels;
  std::vector<store::Sample> samples;
};

/// The labels a stored series is written with: __name__ "pso_" plus the
/// metric with every character outside [a-zA-Z0-9_:] as '_' ("cpu.usage" ->
/// pso_cpu_usage), job "pso", agent, and system (absent for an agent's host
/// series); sorted by name, as remote write requires.
std::vector<std::pair<std::string, std::string>> remoteLabels(const store::StoredSeries& series);

/// The protobuf encoding of prometheus.WriteRequest (remote.proto) holding
/// these series: not compressed.
std::string encodeWriteRequest(const std::vector<RemoteSeries>& series);

struct RemoteWriteSettings {
  std::string url;           ///< the receiver's write endpoint, http or https
  std::string bearer_token;  ///< sent as "Authorization: Bearer ..." when not empty
  int64_t timeout_ms = 10000;
  /// Most samples in one request.
  std::size_t max_samples_per_send = 2000;
  /// Samples waiting beyond this: the oldest are dropped and counted, so a
  /// receiver that is down for long never takes the controller's memory.
  std::size_t max_queued_samples = 200000;
  int64_t first_backoff_ms = 500;  ///< wait after the first failed attempt
  int64_t max_backoff_ms = 30000;  ///< the wait doubles up to this
};

/// Sends stored telemetry to a remote_write receiver on its own thread, in
/// the order it was stored. A 2xx answer delivers a request; a transfer
/// error, 408, 429 or 5xx is retried with the same request after a backoff
/// (doubling up to max_backoff_ms) while newer samples wait behind it; any
/// other status is a refusal (a receiver that will not take those samples,
/// e.g. out of order): the request is dropped, logged and counted. Counted in
/// pso_remote_write_samples_total{outcome="sent|refused|dropped"} and
/// pso_remote_write_requests_total{outcome="sent|retried|refused"}; the
/// samples waiting are the gauge pso_remote_write_queued_samples.
class RemoteWriter {
 public:
  RemoteWriter(RemoteWriteSettings settings, common::MetricsRegistry& metrics);
  ~RemoteWriter();
  RemoteWriter(const RemoteWriter&) = delete;
  RemoteWriter& operator=(const RemoteWriter&) = delete;

  void start();
  /// Stops the thread after the attempt in progress; what waits is not sent.
  void stop();

  /// Queues what the store wrote; never blocks.
  void enqueue(std::vector<store::StoredSeries> series);

 private:
  void run();
  /// Takes up to max_samples_per_send samples from the queue, merged per
  /// series; empty when nothing waits.
  std::vector<RemoteSeries> takeRequestLocked(std::size_t& samples);
  /// One POST; the outcome "sent", "retry" or "refused".
  const char* post(const std::string& body, std::string& detail);

  const RemoteWriteSettings settings_;
  common::MetricsRegistry& metrics_;

  std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<store::StoredSeries> queue_;
  std::size_t queued_samples_ = 0;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace pso::controller::service
