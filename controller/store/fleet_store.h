#pragma once

// The fleet aggregate of the controller's store: the agents, the systems they
// announce in their hellos, and the latest result of each health check.

#include <optional>
#include <string>
#include <vector>

#include "common/result.h"
#include "controller/store/records.h"
#include "protocol/messages.h"

namespace pso::controller::store {

/// Agents, their systems and the systems' health checks. Implementations are
/// thread-safe.
class FleetStore {
 public:
  virtual ~FleetStore() = default;

  /// Registers the agent (or refreshes its version, facts and last_seen_ms)
  /// as connected, and upserts every system of the hello, in one transaction.
  /// first_seen_ms and the stored telemetry seq of a known agent are kept.
  /// A system name is owned by the first agent that declared it: a system of
  /// the hello owned by another agent is left as it is (its info, bounds and
  /// replica count stay the owner's) and returned as a conflict, in the
  /// order of the hello. The returned conflicts replace the agent's stored
  /// ones (AgentRecord::conflicts).
  [[nodiscard]] virtual Result<std::vector<SystemConflict>> upsertAgent(
      const protocol::Hello& hello, int64_t now_ms) = 0;
  /// Sets the agent's stored telemetry position (the ack) to `last_seq`,
  /// backwards or forwards: for an agent whose own sequence restarted or
  /// legitimately skipped past the ingest window. Unknown agent: code
  /// "not_found".
  [[nodiscard]] virtual Status resetAgentSeq(const std::string& agent_id, uint64_t last_seq) = 0;
  /// Unknown agent: code "not_found". last_seen_ms never moves back.
  [[nodiscard]] virtual Status setAgentConnected(const std::string& agent_id, bool connected,
                                                 int64_t now_ms) = 0;
  /// Ordered by id.
  [[nodiscard]] virtual Result<std::vector<AgentRecord>> agents() = 0;
  [[nodiscard]] virtual Result<std::optional<AgentRecord>> agent(const std::string& agent_id) = 0;
  /// Ordered by name.
  [[nodiscard]] virtual Result<std::vector<SystemRecord>> systems() = 0;
  [[nodiscard]] virtual Result<std::optional<SystemRecord>> system(const std::string& name) = 0;

  /// Keeps the latest result of each (system, check) of the report.
  [[nodiscard]] virtual Status recordHealth(const protocol::Health& health) = 0;
  /// The latest result of every check of a system, ordered by check.
  [[nodiscard]] virtual Result<std::vector<HealthRecord>> health(const std::string& system) = 0;
  /// Latest result of every check of every system, ordered by system and check.
  [[nodiscard]] virtual Result<std::vector<HealthRecord>> allHealth() = 0;
};

}  // namespace pso::controller::store
