#include "controller/store/postgresql/pg_scenario_store.h"

#include <tuple>
#include <utility>

#include "controller/store/record_rules.h"

namespace pso::controller::store {
namespace {

const std::string kPgScenarioColumns =
    "id, cycle_id, ts_ms, level, events, systems, outcome_filled, json";

ScenarioRecord pgScenarioAt(const PgRows& rows, int i) {
  ScenarioRecord r;
  r.id = rows.text(i, 0);
  r.cycle_id = rows.text(i, 1);
  r.ts_ms = rows.int64(i, 2);
  r.level = rows.text(i, 3);
  r.events = splitScenarioList(rows.text(i, 4));
  r.systems = splitScenarioList(rows.text(i, 5));
  r.outcome_filled = rows.flag(i, 6);
  r.json = rows.text(i, 7);
  return r;
}

// The columns of kPgScenarioColumns, in order, as $1..$8.
PgParams pgScenarioParams(const ScenarioRecord& scenario) {
  PgParams params;
  params.add(scenario.id)
      .add(scenario.cycle_id)
      .add(scenario.ts_ms)
      .add(scenario.level)
      .add(joinScenarioList(scenario.events))
      .add(joinScenarioList(scenario.systems))
      .add(scenario.outcome_filled)
      .add(scenario.json);
  return params;
}

LearnerRecord pgLearnerAt(const PgRows& rows, int i) {
  return LearnerRecord{rows.text(i, 0), rows.int64(i, 1), rows.int64(i, 2), rows.text(i, 3)};
}

AttemptRecord pgAttemptAt(const PgRows& rows, int i) {
  AttemptRecord a;
  a.id = rows.int64(i, 0);
  a.learner_id = rows.text(i, 1);
  a.scenario_id = rows.text(i, 2);
  a.question_id = rows.text(i, 3);
  a.level = rows.text(i, 4);
  a.response = rows.text(i, 5);
  a.correct = rows.flag(i, 6);
  a.score = rows.real(i, 7);
  a.ts_ms = rows.int64(i, 8);
  return a;
}

}  // namespace

Status PgScenarioStore::prepare() {
  std::lock_guard lock(context_.mutex());
  return context_.prepareAll({
      // One batch of prunable scenarios, their index rows with them.
      {"scn_prune",
       "WITH doomed AS (SELECT id FROM scenarios AS s WHERE ts_ms < $1 AND NOT EXISTS "
       "(SELECT 1 FROM attempts WHERE scenario_id = s.id) ORDER BY ts_ms, id LIMIT $2), "
       "events AS (DELETE FROM scenario_events WHERE scenario_id IN (SELECT id FROM doomed)), "
       "systems AS (DELETE FROM scenario_systems WHERE scenario_id IN (SELECT id FROM doomed)) "
       "DELETE FROM scenarios WHERE id IN (SELECT id FROM doomed)"},
      {"scn_insert", "INSERT INTO scenarios (" + kPgScenarioColumns +
                         ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (id) DO NOTHING"},
      {"scn_update",
       "UPDATE scenarios SET cycle_id = $2, ts_ms = $3, level = $4, events = $5, systems = $6, "
       "outcome_filled = $7, json = $8 WHERE id = $1"},
      {"scn_delete_events", "DELETE FROM scenario_events WHERE scenario_id = $1"},
      {"scn_insert_events",
       "INSERT INTO scenario_events (event, scenario_id) SELECT DISTINCT e, $2 "
       "FROM unnest($1::text[]) AS e ON CONFLICT DO NOTHING"},
      {"scn_delete_systems", "DELETE FROM scenario_systems WHERE scenario_id = $1"},
      {"scn_insert_systems",
       "INSERT INTO scenario_systems (system, scenario_id) SELECT DISTINCT s, $2 "
       "FROM unnest($1::text[]) AS s ON CONFLICT DO NOTHING"},
      {"scn_one", "SELECT " + kPgScenarioColumns + " FROM scenarios WHERE id = $1"},
      {"scn_awaiting_outcome",
       "SELECT " + kPgScenarioColumns +
           " FROM scenarios WHERE NOT outcome_filled AND ts_ms < $1 ORDER BY ts_ms LIMIT $2"},
      {"scn_upsert_learner",
       "INSERT INTO learners (id, first_seen_ms, last_seen_ms) VALUES ($1, $2, $2) "
       "ON CONFLICT (id) DO UPDATE SET "
       "last_seen_ms = GREATEST(learners.last_seen_ms, EXCLUDED.last_seen_ms)"},
      {"scn_insert_attempt",
       "INSERT INTO attempts (learner_id, scenario_id, question_id, level, response, correct, "
       "score, ts_ms) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id"},
      {"scn_attempts",
       "SELECT id, learner_id, scenario_id, question_id, level, response, correct, score, "
       "ts_ms FROM attempts WHERE learner_id = $1 ORDER BY ts_ms, id"},
      {"scn_learner", "SELECT id, first_seen_ms, last_seen_ms, team FROM learners WHERE id = $1"},
      {"scn_learner_team", "UPDATE learners SET team = $2 WHERE id = $1"},
      {"scn_team_learners",
       "SELECT id, first_seen_ms, last_seen_ms, team FROM learners WHERE team = $1 "
       "AND team <> '' ORDER BY id"},
  });
}

Status PgScenarioStore::writeIndexesLocked(const ScenarioRecord& scenario) {
  for (const auto& [remove, insert, values] :
       {std::tuple{"scn_delete_events", "scn_insert_events", &scenario.events},
        std::tuple{"scn_delete_systems", "scn_insert_systems", &scenario.systems}}) {
    if (auto st = pgDone(context_.runLocked(remove, PgParams().add(scenario.id))); !st.ok()) {
      return st;
    }
    if (values->empty()) continue;
    if (auto st = pgDone(context_.runLocked(insert, PgParams().addArray(*values).add(scenario.id)));
        !st.ok()) {
      return st;
    }
  }
  return Status();
}

Status PgScenarioStore::insertScenario(const ScenarioRecord& scenario) {
  return insertScenarios({scenario});
}

Status PgScenarioStore::insertScenarios(const std::vector<ScenarioRecord>& scenarios) {
  std::lock_guard lock(context_.mutex());
  PgTransaction tx(context_);
  if (!tx.beginStatus().ok()) return tx.beginStatus();
  for (const auto& scenario : scenarios) {
    auto inserted = context_.runLocked("scn_insert", pgScenarioParams(scenario));
    if (!inserted.ok()) return inserted.error();
    if (inserted->affected() == 0) {
      return makeError("exists", "scenario '" + scenario.id + "' already exists");
    }
    if (auto st = writeIndexesLocked(scenario); !st.ok()) return st;
  }
  return tx.commit();
}

Status PgScenarioStore::updateScenario(const ScenarioRecord& scenario) {
  std::lock_guard lock(context_.mutex());
  PgTransaction tx(context_);
  if (!tx.beginStatus().ok()) return tx.beginStatus();
  if (auto st = pgChangedOne(context_.runLocked("scn_update", pgScenarioParams(scenario)),
                             "unknown scenario '" + scenario.id + "'");
      !st.ok()) {
    return st;
  }
  if (auto st = writeIndexesLocked(scenario); !st.ok()) return st;
  return tx.commit();
}

Result<std::optional<ScenarioRecord>> PgScenarioStore::scenario(const std::string& id) {
  std::lock_guard lock(context_.mutex());
  return pgFirstRow<ScenarioRecord>(context_.runLocked("scn_one", PgParams().add(id)),
                                    pgScenarioAt);
}

Result<std::vector<ScenarioRecord>> PgScenarioStore::scenarios(const ScenarioFilter& filter) {
  std::lock_guard lock(context_.mutex());
  // Filters vary per call, so this statement is built each time; listing
  // scenarios is an operator action, not a hot path.
  std::string sql = "SELECT " + kPgScenarioColumns + " FROM scenarios WHERE true";
  PgParams params;
  auto next = [&]() { return "$" + std::to_string(params.size()); };
  if (filter.event) {
    params.add(*filter.event);
    sql += " AND id IN (SELECT scenario_id FROM scenario_events WHERE event = " + next() + ")";
  }
  if (filter.system) {
    params.add(*filter.system);
    sql += " AND id IN (SELECT scenario_id FROM scenario_systems WHERE system = " + next() + ")";
  }
  if (filter.level) {
    params.add(*filter.level);
    sql += " AND level = " + next();
  }
  if (filter.since_ms) {
    params.add(*filter.since_ms);
    sql += " AND ts_ms >= " + next() + "::bigint";
  }
  if (filter.until_ms) {
    params.add(*filter.until_ms);
    sql += " AND ts_ms < " + next() + "::bigint";
  }
  sql += filter.newest_first ? " ORDER BY ts_ms DESC, id DESC" : " ORDER BY ts_ms, id";
  params.addLimit(filter.limit);
  sql += " LIMIT " + next() + "::bigint";
  return pgAllRows<ScenarioRecord>(context_.queryLocked(sql, params), pgScenarioAt);
}

Result<std::vector<ScenarioRecord>> PgScenarioStore::scenariosAwaitingOutcome(int64_t cutoff_ms,
                                                                              int64_t limit) {
  std::lock_guard lock(context_.mutex());
  return pgAllRows<ScenarioRecord>(
      context_.runLocked("scn_awaiting_outcome", PgParams().add(cutoff_ms).addLimit(limit)),
      pgScenarioAt);
}

Result<std::vector<AttemptRecord>> PgScenarioStore::recordAttempts(
    const std::string& learner_id, const std::vector<AttemptRecord>& attempts, int64_t now_ms) {
  if (auto st = checkAttempts(learner_id, attempts); !st.ok()) return st.error();
  std::lock_guard lock(context_.mutex());
  PgTransaction tx(context_);
  if (!tx.beginStatus().ok()) return tx.beginStatus().error();
  if (auto st =
          pgDone(context_.runLocked("scn_upsert_learner", PgParams().add(learner_id).add(now_ms)));
      !st.ok()) {
    return st.error();
  }
  std::vector<AttemptRecord> stored = attempts;
  for (auto& a : stored) {
    auto id = context_.runLocked("scn_insert_attempt", PgParams()
                                                           .add(a.learner_id)
                                                           .add(a.scenario_id)
                                                           .add(a.question_id)
                                                           .add(a.level)
                                                           .add(a.response)
                                                           .add(a.correct)
                                                           .add(a.score)
                                                           .add(a.ts_ms));
    if (!id.ok()) return id.error();
    a.id = id->int64(0, 0);
  }
  if (auto st = tx.commit(); !st.ok()) return st.error();
  return stored;
}

Result<std::vector<AttemptRecord>> PgScenarioStore::attempts(const std::string& learner_id) {
  std::lock_guard lock(context_.mutex());
  return pgAllRows<AttemptRecord>(context_.runLocked("scn_attempts", PgParams().add(learner_id)),
                                  pgAttemptAt);
}

Result<std::optional<LearnerRecord>> PgScenarioStore::learner(const std::string& learner_id) {
  std::lock_guard lock(context_.mutex());
  return pgFirstRow<LearnerRecord>(context_.runLocked("scn_learner", PgParams().add(learner_id)),
                                   pgLearnerAt);
}

Status PgScenarioStore::setLearnerTeam(const std::string& learner_id, const std::string& team) {
  std::lock_guard lock(context_.mutex());
  return pgChangedOne(context_.runLocked("scn_learner_team", PgParams().add(learner_id).add(team)),
                      "no learner '" + learner_id + "'");
}

Result<std::vector<LearnerRecord>> PgScenarioStore::teamLearners(const std::string& team) {
  std::lock_guard lock(context_.mutex());
  return pgAllRows<LearnerRecord>(context_.runLocked("scn_team_learners", PgParams().add(team)),
                                  pgLearnerAt);
}

Result<int64_t> PgScenarioStore::pruneScenarios(int64_t cutoff_ms) {
  return context_.deleteInBatches("scn_prune",
                                  PgParams().add(cutoff_ms).add(PgContext::kPruneBatchRows));
}

}  // namespace pso::controller::store
