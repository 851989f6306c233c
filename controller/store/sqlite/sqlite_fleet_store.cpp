#include "controller/store/sqlite/sqlite_fleet_store.h"

#include <cmath>

#include "controller/store/record_rules.h"

namespace pso::controller::store {
namespace {

using common::ScopedStatement;
using common::Statement;

const std::string kAgentColumns =
    "id, version, host_facts, first_seen_ms, last_seen_ms, last_seq, connected, conflicts";
const std::string kSystemColumns =
    "name, agent_id, actuator, min_replicas, max_replicas, announced_replicas, "
    "capacity_per_replica, target_utilization, warmup_ms, priority, depends_on, replicas, "
    "updated_ms";
const std::string kHealthColumns = "system, check_name, status, latency_ms, error, ts_ms";

AgentRecord readAgent(const Statement& s) {
  AgentRecord a;
  a.id = s.columnText(0);
  a.version = s.columnText(1);
  a.host_facts_json = s.columnText(2);
  a.first_seen_ms = s.columnInt64(3);
  a.last_seen_ms = s.columnInt64(4);
  a.last_seq = static_cast<uint64_t>(s.columnInt64(5));
  a.connected = s.columnInt64(6) != 0;
  a.conflicts = parseConflictsJson(s.columnText(7));
  return a;
}

SystemRecord readSystem(const Statement& s) {
  SystemRecord r;
  r.name = s.columnText(0);
  r.agent_id = s.columnText(1);
  r.info.name = r.name;
  r.info.actuator = s.columnText(2);
  r.info.min_replicas = s.columnInt64(3);
  r.info.max_replicas = s.columnInt64(4);
  r.info.replicas = s.columnInt64(5);
  r.info.capacity_per_replica = s.columnDouble(6);
  r.info.target_utilization = s.columnDouble(7);
  r.info.warmup_ms = s.columnInt64(8);
  r.info.priority = s.columnInt64(9);
  r.info.depends_on = parseStringArrayJson(s.columnText(10));
  r.replicas = s.columnInt64(11);
  r.updated_ms = s.columnInt64(12);
  return r;
}

HealthRecord readHealth(const Statement& s) {
  HealthRecord h;
  h.system = s.columnText(0);
  h.check = s.columnText(1);
  h.status = s.columnText(2);
  h.latency_ms = s.columnDouble(3);
  h.error = s.columnText(4);
  h.ts_ms = s.columnInt64(5);
  return h;
}

}  // namespace

Status SqliteFleetStore::prepare() {
  return context_.db().prepareAll({
      {&upsert_agent_,
       "INSERT INTO agents (id, version, host_facts, first_seen_ms, last_seen_ms, last_seq, "
       "connected) VALUES (?1, ?2, ?3, ?4, ?4, 0, 1) ON CONFLICT (id) DO UPDATE SET "
       "version = excluded.version, host_facts = excluded.host_facts, "
       "last_seen_ms = excluded.last_seen_ms, connected = 1"},
      {&upsert_system_, "INSERT INTO systems (" + kSystemColumns +
                            ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13) "
                            "ON CONFLICT (name) DO UPDATE SET agent_id = excluded.agent_id, "
                            "actuator = excluded.actuator, min_replicas = excluded.min_replicas, "
                            "max_replicas = excluded.max_replicas, "
                            "announced_replicas = excluded.announced_replicas, "
                            "capacity_per_replica = excluded.capacity_per_replica, "
                            "target_utilization = excluded.target_utilization, "
                            "warmup_ms = excluded.warmup_ms, priority = excluded.priority, "
                            "depends_on = excluded.depends_on, replicas = excluded.replicas, "
                            "updated_ms = excluded.updated_ms "
                            // Never take over another agent's system.
                            "WHERE systems.agent_id = excluded.agent_id"},
      {&select_system_owner_, "SELECT agent_id FROM systems WHERE name = ?1"},
      {&update_agent_conflicts_, "UPDATE agents SET conflicts = ?2 WHERE id = ?1"},
      {&set_agent_connected_,
       "UPDATE agents SET connected = ?2, last_seen_ms = MAX(last_seen_ms, ?3) WHERE id = ?1"},
      {&select_agents_, "SELECT " + kAgentColumns + " FROM agents ORDER BY id"},
      {&select_agent_, "SELECT " + kAgentColumns + " FROM agents WHERE id = ?1"},
      {&select_systems_, "SELECT " + kSystemColumns + " FROM systems ORDER BY name"},
      {&select_system_, "SELECT " + kSystemColumns + " FROM systems WHERE name = ?1"},
      {&select_agent_seq_, "SELECT last_seq FROM agents WHERE id = ?1"},
      {&insert_agent_implicit_,
       "INSERT INTO agents (id, first_seen_ms, last_seen_ms) VALUES (?1, ?2, ?2)"},
      {&update_agent_seq_, "UPDATE agents SET last_seq = ?2 WHERE id = ?1"},
      {&update_system_replicas_,
       "UPDATE systems SET replicas = ?2, updated_ms = ?3 WHERE name = ?1 AND updated_ms <= ?3"},
      {&upsert_health_,
       "INSERT OR REPLACE INTO health (" + kHealthColumns + ") VALUES (?1, ?2, ?3, ?4, ?5, ?6)"},
      {&select_health_,
       "SELECT " + kHealthColumns + " FROM health WHERE system = ?1 ORDER BY check_name"},
      {&select_all_health_,
       "SELECT " + kHealthColumns + " FROM health ORDER BY system, check_name"},
  });
}

Result<std::vector<SystemConflict>> SqliteFleetStore::upsertAgent(const protocol::Hello& hello,
                                                                  int64_t now_ms) {
  std::lock_guard lock(context_.mutex());
  common::Transaction tx(context_.db());
  if (!tx.beginStatus().ok()) return tx.beginStatus().error();

  {
    ScopedStatement s(upsert_agent_);
    s->bind(1, hello.agent_id).bind(2, hello.version).bind(3, hostFactsJson(hello)).bind(4, now_ms);
    if (auto st = s->run(); !st.ok()) return st.error();
  }
  std::vector<SystemConflict> conflicts;
  for (const auto& info : hello.systems) {
    auto owner = systemOwnerLocked(info.name);
    if (!owner.ok()) return owner.error();
    if (owner->has_value() && **owner != hello.agent_id) {
      conflicts.push_back({info.name, **owner});
      continue;
    }
    ScopedStatement s(upsert_system_);
    s->bind(1, info.name)
        .bind(2, hello.agent_id)
        .bind(3, info.actuator)
        .bind(4, info.min_replicas)
        .bind(5, info.max_replicas)
        .bind(6, info.replicas)
        .bind(7, info.capacity_per_replica)
        .bind(8, info.target_utilization)
        .bind(9, info.warmup_ms)
        .bind(10, info.priority)
        .bind(11, stringArrayJson(info.depends_on))
        .bind(12, info.replicas)
        .bind(13, now_ms);
    if (auto st = s->run(); !st.ok()) return st.error();
  }
  {
    ScopedStatement s(update_agent_conflicts_);
    s->bind(1, hello.agent_id).bind(2, conflictsJson(conflicts));
    if (auto st = s->run(); !st.ok()) return st.error();
  }
  if (auto st = tx.commit(); !st.ok()) return st.error();
  return conflicts;
}

Status SqliteFleetStore::resetAgentSeq(const std::string& agent_id, uint64_t last_seq) {
  std::lock_guard lock(context_.mutex());
  ScopedStatement s(update_agent_seq_);
  s->bind(1, agent_id).bind(2, last_seq);
  auto changed = s->runCountingChanges();
  if (!changed.ok()) return changed.error();
  if (*changed == 0) return makeError("not_found", "unknown agent '" + agent_id + "'");
  return Status();
}

Status SqliteFleetStore::setAgentConnected(const std::string& agent_id, bool connected,
                                           int64_t now_ms) {
  std::lock_guard lock(context_.mutex());
  ScopedStatement s(set_agent_connected_);
  s->bind(1, agent_id).bind(2, connected ? 1 : 0).bind(3, now_ms);
  auto changed = s->runCountingChanges();
  if (!changed.ok()) return changed.error();
  if (*changed == 0) return makeError("not_found", "unknown agent '" + agent_id + "'");
  return Status();
}

Result<std::vector<AgentRecord>> SqliteFleetStore::agents() {
  std::lock_guard lock(context_.mutex());
  ScopedStatement s(select_agents_);
  return common::collectRows<AgentRecord>(*s, readAgent);
}

Result<std::optional<AgentRecord>> SqliteFleetStore::agent(const std::string& agent_id) {
  std::lock_guard lock(context_.mutex());
  ScopedStatement s(select_agent_);
  s->bind(1, agent_id);
  return common::firstRow<AgentRecord>(*s, readAgent);
}

Result<std::vector<SystemRecord>> SqliteFleetStore::systems() {
  std::lock_guard lock(context_.mutex());
  ScopedStatement s(select_systems_);
  return common::collectRows<SystemRecord>(*s, readSystem);
}

Result<std::optional<SystemRecord>> SqliteFleetStore::system(const std::string& name) {
  std::lock_guard lock(context_.mutex());
  ScopedStatement s(select_system_);
  s->bind(1, name);
  return common::firstRow<SystemRecord>(*s, readSystem);
}

Status SqliteFleetStore::recordHealth(const protocol::Health& health) {
  std::lock_guard lock(context_.mutex());
  common::Transaction tx(context_.db());
  if (!tx.beginStatus().ok()) return tx.beginStatus();
  for (const auto& check : health.checks) {
    ScopedStatement s(upsert_health_);
    s->bind(1, check.system)
        .bind(2, check.check)
        .bind(3, check.status)
        .bind(4, std::isfinite(check.latency_ms) ? check.latency_ms : 0.0)
        .bind(5, check.error)
        .bind(6, check.ts_ms);
    if (auto st = s->run(); !st.ok()) return st;
  }
  return tx.commit();
}

Result<std::vector<HealthRecord>> SqliteFleetStore::health(const std::string& system) {
  std::lock_guard lock(context_.mutex());
  ScopedStatement s(select_health_);
  s->bind(1, system);
  return common::collectRows<HealthRecord>(*s, readHealth);
}

Result<std::vector<HealthRecord>> SqliteFleetStore::allHealth() {
  std::lock_guard lock(context_.mutex());
  ScopedStatement s(select_all_health_);
  return common::collectRows<HealthRecord>(*s, readHealth);
}

Result<uint64_t> SqliteFleetStore::agentSeqLocked(const std::string& agent_id, int64_t now_ms) {
  {
    ScopedStatement s(select_agent_seq_);
    s->bind(1, agent_id);
    auto seq = common::firstRow<int64_t>(*s, common::firstColumnInt64);
    if (!seq.ok()) return seq.error();
    if (seq->has_value()) return static_cast<uint64_t>(**seq);
  }
  // Telemetry before any hello (e.g. a fresh database while the agent drains
  // its spool): register the agent rather than lose the data.
  ScopedStatement s(insert_agent_implicit_);
  s->bind(1, agent_id).bind(2, now_ms);
  if (auto st = s->run(); !st.ok()) return st.error();
  return uint64_t{0};
}

Status SqliteFleetStore::setAgentSeqLocked(const std::string& agent_id, uint64_t seq) {
  ScopedStatement s(update_agent_seq_);
  s->bind(1, agent_id).bind(2, seq);
  return s->run();
}

Result<std::optional<std::string>> SqliteFleetStore::systemOwnerLocked(const std::string& system) {
  ScopedStatement s(select_system_owner_);
  s->bind(1, system);
  return common::firstRow<std::string>(*s, common::firstColumnText);
}

Status SqliteFleetStore::updateReplicasLocked(const std::string& system, int64_t replicas,
                                              int64_t ts_ms) {
  ScopedStatement s(update_system_replicas_);
  s->bind(1, system).bind(2, replicas).bind(3, ts_ms);
  return s->run();
}

}  // namespace pso::controller::store
