#include "controller/store/postgresql/pg_fleet_store.h"

#include <cmath>

#include "controller/store/record_rules.h"

namespace pso::controller::store {
namespace {

const std::string kPgAgentColumns =
    "id, version, host_facts, first_seen_ms, last_seen_ms, last_seq, connected, conflicts";
const std::string kPgSystemColumns =
    "name, agent_id, actuator, min_replicas, max_replicas, announced_replicas, "
    "capacity_per_replica, target_utilization, warmup_ms, priority, depends_on, replicas, "
    "updated_ms";
const std::string kPgHealthColumns = "system, check_name, status, latency_ms, error, ts_ms";

AgentRecord pgAgentAt(const PgRows& rows, int i) {
  AgentRecord a;
  a.id = rows.text(i, 0);
  a.version = rows.text(i, 1);
  a.host_facts_json = rows.text(i, 2);
  a.first_seen_ms = rows.int64(i, 3);
  a.last_seen_ms = rows.int64(i, 4);
  a.last_seq = static_cast<uint64_t>(rows.int64(i, 5));
  a.connected = rows.flag(i, 6);
  a.conflicts = parseConflictsJson(rows.text(i, 7));
  return a;
}

SystemRecord pgSystemAt(const PgRows& rows, int i) {
  SystemRecord r;
  r.name = rows.text(i, 0);
  r.agent_id = rows.text(i, 1);
  r.info.name = r.name;
  r.info.actuator = rows.text(i, 2);
  r.info.min_replicas = rows.int64(i, 3);
  r.info.max_replicas = rows.int64(i, 4);
  r.info.replicas = rows.int64(i, 5);
  r.info.capacity_per_replica = rows.real(i, 6);
  r.info.target_utilization = rows.real(i, 7);
  r.info.warmup_ms = rows.int64(i, 8);
  r.info.priority = rows.int64(i, 9);
  r.info.depends_on = parseStringArrayJson(rows.text(i, 10));
  r.replicas = rows.int64(i, 11);
  r.updated_ms = rows.int64(i, 12);
  return r;
}

HealthRecord pgHealthAt(const PgRows& rows, int i) {
  return HealthRecord{rows.text(i, 0), rows.text(i, 1), rows.text(i, 2),
                      rows.real(i, 3), rows.text(i, 4), rows.int64(i, 5)};
}

}  // namespace

Status PgFleetStore::prepare() {
  std::lock_guard lock(context_.mutex());
  return context_.prepareAll({
      {"fleet_upsert_agent",
       "INSERT INTO agents (id, version, host_facts, first_seen_ms, last_seen_ms, last_seq, "
       "connected) VALUES ($1, $2, $3, $4, $4, 0, true) ON CONFLICT (id) DO UPDATE SET "
       "version = EXCLUDED.version, host_facts = EXCLUDED.host_facts, "
       "last_seen_ms = EXCLUDED.last_seen_ms, connected = true"},
      {"fleet_upsert_system",
       "INSERT INTO systems (" + kPgSystemColumns +
           ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) "
           "ON CONFLICT (name) DO UPDATE SET agent_id = EXCLUDED.agent_id, "
           "actuator = EXCLUDED.actuator, min_replicas = EXCLUDED.min_replicas, "
           "max_replicas = EXCLUDED.max_replicas, "
           "announced_replicas = EXCLUDED.announced_replicas, "
           "capacity_per_replica = EXCLUDED.capacity_per_replica, "
           "target_utilization = EXCLUDED.target_utilization, "
           "warmup_ms = EXCLUDED.warmup_ms, priority = EXCLUDED.priority, "
           "depends_on = EXCLUDED.depends_on, replicas = EXCLUDED.replicas, "
           "updated_ms = EXCLUDED.updated_ms "
           // Never take over another agent's system.
           "WHERE systems.agent_id = EXCLUDED.agent_id"},
      {"fleet_system_owner", "SELECT agent_id FROM systems WHERE name = $1"},
      {"fleet_update_conflicts", "UPDATE agents SET conflicts = $2 WHERE id = $1"},
      {"fleet_set_connected",
       "UPDATE agents SET connected = $2, last_seen_ms = GREATEST(last_seen_ms, $3) "
       "WHERE id = $1"},
      {"fleet_agents", "SELECT " + kPgAgentColumns + " FROM agents ORDER BY id"},
      {"fleet_agent", "SELECT " + kPgAgentColumns + " FROM agents WHERE id = $1"},
      {"fleet_systems", "SELECT " + kPgSystemColumns + " FROM systems ORDER BY name"},
      {"fleet_system", "SELECT " + kPgSystemColumns + " FROM systems WHERE name = $1"},
      {"fleet_agent_seq", "SELECT last_seq FROM agents WHERE id = $1"},
      {"fleet_insert_agent_implicit",
       "INSERT INTO agents (id, first_seen_ms, last_seen_ms) VALUES ($1, $2, $2)"},
      {"fleet_update_seq", "UPDATE agents SET last_seq = $2 WHERE id = $1"},
      {"fleet_update_replicas",
       "UPDATE systems SET replicas = $2, updated_ms = $3 WHERE name = $1 AND updated_ms <= $3"},
      {"fleet_upsert_health",
       "INSERT INTO health (" + kPgHealthColumns +
           ") VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (system, check_name) DO UPDATE SET "
           "status = EXCLUDED.status, latency_ms = EXCLUDED.latency_ms, error = EXCLUDED.error, "
           "ts_ms = EXCLUDED.ts_ms"},
      {"fleet_health",
       "SELECT " + kPgHealthColumns + " FROM health WHERE system = $1 ORDER BY check_name"},
      {"fleet_all_health",
       "SELECT " + kPgHealthColumns + " FROM health ORDER BY system, check_name"},
  });
}

Result<std::vector<SystemConflict>> PgFleetStore::upsertAgent(const protocol::Hello& hello,
                                                              int64_t now_ms) {
  std::lock_guard lock(context_.mutex());
  PgTransaction tx(context_);
  if (!tx.beginStatus().ok()) return tx.beginStatus().error();
  if (auto done = context_.runLocked(
          "fleet_upsert_agent",
          PgParams().add(hello.agent_id).add(hello.version).add(hostFactsJson(hello)).add(now_ms));
      !done.ok()) {
    return done.error();
  }
  std::vector<SystemConflict> conflicts;
  for (const auto& info : hello.systems) {
    auto owner = systemOwnerLocked(info.name);
    if (!owner.ok()) return owner.error();
    if (owner->has_value() && **owner != hello.agent_id) {
      conflicts.push_back({info.name, **owner});
      continue;
    }
    auto done = context_.runLocked("fleet_upsert_system", PgParams()
                                                              .add(info.name)
                                                              .add(hello.agent_id)
                                                              .add(info.actuator)
                                                              .add(info.min_replicas)
                                                              .add(info.max_replicas)
                                                              .add(info.replicas)
                                                              .add(info.capacity_per_replica)
                                                              .add(info.target_utilization)
                                                              .add(info.warmup_ms)
                                                              .add(info.priority)
                                                              .add(stringArrayJson(info.depends_on))
                                                              .add(info.replicas)
                                                              .add(now_ms));
    if (!done.ok()) return done.error();
  }
  if (auto done = context_.runLocked("fleet_update_conflicts",
                                     PgParams().add(hello.agent_id).add(conflictsJson(conflicts)));
      !done.ok()) {
    return done.error();
  }
  if (auto st = tx.commit(); !st.ok()) return st.error();
  return conflicts;
}

Status PgFleetStore::resetAgentSeq(const std::string& agent_id, uint64_t last_seq) {
  std::lock_guard lock(context_.mutex());
  return pgChangedOne(
      context_.runLocked("fleet_update_seq", PgParams().add(agent_id).add(last_seq)),
      "unknown agent '" + agent_id + "'");
}

Status PgFleetStore::setAgentConnected(const std::string& agent_id, bool connected,
                                       int64_t now_ms) {
  std::lock_guard lock(context_.mutex());
  return pgChangedOne(context_.runLocked("fleet_set_connected",
                                         PgParams().add(agent_id).add(connected).add(now_ms)),
                      "unknown agent '" + agent_id + "'");
}

Result<std::vector<AgentRecord>> PgFleetStore::agents() {
  std::lock_guard lock(context_.mutex());
  return pgAllRows<AgentRecord>(context_.runLocked("fleet_agents"), pgAgentAt);
}

Result<std::optional<AgentRecord>> PgFleetStore::agent(const std::string& agent_id) {
  std::lock_guard lock(context_.mutex());
  return pgFirstRow<AgentRecord>(context_.runLocked("fleet_agent", PgParams().add(agent_id)),
                                 pgAgentAt);
}

Result<std::vector<SystemRecord>> PgFleetStore::systems() {
  std::lock_guard lock(context_.mutex());
  return pgAllRows<SystemRecord>(context_.runLocked("fleet_systems"), pgSystemAt);
}

Result<std::optional<SystemRecord>> PgFleetStore::system(const std::string& name) {
  std::lock_guard lock(context_.mutex());
  return pgFirstRow<SystemRecord>(context_.runLocked("fleet_system", PgParams().add(name)),
                                  pgSystemAt);
}

Status PgFleetStore::recordHealth(const protocol::Health& health) {
  std::lock_guard lock(context_.mutex());
  PgTransaction tx(context_);
  if (!tx.beginStatus().ok()) return tx.beginStatus();
  for (const auto& check : health.checks) {
    auto done = context_.runLocked(
        "fleet_upsert_health", PgParams()
                                   .add(check.system)
                                   .add(check.check)
                                   .add(check.status)
                                   .add(std::isfinite(check.latency_ms) ? check.latency_ms : 0.0)
                                   .add(check.error)
                                   .add(check.ts_ms));
    if (!done.ok()) return done.error();
  }
  return tx.commit();
}

Result<std::vector<HealthRecord>> PgFleetStore::health(const std::string& system) {
  std::lock_guard lock(context_.mutex());
  return pgAllRows<HealthRecord>(context_.runLocked("fleet_health", PgParams().add(system)),
                                 pgHealthAt);
}

Result<std::vector<HealthRecord>> PgFleetStore::allHealth() {
  std::lock_guard lock(context_.mutex());
  return pgAllRows<HealthRecord>(context_.runLocked("fleet_all_health"), pgHealthAt);
}

Result<uint64_t> PgFleetStore::agentSeqLocked(const std::string& agent_id, int64_t now_ms) {
  auto rows = context_.runLocked("fleet_agent_seq", PgParams().add(agent_id));
  if (!rows.ok()) return rows.error();
  if (!rows->empty()) return static_cast<uint64_t>(rows->int64(0, 0));
  // Telemetry before any hello (e.g. a fresh database while the agent drains
  // its spool): register the agent rather than lose the data.
  auto done =
      context_.runLocked("fleet_insert_agent_implicit", PgParams().add(agent_id).add(now_ms));
  if (!done.ok()) return done.error();
  return uint64_t{0};
}

Result<std::optional<std::string>> PgFleetStore::systemOwnerLocked(const std::string& system) {
  auto rows = context_.runLocked("fleet_system_owner", PgParams().add(system));
  if (!rows.ok()) return rows.error();
  if (rows->empty()) return std::optional<std::string>();
  return std::optional<std::string>(rows->text(0, 0));
}

Status PgFleetStore::updateReplicasLocked(const std::string& system, int64_t replicas,
                                          int64_t ts_ms) {
  return pgDone(
      context_.runLocked("fleet_update_replicas", PgParams().add(system).add(replicas).add(ts_ms)));
}

}  // namespace pso::controller::store
