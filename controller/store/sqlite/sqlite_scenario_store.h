#pragma once

// The scenario aggregate on SQLite. Tables: scenarios, scenario_events,
// scenario_systems (the event and system indexes), scenario_blocks (the
// documents of compacted scenarios, record_block.h), learners (with their
// team), attempts.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/sqlite.h"
#include "controller/store/scenario_store.h"
#include "controller/store/sqlite/sqlite_context.h"

namespace pso::controller::store {

/// ScenarioStore over the shared SQLite connection.
class SqliteScenarioStore : public virtual ScenarioStore {
 public:
  explicit SqliteScenarioStore(SqliteContext& context) : context_(context) {}

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
  Result<CompactionReport> compactScenarios(int64_t before_ms, int64_t max_blocks) override;
  Result<std::vector<AttemptRecord>> recordAttempts(const std::string& learner_id,
                                                    const std::vector<AttemptRecord>& attempts,
                                                    int64_t now_ms) override;
  Result<std::vector<AttemptRecord>> attempts(const std::string& learner_id) override;
  Result<std::optional<LearnerRecord>> learner(const std::string& learner_id) override;
  Status setLearnerTeam(const std::string& learner_id, const std::string& team) override;
  Result<std::vector<LearnerRecord>> teamLearners(const std::string& team) override;

 private:
  Status insertScenarioLocked(const ScenarioRecord& scenario);
  /// Replaces the scenario's rows in the event and system index tables.
  Status writeIndexesLocked(const ScenarioRecord& scenario);
  /// The rows of `select` (the read columns), with compacted documents read
  /// back from their blocks.
  Result<std::vector<ScenarioRecord>> readScenariosLocked(common::Statement& select);

  SqliteContext& context_;
  common::Statement insert_scenario_;
  common::Statement update_scenario_;
  common::Statement delete_events_;
  common::Statement insert_event_;
  common::Statement delete_systems_;
  common::Statement insert_system_;
  common::Statement select_scenario_;
  common::Statement select_awaiting_outcome_;
  common::Statement upsert_learner_;
  common::Statement insert_attempt_;
  common::Statement select_attempts_;
  common::Statement select_learner_;
  common::Statement update_learner_team_;
  common::Statement select_team_learners_;
  common::Statement prune_events_;
  common::Statement prune_systems_;
  common::Statement prune_scenarios_;
  common::Statement prune_scenario_blocks_;
  common::Statement select_loose_scenarios_;
  common::Statement insert_scenario_block_;
  common::Statement mark_scenario_compact_;
  common::Statement select_scenario_block_;
};

}  // namespace pso::controller::store
