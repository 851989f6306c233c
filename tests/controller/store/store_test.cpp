#include "tests/controller/store/store_fixture.h"

#include <algorithm>
#include <fstream>
#include <string>
#include <vector>

#include "common/sqlite.h"
#include "controller/store/sqlite/schema.h"

namespace pso::controller::store {
namespace {

// Tests of the SQLite file itself: its schema history and what it refuses.
class SqliteFileTest : public StoreTest {};

TEST_P(SqliteFileTest, MigrationsCreateEveryTableAndReopenIsIdempotent) {
  EXPECT_GE(Store::latestSchemaVersion(), 1);
  EXPECT_EQ(store_->schemaVersion(), Store::latestSchemaVersion());
  {
    auto db = common::Database::open(path_, true);
    ASSERT_TRUE(db.ok()) << db.error().message;
    auto stmt = (*db)->prepare("SELECT name FROM sqlite_schema WHERE type = 'table'");
    ASSERT_TRUE(stmt.ok());
    std::vector<std::string> tables;
    while (true) {
      auto row = stmt->step();
      ASSERT_TRUE(row.ok());
      if (!*row) break;
      tables.push_back(stmt->columnText(0));
    }
    for (const char* name : {"agents", "systems", "series", "samples", "health", "cycles",
                             "directives", "scenarios", "engine_state", "meta"}) {
      EXPECT_NE(std::find(tables.begin(), tables.end(), name), tables.end()) << name;
    }
  }
  ASSERT_TRUE(store_->upsertAgent(hello("edge-01"), 1000).ok());
  reopen();
  reopen();
  EXPECT_EQ(store_->schemaVersion(), Store::latestSchemaVersion());
  auto agents = store_->agents();
  ASSERT_TRUE(agents.ok());
  ASSERT_EQ(agents->size(), 1u);
  auto integrity = store_->integrityCheck();
  ASSERT_TRUE(integrity.ok());
  EXPECT_TRUE(*integrity);
}

// Migration 4: host samples stored before it under the empty system mix
// every agent's and cannot be attributed, so they are deleted; the rest stays.
TEST_P(SqliteFileTest, MigrationFourDeletesTheInterleavedHostSeries) {
  store_.reset();
  fs::remove(path_);
  {
    auto db = common::Database::open(path_);
    ASSERT_TRUE(db.ok()) << db.error().message;
    auto migrations = sqliteMigrations();
    migrations.resize(3);
    ASSERT_TRUE((*db)->migrate(migrations).ok());
    ASSERT_TRUE((*db)
                    ->exec("INSERT INTO agents (id, first_seen_ms, last_seen_ms, last_seq) "
                           "VALUES ('edge-01', 1, 1, 7);"
                           "INSERT INTO series (id, system, metric) VALUES (1, '', 'cpu.usage'), "
                           "(2, 'web', 'demand');"
                           "INSERT INTO samples VALUES (1, 1000, 0.5), (2, 1000, 10);"
                           "INSERT INTO rollups_minute VALUES (1, 0, 0.5, 0.5, 0.5, 1), "
                           "(2, 0, 10, 10, 10, 1);"
                           "INSERT INTO rollups_hour VALUES (1, 0, 0.5, 0.5, 0.5, 1);"
                           "INSERT INTO rollup_late VALUES (1, 0);")
                    .ok());
  }
  reopen();
  EXPECT_EQ(store_->schemaVersion(), Store::latestSchemaVersion());
  EXPECT_TRUE(store_->metrics("")->empty());
  EXPECT_TRUE(store_->rollups("", "cpu.usage", RollupResolution::kMinute, 0, 60000)->empty());
  EXPECT_EQ(webDemand().size(), 1u);
  EXPECT_EQ(store_->rollups("web", "demand", RollupResolution::kMinute, 0, 60000)->size(), 1u);
  auto agent = store_->agent("edge-01");
  ASSERT_TRUE(agent.ok() && agent->has_value());
  EXPECT_EQ((*agent)->last_seq, 7u);
  EXPECT_TRUE((*agent)->conflicts.empty());
  {
    auto db = common::Database::open(path_, true);
    ASSERT_TRUE(db.ok());
    auto count = (*db)->prepare(
        "SELECT (SELECT COUNT(*) FROM series WHERE system = '') + "
        "(SELECT COUNT(*) FROM rollups_hour) + (SELECT COUNT(*) FROM rollup_late)");
    ASSERT_TRUE(count.ok());
    auto row = count->step();
    ASSERT_TRUE(row.ok() && *row);
    EXPECT_EQ(count->columnInt64(0), 0);
  }
}

TEST_P(SqliteFileTest, RefusesDatabaseFromNewerSchema) {
  store_.reset();
  {
    auto db = common::Database::open(path_);
    ASSERT_TRUE(db.ok());
    ASSERT_TRUE(
        (*db)
            ->exec("PRAGMA user_version = " + std::to_string(Store::latestSchemaVersion() + 1))
            .ok());
  }
  auto opened = Store::open(path_);
  ASSERT_FALSE(opened.ok());
  EXPECT_EQ(opened.error().code, "schema");
}

TEST_P(SqliteFileTest, MissingDirectoryOrForeignFileIsAClearError) {
  auto missing = Store::open((dir_ / "no-such-dir" / "controller.db").string());
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().code, "io");
  EXPECT_NE(missing.error().message.find("no-such-dir"), std::string::npos);

  const auto garbage = dir_ / "garbage.db";
  std::ofstream(garbage) << "this is not an SQLite database, just text that is long enough";
  auto foreign = Store::open(garbage.string());
  ASSERT_FALSE(foreign.ok());
  EXPECT_NE(foreign.error().message.find("garbage.db"), std::string::npos);
}

TEST_P(StoreTest, ReopenAfterCloseKeepsEverything) {
  ASSERT_TRUE(store_->upsertAgent(hello("edge-01"), 1000).ok());
  ASSERT_TRUE(store_->ingestTelemetry(batch("edge-01", 1, {1000, 2000}, {10, 20}), kNowMs).ok());
  ASSERT_TRUE(store_->insertDirective(directive("d-1", "engine", 5, 1500)).ok());
  ASSERT_TRUE(store_
                  ->insertScenario(
                      scenarioRecord("s-c-1", 1500, "foundation", {"scaling_executed"}, {"web"}))
                  .ok());
  ASSERT_TRUE(store_->saveEngineState(std::string("state\0with nul", 14), kNowMs).ok());
  auto seq = store_->nextCycleSeq();
  ASSERT_TRUE(seq.ok());
  EXPECT_EQ(*seq, 1);

  reopen();

  auto agent = store_->agent("edge-01");
  ASSERT_TRUE(agent.ok() && agent->has_value());
  EXPECT_EQ((*agent)->last_seq, 1u);
  EXPECT_EQ(webDemand().size(), 2u);
  auto d = store_->directive("d-1");
  ASSERT_TRUE(d.ok() && d->has_value());
  EXPECT_EQ((*d)->replicas, 5);
  auto s = store_->scenario("s-c-1");
  ASSERT_TRUE(s.ok() && s->has_value());
  EXPECT_EQ((*s)->events, (std::vector<std::string>{"scaling_executed"}));
  auto state = store_->loadEngineState();
  ASSERT_TRUE(state.ok());
  EXPECT_EQ(*state, std::string("state\0with nul", 14));
  seq = store_->nextCycleSeq();
  ASSERT_TRUE(seq.ok());
  EXPECT_EQ(*seq, 2);

  // The next batch continues the sequence on the same series after a restart.
  auto next = store_->ingestTelemetry(batch("edge-01", 2, {3000}, {30}), kNowMs);
  ASSERT_TRUE(next.ok());
  EXPECT_EQ(next->kind, IngestOutcome::Kind::kStored);
  EXPECT_EQ(webDemand().size(), 3u);
}

// Each aggregate interface reaches the same database: what one writes through
// its own interface, the others and the Store read.
TEST_P(StoreTest, EachAggregateInterfaceServesTheOneDatabase) {
  FleetStore& fleet = *store_;
  TelemetryStore& telemetry = *store_;
  DirectiveStore& directives = *store_;
  CycleStore& cycles = *store_;
  ScenarioStore& scenarios = *store_;

  ASSERT_TRUE(fleet.upsertAgent(hello("edge-01", 2), 1000).ok());
  ASSERT_TRUE(directives.insertDirective(directive("d-1", "engine", 6, 2000)).ok());
  ASSERT_TRUE(directives.recordDirectiveResult(appliedResult("d-1", 6, 2500)).ok());
  auto web = fleet.system("web");
  ASSERT_TRUE(web.ok() && web->has_value());
  EXPECT_EQ((*web)->replicas, 6);

  ASSERT_TRUE(telemetry.ingestTelemetry(batch("edge-01", 1, {3000}, {7}), kNowMs).ok());
  EXPECT_EQ(store_->agent("edge-01")->value().last_seq, 1u);
  ASSERT_TRUE(cycles.saveEngineState("state", kNowMs).ok());
  EXPECT_EQ(*store_->loadEngineState(), "state");
  ASSERT_TRUE(
      scenarios.insertScenario(scenarioRecord("s-1", 3000, "foundation", {}, {"web"})).ok());
  EXPECT_EQ(store_->scenarios({})->size(), 1u);
}

PSO_STORE_TEST_ON_EVERY_BACKEND(StoreTest);
PSO_STORE_TEST_ON_SQLITE(SqliteFileTest);

}  // namespace
}  // namespace pso::controller::store
