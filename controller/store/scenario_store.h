#pragma once

// The scenario aggregate of the controller's store: the training scenarios
// built from decision cycles, and the learners who answer their questions
// with their graded attempts.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/result.h"
#include "controller/store/records.h"

namespace pso::controller::store {

/// Scenarios (searchable by event, level, system and time), learners and
/// graded attempts. Implementations are thread-safe.
class ScenarioStore {
 public:
  virtual ~ScenarioStore() = default;

  /// Inserts a scenario and its event/system indexes; an existing id is code "exists".
  [[nodiscard]] virtual Status insertScenario(const ScenarioRecord& scenario) = 0;
  /// Inserts many scenarios in one transaction (a replayed trace records
  /// thousands); all or nothing: an existing id is code "exists" and nothing
  /// of the call is stored.
  [[nodiscard]] virtual Status insertScenarios(const std::vector<ScenarioRecord>& scenarios) = 0;
  /// Replaces a stored scenario (e.g. after outcome backfill); unknown id: "not_found".
  [[nodiscard]] virtual Status updateScenario(const ScenarioRecord& scenario) = 0;
  [[nodiscard]] virtual Result<std::optional<ScenarioRecord>> scenario(const std::string& id) = 0;
  /// Scenarios matching every set field of the filter (a whole event or
  /// system name, not a part of one), ordered by time then id.
  [[nodiscard]] virtual Result<std::vector<ScenarioRecord>> scenarios(
      const ScenarioFilter& filter) = 0;
  /// Scenarios whose outcome is not filled and whose time is before cutoff_ms,
  /// oldest first; limit <= 0 = no limit.
  [[nodiscard]] virtual Result<std::vector<ScenarioRecord>> scenariosAwaitingOutcome(
      int64_t cutoff_ms, int64_t limit) = 0;

  /// Deletes the scenarios recorded before cutoff_ms (retention) that no
  /// learner's attempt refers to, with their event and system index rows;
  /// returns how many scenarios.
  [[nodiscard]] virtual Result<int64_t> pruneScenarios(int64_t cutoff_ms) = 0;

  /// Rewrites the scenarios recorded before before_ms that are not compact
  /// yet into compact blocks (oldest first; at most max_blocks blocks, <= 0 =
  /// no limit), each block in its own transaction. Every read returns exactly
  /// what it returned before, byte for byte; updateScenario() on a compacted
  /// scenario stores it whole again. Storage only: a backend without a
  /// compact form keeps its rows as written and reports nothing done (this
  /// default).
  [[nodiscard]] virtual Result<CompactionReport> compactScenarios(int64_t before_ms,
                                                                  int64_t max_blocks) {
    (void)before_ms;
    (void)max_blocks;
    return CompactionReport{};
  }

  /// Stores a learner's attempts in one transaction, registering the learner
  /// (or updating last_seen_ms) at now_ms; every attempt's learner_id must be
  /// `learner_id` (code "invalid" otherwise), and an empty id is "invalid".
  /// Returns the attempts with their assigned ids.
  [[nodiscard]] virtual Result<std::vector<AttemptRecord>> recordAttempts(
      const std::string& learner_id, const std::vector<AttemptRecord>& attempts,
      int64_t now_ms) = 0;
  /// A learner's attempts, oldest first (ties by id).
  [[nodiscard]] virtual Result<std::vector<AttemptRecord>> attempts(
      const std::string& learner_id) = 0;
  [[nodiscard]] virtual Result<std::optional<LearnerRecord>> learner(
      const std::string& learner_id) = 0;
  /// Puts a registered learner in `team` ("" takes them out of any team); a
  /// learner belongs to one team at a time. An unknown learner is "not_found".
  [[nodiscard]] virtual Status setLearnerTeam(const std::string& learner_id,
                                              const std::string& team) = 0;
  /// The learners of a team, by id; none for an unknown team or "".
  [[nodiscard]] virtual Result<std::vector<LearnerRecord>> teamLearners(
      const std::string& team) = 0;
};

}  // namespace pso::controller::store
