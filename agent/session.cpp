#include "agent/session.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <atomic>
#include <cstring>
#include <utility>

#include "common/clock.h"
#include "protocol/codec.h"

namespace pso::agent {
namespace {

// While a batch or hello cannot be queued (no connection yet), try again this
// often rather than waiting for the next timer.
constexpr int64_t kBlockedRetryMs = 100;
// A peer that floods bad frames must not flood the log: the first few are
// logged, then one in kRefusedLogEvery (all are counted).
constexpr uint64_t kRefusedLogFirst = 10;
constexpr uint64_t kRefusedLogEvery = 1000;

std::string uniqueMonitorEndpoint() {
  static std::atomic<uint64_t> counter{0};
  return "inproc://pso-agent-session-monitor-" + std::to_string(counter.fetch_add(1));
}

}  // namespace

Session::Session(zmq::context_t& context, SessionOptions options, Spool& spool, HelloBuilder hello,
                 DirectiveExecutor execute, common::MetricsRegistry* metrics)
    : context_(context),
      options_(std::move(options)),
      spool_(spool),
      hello_(std::move(hello)),
      execute_(std::move(execute)),
      metrics_(metrics),
      heartbeat_interval_ms_(options_.heartbeat_interval_ms) {
  if (metrics_ != nullptr) {
    metrics_->describe("pso_agent_rx_refused_total", "counter",
                       "Frames from the controller refused, by reason");
    metrics_->describe("pso_agent_batches_sent_total", "counter",
                       "Telemetry batches sent, including resends");
    metrics_->describe("pso_agent_batches_acked_total", "counter",
                       "Telemetry batches the controller acknowledged (by ack or welcome)");
    metrics_->describe("pso_agent_resends_total", "counter",
                       "Times unacked telemetry was sent again");
    metrics_->describe("pso_agent_hellos_total", "counter", "Hello messages sent");
    metrics_->describe("pso_agent_refused_by_controller_total", "counter",
                       "Hellos the controller refused, by reason");
    metrics_->describe("pso_agent_handshake_failures_total", "counter",
                       "CurveZMQ handshakes the controller refused (key not authorized)");
    metrics_->describe("pso_agent_system_conflicts", "gauge",
                       "Systems of this agent the controller refused: another agent owns them");
    metrics_->describe("pso_agent_health_sent_total", "counter", "Health messages sent");
    metrics_->describe("pso_agent_directives_total", "counter",
                       "Directives executed, by result status");
    metrics_->describe("pso_agent_directive_repeats_total", "counter",
                       "Repeated directives answered from the spool without executing");
  }
}

Session::~Session() {
  close();
}

Status Session::openSocket() {
  Result<zmq::socket_t> dealer = common::makeDealer(context_, options_.endpoint, options_.dealer);
  if (!dealer) return dealer.error();
  dealer_ = std::move(dealer).value();

  // The monitor reports each completed handshake: after a controller restart
  // or network cut the first thing the new connection carries is a hello. It
  // also reports a handshake the controller refused (an unknown key), after
  // which libzmq does not reconnect by itself.
  monitor_endpoint_ = uniqueMonitorEndpoint();
  if (zmq_socket_monitor(dealer_.handle(), monitor_endpoint_.c_str(),
                         ZMQ_EVENT_HANDSHAKE_SUCCEEDED | ZMQ_EVENT_DISCONNECTED |
                             ZMQ_EVENT_HANDSHAKE_FAILED_AUTH |
                             ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL) != 0) {
    return makeError("socket", std::string("cannot monitor the controller connection: ") +
                                   zmq_strerror(zmq_errno()));
  }
  try {
    monitor_ = zmq::socket_t(context_, zmq::socket_type::pair);
    monitor_.set(zmq::sockopt::linger, 0);
    monitor_.connect(monitor_endpoint_);
  } catch (const zmq::error_t& error) {
    return makeError("socket",
                     std::string("cannot monitor the controller connection: ") + error.what());
  }
  return {};
}

Status Session::start() {
  if (Status opened = openSocket(); !opened) return opened;
  const int64_t now = common::steadyMs();
  last_rx_ms_ = now;
  progress_ms_ = now;
  cursor_ = spool_.oldestSeq();
  acked_ = spool_.ackedSeq();
  sendHello();
  return {};
}

void Session::close() {
  if (dealer_) {
    zmq_socket_monitor(dealer_.handle(), nullptr, 0);
    dealer_.close();
  }
  if (monitor_) monitor_.close();
}

void Session::addPollItems(std::vector<zmq::pollitem_t>& items) {
  // A closed socket's handle is null, which poll would read as file descriptor 0.
  if (!dealer_ || !monitor_) return;
  items.push_back(zmq::pollitem_t{dealer_.handle(), 0, ZMQ_POLLIN, 0});
  items.push_back(zmq::pollitem_t{monitor_.handle(), 0, ZMQ_POLLIN, 0});
}

void Session::onPolled(const std::vector<zmq::pollitem_t>& items, std::size_t first) {
  if (first + 1 >= items.size()) return;
  if ((items[first + 1].revents & ZMQ_POLLIN) != 0) receiveMonitorEvents();
  if ((items[first].revents & ZMQ_POLLIN) != 0) receiveAll();
}

void Session::pollOnce(int64_t timeout_ms) {
  std::vector<zmq::pollitem_t> items;
  addPollItems(items);
  try {
    zmq::poll(items, std::chrono::milliseconds(std::max<int64_t>(0, timeout_ms)));
  } catch (const zmq::error_t& error) {
    if (error.num() != EINTR) spdlog::warn("session: poll failed: {}", error.what());
    return;
  }
  onPolled(items, 0);
  tick();
}

bool Session::send(const std::string& frame) {
  if (!dealer_) return false;
  try {
    // Non-blocking: with ZMQ_IMMEDIATE nothing is queued without a connection,
    // and what is not sent stays in the spool (or is retried) anyway.
    return dealer_.send(zmq::buffer(frame), zmq::send_flags::dontwait).has_value();
  } catch (const zmq::error_t& error) {
    spdlog::warn("session: send to {} failed: {}", options_.endpoint, error.what());
    return false;
  }
}

void Session::sendHello() {
  protocol::Hello hello = hello_();
  hello.agent_id = options_.agent_id;
  // The spool's position lets the controller tell a sequence that restarted
  // (a new spool file) from a replay, so its welcome is one this agent can use.
  hello.next_seq = spool_.nextSeq();
  hello.oldest_seq = spool_.oldestSeq();
  welcomed_ = false;
  refused_by_controller_ = false;
  hello_sent_ms_ = common::steadyMs();
  hello_unsent_ = !send(protocol::encode(hello));
  if (!hello_unsent_) {
    ++hellos_;
    if (metrics_ != nullptr) metrics_->increment("pso_agent_hellos_total");
    spdlog::debug("session: hello sent to {}", options_.endpoint);
  }
}

bool Session::sendHealth(protocol::Health health) {
  if (!welcomed_) return false;
  health.agent_id = options_.agent_id;
  const bool sent = send(protocol::encode(health));
  if (sent && metrics_ != nullptr) metrics_->increment("pso_agent_health_sent_total");
  return sent;
}

void Session::sendHeartbeat(int64_t now) {
  protocol::Heartbeat heartbeat;
  heartbeat.agent_id = options_.agent_id;
  heartbeat.ts_ms = common::wallMs();
  heartbeat.spool_pending = spool_.pendingCount();
  heartbeat.spool_dropped = spool_.droppedCount();
  last_heartbeat_ms_ = now;
  (void)send(protocol::encode(heartbeat));
}

int64_t Session::helloWaitMs() const {
  if (hello_unsent_) return kBlockedRetryMs;
  return refused_by_controller_ ? options_.refused_retry_ms : options_.hello_retry_ms;
}

uint64_t Session::firstUnacked() const {
  return std::max(acked_ + 1, spool_.oldestSeq());
}

uint64_t Session::inFlight() const {
  uint64_t first = firstUnacked();
  return cursor_ > first ? cursor_ - first : 0;
}

void Session::pump() {
  if (!welcomed_ || !dealer_) return;
  // The size bound may have dropped batches the cursor still points below.
  cursor_ = std::max(cursor_, firstUnacked());
  send_blocked_ = false;
  uint64_t in_flight = inFlight();
  if (in_flight >= options_.window) return;
  Result<std::vector<SpooledBatch>> batches =
      spool_.pending(cursor_, options_.window - static_cast<std::size_t>(in_flight));
  if (!batches) {
    spdlog::error("session: cannot read the spool: {}", batches.error().message);
    return;
  }
  for (const SpooledBatch& batch : *batches) {
    if (!send(batch.frame)) {
      send_blocked_ = true;
      break;
    }
    if (inFlight() == 0) progress_ms_ = common::steadyMs();
    cursor_ = batch.seq + 1;
    if (metrics_ != nullptr) metrics_->increment("pso_agent_batches_sent_total");
  }
}

void Session::tick() {
  const int64_t now = common::steadyMs();
  if (reopen_at_ms_ != 0 && now >= reopen_at_ms_) {
    // A refused handshake ended the connection for good: start a new one.
    reopen_at_ms_ = 0;
    close();
    if (Status opened = openSocket(); !opened) {
      spdlog::error("session: cannot reconnect to {}: {}", options_.endpoint,
                    opened.error().message);
      reopen_at_ms_ = now + options_.refused_retry_ms;
      return;
    }
  }
  if (!dealer_) return;
  if (!welcomed_) {
    if (now - hello_sent_ms_ >= helloWaitMs()) sendHello();
    return;
  }
  if (spool_.pendingCount() > 0 && now - last_rx_ms_ >= options_.rehello_after_ms) {
    spdlog::warn(
        "session: nothing heard from {} for {} ms with {} batch(es) waiting; "
        "saying hello again",
        options_.endpoint, now - last_rx_ms_, spool_.pendingCount());
    last_rx_ms_ = now;
    sendHello();
    return;
  }
  if (inFlight() > 0 && now - progress_ms_ >= options_.resend_after_ms) {
    uint64_t from = firstUnacked();
    spdlog::info("session: no ack progress for {} ms; resending from seq {}", now - progress_ms_,
                 from);
    cursor_ = from;
    progress_ms_ = now;
    ++resends_;
    if (metrics_ != nullptr) metrics_->increment("pso_agent_resends_total");
  }
  if (now - last_heartbeat_ms_ >= heartbeat_interval_ms_) sendHeartbeat(now);
  pump();
}

int64_t Session::nextWakeMs() const {
  if (reopen_at_ms_ != 0) return reopen_at_ms_;
  if (!dealer_) return common::steadyMs() + 1000;
  if (!welcomed_) return hello_sent_ms_ + helloWaitMs();
  int64_t next = last_heartbeat_ms_ + heartbeat_interval_ms_;
  if (send_blocked_) next = std::min(next, common::steadyMs() + kBlockedRetryMs);
  if (inFlight() > 0) next = std::min(next, progress_ms_ + options_.resend_after_ms);
  if (spool_.pendingCount() > 0) next = std::min(next, last_rx_ms_ + options_.rehello_after_ms);
  return next;
}

void Session::receiveMonitorEvents() {
  for (;;) {
    zmq::message_t event;
    try {
      if (!monitor_.recv(event, zmq::recv_flags::dontwait)) return;
      // Second frame: the endpoint. Drain every part of the event.
      while (event.more()) {
        zmq::message_t rest;
        if (!monitor_.recv(rest, zmq::recv_flags::dontwait)) break;
        if (!rest.more()) break;
      }
    } catch (const zmq::error_t& error) {
      spdlog::warn("session: monitor receive failed: {}", error.what());
      return;
    }
    if (event.size() < sizeof(uint16_t)) continue;
    uint16_t id = 0;
    std::memcpy(&id, event.data(), sizeof id);
    if (id == ZMQ_EVENT_HANDSHAKE_SUCCEEDED) {
      spdlog::info("session: connected to {}", options_.endpoint);
      sendHello();
    } else if (id == ZMQ_EVENT_HANDSHAKE_FAILED_AUTH || id == ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL) {
      welcomed_ = false;
      ++handshake_failures_;
      if (metrics_ != nullptr) metrics_->increment("pso_agent_handshake_failures_total");
      if (handshake_failures_ <= kRefusedLogFirst || handshake_failures_ % kRefusedLogEvery == 0) {
        spdlog::error(
            "session: {} refused the CurveZMQ handshake: is this agent's public key in the "
            "controller's authorized_keys_dir as {}.pub, and is curve.server_public_key the "
            "controller's? Trying again in {} ms",
            options_.endpoint, options_.agent_id, options_.refused_retry_ms);
      }
      if (reopen_at_ms_ == 0) reopen_at_ms_ = common::steadyMs() + options_.refused_retry_ms;
    } else if (id == ZMQ_EVENT_DISCONNECTED) {
      spdlog::warn("session: disconnected from {}; telemetry stays in the spool",
                   options_.endpoint);
    }
  }
}

void Session::refuse(const std::string& reason, const std::string& message) {
  ++refused_;
  if (metrics_ != nullptr) metrics_->increment("pso_agent_rx_refused_total", {{"reason", reason}});
  if (refused_ <= kRefusedLogFirst || refused_ % kRefusedLogEvery == 0) {
    spdlog::warn("session: refused a frame from the controller ({} so far): {}", refused_, message);
  }
}

void Session::receiveAll() {
  for (;;) {
    zmq::message_t frame;
    bool extra_parts = false;
    try {
      if (!dealer_.recv(frame, zmq::recv_flags::dontwait)) return;
      bool more = frame.more();
      while (more) {
        zmq::message_t part;
        if (!dealer_.recv(part, zmq::recv_flags::dontwait)) break;
        more = part.more();
        extra_parts = true;
      }
    } catch (const zmq::error_t& error) {
      spdlog::warn("session: receive failed: {}", error.what());
      return;
    }
    if (extra_parts) {
      refuse("frames", "expected one frame per message, got several");
      continue;
    }
    Result<protocol::Message> message = protocol::decode(frame.to_string_view());
    if (!message) {
      refuse(message.error().code, message.error().message);
      continue;
    }
    last_rx_ms_ = common::steadyMs();
    last_contact_ms_ = last_rx_ms_;
    std::visit(
        [this](const auto& m) {
          using T = std::decay_t<decltype(m)>;
          if constexpr (std::is_same_v<T, protocol::Welcome> || std::is_same_v<T, protocol::Ack> ||
                        std::is_same_v<T, protocol::Directive> ||
                        std::is_same_v<T, protocol::Refused>) {
            handle(m);
          } else {
            refuse("unexpected", std::string("a '") + protocol::messageTypeName(m) +
                                     "' message is not meant for an agent");
          }
        },
        *message);
  }
}

void Session::countAcked(uint64_t seq) {
  if (seq > acked_ && metrics_ != nullptr) {
    metrics_->increment("pso_agent_batches_acked_total", {}, static_cast<double>(seq - acked_));
  }
}

void Session::handle(const protocol::Welcome& welcome) {
  if (welcomed_ && welcome.controller_id != welcome_.controller_id) {
    spdlog::info("session: controller changed from {} to {}", welcome_.controller_id,
                 welcome.controller_id);
  }
  welcome_ = welcome;
  welcomed_ = true;
  ++welcomes_;
  hello_unsent_ = false;
  if (welcome.heartbeat_interval_ms > 0) heartbeat_interval_ms_ = welcome.heartbeat_interval_ms;
  if (Status status = spool_.ack(welcome.last_seq); !status) {
    spdlog::error("session: cannot apply welcome last_seq {}: {}", welcome.last_seq,
                  status.error().message);
  }
  // The controller's word is the truth after a restart: resend everything past
  // what it has, even batches this process already sent once.
  countAcked(welcome.last_seq);
  acked_ = welcome.last_seq;
  cursor_ = std::max(welcome.last_seq + 1, spool_.oldestSeq());
  progress_ms_ = common::steadyMs();
  spdlog::info("session: welcomed by {} (last_seq {}); sending from seq {}", welcome.controller_id,
               welcome.last_seq, cursor_);
  for (const auto& conflict : welcome.conflicts) {
    spdlog::error(
        "session: the controller refused system {}: agent {} owns that name; rename the "
        "system in this agent's config (its telemetry is not stored and it gets no directives)",
        conflict.system, conflict.owner);
  }
  if (metrics_ != nullptr) {
    metrics_->set("pso_agent_system_conflicts", {}, static_cast<double>(welcome.conflicts.size()));
  }
  sendHeartbeat(progress_ms_);
  pump();
}

void Session::handle(const protocol::Refused& refused) {
  // Only an answer to a hello counts: a refusal after a welcome means the
  // controller no longer takes this connection (another took the id over).
  welcomed_ = false;
  refused_by_controller_ = true;
  ++refusals_;
  hello_sent_ms_ = common::steadyMs();
  if (metrics_ != nullptr) {
    metrics_->increment("pso_agent_refused_by_controller_total", {{"reason", refused.reason}});
  }
  if (refusals_ <= kRefusedLogFirst || refusals_ % kRefusedLogEvery == 0) {
    spdlog::error("session: controller {} refused agent '{}' ({}): {}; hello again in {} ms",
                  options_.endpoint, options_.agent_id, refused.reason, refused.message,
                  options_.refused_retry_ms);
  }
}

void Session::handle(const protocol::Ack& ack) {
  if (ack.seq > acked_) {
    countAcked(ack.seq);
    acked_ = ack.seq;
    progress_ms_ = common::steadyMs();
  }
  if (Status status = spool_.ack(ack.seq); !status) {
    spdlog::error("session: cannot apply ack {}: {}", ack.seq, status.error().message);
  }
  cursor_ = std::max(cursor_, acked_ + 1);
  pump();
}

void Session::handle(const protocol::Directive& directive) {
  if (directive.id.empty()) {
    refuse("invalid", "directive without an id");
    return;
  }
  Result<std::optional<std::string>> stored = spool_.directiveResult(directive.id);
  if (!stored) {
    // Executing without knowing whether it already ran could act twice.
    spdlog::error("session: cannot look up directive {}: {}; not executing", directive.id,
                  stored.error().message);
    return;
  }
  if (stored->has_value()) {
    ++repeated_;
    if (metrics_ != nullptr) metrics_->increment("pso_agent_directive_repeats_total");
    spdlog::info("session: directive {} was already executed; sending its stored result",
                 directive.id);
    (void)send(**stored);
    return;
  }

  protocol::DirectiveResult result;
  result.agent_id = options_.agent_id;
  result.directive_id = directive.id;
  result.system = directive.system;
  // Recorded before acting: if the agent dies mid-way, a repeat of this id is
  // answered with this instead of acting a second time.
  result.status = "failed";
  result.message = "the agent stopped while applying this directive";
  result.ts_ms = common::wallMs();
  if (Status status = spool_.storeDirectiveResult(directive.id, protocol::encode(result));
      !status) {
    spdlog::error("session: cannot record directive {}: {}; not executing", directive.id,
                  status.error().message);
    return;
  }

  const int64_t started = common::steadyMs();
  result = execute_(directive);
  result.agent_id = options_.agent_id;
  result.directive_id = directive.id;
  if (result.system.empty()) result.system = directive.system;
  result.ts_ms = common::wallMs();
  if (result.duration_ms <= 0.0) {
    result.duration_ms = static_cast<double>(common::steadyMs() - started);
  }
  ++executed_;
  if (metrics_ != nullptr) {
    metrics_->increment("pso_agent_directives_total", {{"status", result.status}});
  }
  std::string frame = protocol::encode(result);
  if (Status status = spool_.storeDirectiveResult(directive.id, frame); !status) {
    spdlog::error("session: cannot record the result of directive {}: {}", directive.id,
                  status.error().message);
  }
  spdlog::info("session: directive {} ({} {}): {} - {}", directive.id, directive.action,
               directive.system, result.status, result.message);
  (void)send(frame);
}

}  // namespace pso::agent
