#pragma once

// The controller's side of the wire: one thread owns the ROUTER socket, stores
// what agents send and sends them welcomes, acks and directives.

#include <cstddef>
#include <memory>
#include <string>

#include "common/config.h"
#include "common/metrics.h"
#include "common/result.h"
#include "controller/store/store.h"

namespace pso::controller::service {

/// Where the cycle loop and the HTTP API hand directives for delivery. The
/// directive is already stored with status "pending"; the dispatcher sends it
/// to its agent and records the status change.
class DirectiveDispatcher {
 public:
  virtual ~DirectiveDispatcher() = default;
  /// Queues a stored directive for sending. Callable from any thread; never
  /// blocks on the network.
  virtual void dispatch(const store::DirectiveRecord& directive) = 0;
};

struct IngestOptions {
  std::string controller_id = "pso-controller";
  std::string bind = "tcp://127.0.0.1:7450";
  common::Duration heartbeat_interval{std::chrono::seconds(5)};
  /// An agent not heard from for this long is marked disconnected.
  common::Duration agent_timeout{std::chrono::seconds(30)};
  /// Most telemetry batches written in one store transaction.
  std::size_t max_batches_per_transaction = 64;
};

/// Owns the ROUTER socket on its own thread (ZeroMQ sockets are not
/// thread-safe). Every incoming frame is decoded and validated; refusals are
/// logged (rate-limited) and counted in pso_rejected_messages_total{reason}.
///
/// - hello: upserts the agent, answers welcome with the agent's stored last_seq,
///   then sends the agent's pending directives.
/// - telemetry: batches available in the socket are written in one store
///   transaction; each agent gets ack(last_seq) only after the commit, also for
///   duplicates and out-of-order batches (which are not stored).
/// - health, result, heartbeat: stored / counted; every message marks the agent
///   as seen. The routing id is the agent id: a message whose agent_id differs
///   is refused with reason "identity".
///
/// Directives handed to dispatch() are sent with ROUTER_MANDATORY; when the
/// agent is not connected the directive stays pending and is sent when the
/// agent says hello again (or expires at its deadline).
class Ingest : public DirectiveDispatcher {
 public:
  Ingest(IngestOptions options, store::Store& store, common::MetricsRegistry& metrics);
  ~Ingest() override;
  Ingest(const Ingest&) = delete;
  Ingest& operator=(const Ingest&) = delete;

  /// Binds the ROUTER socket and starts the receive thread. Error code "bind"
  /// names the endpoint.
  [[nodiscard]] Status start();
  /// Stops the thread after writing any telemetry already received. Idempotent.
  void stop();

  /// The bound endpoint, with port 0 resolved to the real port (after start()).
  const std::string& endpoint() const;
  /// Agents heard from within agent_timeout.
  std::size_t connectedAgents() const;

  void dispatch(const store::DirectiveRecord& directive) override;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace pso::controller::service
