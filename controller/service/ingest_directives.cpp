// Directive delivery: sending, sending again on a hello, expiry at the
// deadline (docs/protocol.md section 4 rule 5).
#include <spdlog/spdlog.h>

#include <string>
#include <vector>

#include "common/clock.h"
#include "controller/service/ingest_impl.h"
#include "protocol/messages.h"

namespace pso::controller::service {

void Ingest::Impl::sendDirective(const store::DirectiveRecord& directive) {
  const int64_t now = common::wallMs();
  if (directive.deadline_ms > 0 && directive.deadline_ms < now) {
    expireDirective(directive, "deadline passed before the agent was reachable", now);
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
                 directive.id, directive.system, printableName(directive.agent_id));
    return;
  }
  if (auto status = store_.markDirectiveSent(directive.id, now); !status) {
    storeError("mark_directive_sent", status.error());
  }
  metrics_.increment("pso_directives_total", {{"status", "sent"}});
  spdlog::info("directive {} sent to {}: {} {} -> {} ({})", directive.id,
               printableName(directive.agent_id), directive.action, directive.system,
               directive.replicas, directive.reason);
}

// On a hello (or an agent talking again): what waits for the agent goes out,
// and what was sent without a result yet goes again while its deadline
// allows (the agent answers a repeated id from its spool without acting twice).
void Ingest::Impl::sendPendingFor(const std::string& agent_id) {
  auto waiting = store_.awaitingResult();
  if (!waiting) {
    storeError("awaiting_result", waiting.error());
    return;
  }
  for (const auto& directive : waiting.value()) {
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
    setConnected(session, false);
    if (auto status = store_.setAgentConnected(id, false, session.last_seen_wall_ms); !status) {
      storeError("set_agent_connected", status.error());
    }
    spdlog::warn("agent {} disconnected: nothing heard for {}", printableName(id),
                 common::formatDuration(options_.agent_timeout));
  }

  auto waiting = store_.awaitingResult();
  if (!waiting) {
    storeError("awaiting_result", waiting.error());
    return;
  }
  for (const auto& directive : waiting.value()) {
    if (directive.deadline_ms <= 0 || directive.deadline_ms >= now) continue;
    // Pending: the agent was never reachable. Sent: no result came by the
    // deadline (the agent died, or the result was lost), and after the
    // deadline the agent must not act on it.
    expireDirective(directive,
                    directive.status == "pending" ? "deadline passed before the agent was reachable"
                                                  : "no result from agent " + directive.agent_id +
                                                        " by the deadline (sent, not answered)",
                    now);
  }
}

void Ingest::Impl::expireDirective(const store::DirectiveRecord& directive, const std::string& why,
                                   int64_t now_ms) {
  if (auto status = store_.setDirectiveStatus(directive.id, "expired", why, now_ms); !status) {
    storeError("set_directive_status", status.error());
    return;
  }
  metrics_.increment("pso_directives_total", {{"status", "expired"}});
  spdlog::warn("directive {} for {} on agent {} expired: {}", directive.id, directive.system,
               printableName(directive.agent_id), why);
}

}  // namespace pso::controller::service
