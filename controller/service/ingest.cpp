#include "controller/service/ingest.h"

#include "common/threads.h"
#include "controller/service/ingest_impl.h"

#include <spdlog/spdlog.h>

#include <atomic>
#include <cerrno>
#include <deque>
#include <iterator>
#include <map>
#include <mutex>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <utility>
#include <variant>
#include <vector>
#include <zmq.hpp>
#include <zmq_addon.hpp>

#include "common/clock.h"
#include "common/zmq_socket.h"
#include "controller/service/store_errors.h"
#include "controller/service/zap_handler.h"
#include "protocol/codec.h"
#include "protocol/messages.h"

namespace pso::controller::service {

namespace {

// Messages read per wake-up before the loop looks at the outbox again, so a
// flood from one agent cannot starve directive delivery.
constexpr std::size_t kMaxDrain = 512;
constexpr auto kPollTimeout = std::chrono::milliseconds(200);
// Messages libzmq queues per agent connection before it stops reading that
// connection's socket (the rest wait in the kernel's socket buffer and the
// agent's spool). Each queued message pins the 8 KiB buffer libzmq decoded it
// from (its zero-copy receive; Debian's libzmq has no option to turn it off),
// so a queue costs about 9 KB a message, not the message's few hundred
// bytes. When the writer fell behind and this thread stopped reading, the
// default queue of 10,000 took every agent's window of unacked batches
// (up to 64) into the controller's memory: RSS 348 -> 727 MB in a 12 s stall
// at 3,000 agents, 5 GB at 10,000 in a long one. Four bound it to about 36 KB
// an agent (docs/scale.md, Memory).
constexpr int kAgentReceiveQueue = 4;
constexpr int64_t kHousekeepingIntervalMs = 1000;
// One log line per refusal reason per interval; the rest are only counted.
constexpr int64_t kIngestRefusalLogIntervalMs = 5000;
constexpr const char* kWakeEndpoint = "inproc://pso-ingest-wake";

}  // namespace

std::string printableName(std::string_view raw) {
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

void Ingest::Impl::describeMetrics() {
  metrics_.describe("pso_rejected_messages_total", "counter",
                    "Messages from agents refused, by reason");
  metrics_.describe("pso_messages_received_total", "counter",
                    "Valid messages received from agents, by type");
  metrics_.describe("pso_telemetry_batches_total", "counter",
                    "Telemetry batches by outcome (stored, duplicate, out_of_order, refused)");
  metrics_.describe("pso_telemetry_samples_total", "counter", "Telemetry samples stored");
  metrics_.describe("pso_telemetry_samples_refused_total", "counter",
                    "Telemetry samples refused: outside the time window, or of a system another "
                    "agent owns");
  metrics_.describe("pso_agent_position_resets_total", "counter",
                    "Hellos whose spool position moved an agent's stored telemetry position");
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
  reportStoreError(metrics_, operation, error);
}

void Ingest::Impl::refuse(const std::string& reason, const std::string& from,
                          const std::string& message) {
  metrics_.increment("pso_rejected_messages_total", {{"reason", reason}});
  auto& state = refusal_log_[reason];
  const int64_t now = common::steadyMs();
  if (state.last_logged_ms != 0 && now - state.last_logged_ms < kIngestRefusalLogIntervalMs) {
    ++state.suppressed;
    return;
  }
  if (state.suppressed > 0) {
    spdlog::warn("refused message from {} ({}): {} [{} more refusals of this kind not logged]",
                 printableName(from), reason, message, state.suppressed);
  } else {
    spdlog::warn("refused message from {} ({}): {}", printableName(from), reason, message);
  }
  state.last_logged_ms = now;
  state.suppressed = 0;
}

void Ingest::Impl::setConnected(Session& session, bool connected) {
  if (session.connected == connected) return;
  session.connected = connected;
  // Counted as sessions change, not by walking them: a hello storm of N
  // agents would otherwise walk N sessions N times.
  if (connected) {
    ++connected_count_;
  } else {
    --connected_count_;
  }
  metrics_.set("pso_agents_connected", {}, static_cast<double>(connected_count_.load()));
}

void Ingest::Impl::run() {
  while (!stopping_) {
    // A writer that fell behind stops the reading: agents' batches wait in
    // ZeroMQ's queues and their spools, and the loop still sends acks and
    // directives.
    const short router_events = writer_.full() ? 0 : ZMQ_POLLIN;
    zmq::pollitem_t items[] = {{router_.handle(), 0, router_events, 0},
                               {wake_rx_.handle(), 0, ZMQ_POLLIN, 0}};
    try {
      zmq::poll(items, 2, kPollTimeout);
    } catch (const zmq::error_t& e) {
      if (e.num() == ETERM) break;
      if (e.num() != EINTR) spdlog::error("ingest: poll failed: {}", e.what());
      continue;
    }
    if (items[1].revents & ZMQ_POLLIN) drainWake();
    ackWritten();
    sendOutbox();
    if (items[0].revents & ZMQ_POLLIN) drainRouter();
    const int64_t now = common::steadyMs();
    if (now - last_housekeeping_ms_ >= kHousekeepingIntervalMs) {
      last_housekeeping_ms_ = now;
      housekeeping();
    }
  }
  writer_.stop();
  ackWritten();
}

void Ingest::Impl::wake() {
  std::lock_guard lock(outbox_mutex_);
  if (!wake_tx_) return;
  try {
    // A full pipe means a wake-up is already pending.
    (void)wake_tx_.send(zmq::str_buffer("x"), zmq::send_flags::dontwait);
  } catch (const zmq::error_t& e) {
    spdlog::error("ingest: wake-up failed: {}", e.what());
  }
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
    if (writer_.full()) break;
  }
}

namespace {

// The agent id a message claims, for the messages agents send.
const std::string* claimedAgent(const protocol::Message& message) {
  return std::visit(
      [](const auto& m) -> const std::string* {
        using T = std::decay_t<decltype(m)>;
        if constexpr (std::is_same_v<T, protocol::TelemetryBatch> ||
                      std::is_same_v<T, protocol::Health> ||
                      std::is_same_v<T, protocol::DirectiveResult> ||
                      std::is_same_v<T, protocol::Heartbeat>) {
          return &m.agent_id;
        } else {
          return nullptr;
        }
      },
      message);
}

const char* sampleRefusalText(std::string_view reason) {
  if (reason == "too_old") return "older than the accepted window (ingest.max_sample_age)";
  if (reason == "too_new") return "ahead of the controller's clock (ingest.max_sample_ahead)";
  return "of a system another agent owns";
}

}  // namespace

void Ingest::Impl::handleFrames(std::vector<zmq::message_t>& parts) {
  const std::string routing_id = parts.empty() ? std::string() : parts[0].to_string();
  std::string_view payload;
  bool delimiter = false;
  if (parts.size() == 2) {
    payload = parts[1].to_string_view();
  } else if (parts.size() == 3 && parts[1].size() == 0) {
    delimiter = true;
    payload = parts[2].to_string_view();
  } else {
    refuse("malformed", routing_id,
           "expected one message frame after the routing id, got " +
               std::to_string(parts.empty() ? 0 : parts.size() - 1) + " frames");
    return;
  }
  // Under CurveZMQ the ZAP handler named the agent the connection's key
  // belongs to; libzmq attaches it to every message as "User-Id".
  std::string key_agent;
  if (zap_) {
    if (const char* user_id = zmq_msg_gets(parts.back().handle(), "User-Id")) key_agent = user_id;
  }

  auto decoded = protocol::decode(payload);
  if (!decoded) {
    refuse(decoded.error().code, routing_id, decoded.error().message);
    return;
  }
  protocol::Message& message = decoded.value();
  const char* type = protocol::messageTypeName(message);

  if (auto* hello = std::get_if<protocol::Hello>(&message)) {
    onHello(routing_id, delimiter, key_agent, *hello);
    return;
  }
  const std::string* claimed = claimedAgent(message);
  if (claimed == nullptr) {
    refuse("unexpected_type", routing_id,
           std::string("'") + type + "' is sent by the controller, not to it");
    return;
  }
  // Only a connection bound by a welcomed hello speaks for an agent, and only
  // for that agent.
  auto bound = connections_.find(routing_id);
  if (bound == connections_.end()) {
    refuse("no_session", routing_id,
           std::string(type) + " from agent '" + printableName(*claimed) +
               "' on a connection that was not welcomed (no hello, or a refused one)");
    sendRefused(routing_id, delimiter, "no_session",
                "say hello first: this connection was not welcomed");
    return;
  }
  const std::string agent_id = bound->second;
  if (*claimed != agent_id) {
    refuse("identity", routing_id,
           std::string(type) + ": agent_id '" + printableName(*claimed) +
               "' on the connection of agent '" + printableName(agent_id) + "'");
    return;
  }
  if (sessions_[agent_id].routing_id != routing_id) {
    refuse("replaced", routing_id,
           std::string(type) + " from agent '" + printableName(agent_id) +
               "' on a connection another hello of that agent replaced");
    return;
  }
  markSeen(agent_id, delimiter);
  metrics_.increment("pso_messages_received_total", {{"type", type}});
  if (auto* batch = std::get_if<protocol::TelemetryBatch>(&message)) {
    writer_.push(std::move(*batch));
  } else if (auto* health = std::get_if<protocol::Health>(&message)) {
    onHealth(agent_id, *health);
  } else if (auto* result = std::get_if<protocol::DirectiveResult>(&message)) {
    onResult(agent_id, *result);
  } else if (auto* heartbeat = std::get_if<protocol::Heartbeat>(&message)) {
    onHeartbeat(agent_id, *heartbeat);
  }
}

void Ingest::Impl::markSeen(const std::string& agent_id, bool delimiter) {
  Session& session = sessions_[agent_id];
  session.last_seen_steady_ms = common::steadyMs();
  session.last_seen_wall_ms = common::wallMs();
  session.delimiter = delimiter;
  if (session.connected) return;
  // The agent was silent past agent_timeout (or this controller restarted) and
  // is talking again without a new hello: it is connected, so deliver what waits.
  if (auto status = store_.setAgentConnected(agent_id, true, session.last_seen_wall_ms); !status) {
    // Not registered yet: its first telemetry batch registers it, and the next
    // message lands here again.
    if (status.error().code != "not_found") storeError("set_agent_connected", status.error());
    return;
  }
  setConnected(session, true);
  session.persisted_seen_wall_ms = session.last_seen_wall_ms;
  spdlog::info("agent {} is talking again", printableName(agent_id));
  sendPendingFor(agent_id);
}

void Ingest::Impl::onHealth(const std::string& agent_id, protocol::Health& health) {
  // An agent reports health only of the systems it owns.
  std::erase_if(health.checks, [&](const protocol::HealthCheckResult& result) {
    if (result.system.empty()) return false;
    auto system = store_.system(result.system);
    if (!system || !system.value() || system.value()->agent_id == agent_id) return false;
    refuse("system_owned", agent_id,
           "health of system '" + printableName(result.system) + "' from agent '" +
               printableName(agent_id) + "'; agent '" + printableName(system.value()->agent_id) +
               "' owns it");
    return true;
  });
  if (health.checks.empty()) return;
  if (auto status = store_.recordHealth(health); !status) {
    storeError("record_health", status.error());
  }
}

void Ingest::Impl::onResult(const std::string& agent_id, const protocol::DirectiveResult& result) {
  if (auto status = store_.recordDirectiveResult(result); !status) {
    // A result for a directive that is not this agent's is a lie, not a fault.
    if (status.error().code == "forbidden" || status.error().code == "not_found") {
      refuse("result_" + status.error().code, agent_id, status.error().message);
    } else {
      storeError("record_directive_result", status.error());
    }
    return;
  }
  metrics_.increment("pso_directives_total", {{"status", result.status}});
  spdlog::info("directive {} on {}/{}: {} (replicas {}) {}", printableName(result.directive_id),
               printableName(agent_id), printableName(result.system), result.status,
               result.replicas, printableName(result.message));
}

void Ingest::Impl::onHeartbeat(const std::string& agent_id, const protocol::Heartbeat& heartbeat) {
  metrics_.set("pso_agent_spool_pending", {{"agent", agent_id}},
               static_cast<double>(heartbeat.spool_pending));
}

void Ingest::Impl::ackWritten() {
  // One ack per agent for all of its batches written since the last call,
  // with the position after the last of them: an ack covers every sequence
  // up to its own, and an agent catching up after a stall has most of its
  // window written in one transaction (a send per batch would cost the
  // ROUTER thread that many sends when it is most behind).
  const std::vector<TelemetryWriter::Written> all_written = writer_.takeWritten();
  std::vector<std::pair<const std::string*, uint64_t>> acks;
  std::unordered_map<std::string_view, std::size_t> ack_of;
  for (const auto& written : all_written) {
    // A batch the store failed to write gets no ack: its agent sends it again.
    if (!written.outcome) continue;
    const auto& outcome = *written.outcome;
    const std::string& agent_id = written.batch.agent_id;
    const char* kind = "stored";
    if (outcome.kind == store::IngestOutcome::Kind::kDuplicate) kind = "duplicate";
    if (outcome.kind == store::IngestOutcome::Kind::kOutOfOrder) kind = "out_of_order";
    if (outcome.kind == store::IngestOutcome::Kind::kRefused) {
      kind = "refused";
      refuse("seq_window", agent_id, outcome.refusal);
    }
    metrics_.increment("pso_telemetry_batches_total", {{"outcome", kind}});
    for (const auto& [reason, count] : {std::pair{"too_old", outcome.samples_too_old},
                                        std::pair{"too_new", outcome.samples_too_new},
                                        std::pair{"not_owned", outcome.samples_not_owned}}) {
      if (count == 0) continue;
      metrics_.increment("pso_telemetry_samples_refused_total", {{"reason", reason}},
                         static_cast<double>(count));
      refuse(std::string("sample_") + reason, agent_id,
             "telemetry seq " + std::to_string(written.batch.seq) + ": " + std::to_string(count) +
                 " sample(s) " + sampleRefusalText(reason));
    }
    if (outcome.samples > 0) {
      metrics_.increment("pso_telemetry_samples_total", {}, static_cast<double>(outcome.samples));
    }
    if (outcome.kind == store::IngestOutcome::Kind::kOutOfOrder) {
      spdlog::debug("agent {}: telemetry seq {} out of order (stored up to {})",
                    printableName(agent_id), written.batch.seq, outcome.last_seq);
    }
    const auto [it, first] = ack_of.try_emplace(agent_id, acks.size());
    if (first) {
      acks.emplace_back(&agent_id, outcome.last_seq);
    } else {
      acks[it->second].second = outcome.last_seq;
    }
  }
  for (const auto& [agent_id, last_seq] : acks) sendTo(*agent_id, protocol::Ack{last_seq});
}

bool Ingest::Impl::sendTo(const std::string& agent_id, const protocol::Message& message) {
  auto it = sessions_.find(agent_id);
  if (it == sessions_.end() || it->second.routing_id.empty()) return false;  // no hello yet
  return sendOnConnection(it->second.routing_id, it->second.delimiter, message);
}

bool Ingest::Impl::sendOnConnection(const std::string& routing_id, bool delimiter,
                                    const protocol::Message& message) {
  const std::string payload = protocol::encode(message);
  try {
    if (!router_.send(zmq::buffer(routing_id),
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
                    printableName(routing_id), e.what());
    }
    return false;
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
  router_options.rcvhwm = kAgentReceiveQueue;
  if (!d.options_.curve_secret_key.empty()) {
    // The ZAP handler first: a CURVE socket with no handler lets every key in.
    auto zap = ZapHandler::start(d.context_, d.options_.authorized_keys_dir, d.metrics_);
    if (!zap) return zap.error();
    d.zap_ = std::move(zap).value();
    router_options.curve_secret_key = d.options_.curve_secret_key;
  }
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
    d.setConnected(session, true);
    session.last_seen_steady_ms = common::steadyMs();
  }
  d.metrics_.set("pso_agents_connected", {}, static_cast<double>(d.connected_count_.load()));
  d.last_housekeeping_ms_ = common::steadyMs();

  d.stopping_ = false;
  d.writer_.start();
  d.thread_ = std::thread([&d] {
    common::nameThisThread("pso-ingest");
    d.run();
  });
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
  d.zap_.reset();
}

const std::string& Ingest::endpoint() const {
  return impl_->endpoint_;
}

std::size_t Ingest::connectedAgents() const {
  return impl_->connected_count_;
}

void Ingest::dispatch(const store::DirectiveRecord& directive) {
  Impl& d = *impl_;
  {
    std::lock_guard lock(d.outbox_mutex_);
    d.outbox_.push_back(directive);
  }
  // The loop drains the whole outbox when it wakes.
  d.wake();
}

}  // namespace pso::controller::service
