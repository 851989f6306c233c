#pragma once

// The scenario aggregate on PostgreSQL. Tables: scenarios, scenario_events,
// scenario_systems, learners, attempts.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "controller/store/postgresql/pg_context.h"
#include "controller/store/scenario_store.h"

namespace pso::controller::store {

/// ScenarioStore over the shared PostgreSQL connection.
class PgScenarioStore : public virtual ScenarioStore {
 public:
  explicit PgScenarioStore(PgContext& context) : context_(context) {}

  /// Prepares the statements; called once before any other method.
  [[nodiscard]] Status prepare();

  Status insertScenario(const ScenarioRecord& scenario) override;
  Status insertScenarios(const std::vector<ScenarioRecord>& scenarios) override;
  Status updateScenario(const ScenarioRecord& scenario) override;
  Result<std::optional<ScenarioRecord>> scenario(const std::string& id) override;
  Result<std::vector<ScenarioRecord>> scenarios(const ScenarioFilter& filter) override;
  Result<std::vector<ScenarioRecord>> scenariosAwaitingOutcome(int64_t cutoff_ms,
                                                               int64_t limit) override;
  Result<int64_t> pruneScenarios(int64_t cutoff_ms) override;
  Result<std::vector<AttemptRecord>> recordAttempts(const std::string& learner_id,
                                                    const std::vector<AttemptRecord>& attempts,
                                                    int64_t now_ms) override;
  Result<std::vector<AttemptRecord>> attempts(const std::string& learner_id) override;
  Result<std::optional<LearnerRecord>> learner(const std::string& learner_id) override;
  Status setLearnerTeam(const std::string& learner_id, const std::string& team) override;
  Result<std::vector<LearnerRecord>> teamLearners(const std::string& team) override;

 private:
  /// Replaces a scenario's event and system index rows.
  Status writeIndexesLocked(const ScenarioRecord& scenario);

  PgContext& context_;
};

}  // namespace pso::controller::store
