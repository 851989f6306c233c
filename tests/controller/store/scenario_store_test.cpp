#include "tests/controller/store/store_fixture.h"

#include <string>
#include <vector>

#include "common/sqlite.h"

namespace pso::controller::store {
namespace {

class ScenarioStoreTest : public StoreTest {};
// Schema history and query plans of the SQLite file.
class SqliteScenarioStoreTest : public ScenarioStoreTest {};

TEST_P(ScenarioStoreTest, ScenariosFilterByEventLevelSystemTimeAndLimit) {
  ASSERT_TRUE(
      store_
          ->insertScenario(scenarioRecord("s-1", 1000, "foundation", {"scaling_executed"}, {"web"}))
          .ok());
  ASSERT_TRUE(store_
                  ->insertScenario(scenarioRecord("s-2", 2000, "advanced_optimization",
                                                  {"scaling_executed", "workflow_enhanced"},
                                                  {"web", "api"}))
                  .ok());
  ASSERT_TRUE(store_->insertScenario(scenarioRecord("s-3", 3000, "foundation", {}, {"api"})).ok());
  ASSERT_TRUE(store_
                  ->insertScenario(scenarioRecord("s-4", 4000, "enterprise_coordination",
                                                  {"coordination_optimized"}, {"web", "api", "db"}))
                  .ok());

  auto ids = [&](const ScenarioFilter& filter) {
    std::vector<std::string> out;
    auto rows = store_->scenarios(filter);
    EXPECT_TRUE(rows.ok());
    if (rows.ok()) {
      for (const auto& r : *rows) out.push_back(r.id);
    }
    return out;
  };
  using V = std::vector<std::string>;
  EXPECT_EQ(ids({}), (V{"s-1", "s-2", "s-3", "s-4"}));

  ScenarioFilter f;
  f.event = "scaling_executed";
  EXPECT_EQ(ids(f), (V{"s-1", "s-2"}));
  f = {};
  f.event = "workflow";  // whole event names only
  EXPECT_TRUE(ids(f).empty());
  f = {};
  f.level = "foundation";
  EXPECT_EQ(ids(f), (V{"s-1", "s-3"}));
  f = {};
  f.system = "api";
  EXPECT_EQ(ids(f), (V{"s-2", "s-3", "s-4"}));
  f = {};
  f.since_ms = 2000;
  f.until_ms = 4000;
  EXPECT_EQ(ids(f), (V{"s-2", "s-3"}));
  f = {};
  f.limit = 2;
  f.newest_first = true;
  EXPECT_EQ(ids(f), (V{"s-4", "s-3"}));
  f = {};
  f.system = "web";
  f.event = "scaling_executed";
  f.level = "advanced_optimization";
  EXPECT_EQ(ids(f), (V{"s-2"}));

  auto awaiting = store_->scenariosAwaitingOutcome(3500, 10);
  ASSERT_TRUE(awaiting.ok());
  ASSERT_EQ(awaiting->size(), 3u);

  // Outcome backfill: the record is replaced, its indexes follow.
  auto filled = scenarioRecord("s-1", 1000, "foundation",
                               {"scaling_executed", "bottleneck_prevented"}, {"web"});
  filled.outcome_filled = true;
  filled.json = "{\"id\":\"s-1\",\"outcome\":{}}";
  ASSERT_TRUE(store_->updateScenario(filled).ok());
  f = {};
  f.event = "bottleneck_prevented";
  EXPECT_EQ(ids(f), (V{"s-1"}));
  auto stored = store_->scenario("s-1");
  ASSERT_TRUE(stored.ok() && stored->has_value());
  EXPECT_TRUE((*stored)->outcome_filled);
  EXPECT_EQ((*stored)->json, filled.json);
  EXPECT_EQ((*stored)->systems, (std::vector<std::string>{"web"}));
  awaiting = store_->scenariosAwaitingOutcome(3500, 10);
  ASSERT_TRUE(awaiting.ok());
  ASSERT_EQ(awaiting->size(), 2u);
  EXPECT_EQ((*awaiting)[0].id, "s-2");

  auto duplicate = store_->insertScenario(scenarioRecord("s-1", 1, "foundation", {}, {}));
  ASSERT_FALSE(duplicate.ok());
  EXPECT_EQ(duplicate.error().code, "exists");
  auto unknown = store_->updateScenario(scenarioRecord("s-404", 1, "foundation", {}, {}));
  ASSERT_FALSE(unknown.ok());
  EXPECT_EQ(unknown.error().code, "not_found");
  auto absent = store_->scenario("s-404");
  ASSERT_TRUE(absent.ok());
  EXPECT_FALSE(absent->has_value());
}

TEST_P(SqliteScenarioStoreTest, SchemaOneDatabaseGainsLearnersAndKeepsItsScenarios) {
  ASSERT_TRUE(
      store_->insertScenario(scenarioRecord("s-old", 1000, "foundation", {}, {"web"})).ok());
  store_.reset();
  {
    // What a database written before learners existed looks like.
    auto db = common::Database::open(path_);
    ASSERT_TRUE(db.ok());
    ASSERT_TRUE((*db)
                    ->exec(std::string(kUndoMigrationsEightToTenSql) +
                           "DROP TABLE attempts; DROP TABLE learners; DROP TABLE rollups_minute; "
                           "DROP TABLE rollups_hour; DROP TABLE rollup_late; "
                           "ALTER TABLE agents DROP COLUMN conflicts; DROP TABLE alerts; "
                           "DROP TABLE notifications; PRAGMA user_version = 1")
                    .ok());
  }
  reopen();
  EXPECT_EQ(store_->schemaVersion(), Store::latestSchemaVersion());
  auto old = store_->scenario("s-old");
  ASSERT_TRUE(old.ok());
  ASSERT_TRUE(old->has_value());
  AttemptRecord a;
  a.learner_id = "learner-1";
  a.scenario_id = "s-old";
  a.question_id = "s-old-q1";
  a.correct = true;
  a.score = 1.0;
  a.ts_ms = 5000;
  EXPECT_TRUE(store_->recordAttempts("learner-1", {a}, 5000).ok());
}

TEST_P(ScenarioStoreTest, AttemptsAreStoredPerLearner) {
  auto attempt = [](const std::string& learner, const std::string& q, bool correct, int64_t ts) {
    AttemptRecord a;
    a.learner_id = learner;
    a.scenario_id = "s-1";
    a.question_id = q;
    a.level = "foundation";
    a.response = "\"b\"";
    a.correct = correct;
    a.score = correct ? 1.0 : 0.0;
    a.ts_ms = ts;
    return a;
  };
  auto first = store_->recordAttempts(
      "learner-1",
      {attempt("learner-1", "s-1-q1", false, 100), attempt("learner-1", "s-1-q2", true, 100)}, 100);
  ASSERT_TRUE(first.ok()) << first.error().message;
  ASSERT_EQ(first->size(), 2u);
  EXPECT_GT((*first)[1].id, (*first)[0].id);
  ASSERT_TRUE(
      store_->recordAttempts("learner-1", {attempt("learner-1", "s-1-q1", true, 200)}, 200).ok());
  ASSERT_TRUE(
      store_->recordAttempts("learner-2", {attempt("learner-2", "s-1-q1", true, 150)}, 150).ok());

  auto mine = store_->attempts("learner-1");
  ASSERT_TRUE(mine.ok());
  ASSERT_EQ(mine->size(), 3u);
  EXPECT_EQ((*mine)[0].question_id, "s-1-q1");
  EXPECT_FALSE((*mine)[0].correct);
  EXPECT_EQ((*mine)[0].response, "\"b\"");
  EXPECT_EQ((*mine)[2].ts_ms, 200);
  EXPECT_TRUE((*mine)[2].correct);
  auto learner = store_->learner("learner-1");
  ASSERT_TRUE(learner.ok());
  ASSERT_TRUE(learner->has_value());
  EXPECT_EQ((*learner)->first_seen_ms, 100);
  EXPECT_EQ((*learner)->last_seen_ms, 200);
  auto nobody = store_->learner("learner-9");
  ASSERT_TRUE(nobody.ok());
  EXPECT_FALSE(nobody->has_value());

  // Someone else's attempt, or no learner at all, stores nothing.
  auto mixed =
      store_->recordAttempts("learner-1", {attempt("learner-2", "s-1-q3", true, 300)}, 300);
  ASSERT_FALSE(mixed.ok());
  EXPECT_EQ(mixed.error().code, "invalid");
  EXPECT_FALSE(store_->recordAttempts("", {}, 300).ok());
  EXPECT_EQ(store_->attempts("learner-2")->size(), 1u);
}

TEST_P(SqliteScenarioStoreTest, SchemaFiveDatabaseGainsTeamsAndKeepsItsLearners) {
  AttemptRecord a;
  a.learner_id = "learner-1";
  a.scenario_id = "s-1";
  a.question_id = "s-1-q1";
  a.level = "foundation";
  a.ts_ms = 100;
  ASSERT_TRUE(store_->recordAttempts("learner-1", {a}, 100).ok());
  store_.reset();
  {
    // What a database written before teams existed looks like.
    auto db = common::Database::open(path_);
    ASSERT_TRUE(db.ok());
    ASSERT_TRUE((*db)
                    ->exec(std::string(kUndoMigrationsEightToTenSql) +
                           "DROP INDEX learners_by_team; ALTER TABLE learners DROP COLUMN team; "
                           "PRAGMA user_version = 5")
                    .ok());
  }
  reopen();
  EXPECT_EQ(store_->schemaVersion(), Store::latestSchemaVersion());
  auto learner = store_->learner("learner-1");
  ASSERT_TRUE(learner.ok() && learner->has_value());
  EXPECT_EQ((*learner)->team, "");
  EXPECT_EQ((*learner)->first_seen_ms, 100);
  EXPECT_TRUE(store_->setLearnerTeam("learner-1", "ops-emea").ok());
}

TEST_P(ScenarioStoreTest, LearnersBelongToOneTeamAtATime) {
  auto attempt = [](const std::string& learner) {
    AttemptRecord a;
    a.learner_id = learner;
    a.scenario_id = "s-1";
    a.question_id = "s-1-q1";
    a.level = "foundation";
    a.ts_ms = 100;
    return a;
  };
  for (const char* learner : {"learner-2", "learner-1", "learner-3"}) {
    ASSERT_TRUE(store_->recordAttempts(learner, {attempt(learner)}, 100).ok());
  }
  ASSERT_TRUE(store_->setLearnerTeam("learner-2", "ops-emea").ok());
  ASSERT_TRUE(store_->setLearnerTeam("learner-1", "ops-emea").ok());
  ASSERT_TRUE(store_->setLearnerTeam("learner-3", "sre").ok());

  auto emea = store_->teamLearners("ops-emea");
  ASSERT_TRUE(emea.ok());
  ASSERT_EQ(emea->size(), 2u);
  EXPECT_EQ((*emea)[0].id, "learner-1");
  EXPECT_EQ((*emea)[1].id, "learner-2");
  EXPECT_EQ((*emea)[1].team, "ops-emea");

  // Moving a learner takes them out of their old team; "" is no team.
  ASSERT_TRUE(store_->setLearnerTeam("learner-2", "sre").ok());
  EXPECT_EQ(store_->teamLearners("ops-emea")->size(), 1u);
  EXPECT_EQ(store_->teamLearners("sre")->size(), 2u);
  ASSERT_TRUE(store_->setLearnerTeam("learner-3", "").ok());
  EXPECT_EQ(store_->teamLearners("sre")->size(), 1u);
  EXPECT_TRUE(store_->teamLearners("")->empty());
  EXPECT_TRUE(store_->teamLearners("nobody")->empty());

  auto unknown = store_->setLearnerTeam("learner-9", "sre");
  ASSERT_FALSE(unknown.ok());
  EXPECT_EQ(unknown.error().code, "not_found");
}

TEST_P(ScenarioStoreTest, InsertScenariosIsAllOrNothing) {
  ASSERT_TRUE(
      store_
          ->insertScenarios({scenarioRecord("s-1", 1, "foundation", {}, {"web"}),
                             scenarioRecord("s-2", 2, "foundation", {"scaling_executed"}, {"web"})})
          .ok());
  auto clash = store_->insertScenarios({scenarioRecord("s-3", 3, "foundation", {}, {"web"}),
                                        scenarioRecord("s-1", 4, "foundation", {}, {"web"})});
  ASSERT_FALSE(clash.ok());
  EXPECT_EQ(clash.error().code, "exists");
  auto all = store_->scenarios({});
  ASSERT_TRUE(all.ok());
  ASSERT_EQ(all->size(), 2u);
  ScenarioFilter scaled;
  scaled.event = "scaling_executed";
  EXPECT_EQ(store_->scenarios(scaled)->size(), 1u);
}

TEST_P(ScenarioStoreTest, RetentionKeepsScenariosALearnerAnsweredAndDropsTheirIndexRows) {
  for (int i = 0; i < 4; ++i) {
    ASSERT_TRUE(store_
                    ->insertScenario(scenarioRecord("s-" + std::to_string(i), 1000 * (i + 1),
                                                    "foundation", {"scaling_executed"}, {"web"}))
                    .ok());
  }
  AttemptRecord a;
  a.learner_id = "learner-1";
  a.scenario_id = "s-1";
  a.question_id = "s-1-q1";
  a.level = "foundation";
  a.response = "\"b\"";
  a.ts_ms = 9000;
  ASSERT_TRUE(store_->recordAttempts("learner-1", {a}, 9000).ok());

  // Before 3,500: s-0 goes, s-1 stays (answered), s-2 goes; s-3 is newer.
  auto pruned = store_->pruneScenarios(3500);
  ASSERT_TRUE(pruned.ok()) << pruned.error().message;
  EXPECT_EQ(*pruned, 2);
  std::vector<std::string> ids;
  auto all = store_->scenarios({});
  ASSERT_TRUE(all.ok());
  for (const auto& r : *all) ids.push_back(r.id);
  EXPECT_EQ(ids, (std::vector<std::string>{"s-1", "s-3"}));
  ScenarioFilter by_event;
  by_event.event = "scaling_executed";
  auto by = store_->scenarios(by_event);
  ASSERT_TRUE(by.ok());
  EXPECT_EQ(by->size(), 2u);

  for (const char* table : {"scenario_events", "scenario_systems"}) {
    EXPECT_EQ(rawInt(std::string("SELECT COUNT(*) FROM ") + table +
                     " WHERE scenario_id IN ('s-0', 's-2')"),
              0)
        << table;
  }
}

TEST_P(SqliteScenarioStoreTest, AScenariosIndexRowsAreFoundByScenarioNotByScanningTheTable) {
  store_.reset();
  auto db = common::Database::open(path_, true);
  ASSERT_TRUE(db.ok());
  for (const char* table : {"scenario_events", "scenario_systems"}) {
    auto plan = (*db)->prepare(std::string("EXPLAIN QUERY PLAN DELETE FROM ") + table +
                               " WHERE scenario_id = 's-1'");
    ASSERT_TRUE(plan.ok()) << table;
    std::string details;
    for (;;) {
      auto row = plan->step();
      ASSERT_TRUE(row.ok());
      if (!*row) break;
      details += plan->columnText(3) + "\n";
    }
    EXPECT_NE(details.find(std::string("INDEX ") + table + "_by_scenario"), std::string::npos)
        << table << ":\n"
        << details;
  }
  db->reset();
  reopen();
}

// Compaction into blocks is the SQLite backend's (the interface's default
// keeps rows as written).
class ScenarioCompactionTest : public StoreTest {};

TEST_P(ScenarioCompactionTest, CompactedScenariosReadBackByteForByteThroughEveryRead) {
  std::vector<ScenarioRecord> written;
  for (int n = 0; n < 150; ++n) {
    ScenarioRecord r = scenarioRecord(
        "s-" + std::to_string(1000 + n), 1000 + n, n % 3 ? "foundation" : "system_integration",
        {n % 2 ? "scaling_executed" : "workflow_enhanced"}, {"web", n % 5 ? "db" : "cache"});
    r.json = R"({"history": [)" + std::to_string(n) + ", " + std::to_string(n * 0.1) +
             R"(], "id": ")" + r.id + R"("})";
    r.outcome_filled = n < 140;
    written.push_back(r);
  }
  ASSERT_TRUE(store_->insertScenarios(written).ok());
  ScenarioFilter all;
  ScenarioFilter by_system;
  by_system.system = "cache";
  ScenarioFilter by_event;
  by_event.event = "scaling_executed";
  by_event.newest_first = true;
  by_event.limit = 7;
  auto read = [&](const ScenarioFilter& f) {
    auto r = store_->scenarios(f);
    EXPECT_TRUE(r.ok()) << r.error().message;
    return r.ok() ? *r : std::vector<ScenarioRecord>{};
  };
  auto same = [](const std::vector<ScenarioRecord>& a, const std::vector<ScenarioRecord>& b) {
    ASSERT_EQ(a.size(), b.size());
    for (std::size_t i = 0; i < a.size(); ++i) {
      EXPECT_EQ(a[i].id, b[i].id);
      EXPECT_EQ(a[i].json, b[i].json) << a[i].id;
      EXPECT_EQ(a[i].systems, b[i].systems);
      EXPECT_EQ(a[i].events, b[i].events);
      EXPECT_EQ(a[i].level, b[i].level);
      EXPECT_EQ(a[i].outcome_filled, b[i].outcome_filled);
      EXPECT_EQ(a[i].cycle_id, b[i].cycle_id);
      EXPECT_EQ(a[i].ts_ms, b[i].ts_ms);
    }
  };
  const auto all_before = read(all);
  const auto system_before = read(by_system);
  const auto event_before = read(by_event);
  auto awaiting_before = store_->scenariosAwaitingOutcome(2000, 0);
  ASSERT_TRUE(awaiting_before.ok());

  auto report = store_->compactScenarios(1145, 0);
  ASSERT_TRUE(report.ok()) << report.error().message;
  EXPECT_EQ(report->records, 145);
  EXPECT_EQ(report->blocks, 3);  // 64 + 64 + 17

  same(all_before, read(all));
  same(system_before, read(by_system));
  same(event_before, read(by_event));
  same(*awaiting_before, store_->scenariosAwaitingOutcome(2000, 0).value());
  auto one = store_->scenario("s-1070");
  ASSERT_TRUE(one.ok() && one->has_value());
  EXPECT_EQ((*one)->json, written[70].json);

  // An outcome filled in later stores the document whole again.
  ScenarioRecord updated = written[141];
  updated.json = R"({"id":"s-1141","outcome":{"filled":true}})";
  updated.outcome_filled = true;
  ASSERT_TRUE(store_->updateScenario(updated).ok());
  EXPECT_EQ(store_->scenario("s-1141").value()->json, updated.json);
  EXPECT_EQ(store_->scenario("s-1140").value()->json, written[140].json);
}

TEST_P(ScenarioCompactionTest, ACompactedScenarioALearnerAnsweredOutlivesRetention) {
  std::vector<ScenarioRecord> written;
  for (int n = 0; n < 10; ++n) {
    written.push_back(scenarioRecord("s-" + std::to_string(n), 100 + n, "foundation", {}, {"web"}));
  }
  ASSERT_TRUE(store_->insertScenarios(written).ok());
  AttemptRecord a;
  a.learner_id = "learner-1";
  a.scenario_id = "s-4";
  a.question_id = "s-4-q1";
  a.ts_ms = 500;
  ASSERT_TRUE(store_->recordAttempts("learner-1", {a}, 500).ok());
  ASSERT_EQ(store_->compactScenarios(1000, 0).value().records, 10);
  ASSERT_EQ(store_->pruneScenarios(1000).value(), 9);
  reopen();
  auto kept = store_->scenario("s-4");
  ASSERT_TRUE(kept.ok()) << kept.error().message;
  ASSERT_TRUE(kept->has_value());
  EXPECT_EQ((*kept)->json, written[4].json);
  EXPECT_FALSE(store_->scenario("s-3").value().has_value());
}

PSO_STORE_TEST_ON_EVERY_BACKEND(ScenarioStoreTest);
PSO_STORE_TEST_ON_SQLITE(SqliteScenarioStoreTest);
PSO_STORE_TEST_ON_SQLITE(ScenarioCompactionTest);

}  // namespace
}  // namespace pso::controller::store
