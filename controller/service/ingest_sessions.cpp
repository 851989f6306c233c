// Hello: which connection speaks for which agent, and the welcome it gets
// (docs/security.md, docs/protocol.md section 4 rules 0 and 1).
#include <spdlog/spdlog.h>

#include <string>
#include <vector>

#include "common/clock.h"
#include "controller/service/ingest_impl.h"
#include "protocol/messages.h"

namespace pso::controller::service {

void Ingest::Impl::sendRefused(const std::string& routing_id, bool delimiter,
                               const std::string& reason, const std::string& message) {
  (void)sendOnConnection(routing_id, delimiter, protocol::Refused{reason, message});
}

// Whether the connection bound to an agent is still there: ROUTER_MANDATORY
// fails a send to a routing id whose connection closed. The probe is an ack
// of what is stored, which a live agent takes as a no-op.
bool Ingest::Impl::connectionAlive(const std::string& agent_id, const Session& session) {
  if (session.routing_id.empty()) return false;
  auto record = store_.agent(agent_id);
  const uint64_t stored = record && record.value() ? record.value()->last_seq : 0;
  return sendOnConnection(session.routing_id, session.delimiter, protocol::Ack{stored});
}

// One live connection per agent id (docs/security.md). A hello on a new
// connection takes the id over when the old connection is gone; while it is
// alive, a plain-TCP hello is refused (two agents configured with one id),
// and a CurveZMQ hello, whose key proves the id, replaces it.
bool Ingest::Impl::bindConnection(const std::string& routing_id, bool delimiter,
                                  const protocol::Hello& hello) {
  auto existing = sessions_.find(hello.agent_id);
  if (existing != sessions_.end() && !existing->second.routing_id.empty() &&
      existing->second.routing_id != routing_id) {
    Session& session = existing->second;
    if (connectionAlive(hello.agent_id, session)) {
      if (!zap_) {
        refuse("id_in_use", routing_id,
               "hello as '" + printableName(hello.agent_id) +
                   "' while another live connection speaks for that agent");
        sendRefused(routing_id, delimiter, "id_in_use",
                    "agent id '" + hello.agent_id +
                        "' is in use by another live connection; give every agent its own id");
        return false;
      }
      spdlog::warn("agent {} said hello on a new connection with its key; the old one is dropped",
                   printableName(hello.agent_id));
      sendRefused(session.routing_id, session.delimiter, "replaced",
                  "a newer connection of agent '" + hello.agent_id + "' replaced this one");
    }
    connections_.erase(session.routing_id);
  }
  Session& session = sessions_[hello.agent_id];
  session.routing_id = routing_id;
  connections_[routing_id] = hello.agent_id;
  return true;
}

void Ingest::Impl::onHello(const std::string& routing_id, bool delimiter,
                           const std::string& key_agent, const protocol::Hello& hello) {
  if (zap_ && hello.agent_id != key_agent) {
    refuse("identity", routing_id,
           "hello as '" + printableName(hello.agent_id) + "' with the key of agent '" +
               printableName(key_agent) + "'");
    sendRefused(
        routing_id, delimiter, "identity",
        "this connection's key belongs to agent '" + key_agent + "', not '" + hello.agent_id + "'");
    return;
  }
  if (!bindConnection(routing_id, delimiter, hello)) return;
  metrics_.increment("pso_messages_received_total", {{"type", "hello"}});
  // Earlier telemetry of this agent must be committed before the welcome tells
  // it which sequence number the controller holds.
  writer_.awaitAgent(hello.agent_id);
  ackWritten();
  const int64_t now = common::wallMs();
  auto conflicts = store_.upsertAgent(hello, now);
  if (!conflicts) {
    storeError("upsert_agent", conflicts.error());
    return;
  }
  if (auto status = store_.setAgentConnected(hello.agent_id, true, now); !status) {
    storeError("set_agent_connected", status.error());
  }
  Session& session = sessions_[hello.agent_id];
  const bool was_connected = session.connected;
  setConnected(session, true);
  session.delimiter = delimiter;
  session.last_seen_steady_ms = common::steadyMs();
  session.last_seen_wall_ms = now;
  session.persisted_seen_wall_ms = now;

  protocol::Welcome welcome;
  welcome.controller_id = options_.controller_id;
  welcome.ts_ms = now;
  welcome.heartbeat_interval_ms = options_.heartbeat_interval.count();
  welcome.conflicts = conflicts.value();
  for (const auto& conflict : welcome.conflicts) {
    refuse("system_owned", routing_id,
           "agent '" + printableName(hello.agent_id) + "' declared system '" +
               printableName(conflict.system) + "', which agent '" + printableName(conflict.owner) +
               "' owns");
  }
  auto record = store_.agent(hello.agent_id);
  if (!record) {
    storeError("agent", record.error());
    return;
  }
  welcome.last_seq = welcomePosition(hello, record.value() ? record.value()->last_seq : 0);
  sendTo(hello.agent_id, welcome);
  spdlog::info("agent {} {} (version {}, {} systems, last_seq {})", printableName(hello.agent_id),
               was_connected ? "said hello again" : "connected", printableName(hello.version),
               hello.systems.size(), welcome.last_seq);
  sendPendingFor(hello.agent_id);
}

// The position a welcome hands an agent must be one it can use: never at or
// past the seq its next batch gets. A stored position the agent's own spool
// contradicts (its sequence restarted with a new spool file, or the position
// was forged) is moved back to just before the oldest batch the agent holds;
// one behind a gap the agent's spool bound dropped moves up to the gap.
uint64_t Ingest::Impl::welcomePosition(const protocol::Hello& hello, uint64_t stored) {
  if (hello.next_seq == 0) return stored;  // an agent that does not say its position
  const uint64_t held_from = hello.oldest_seq - 1;
  uint64_t position = stored;
  if (stored >= hello.next_seq) {
    position = held_from;
    spdlog::warn(
        "agent {}: stored telemetry position {} is not behind its next seq {} (a new spool?); "
        "continuing from {}",
        printableName(hello.agent_id), stored, hello.next_seq, position);
  } else if (held_from > stored) {
    position = held_from;
    spdlog::warn("agent {}: batches {}..{} were dropped by its spool bound; continuing from {}",
                 printableName(hello.agent_id), stored + 1, held_from, position);
  }
  if (position == stored) return stored;
  if (auto status = store_.resetAgentSeq(hello.agent_id, position); !status) {
    storeError("reset_agent_seq", status.error());
    return stored >= hello.next_seq ? held_from : stored;
  }
  metrics_.increment("pso_agent_position_resets_total");
  return position;
}

}  // namespace pso::controller::service
