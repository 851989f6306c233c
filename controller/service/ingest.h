#pragma once

// The controller's side of the wire: one thread owns the ROUTER socket, reads
// what agents send and sends them welcomes, acks and directives; telemetry is
// committed by a TelemetryWriter on a second thread.

#include <cstddef>
#include <functional>
#include <memory>
#include <string>

#include "common/config.h"
#include "common/metrics.h"
#include "common/result.h"
#include "controller/service/telemetry_writer.h"
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
  /// Transaction size and queue bound of the telemetry writer.
  TelemetryWriterLimits telemetry;
  /// Gets what each telemetry transaction stored, after the commit (remote
  /// write); none: nothing is forwarded.
  std::function<void(std::vector<store::StoredSeries>)> forward_stored;
  /// CurveZMQ: this controller's Z85 secret key, and the directory of agent
  /// public keys (`<agent-id>.pub`) the ZAP handler admits. Empty: plain TCP.
  std::string curve_secret_key;
  std::string authorized_keys_dir;
};

/// Owns the ROUTER socket on its own thread (ZeroMQ sockets are not
/// thread-safe). Every incoming frame is decoded and validated; refusals are
/// logged (rate-limited) and counted in pso_rejected_messages_total{reason}.
///
/// Identity (docs/security.md): the ROUTER gives every connection its own
/// routing id; a welcomed hello binds that connection to the hello's agent id,
/// and every later message on it must carry that id ("identity" otherwise) and
/// come from the connection currently bound ("replaced"); a message on a
/// connection no hello bound is refused ("no_session") and answered with
/// `refused`, so the agent says hello again. One live connection per agent id:
/// a hello on a second connection while the first is alive is refused
/// ("id_in_use") on plain TCP; under CurveZMQ, where the ZAP handler admitted
/// the key and named its agent, a hello must claim that agent ("identity"
/// otherwise) and then replaces the old connection.
///
/// - hello: upserts the agent and its systems (systems another agent owns are
///   refused and listed in the welcome), answers welcome with the position the
///   agent should continue from, then sends the agent's directives that wait.
/// - telemetry: batches are handed to the TelemetryWriter, which commits
///   whatever waits in one store transaction while the loop goes on reading;
///   each agent gets ack(last_seq) only after the commit, also for
///   duplicates, out-of-order and refused batches (which are not stored).
///   While the writer's queue is full the loop stops reading the socket, so a
///   flood waits in ZeroMQ's queues and the agents' spools.
/// - health, result, heartbeat: stored / counted; every message marks the agent
///   as seen.
///
/// Directives handed to dispatch() are sent with ROUTER_MANDATORY; when the
/// agent is not connected the directive stays pending and is sent when the
/// agent says hello again. One sent without a result is sent again on the
/// agent's next hello while its deadline allows; past the deadline, pending
/// or sent, it is expired with the reason.
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
