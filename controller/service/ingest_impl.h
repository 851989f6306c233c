#pragma once

// The inside of Ingest (controller/service/ingest.h), shared by its three
// files: ingest.cpp (the loop, frames and telemetry), ingest_sessions.cpp
// (hello: which connection speaks for which agent, and the welcome) and
// ingest_directives.cpp (directive delivery, resend and expiry). Everything
// here is touched by the ingest thread only, except the outbox.

#include <atomic>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>
#include <zmq.hpp>

#include "common/clock.h"
#include "controller/service/ingest.h"
#include "controller/service/telemetry_writer.h"
#include "controller/service/zap_handler.h"
#include "protocol/messages.h"

namespace pso::controller::service {

// How stale an agent's last_seen in the store may get while it keeps talking:
// one small write per agent per interval instead of one per message.
inline constexpr int64_t kSeenPersistIntervalMs = 5000;

/// A routing id or name from the network, printable and short for a log line.
std::string printableName(std::string_view raw);

struct Ingest::Impl {
  Impl(IngestOptions opts, store::Store& st, common::MetricsRegistry& reg)
      : options_(std::move(opts)),
        store_(st),
        metrics_(reg),
        writer_(
            st, reg, options_.telemetry, [this] { wake(); }, [] { return common::wallMs(); }) {
    if (options_.forward_stored) writer_.setForwarder(options_.forward_stored);
  }

  // What the loop knows of an agent; touched by the loop thread only.
  struct Session {
    int64_t last_seen_steady_ms = 0;
    int64_t last_seen_wall_ms = 0;
    int64_t persisted_seen_wall_ms = 0;  // last_seen as last written to the store
    bool connected = false;
    bool delimiter = false;  // the agent frames messages REQ-style with an empty frame
    // The connection (ROUTER-assigned routing id) that speaks for the agent:
    // bound by a welcomed hello, replaced only by the next welcomed hello.
    std::string routing_id;
  };

  struct RefusalLogState {
    int64_t last_logged_ms = 0;
    uint64_t suppressed = 0;
  };

  IngestOptions options_;
  store::Store& store_;
  common::MetricsRegistry& metrics_;

  zmq::context_t context_{1};
  zmq::socket_t router_;
  zmq::socket_t wake_rx_;
  std::string endpoint_;
  std::thread thread_;
  std::atomic<bool> stopping_{false};
  std::atomic<std::size_t> connected_count_{0};

  // Outbox shared with other threads; the PUSH socket is only used under the mutex.
  std::mutex outbox_mutex_;
  zmq::socket_t wake_tx_;
  std::deque<store::DirectiveRecord> outbox_;

  std::map<std::string, Session> sessions_;         // agent id -> what the loop knows
  std::map<std::string, std::string> connections_;  // routing id -> the agent it speaks for
  std::unique_ptr<ZapHandler> zap_;                 // set when the link is CurveZMQ
  // Commits telemetry on its own thread; the loop acks what it wrote.
  TelemetryWriter writer_;
  std::map<std::string, RefusalLogState> refusal_log_;
  int64_t last_housekeeping_ms_ = 0;

  void describeMetrics();
  void run();
  void drainWake();
  void drainRouter();
  void handleFrames(std::vector<zmq::message_t>& parts);
  /// `from` names the sender: an agent id, or the routing id of a connection
  /// that speaks for no agent.
  void refuse(const std::string& reason, const std::string& from, const std::string& message);
  void markSeen(const std::string& agent_id, bool delimiter);

  void onHello(const std::string& routing_id, bool delimiter, const std::string& key_agent,
               const protocol::Hello& hello);
  bool bindConnection(const std::string& routing_id, bool delimiter, const protocol::Hello& hello);
  bool connectionAlive(const std::string& agent_id, const Session& session);
  void sendRefused(const std::string& routing_id, bool delimiter, const std::string& reason,
                   const std::string& message);
  uint64_t welcomePosition(const protocol::Hello& hello, uint64_t stored);
  void onHealth(const std::string& agent_id, protocol::Health& health);
  void onResult(const std::string& agent_id, const protocol::DirectiveResult& result);
  void onHeartbeat(const std::string& agent_id, const protocol::Heartbeat& heartbeat);
  /// Acks the batches the writer committed since the last call.
  void ackWritten();
  /// Wakes the loop from another thread (a directive queued, telemetry written).
  void wake();

  bool sendTo(const std::string& agent_id, const protocol::Message& message);
  bool sendOnConnection(const std::string& routing_id, bool delimiter,
                        const protocol::Message& message);
  void sendDirective(const store::DirectiveRecord& directive);
  /// Marks a directive expired with the reason (stored, counted, logged).
  void expireDirective(const store::DirectiveRecord& directive, const std::string& why,
                       int64_t now_ms);
  void sendPendingFor(const std::string& agent_id);
  void sendOutbox();
  void housekeeping();
  /// Marks a session (dis)connected, keeping connected_count_ and the
  /// pso_agents_connected gauge in step.
  void setConnected(Session& session, bool connected);
  void storeError(const char* operation, const Error& error);
};

}  // namespace pso::controller::service
