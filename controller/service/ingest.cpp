#include "controller/service/ingest.h"

#include <spdlog/spdlog.h>

#include <atomic>
#include <cerrno>
#include <deque>
#include <iterator>
#include <map>
#include <mutex>
#include <thread>
#include <utility>
#include <variant>
#include <vector>
#include <zmq.hpp>
#include <zmq_addon.hpp>

#include "common/clock.h"
#include "common/zmq_socket.h"
#include "protocol/codec.h"
#include "protocol/messages.h"

namespace pso::controller::service {

namespace {

// Messages read per wake-up before the loop looks at the outbox again, so a
// flood from one agent cannot starve directive delivery.
constexpr std::size_t kMaxDrain = 512;
constexpr auto kPollTimeout = std::chrono::milliseconds(200);
constexpr int64_t kHousekeepingIntervalMs = 1000;
// How stale an agent's last_seen in the store may get while it keeps talking:
// one small write per agent per interval instead of one per message.
constexpr int64_t kSeenPersistIntervalMs = 5000;
// One log line per refusal reason per interval; the rest are only counted.
constexpr int64_t kRefusalLogIntervalMs = 5000;
constexpr const char* kWakeEndpoint = "inproc://pso-ingest-wake";

// Routing ids come from the network: keep log lines printable and short.
std::string printable(std::string_view raw) {
  std::string out;
  for (unsigned char c : raw.substr(0, 64)) {
    if (c >= 0x20 && c < 0x7f) {
      out.push_back(static_cast<char>(c));
    } else {
      static constexpr char kHex[] = "0123456789abcdef";
      out += "\\x";
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 0xf]);
    }
  }
  if (raw.size() > 64) out += "...";
  return out.empty() ? std::string("<empty>") : out;
}

}  // namespace

struct Ingest::Impl {
  Impl(IngestOptions opts, store::Store& st, common::MetricsRegistry& reg)
      : options_(std::move(opts)), store_(st), metrics_(reg) {}

  // What the loop knows of an agent's connection; touched by the loop thread only.
  struct Session {
    int64_t last_seen_steady_ms = 0;
    int64_t last_seen_wall_ms = 0;
    int64_t persisted_seen_wall_ms = 0;  // last_seen as last written to the store
    bool connected = false;
    bool delimiter = false;  // the agent frames messages REQ-style with an empty frame
  };

  struct QueuedBatch {
    std::string identity;
    protocol::TelemetryBatch batch;
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

  std::map<std::string, Session> sessions_;
  std::vector<QueuedBatch> queued_;
  std::map<std::string, RefusalLogState> refusal_log_;
  int64_t last_housekeeping_ms_ = 0;

  void describeMetrics();
  void run();
  void drainWake();
  void drainRouter();
  void handleFrames(std::vector<zmq::message_t>& parts);
  void refuse(const std::string& reason, const std::string& identity, const std::string& message);
  bool checkIdentity(const std::string& claimed, const std::string& identity, const char* type);
  void markSeen(const std::string& identity, bool delimiter);

  void onHello(const std::string& identity, bool delimiter, const protocol::Hello& hello);
  void onHealth(const protocol::Health& health);
  void onResult(const std::string& identity, const protocol::DirectiveResult& result);
  void onHeartbeat(const std::string& identity, const protocol::Heartbeat& heartbeat);
  void flushTelemetry();
  void ackOutcomes(const std::vector<QueuedBatch>& batches,
                   const std::vector<store::IngestOutcome>& outcomes);

  bool sendTo(const std::string& identity, const protocol::Message& message);
  void sendDirective(const store::DirectiveRecord& directive);
  void sendPendingFor(const std::string& agent_id);
  void sendOutbox();
  void housekeeping();
  void updateConnectedGauge();
  void storeError(const char* operation, const Error& error);
};

void Ingest::Impl::describeMetrics() {
  metrics_.describe("pso_rejected_messages_total", "counter",
                    "Messages from agents refused, by reason");
  metrics_.describe("pso_messages_received_total", "counter",
                    "Valid messages received from agents, by type");
  metrics_.describe("pso_telemetry_batches_total", "counter",
                    "Telemetry batches by outcome (stored, duplicate, out_of_order)");
  metrics_.describe("pso_telemetry_samples_total", "counter", "Telemetry samples stored");
  metrics_.describe("pso_telemetry_transactions_total", "counter",
                    "Store transactions written by the ingest loop");
  metrics_.describe("pso_agents_connected", "gauge", "Agents heard from within agent_timeout");
  metrics_.describe("pso_directives_total", "counter", "Directive status transitions, by status");
  metrics_.describe("pso_directive_send_deferred_total", "counter",
                    "Directive sends deferred because the agent was not connected");
  metrics_.describe("pso_store_errors_total", "counter",
                    "Store operations that failed, by operation");
  metrics_.describe("pso_agent_spool_pending", "gauge",
                    "Telemetry batches an agent holds unacknowledged (from its heartbeat)");
}

void Ingest::Impl::storeError(const char* operation, const Error& error) {
  metrics_.increment("pso_store_errors_total", {{"operation", operation}});
  spdlog::error("store: {} failed: {}", operation, error.message);
}

void Ingest::Impl::refuse(const std::string& reason, const std::string& identity,
                          const std::string& message) {
  metrics_.increment("pso_rejected_messages_total", {{"reason", reason}});
  auto& state = refusal_log_[reason];
  const int64_t now = common::steadyMs();
  if (state.last_logged_ms != 0 && now - state.last_logged_ms < kRefusalLogIntervalMs) {
    ++state.suppressed;
    return;
  }
  if (state.suppressed > 0) {
    spdlog::warn("refused message from {} ({}): {} [{} more refusals of this kind not logged]",
                 printable(identity), reason, message, state.suppressed);
  } else {
    spdlog::warn("refused message from {} ({}): {}", printable(identity), reason, message);
  }
  state.last_logged_ms = now;
  state.suppressed = 0;
}

void Ingest::Impl::updateConnectedGauge() {
  std::size_t count = 0;
  for (const auto& [id, session] : sessions_) count += session.connected ? 1 : 0;
  connected_count_ = count;
  metrics_.set("pso_agents_connected", {}, static_cast<double>(count));
}

void Ingest::Impl::run() {
  while (!stopping_) {
    zmq::pollitem_t items[] = {{router_.handle(), 0, ZMQ_POLLIN, 0},
                               {wake_rx_.handle(), 0, ZMQ_POLLIN, 0}};
    try {
      zmq::poll(items, 2, kPollTimeout);
    } catch (const zmq::error_t& e) {
      if (e.num() == ETERM) break;
      if (e.num() != EINTR) spdlog::error("ingest: poll failed: {}", e.what());
      continue;
    }
    if (items[1].revents & ZMQ_POLLIN) drainWake();
    sendOutbox();
    if (items[0].revents & ZMQ_POLLIN) drainRouter();
    const int64_t now = common::steadyMs();
    if (now - last_housekeeping_ms_ >= kHousekeepingIntervalMs) {
      last_housekeeping_ms_ = now;
      housekeeping();
    }
  }
  flushTelemetry();
}

void Ingest::Impl::drainWake() {
  zmq::message_t message;
  try {
    while (wake_rx_.recv(message, zmq::recv_flags::dontwait)) {
    }
  } catch (const zmq::error_t& e) {
    spdlog::error("ingest: wake socket: {}", e.what());
  }
}

void Ingest::Impl::drainRouter() {
  for (std::size_t i = 0; i < kMaxDrain; ++i) {
    std::vector<zmq::message_t> parts;
    try {
      if (!zmq::recv_multipart(router_, std::back_inserter(parts), zmq::recv_flags::dontwait))
        break;
    } catch (const zmq::error_t& e) {
      if (e.num() != ETERM) spdlog::error("ingest: receive failed: {}", e.what());
      break;
    }
    handleFrames(parts);
    if (queued_.size() >= options_.max_batches_per_transaction) flushTelemetry();
  }
  flushTelemetry();
}

void Ingest::Impl::handleFrames(std::vector<zmq::message_t>& parts) {
  const std::string identity = parts.empty() ? std::string() : parts[0].to_string();
  std::string_view payload;
  bool delimiter = false;
  if (parts.size() == 2) {
    payload = parts[1].to_string_view();
  } else if (parts.size() == 3 && parts[1].size() == 0) {
    delimiter = true;
    payload = parts[2].to_string_view();
  } else {
    refuse("malformed", identity,
           "expected one message frame after the routing id, got " +
               std::to_string(parts.empty() ? 0 : parts.size() - 1) + " frames");
    return;
  }

  auto decoded = protocol::decode(payload);
  if (!decoded) {
    refuse(decoded.error().code, identity, decoded.error().message);
    return;
  }
  protocol::Message& message = decoded.value();

  if (auto* hello = std::get_if<protocol::Hello>(&message)) {
    if (!checkIdentity(hello->agent_id, identity, "hello")) return;
    metrics_.increment("pso_messages_received_total", {{"type", "hello"}});
    onHello(identity, delimiter, *hello);
    return;
  }
  if (auto* batch = std::get_if<protocol::TelemetryBatch>(&message)) {
    if (!checkIdentity(batch->agent_id, identity, "telemetry")) return;
    markSeen(identity, delimiter);
    metrics_.increment("pso_messages_received_total", {{"type", "telemetry"}});
    queued_.push_back({identity, std::move(*batch)});
    return;
  }
  if (auto* health = std::get_if<protocol::Health>(&message)) {
    if (!checkIdentity(health->agent_id, identity, "health")) return;
    markSeen(identity, delimiter);
    metrics_.increment("pso_messages_received_total", {{"type", "health"}});
    onHealth(*health);
    return;
  }
  if (auto* result = std::get_if<protocol::DirectiveResult>(&message)) {
    if (!checkIdentity(result->agent_id, identity, "result")) return;
    markSeen(identity, delimiter);
    metrics_.increment("pso_messages_received_total", {{"type", "result"}});
    onResult(identity, *result);
    return;
  }
  if (auto* heartbeat = std::get_if<protocol::Heartbeat>(&message)) {
    if (!checkIdentity(heartbeat->agent_id, identity, "heartbeat")) return;
    markSeen(identity, delimiter);
    metrics_.increment("pso_messages_received_total", {{"type", "heartbeat"}});
    onHeartbeat(identity, *heartbeat);
    return;
  }
  refuse("unexpected_type", identity,
         std::string("'") + protocol::messageTypeName(message) +
             "' is sent by the controller, not to it");
}

bool Ingest::Impl::checkIdentity(const std::string& claimed, const std::string& identity,
                                 const char* type) {
  if (claimed == identity) return true;
  refuse("identity", identity,
         std::string(type) + ": agent_id '" + printable(claimed) +
             "' differs from the connection's routing id");
  return false;
}

void Ingest::Impl::markSeen(const std::string& identity, bool delimiter) {
  Session& session = sessions_[identity];
  session.last_seen_steady_ms = common::steadyMs();
  session.last_seen_wall_ms = common::wallMs();
  session.delimiter = delimiter;
  if (session.connected) return;
  // The agent was silent past agent_timeout (or this controller restarted) and
  // is talking again without a new hello: it is connected, so deliver what waits.
  if (auto status = store_.setAgentConnected(identity, true, session.last_seen_wall_ms); !status) {
    // Not registered yet: its first telemetry batch registers it, and the next
    // message lands here again.
    if (status.error().code != "not_found") storeError("set_agent_connected", status.error());
    return;
  }
  session.connected = true;
  session.persisted_seen_wall_ms = session.last_seen_wall_ms;
  updateConnectedGauge();
  spdlog::info("agent {} is talking again", printable(identity));
  sendPendingFor(identity);
}

void Ingest::Impl::onHello(const std::string& identity, bool delimiter,
                           const protocol::Hello& hello) {
  // Earlier telemetry of this agent must be committed before the welcome tells
  // it which sequence number the controller holds.
  flushTelemetry();
  const int64_t now = common::wallMs();
  if (auto status = store_.upsertAgent(hello, now); !status) {
    storeError("upsert_agent", status.error());
    return;
  }
  if (auto status = store_.setAgentConnected(identity, true, now); !status) {
    storeError("set_agent_connected", status.error());
  }
  Session& session = sessions_[identity];
  const bool was_connected = session.connected;
  session.connected = true;
  session.delimiter = delimiter;
  session.last_seen_steady_ms = common::steadyMs();
  session.last_seen_wall_ms = now;
  session.persisted_seen_wall_ms = now;
  updateConnectedGauge();

  protocol::Welcome welcome;
  welcome.controller_id = options_.controller_id;
  welcome.ts_ms = now;
  welcome.heartbeat_interval_ms = options_.heartbeat_interval.count();
  auto record = store_.agent(identity);
  if (!record) {
    storeError("agent", record.error());
    return;
  }
  if (record.value()) welcome.last_seq = record.value()->last_seq;
  sendTo(identity, welcome);
  spdlog::info("agent {} {} (version {}, {} systems, last_seq {})", printable(identity),
               was_connected ? "said hello again" : "connected", printable(hello.version),
               hello.systems.size(), welcome.last_seq);
  sendPendingFor(identity);
}

void Ingest::Impl::onHealth(const protocol::Health& health) {
  if (auto status = store_.recordHealth(health); !status) {
    storeError("record_health", status.error());
  }
}

void Ingest::Impl::onResult(const std::string& identity, const protocol::DirectiveResult& result) {
  if (auto status = store_.recordDirectiveResult(result); !status) {
    storeError("record_directive_result", status.error());
    return;
  }
  metrics_.increment("pso_directives_total", {{"status", result.status}});
  spdlog::info("directive {} on {}/{}: {} (replicas {}) {}", printable(result.directive_id),
               printable(identity), printable(result.system), result.status, result.replicas,
               result.message);
}

void Ingest::Impl::onHeartbeat(const std::string& identity, const protocol::Heartbeat& heartbeat) {
  metrics_.set("pso_agent_spool_pending", {{"agent", identity}},
               static_cast<double>(heartbeat.spool_pending));
}

void Ingest::Impl::flushTelemetry() {
  if (queued_.empty()) return;
  std::vector<QueuedBatch> batches;
  batches.swap(queued_);
  std::vector<protocol::TelemetryBatch> plain;
  plain.reserve(batches.size());
  for (const auto& q : batches) plain.push_back(q.batch);

  const int64_t now = common::wallMs();
  auto outcomes = store_.ingestTelemetry(plain, now);
  if (outcomes) {
    metrics_.increment("pso_telemetry_transactions_total");
    ackOutcomes(batches, outcomes.value());
    return;
  }
  storeError("ingest_telemetry", outcomes.error());
  if (batches.size() == 1) return;
  // One bad batch must not hold back the others: store them one by one. Batches
  // that fail again get no ack, so their agents resend them.
  for (auto& q : batches) {
    auto single = store_.ingestTelemetry(q.batch, now);
    if (!single) {
      storeError("ingest_telemetry", single.error());
      continue;
    }
    metrics_.increment("pso_telemetry_transactions_total");
    ackOutcomes({q}, {single.value()});
  }
}

void Ingest::Impl::ackOutcomes(const std::vector<QueuedBatch>& batches,
                               const std::vector<store::IngestOutcome>& outcomes) {
  for (std::size_t i = 0; i < batches.size() && i < outcomes.size(); ++i) {
    const auto& outcome = outcomes[i];
    const char* kind = "stored";
    if (outcome.kind == store::IngestOutcome::Kind::kDuplicate) kind = "duplicate";
    if (outcome.kind == store::IngestOutcome::Kind::kOutOfOrder) kind = "out_of_order";
    metrics_.increment("pso_telemetry_batches_total", {{"outcome", kind}});
    if (outcome.samples > 0) {
      metrics_.increment("pso_telemetry_samples_total", {}, static_cast<double>(outcome.samples));
    }
    if (outcome.kind == store::IngestOutcome::Kind::kOutOfOrder) {
      spdlog::debug("agent {}: telemetry seq {} out of order (stored up to {})",
                    printable(batches[i].identity), batches[i].batch.seq, outcome.last_seq);
    }
    sendTo(batches[i].identity, protocol::Ack{outcome.last_seq});
  }
}

bool Ingest::Impl::sendTo(const std::string& identity, const protocol::Message& message) {
  const std::string payload = protocol::encode(message);
  auto it = sessions_.find(identity);
  const bool delimiter = it != sessions_.end() && it->second.delimiter;
  try {
    if (!router_.send(zmq::buffer(identity),
                      zmq::send_flags::sndmore | zmq::send_flags::dontwait)) {
      return false;  // high-water mark reached: the peer is not reading
    }
    if (delimiter) router_.send(zmq::message_t(), zmq::send_flags::sndmore);
    router_.send(zmq::buffer(payload), zmq::send_flags::none);
    return true;
  } catch (const zmq::error_t& e) {
    // EHOSTUNREACH is ROUTER_MANDATORY's "no such peer connected".
    if (e.num() != EHOSTUNREACH) {
      spdlog::error("ingest: sending {} to {} failed: {}", protocol::messageTypeName(message),
                    printable(identity), e.what());
    }
    return false;
  }
}

void Ingest::Impl::sendDirective(const store::DirectiveRecord& directive) {
  const int64_t now = common::wallMs();
  if (directive.deadline_ms > 0 && directive.deadline_ms < now) {
    if (auto status = store_.setDirectiveStatus(
            directive.id, "expired", "deadline passed before the agent was reachable", now);
        !status) {
      storeError("set_directive_status", status.error());
    }
    metrics_.increment("pso_directives_total", {{"status", "expired"}});
    spdlog::warn("directive {} for {} expired before agent {} was reachable", directive.id,
                 directive.system, printable(directive.agent_id));
    return;
  }
  protocol::Directive wire;
  wire.id = directive.id;
  wire.system = directive.system;
  wire.action = directive.action;
  if (directive.replicas >= 0) wire.replicas = directive.replicas;
  wire.reason = directive.reason;
  wire.cycle_id = directive.cycle_id;
  wire.deadline_ms = directive.deadline_ms;
  if (!sendTo(directive.agent_id, wire)) {
    metrics_.increment("pso_directive_send_deferred_total");
    spdlog::info("directive {} for {}: agent {} not connected; kept pending until its hello",
                 directive.id, directive.system, printable(directive.agent_id));
    return;
  }
  if (auto status = store_.markDirectiveSent(directive.id, now); !status) {
    storeError("mark_directive_sent", status.error());
  }
  metrics_.increment("pso_directives_total", {{"status", "sent"}});
  spdlog::info("directive {} sent to {}: {} {} -> {} ({})", directive.id,
               printable(directive.agent_id), directive.action, directive.system,
               directive.replicas, directive.reason);
}

void Ingest::Impl::sendPendingFor(const std::string& agent_id) {
  auto pending = store_.pendingDirectives();
  if (!pending) {
    storeError("pending_directives", pending.error());
    return;
  }
  for (const auto& directive : pending.value()) {
    if (directive.agent_id == agent_id) sendDirective(directive);
  }
}

void Ingest::Impl::sendOutbox() {
  std::deque<store::DirectiveRecord> work;
  {
    std::lock_guard lock(outbox_mutex_);
    work.swap(outbox_);
  }
  for (const auto& directive : work) {
    // A hello may already have delivered it from the pending list.
    auto current = store_.directive(directive.id);
    if (!current) {
      storeError("directive", current.error());
      continue;
    }
    if (!current.value() || current.value()->status != "pending") continue;
    sendDirective(*current.value());
  }
}

void Ingest::Impl::housekeeping() {
  const int64_t now_steady = common::steadyMs();
  const int64_t now = common::wallMs();
  bool changed = false;
  for (auto& [id, session] : sessions_) {
    if (!session.connected) continue;
    if (now_steady - session.last_seen_steady_ms <= options_.agent_timeout.count()) {
      if (session.last_seen_wall_ms - session.persisted_seen_wall_ms >= kSeenPersistIntervalMs) {
        session.persisted_seen_wall_ms = session.last_seen_wall_ms;
        if (auto status = store_.setAgentConnected(id, true, session.last_seen_wall_ms);
            !status && status.error().code != "not_found") {
          storeError("set_agent_connected", status.error());
        }
      }
      continue;
    }
    session.connected = false;
    changed = true;
    if (auto status = store_.setAgentConnected(id, false, session.last_seen_wall_ms); !status) {
      storeError("set_agent_connected", status.error());
    }
    spdlog::warn("agent {} disconnected: nothing heard for {}", printable(id),
                 common::formatDuration(options_.agent_timeout));
  }
  if (changed) updateConnectedGauge();

  auto pending = store_.pendingDirectives();
  if (!pending) {
    storeError("pending_directives", pending.error());
    return;
  }
  for (const auto& directive : pending.value()) {
    if (directive.deadline_ms > 0 && directive.deadline_ms < now) sendDirective(directive);
  }
}

Ingest::Ingest(IngestOptions options, store::Store& store, common::MetricsRegistry& metrics)
    : impl_(std::make_unique<Impl>(std::move(options), store, metrics)) {
  impl_->describeMetrics();
}

Ingest::~Ingest() {
  stop();
}

Status Ingest::start() {
  Impl& d = *impl_;
  common::RouterOptions router_options;
  router_options.heartbeat_ivl_ms = static_cast<int>(d.options_.heartbeat_interval.count());
  router_options.heartbeat_timeout_ms = router_options.heartbeat_ivl_ms * 3;
  router_options.heartbeat_ttl_ms = router_options.heartbeat_ivl_ms * 6;
  auto router = common::makeRouter(d.context_, d.options_.bind, router_options, &d.endpoint_);
  if (!router) return router.error();
  d.router_ = std::move(router.value());
  try {
    d.router_.set(zmq::sockopt::linger, 0);
    d.wake_rx_ = zmq::socket_t(d.context_, zmq::socket_type::pull);
    d.wake_rx_.set(zmq::sockopt::linger, 0);
    d.wake_rx_.bind(kWakeEndpoint);
    d.wake_tx_ = zmq::socket_t(d.context_, zmq::socket_type::push);
    d.wake_tx_.set(zmq::sockopt::linger, 0);
    d.wake_tx_.connect(kWakeEndpoint);
  } catch (const zmq::error_t& e) {
    return makeError("bind", std::string("ingest wake-up socket: ") + e.what());
  }

  // Agents recorded as connected by a previous run get agent_timeout to speak
  // up before they are marked disconnected.
  auto agents = d.store_.agents();
  if (!agents) return agents.error();
  for (const auto& agent : agents.value()) {
    if (!agent.connected) continue;
    auto& session = d.sessions_[agent.id];
    session.connected = true;
    session.last_seen_steady_ms = common::steadyMs();
  }
  d.updateConnectedGauge();
  d.last_housekeeping_ms_ = common::steadyMs();

  d.stopping_ = false;
  d.thread_ = std::thread([&d] { d.run(); });
  return {};
}

void Ingest::stop() {
  Impl& d = *impl_;
  if (!d.thread_.joinable()) return;
  d.stopping_ = true;
  {
    std::lock_guard lock(d.outbox_mutex_);
    try {
      (void)d.wake_tx_.send(zmq::str_buffer("x"), zmq::send_flags::dontwait);
    } catch (const zmq::error_t&) {
      // The poll timeout ends the loop anyway.
    }
  }
  d.thread_.join();
  {
    std::lock_guard lock(d.outbox_mutex_);
    d.wake_tx_.close();
  }
  d.wake_rx_.close();
  d.router_.close();
}

const std::string& Ingest::endpoint() const {
  return impl_->endpoint_;
}

std::size_t Ingest::connectedAgents() const {
  return impl_->connected_count_;
}

void Ingest::dispatch(const store::DirectiveRecord& directive) {
  Impl& d = *impl_;
  std::lock_guard lock(d.outbox_mutex_);
  d.outbox_.push_back(directive);
  if (!d.wake_tx_) return;
  try {
    // A full pipe means a wake-up is already pending: the loop drains the whole outbox.
    (void)d.wake_tx_.send(zmq::str_buffer("x"), zmq::send_flags::dontwait);
  } catch (const zmq::error_t& e) {
    spdlog::error("ingest: wake-up failed: {}", e.what());
  }
}

}  // namespace pso::controller::service
