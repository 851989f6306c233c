#pragma once

// The agent's connection to the controller (docs/architecture.md section 2): one
// DEALER socket, hello/welcome, acks, heartbeats, directive execution.

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>
#include <zmq.hpp>

#include "agent/spool.h"
#include "common/metrics.h"
#include "common/result.h"
#include "common/zmq_socket.h"
#include "protocol/messages.h"

namespace pso::agent {

struct SessionOptions {
  std::string agent_id;                  ///< sent in every message; the controller checks it
  std::string endpoint;                  ///< controller ROUTER, e.g. "tcp://127.0.0.1:7450"
  int64_t heartbeat_interval_ms = 5000;  ///< until a welcome says otherwise
  int64_t hello_retry_ms = 5000;         ///< hello again while no welcome came
  /// Hello again after the controller refused one (the id is in use by a live
  /// connection, the key does not match the id): slower, the cause is config.
  int64_t refused_retry_ms = 15000;
  /// Batches in flight and no ack progress for this long: send again from the
  /// oldest unacked batch.
  int64_t resend_after_ms = 10000;
  /// Nothing at all heard from the controller for this long while telemetry is
  /// waiting: assume it restarted and lost this session, say hello again.
  int64_t rehello_after_ms = 30000;
  std::size_t window = 16;  ///< telemetry batches sent but not yet acked, at most
  common::DealerOptions dealer;
};

/// Drives the agent's side of the protocol over one DEALER socket.
///
/// Telemetry: batches are taken from the Spool in seq order and sent while fewer
/// than `window` are unacked. `ack` deletes acked batches from the spool. A
/// `welcome` (answer to hello) deletes batches <= its last_seq and rewinds the
/// send cursor to last_seq + 1, so whatever the controller lacks is sent again.
/// Hello is sent at start, on every completed (re)connection (the socket is
/// monitored), after hello_retry_ms without welcome (refused_retry_ms after a
/// `refused`), and after rehello_after_ms of silence from the controller. It
/// carries the spool's position (next_seq, oldest_seq). A welcome's conflicts
/// (systems another agent owns) are logged as errors and counted.
///
/// Directives are executed at most once per id: the result (and, before
/// execution, a provisional "failed" result in case the agent dies meanwhile)
/// is stored in the spool, and a repeated id is answered with the stored
/// result without executing again.
///
/// Frames that do not decode, carry more than one part or are not meant for an
/// agent are logged and counted (pso_agent_rx_refused_total{reason}), never
/// fatal. Single-threaded: call everything from the agent loop.
class Session {
 public:
  using HelloBuilder = std::function<protocol::Hello()>;
  /// Executes a directive; the session fills in agent_id, directive_id and ts.
  using DirectiveExecutor = std::function<protocol::DirectiveResult(const protocol::Directive&)>;

  Session(zmq::context_t& context, SessionOptions options, Spool& spool, HelloBuilder hello,
          DirectiveExecutor execute, common::MetricsRegistry* metrics = nullptr);
  ~Session();
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  /// Creates and connects the DEALER and tries to send hello. An Error when the
  /// socket cannot be made (bad endpoint).
  [[nodiscard]] Status start();

  /// Appends the sockets the session needs polled for input.
  void addPollItems(std::vector<zmq::pollitem_t>& items);
  /// Handles what poll reported for the items added at index `first`.
  void onPolled(const std::vector<zmq::pollitem_t>& items, std::size_t first);
  /// Timer work: hello retry, heartbeat, resend, re-hello, sending new batches.
  void tick();
  /// Steady-clock ms at which tick() next has something to do.
  int64_t nextWakeMs() const;
  /// Sends spooled batches the window allows now; call after a spool append.
  void pump();
  /// Polls the session's own sockets for up to `timeout_ms`, handles what
  /// arrived and runs tick(): a complete loop step for callers without other
  /// sockets (tests, tools).
  void pollOnce(int64_t timeout_ms);
  /// Closes the sockets (bounded linger). Idempotent.
  void close();

  /// Sends a health message (agent_id filled in) when the controller has
  /// welcomed this session; false when it was not sent. Health is not spooled:
  /// only the latest state matters, and the agent sends all of it again after
  /// each welcome (see welcomes()).
  bool sendHealth(protocol::Health health);

  bool welcomed() const { return welcomed_; }
  /// Next telemetry seq to be sent.
  uint64_t sendCursor() const { return cursor_; }
  /// Highest seq acked (or covered by a welcome) in this process.
  uint64_t ackedSeq() const { return acked_; }
  const protocol::Welcome& lastWelcome() const { return welcome_; }
  uint64_t hellosSent() const { return hellos_; }
  /// Welcomes received since start; a change means a new (or renewed) session.
  uint64_t welcomes() const { return welcomes_; }
  uint64_t refusedFrames() const { return refused_; }
  /// Hellos the controller answered with `refused`.
  uint64_t refusals() const { return refusals_; }
  /// CurveZMQ handshakes the controller refused; each one is retried on a new
  /// socket refused_retry_ms later (libzmq itself gives such a connection up).
  uint64_t handshakeFailures() const { return handshake_failures_; }
  uint64_t directivesExecuted() const { return executed_; }
  uint64_t directivesRepeated() const { return repeated_; }
  uint64_t resends() const { return resends_; }
  /// Steady-clock ms of the last message decoded from the controller; 0 when
  /// none came yet.
  int64_t lastContactMs() const { return last_contact_ms_; }

 private:
  [[nodiscard]] Status openSocket();
  bool send(const std::string& frame);
  void sendHello();
  void sendHeartbeat(int64_t now);
  void receiveAll();
  void receiveMonitorEvents();
  void handle(const protocol::Welcome& welcome);
  void handle(const protocol::Ack& ack);
  void handle(const protocol::Directive& directive);
  void handle(const protocol::Refused& refused);
  int64_t helloWaitMs() const;
  void refuse(const std::string& reason, const std::string& message);
  /// Counts the batches an ack or welcome covers past acked_.
  void countAcked(uint64_t seq);
  uint64_t firstUnacked() const;
  uint64_t inFlight() const;

  zmq::context_t& context_;
  SessionOptions options_;
  Spool& spool_;
  HelloBuilder hello_;
  DirectiveExecutor execute_;
  common::MetricsRegistry* metrics_;

  zmq::socket_t dealer_;
  zmq::socket_t monitor_;
  std::string monitor_endpoint_;

  bool welcomed_ = false;
  bool hello_unsent_ = false;           ///< the last hello could not be queued (no connection)
  bool refused_by_controller_ = false;  ///< the last hello was answered with `refused`
  bool send_blocked_ = false;           ///< a batch could not be queued; retry soon
  protocol::Welcome welcome_;
  uint64_t cursor_ = 1;
  uint64_t acked_ = 0;
  int64_t heartbeat_interval_ms_;
  int64_t hello_sent_ms_ = 0;
  int64_t last_heartbeat_ms_ = 0;
  int64_t last_rx_ms_ = 0;
  int64_t last_contact_ms_ = 0;  ///< unlike last_rx_ms_, never set but by a message
  int64_t progress_ms_ = 0;      ///< last ack progress, or when the window went from empty to busy

  uint64_t hellos_ = 0;
  uint64_t welcomes_ = 0;
  uint64_t refused_ = 0;
  uint64_t refusals_ = 0;
  uint64_t handshake_failures_ = 0;
  int64_t reopen_at_ms_ = 0;  ///< when to replace a socket whose handshake was refused
  uint64_t executed_ = 0;
  uint64_t repeated_ = 0;
  uint64_t resends_ = 0;
};

}  // namespace pso::agent
