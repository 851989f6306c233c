#pragma once

// The fleet aggregate on PostgreSQL. Tables: agents, systems, health.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "controller/store/fleet_store.h"
#include "controller/store/postgresql/pg_context.h"

namespace pso::controller::store {

/// FleetStore over the shared PostgreSQL connection. It is the only writer
/// of the agents and systems tables: the telemetry and directive aggregates
/// move an agent's seq or a system's replica count through the *Locked
/// methods below, inside their own transactions.
class PgFleetStore : public virtual FleetStore {
 public:
  explicit PgFleetStore(PgContext& context) : context_(context) {}

  /// Prepares the statements; called once before any other method.
  [[nodiscard]] Status prepare();

  Result<std::vector<SystemConflict>> upsertAgent(const protocol::Hello& hello,
                                                  int64_t now_ms) override;
  Status resetAgentSeq(const std::string& agent_id, uint64_t last_seq) override;
  Status setAgentConnected(const std::string& agent_id, bool connected, int64_t now_ms) override;
  Result<std::vector<AgentRecord>> agents() override;
  Result<std::optional<AgentRecord>> agent(const std::string& agent_id) override;
  Result<std::vector<SystemRecord>> systems() override;
  Result<std::optional<SystemRecord>> system(const std::string& name) override;
  Status recordHealth(const protocol::Health& health) override;
  Result<std::vector<HealthRecord>> health(const std::string& system) override;
  Result<std::vector<HealthRecord>> allHealth() override;

  /// The agent's stored telemetry seq; an agent not known yet (telemetry
  /// before any hello) is registered at now_ms with seq 0.
  [[nodiscard]] Result<uint64_t> agentSeqLocked(const std::string& agent_id, int64_t now_ms);
  /// The agent that owns a system (declared it first); nullopt when none did.
  [[nodiscard]] Result<std::optional<std::string>> systemOwnerLocked(const std::string& system);
  /// Sets a system's running replica count as of ts_ms, unless the stored
  /// count is newer.
  [[nodiscard]] Status updateReplicasLocked(const std::string& system, int64_t replicas,
                                            int64_t ts_ms);

 private:
  PgContext& context_;
};

}  // namespace pso::controller::store
