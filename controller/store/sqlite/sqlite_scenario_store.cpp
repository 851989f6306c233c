#include "controller/store/sqlite/sqlite_scenario_store.h"

#include <utility>

#include "controller/store/record_rules.h"

namespace pso::controller::store {
namespace {

using common::ScopedStatement;
using common::Statement;

const std::string kScenarioColumns =
    "id, cycle_id, ts_ms, level, events, systems, outcome_filled, json";
// What reads select: kScenarioColumns, then where a compacted document is
// (block 0: in the row).
const std::string kScenarioReadColumns = kScenarioColumns + ", COALESCE(block_id, 0), block_pos";

// Blocks of at most 64 documents and 32 MiB of them (ten documents of a
// 10,000-system fleet), so reading one old scenario decodes at most that:
// measured in docs/design-notes.md "Compact cycle records and scenarios".
constexpr std::size_t kScenarioBlockRecords = 64;
constexpr std::size_t kScenarioBlockBytes = 32u << 20;

struct StoredScenario {
  ScenarioRecord record;
  int64_t block_id = 0;
  int64_t block_pos = 0;
};

StoredScenario readStoredScenario(const Statement& s) {
  StoredScenario stored;
  ScenarioRecord& r = stored.record;
  r.id = s.columnText(0);
  r.cycle_id = s.columnText(1);
  r.ts_ms = s.columnInt64(2);
  r.level = s.columnText(3);
  r.events = splitScenarioList(s.columnText(4));
  r.systems = splitScenarioList(s.columnText(5));
  r.outcome_filled = s.columnInt64(6) != 0;
  r.json = s.columnText(7);
  stored.block_id = s.columnInt64(8);
  stored.block_pos = s.columnInt64(9);
  return stored;
}

// Binds the columns of kScenarioColumns, in order, to ?1..?8.
void bindScenario(Statement& s, const ScenarioRecord& scenario) {
  s.bind(1, scenario.id)
      .bind(2, scenario.cycle_id)
      .bind(3, scenario.ts_ms)
      .bind(4, scenario.level)
      .bind(5, joinScenarioList(scenario.events))
      .bind(6, joinScenarioList(scenario.systems))
      .bind(7, scenario.outcome_filled)
      .bind(8, scenario.json);
}

LearnerRecord readLearner(const Statement& row) {
  return LearnerRecord{row.columnText(0), row.columnInt64(1), row.columnInt64(2),
                       row.columnText(3)};
}

AttemptRecord readAttempt(const Statement& row) {
  AttemptRecord a;
  a.id = row.columnInt64(0);
  a.learner_id = row.columnText(1);
  a.scenario_id = row.columnText(2);
  a.question_id = row.columnText(3);
  a.level = row.columnText(4);
  a.response = row.columnText(5);
  a.correct = row.columnInt64(6) != 0;
  a.score = row.columnDouble(7);
  a.ts_ms = row.columnInt64(8);
  return a;
}

}  // namespace

Status SqliteScenarioStore::prepare() {
  // The same first rows of the same ordered query, in one transaction: the
  // index rows of a batch of scenarios, then the scenarios themselves.
  const std::string prunable =
      "(SELECT id FROM scenarios WHERE ts_ms < ?1 AND id NOT IN (SELECT scenario_id FROM "
      "attempts) ORDER BY ts_ms, id LIMIT ?2)";
  return context_.db().prepareAll({
      {&prune_events_, "DELETE FROM scenario_events WHERE scenario_id IN " + prunable},
      {&prune_systems_, "DELETE FROM scenario_systems WHERE scenario_id IN " + prunable},
      {&prune_scenarios_, "DELETE FROM scenarios WHERE id IN " + prunable},
      // A block goes when no scenario refers to it any more (retention, or
      // every document in it stored whole again by updateScenario).
      {&prune_scenario_blocks_,
       "DELETE FROM scenario_blocks WHERE id IN (SELECT b.id FROM scenario_blocks b WHERE NOT "
       "EXISTS (SELECT 1 FROM scenarios s WHERE s.block_id = b.id) LIMIT ?1)"},
      {&select_loose_scenarios_,
       "SELECT id, json FROM scenarios WHERE block_id IS NULL AND ts_ms < ?1 "
       "ORDER BY ts_ms, id LIMIT ?2"},
      {&insert_scenario_block_, "INSERT INTO scenario_blocks (records, body) VALUES (?1, ?2)"},
      {&mark_scenario_compact_,
       "UPDATE scenarios SET json = '', block_id = ?2, block_pos = ?3 "
       "WHERE id = ?1 AND block_id IS NULL AND json = ?4"},
      {&select_scenario_block_, "SELECT body FROM scenario_blocks WHERE id = ?1"},
      {&insert_scenario_,
       "INSERT INTO scenarios (" + kScenarioColumns + ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)"},
      {&update_scenario_,
       "UPDATE scenarios SET cycle_id = ?2, ts_ms = ?3, level = ?4, events = ?5, systems = ?6, "
       "outcome_filled = ?7, json = ?8, block_id = NULL, block_pos = 0 WHERE id = ?1"},
      {&delete_events_, "DELETE FROM scenario_events WHERE scenario_id = ?1"},
      {&insert_event_,
       "INSERT OR IGNORE INTO scenario_events (event, scenario_id) VALUES (?1, ?2)"},
      {&delete_systems_, "DELETE FROM scenario_systems WHERE scenario_id = ?1"},
      {&insert_system_,
       "INSERT OR IGNORE INTO scenario_systems (system, scenario_id) VALUES (?1, ?2)"},
      {&select_scenario_, "SELECT " + kScenarioReadColumns + " FROM scenarios WHERE id = ?1"},
      {&select_awaiting_outcome_,
       "SELECT " + kScenarioReadColumns +
           " FROM scenarios WHERE outcome_filled = 0 AND ts_ms < ?1 ORDER BY ts_ms LIMIT ?2"},
      {&upsert_learner_,
       "INSERT INTO learners (id, first_seen_ms, last_seen_ms) VALUES (?1, ?2, ?2) "
       "ON CONFLICT (id) DO UPDATE SET last_seen_ms = max(last_seen_ms, excluded.last_seen_ms)"},
      {&insert_attempt_,
       "INSERT INTO attempts (learner_id, scenario_id, question_id, level, response, correct, "
       "score, ts_ms) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)"},
      {&select_attempts_,
       "SELECT id, learner_id, scenario_id, question_id, level, response, correct, score, "
       "ts_ms FROM attempts WHERE learner_id = ?1 ORDER BY ts_ms, id"},
      {&select_learner_,
       "SELECT id, first_seen_ms, last_seen_ms, team FROM learners WHERE id = ?1"},
      {&update_learner_team_, "UPDATE learners SET team = ?2 WHERE id = ?1"},
      {&select_team_learners_,
       "SELECT id, first_seen_ms, last_seen_ms, team FROM learners WHERE team = ?1 AND team != '' "
       "ORDER BY id"},
  });
}

Status SqliteScenarioStore::writeIndexesLocked(const ScenarioRecord& scenario) {
  auto replace = [&](Statement& remove, Statement& insert,
                     const std::vector<std::string>& values) -> Status {
    {
      ScopedStatement s(remove);
      s->bind(1, scenario.id);
      if (auto st = s->run(); !st.ok()) return st;
    }
    for (const auto& value : values) {
      ScopedStatement s(insert);
      s->bind(1, value).bind(2, scenario.id);
      if (auto st = s->run(); !st.ok()) return st;
    }
    return Status();
  };
  if (auto st = replace(delete_events_, insert_event_, scenario.events); !st.ok()) return st;
  return replace(delete_systems_, insert_system_, scenario.systems);
}

Status SqliteScenarioStore::insertScenarioLocked(const ScenarioRecord& scenario) {
  {
    ScopedStatement s(insert_scenario_);
    bindScenario(*s, scenario);
    if (auto st = s->run(); !st.ok()) return asExists(st.error(), "scenario '" + scenario.id + "'");
  }
  return writeIndexesLocked(scenario);
}

Status SqliteScenarioStore::insertScenario(const ScenarioRecord& scenario) {
  return insertScenarios({scenario});
}

Status SqliteScenarioStore::insertScenarios(const std::vector<ScenarioRecord>& scenarios) {
  std::lock_guard lock(context_.mutex());
  common::Transaction tx(context_.db());
  if (!tx.beginStatus().ok()) return tx.beginStatus();
  for (const auto& scenario : scenarios) {
    if (auto st = insertScenarioLocked(scenario); !st.ok()) return st;
  }
  return tx.commit();
}

Status SqliteScenarioStore::updateScenario(const ScenarioRecord& scenario) {
  std::lock_guard lock(context_.mutex());
  common::Transaction tx(context_.db());
  if (!tx.beginStatus().ok()) return tx.beginStatus();
  {
    ScopedStatement s(update_scenario_);
    bindScenario(*s, scenario);
    auto changed = s->runCountingChanges();
    if (!changed.ok()) return changed.error();
    if (*changed == 0) return makeError("not_found", "unknown scenario '" + scenario.id + "'");
  }
  if (auto st = writeIndexesLocked(scenario); !st.ok()) return st;
  return tx.commit();
}

Result<std::vector<ScenarioRecord>> SqliteScenarioStore::readScenariosLocked(Statement& select) {
  auto rows = common::collectRows<StoredScenario>(select, readStoredScenario);
  if (!rows.ok()) return rows.error();
  SqliteContext::BlockCache blocks;
  std::vector<ScenarioRecord> out;
  out.reserve(rows->size());
  for (auto& row : *rows) {
    if (row.block_id != 0) {
      auto text =
          context_.takeBlockTextLocked(select_scenario_block_, row.block_id, row.block_pos, blocks);
      if (!text.ok()) {
        return makeError("corrupt", "scenario '" + row.record.id + "': " + text.error().message);
      }
      row.record.json = std::move(*text);
    }
    out.push_back(std::move(row.record));
  }
  return out;
}

Result<std::optional<ScenarioRecord>> SqliteScenarioStore::scenario(const std::string& id) {
  std::lock_guard lock(context_.mutex());
  ScopedStatement s(select_scenario_);
  s->bind(1, id);
  auto found = readScenariosLocked(*s);
  if (!found.ok()) return found.error();
  if (found->empty()) return std::optional<ScenarioRecord>();
  return std::optional<ScenarioRecord>(std::move(found->front()));
}

Result<CompactionReport> SqliteScenarioStore::compactScenarios(int64_t before_ms,
                                                               int64_t max_blocks) {
  SqliteContext::BlockCompaction how;
  how.select_loose = &select_loose_scenarios_;
  how.insert_block = &insert_scenario_block_;
  how.mark_row = &mark_scenario_compact_;
  how.layout = RecordBlockLayout::kTexts;
  how.max_records = kScenarioBlockRecords;
  how.max_bytes = kScenarioBlockBytes;
  return context_.compactInBlocks(how, before_ms, max_blocks);
}

Result<std::vector<ScenarioRecord>> SqliteScenarioStore::scenarios(const ScenarioFilter& filter) {
  std::lock_guard lock(context_.mutex());
  // Filters vary per call, so this statement is built and prepared each time;
  // listing scenarios is an operator action, not a hot path.
  std::string sql = "SELECT " + kScenarioReadColumns + " FROM scenarios WHERE 1";
  int index = 0;
  std::vector<std::pair<int, std::string>> texts;
  std::vector<std::pair<int, int64_t>> numbers;
  if (filter.event) {
    sql += " AND id IN (SELECT scenario_id FROM scenario_events WHERE event = ?" +
           std::to_string(++index) + ")";
    texts.emplace_back(index, *filter.event);
  }
  if (filter.system) {
    sql += " AND id IN (SELECT scenario_id FROM scenario_systems WHERE system = ?" +
           std::to_string(++index) + ")";
    texts.emplace_back(index, *filter.system);
  }
  if (filter.level) {
    sql += " AND level = ?" + std::to_string(++index);
    texts.emplace_back(index, *filter.level);
  }
  if (filter.since_ms) {
    sql += " AND ts_ms >= ?" + std::to_string(++index);
    numbers.emplace_back(index, *filter.since_ms);
  }
  if (filter.until_ms) {
    sql += " AND ts_ms < ?" + std::to_string(++index);
    numbers.emplace_back(index, *filter.until_ms);
  }
  sql += filter.newest_first ? " ORDER BY ts_ms DESC, id DESC" : " ORDER BY ts_ms, id";
  sql += " LIMIT ?" + std::to_string(++index);
  numbers.emplace_back(index, common::sqlLimit(filter.limit));

  auto statement = context_.db().prepare(sql);
  if (!statement.ok()) return statement.error();
  for (const auto& [i, text] : texts) statement->bind(i, text);
  for (const auto& [i, number] : numbers) statement->bind(i, number);
  return readScenariosLocked(*statement);
}

Result<std::vector<ScenarioRecord>> SqliteScenarioStore::scenariosAwaitingOutcome(int64_t cutoff_ms,
                                                                                  int64_t limit) {
  std::lock_guard lock(context_.mutex());
  ScopedStatement s(select_awaiting_outcome_);
  s->bind(1, cutoff_ms).bind(2, common::sqlLimit(limit));
  return readScenariosLocked(*s);
}

Result<std::vector<AttemptRecord>> SqliteScenarioStore::recordAttempts(
    const std::string& learner_id, const std::vector<AttemptRecord>& attempts, int64_t now_ms) {
  if (auto st = checkAttempts(learner_id, attempts); !st.ok()) return st.error();
  std::lock_guard lock(context_.mutex());
  common::Transaction tx(context_.db());
  if (!tx.beginStatus().ok()) return tx.beginStatus().error();
  {
    ScopedStatement s(upsert_learner_);
    s->bind(1, learner_id).bind(2, now_ms);
    if (auto st = s->run(); !st.ok()) return st.error();
  }
  std::vector<AttemptRecord> stored = attempts;
  for (auto& a : stored) {
    ScopedStatement s(insert_attempt_);
    s->bind(1, a.learner_id)
        .bind(2, a.scenario_id)
        .bind(3, a.question_id)
        .bind(4, a.level)
        .bind(5, a.response)
        .bind(6, a.correct)
        .bind(7, a.score)
        .bind(8, a.ts_ms);
    if (auto st = s->run(); !st.ok()) return st.error();
    a.id = context_.db().lastInsertRowid();
  }
  if (auto st = tx.commit(); !st.ok()) return st.error();
  return stored;
}

Result<std::vector<AttemptRecord>> SqliteScenarioStore::attempts(const std::string& learner_id) {
  std::lock_guard lock(context_.mutex());
  ScopedStatement s(select_attempts_);
  s->bind(1, learner_id);
  return common::collectRows<AttemptRecord>(*s, readAttempt);
}

Result<std::optional<LearnerRecord>> SqliteScenarioStore::learner(const std::string& learner_id) {
  std::lock_guard lock(context_.mutex());
  ScopedStatement s(select_learner_);
  s->bind(1, learner_id);
  return common::firstRow<LearnerRecord>(*s, readLearner);
}

Status SqliteScenarioStore::setLearnerTeam(const std::string& learner_id, const std::string& team) {
  std::lock_guard lock(context_.mutex());
  ScopedStatement s(update_learner_team_);
  s->bind(1, learner_id).bind(2, team);
  auto changed = s->runCountingChanges();
  if (!changed.ok()) return changed.error();
  if (*changed == 0) return makeError("not_found", "no learner '" + learner_id + "'");
  return Status();
}

Result<std::vector<LearnerRecord>> SqliteScenarioStore::teamLearners(const std::string& team) {
  std::lock_guard lock(context_.mutex());
  ScopedStatement s(select_team_learners_);
  s->bind(1, team);
  return common::collectRows<LearnerRecord>(*s, readLearner);
}

Result<int64_t> SqliteScenarioStore::pruneScenarios(int64_t cutoff_ms) {
  auto pruned = context_.deleteInBatches(
      {&prune_events_, &prune_systems_, &prune_scenarios_},
      [&](Statement& s) { s.bind(1, cutoff_ms).bind(2, SqliteContext::kPruneBatchRows); });
  if (!pruned.ok()) return pruned;
  auto blocks = context_.deleteInBatches(
      {&prune_scenario_blocks_}, [&](Statement& s) { s.bind(1, SqliteContext::kPruneBatchRows); });
  if (!blocks.ok()) return blocks.error();
  return pruned;
}

}  // namespace pso::controller::store
