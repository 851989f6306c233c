#include "common/sqlite.h"

#include <gtest/gtest.h>

#include <fstream>

#include "tests/common/temp_dir.h"

namespace pso::common {
namespace {

using testing::TempDir;

const std::vector<std::string> kMigrations = {
    "CREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT NOT NULL, weight REAL, data BLOB);",
    "CREATE TABLE tags (item INTEGER NOT NULL REFERENCES items(id), tag TEXT NOT NULL);"
    "CREATE INDEX tags_by_item ON tags(item);",
};

std::unique_ptr<Database> openDb(const std::string& path) {
  auto db = Database::open(path);
  EXPECT_TRUE(db.ok()) << (db.ok() ? "" : db.error().message);
  return db.ok() ? std::move(*db) : nullptr;
}

int64_t countRows(Database& db, const std::string& table) {
  auto stmt = db.prepare("SELECT count(*) FROM " + table);
  EXPECT_TRUE(stmt.ok());
  auto row = stmt->step();
  EXPECT_TRUE(row.ok() && *row);
  return stmt->columnInt64(0);
}

TEST(Sqlite, OpensInWalModeWithForeignKeys) {
  TempDir dir;
  auto db = openDb(dir.file("a.db"));
  ASSERT_TRUE(db);
  auto mode = db->prepare("PRAGMA journal_mode");
  ASSERT_TRUE(mode.ok());
  ASSERT_TRUE(*mode->step());
  EXPECT_EQ(mode->columnText(0), "wal");
  auto fk = db->prepare("PRAGMA foreign_keys");
  ASSERT_TRUE(*fk->step());
  EXPECT_EQ(fk->columnInt64(0), 1);
  auto sync = db->prepare("PRAGMA synchronous");
  ASSERT_TRUE(*sync->step());
  EXPECT_EQ(sync->columnInt64(0), 1);  // NORMAL
  auto busy = db->prepare("PRAGMA busy_timeout");
  ASSERT_TRUE(*busy->step());
  EXPECT_EQ(busy->columnInt64(0), 5000);
}

TEST(Sqlite, MigrationsApplyOnceAndSetUserVersion) {
  TempDir dir;
  const std::string path = dir.file("m.db");
  {
    auto db = openDb(path);
    ASSERT_TRUE(db);
    EXPECT_EQ(db->userVersion(), 0);
    ASSERT_TRUE(db->migrate(kMigrations).ok());
    EXPECT_EQ(db->userVersion(), 2);
    ASSERT_TRUE(db->exec("INSERT INTO items(name) VALUES ('kept')").ok());
  }
  // Reopening and migrating again must not re-run CREATE TABLE (which would fail).
  auto db = openDb(path);
  ASSERT_TRUE(db);
  auto again = db->migrate(kMigrations);
  EXPECT_TRUE(again.ok()) << again.error().message;
  EXPECT_EQ(db->userVersion(), 2);
  EXPECT_EQ(countRows(*db, "items"), 1);

  // A new migration appended later applies on top.
  auto extended = kMigrations;
  extended.push_back("ALTER TABLE items ADD COLUMN note TEXT;");
  ASSERT_TRUE(db->migrate(extended).ok());
  EXPECT_EQ(db->userVersion(), 3);
  EXPECT_TRUE(db->exec("UPDATE items SET note = 'x'").ok());
}

TEST(Sqlite, RefusesNewerSchema) {
  TempDir dir;
  auto db = openDb(dir.file("new.db"));
  ASSERT_TRUE(db);
  ASSERT_TRUE(db->exec("PRAGMA user_version = 7").ok());
  auto st = db->migrate(kMigrations);
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error().code, "schema");
  EXPECT_NE(st.error().message.find("schema version 7"), std::string::npos);
  EXPECT_EQ(db->userVersion(), 7);
}

TEST(Sqlite, FailedMigrationRollsBackAndNamesIt) {
  TempDir dir;
  auto db = openDb(dir.file("bad.db"));
  ASSERT_TRUE(db);
  const std::vector<std::string> broken = {kMigrations[0],
                                           "CREATE TABLE t2 (x INTEGER); CREATE TABLEE oops;"};
  auto st = db->migrate(broken);
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error().code, "schema");
  EXPECT_NE(st.error().message.find("migration 2"), std::string::npos);
  EXPECT_EQ(db->userVersion(), 1);
  // t2 was created inside the failed migration's transaction and rolled back.
  EXPECT_FALSE(db->exec("SELECT * FROM t2").ok());
}

TEST(Sqlite, TransactionRollsBackOnDestruction) {
  TempDir dir;
  auto db = openDb(dir.file("tx.db"));
  ASSERT_TRUE(db);
  ASSERT_TRUE(db->migrate(kMigrations).ok());
  {
    Transaction tx(*db);
    ASSERT_TRUE(tx.active());
    ASSERT_TRUE(db->exec("INSERT INTO items(name) VALUES ('lost')").ok());
  }
  EXPECT_EQ(countRows(*db, "items"), 0);
  {
    Transaction tx(*db);
    ASSERT_TRUE(db->exec("INSERT INTO items(name) VALUES ('kept')").ok());
    ASSERT_TRUE(tx.commit().ok());
    EXPECT_FALSE(tx.active());
  }
  EXPECT_EQ(countRows(*db, "items"), 1);
}

TEST(Sqlite, StatementsBindAndReadEveryType) {
  TempDir dir;
  auto db = openDb(dir.file("s.db"));
  ASSERT_TRUE(db);
  ASSERT_TRUE(db->migrate(kMigrations).ok());
  auto insert = db->prepare("INSERT INTO items(id, name, weight, data) VALUES (?, ?, ?, ?)");
  ASSERT_TRUE(insert.ok());
  const std::string blob("\0\1\2\3", 4);
  ASSERT_TRUE(insert->bind(1, 7)
                  .bind(2, "seven")
                  .bind(3, 7.5)
                  .bindBlob(4, blob.data(), blob.size())
                  .run()
                  .ok());
  EXPECT_EQ(db->lastInsertRowid(), 7);
  EXPECT_EQ(db->changes(), 1);
  insert->reset();
  ASSERT_TRUE(
      insert->bind(1, int64_t{8}).bind(2, std::string("eight")).bindNull(3).bindNull(4).run().ok());

  auto select = db->prepare("SELECT id, name, weight, data FROM items ORDER BY id");
  ASSERT_TRUE(select.ok());
  ASSERT_TRUE(*select->step());
  EXPECT_EQ(select->columnInt64(0), 7);
  EXPECT_EQ(select->columnText(1), "seven");
  EXPECT_DOUBLE_EQ(select->columnDouble(2), 7.5);
  EXPECT_EQ(select->columnBlob(3), blob);
  ASSERT_TRUE(*select->step());
  EXPECT_EQ(select->columnInt64(0), 8);
  EXPECT_TRUE(select->columnIsNull(2));
  EXPECT_FALSE(select->columnIsNull(1));
  EXPECT_FALSE(*select->step());
}

TEST(Sqlite, ErrorsCarryTheReasonAndTheStatement) {
  TempDir dir;
  auto db = openDb(dir.file("e.db"));
  ASSERT_TRUE(db);
  auto bad = db->prepare("SELECT name FROM nowhere WHERE 1 = 1");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().code, "sqlite") << bad.error().message;
  EXPECT_NE(bad.error().message.find("no such table: nowhere"), std::string::npos)
      << bad.error().message;
  EXPECT_NE(bad.error().message.find("SELECT name FROM nowhere"), std::string::npos);

  ASSERT_TRUE(db->migrate(kMigrations).ok());
  // The foreign key is enforced: tag for a missing item.
  auto st = db->exec("INSERT INTO tags(item, tag) VALUES (99, 'x')");
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.error().message.find("FOREIGN KEY"), std::string::npos);
  auto insert = db->prepare("INSERT INTO items(id, name) VALUES (?, NULL)");
  ASSERT_TRUE(insert.ok());
  auto run = insert->bind(1, 1).run();
  ASSERT_FALSE(run.ok());
  EXPECT_NE(run.error().message.find("NOT NULL"), std::string::npos);
  EXPECT_NE(run.error().message.find("INSERT INTO items(id,"), std::string::npos);
}

TEST(Sqlite, RowHelpersReadEveryRowOrTheFirst) {
  TempDir dir;
  auto db = openDb(dir.file("rows.db"));
  ASSERT_TRUE(db);
  ASSERT_TRUE(db->migrate(kMigrations).ok());
  ASSERT_TRUE(db->exec("INSERT INTO items(id, name) VALUES (1, 'a'), (2, 'b'), (3, 'c')").ok());

  auto select = db->prepare("SELECT id, name FROM items WHERE id >= ? ORDER BY id");
  ASSERT_TRUE(select.ok());
  select->bind(1, 2);
  auto names = collectRows<std::string>(*select, [](const Statement& row) {
    return std::to_string(row.columnInt64(0)) + row.columnText(1);
  });
  ASSERT_TRUE(names.ok());
  EXPECT_EQ(*names, (std::vector<std::string>{"2b", "3c"}));

  select->reset();
  select->bind(1, 1);
  auto first = firstRow<int64_t>(*select, firstColumnInt64);
  ASSERT_TRUE(first.ok());
  EXPECT_EQ(*first, std::optional<int64_t>(1));
  select->reset();
  select->bind(1, 9);
  auto none = firstRow<int64_t>(*select, firstColumnInt64);
  ASSERT_TRUE(none.ok());
  EXPECT_FALSE(none->has_value());

  auto text = db->prepare("SELECT name FROM items ORDER BY id DESC");
  ASSERT_TRUE(text.ok());
  auto all = collectRows<std::string>(*text, firstColumnText);
  ASSERT_TRUE(all.ok());
  EXPECT_EQ(*all, (std::vector<std::string>{"c", "b", "a"}));

  // A step error (here an integer overflow in the third row) stops the loop
  // after the rows before it and is returned.
  auto failing = db->prepare(
      "SELECT CASE WHEN id < 3 THEN id ELSE abs(-9223372036854775805 - id) END FROM items "
      "ORDER BY id");
  ASSERT_TRUE(failing.ok());
  int seen = 0;
  auto st = forEachRow(*failing, [&](const Statement&) { ++seen; });
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(seen, 2);
  EXPECT_EQ(st.error().code, "sqlite");
  EXPECT_NE(st.error().message.find("overflow"), std::string::npos) << st.error().message;
}

TEST(Sqlite, ScopedStatementClearsBindingsOnEntryAndExit) {
  TempDir dir;
  auto db = openDb(dir.file("scoped.db"));
  ASSERT_TRUE(db);
  ASSERT_TRUE(db->migrate(kMigrations).ok());
  ASSERT_TRUE(db->exec("INSERT INTO items(id, name) VALUES (1, 'a'), (2, 'b')").ok());
  auto select = db->prepare("SELECT count(*) FROM items WHERE id = ?1 OR ?1 IS NULL");
  ASSERT_TRUE(select.ok());
  select->bind(1, 1);
  {
    // The binding made before the scope is gone: ?1 is NULL, every row counts.
    ScopedStatement s(*select);
    auto count = firstRow<int64_t>(*s, firstColumnInt64);
    ASSERT_TRUE(count.ok());
    EXPECT_EQ(**count, 2);
    s->reset();
    s->bind(1, 2);
    count = firstRow<int64_t>(*s, firstColumnInt64);
    ASSERT_TRUE(count.ok());
    EXPECT_EQ(**count, 1);
  }
  // Leaving the scope reset the statement and cleared ?1 again.
  auto after = firstRow<int64_t>(*select, firstColumnInt64);
  ASSERT_TRUE(after.ok());
  EXPECT_EQ(**after, 2);
}

TEST(Sqlite, RunCountingChangesReportsTheRowsWritten) {
  TempDir dir;
  auto db = openDb(dir.file("changes.db"));
  ASSERT_TRUE(db);
  ASSERT_TRUE(db->migrate(kMigrations).ok());
  ASSERT_TRUE(db->exec("INSERT INTO items(id, name) VALUES (1, 'a'), (2, 'b'), (3, 'c')").ok());
  auto remove = db->prepare("DELETE FROM items WHERE id < ?");
  ASSERT_TRUE(remove.ok());
  remove->bind(1, 3);
  auto removed = remove->runCountingChanges();
  ASSERT_TRUE(removed.ok());
  EXPECT_EQ(*removed, 2);
  remove->reset();
  remove->bind(1, 3);
  removed = remove->runCountingChanges();
  ASSERT_TRUE(removed.ok());
  EXPECT_EQ(*removed, 0);

  Statement empty;
  EXPECT_FALSE(empty.runCountingChanges().ok());
}

TEST(Sqlite, PrepareAllStopsAtTheFirstFailureAndNamesIt) {
  TempDir dir;
  auto db = openDb(dir.file("prepare.db"));
  ASSERT_TRUE(db);
  ASSERT_TRUE(db->migrate(kMigrations).ok());
  Statement count;
  Statement names;
  Statement never;
  ASSERT_TRUE(
      db->prepareAll({{&count, "SELECT count(*) FROM items"}, {&names, "SELECT name FROM items"}})
          .ok());
  EXPECT_NE(count.raw(), nullptr);
  EXPECT_NE(names.raw(), nullptr);

  auto st = db->prepareAll({{&count, "SELECT count(*) FROM items"},
                            {&names, "SELECT name FROM missing_table"},
                            {&never, "SELECT 1"}});
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error().code, "sqlite");
  EXPECT_NE(st.error().message.find("missing_table"), std::string::npos) << st.error().message;
  EXPECT_EQ(never.raw(), nullptr);
}

TEST(Sqlite, SqlLimitReadsZeroOrLessAsNoLimit) {
  EXPECT_EQ(sqlLimit(5), 5);
  EXPECT_EQ(sqlLimit(0), -1);
  EXPECT_EQ(sqlLimit(-3), -1);
  TempDir dir;
  auto db = openDb(dir.file("limit.db"));
  ASSERT_TRUE(db);
  ASSERT_TRUE(db->migrate(kMigrations).ok());
  ASSERT_TRUE(db->exec("INSERT INTO items(name) VALUES ('a'), ('b'), ('c')").ok());
  auto select = db->prepare("SELECT id FROM items LIMIT ?");
  ASSERT_TRUE(select.ok());
  select->bind(1, sqlLimit(0));
  EXPECT_EQ(collectRows<int64_t>(*select, firstColumnInt64)->size(), 3u);
  select->reset();
  select->bind(1, sqlLimit(2));
  EXPECT_EQ(collectRows<int64_t>(*select, firstColumnInt64)->size(), 2u);
}

TEST(Sqlite, IntegrityCheckPasses) {
  TempDir dir;
  auto db = openDb(dir.file("i.db"));
  ASSERT_TRUE(db);
  ASSERT_TRUE(db->migrate(kMigrations).ok());
  ASSERT_TRUE(db->exec("INSERT INTO items(name) VALUES ('a'), ('b')").ok());
  auto ok = db->integrityCheck();
  ASSERT_TRUE(ok.ok());
  EXPECT_TRUE(*ok);
}

TEST(Sqlite, OpenFailuresAreIoNamingThePath) {
  TempDir dir;
  const std::string missing_dir = dir.file("no/such/dir/x.db");
  auto a = Database::open(missing_dir);
  ASSERT_FALSE(a.ok());
  EXPECT_EQ(a.error().code, "io");
  EXPECT_NE(a.error().message.find(missing_dir), std::string::npos);

  const std::string garbage = dir.write("garbage.db", std::string(4096, 'z'));
  auto b = Database::open(garbage);
  ASSERT_FALSE(b.ok());
  EXPECT_EQ(b.error().code, "io");
  EXPECT_NE(b.error().message.find("not a database"), std::string::npos);

  auto c = Database::open(dir.file("absent.db"), /*read_only=*/true);
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.error().code, "io");
}

TEST(Sqlite, ReadOnlyOpenCannotWrite) {
  TempDir dir;
  const std::string path = dir.file("ro.db");
  {
    auto db = openDb(path);
    ASSERT_TRUE(db);
    ASSERT_TRUE(db->migrate(kMigrations).ok());
    ASSERT_TRUE(db->exec("INSERT INTO items(name) VALUES ('a')").ok());
  }
  auto ro = Database::open(path, /*read_only=*/true);
  ASSERT_TRUE(ro.ok()) << ro.error().message;
  EXPECT_EQ(countRows(**ro, "items"), 1);
  EXPECT_FALSE((*ro)->exec("INSERT INTO items(name) VALUES ('b')").ok());
}

}  // namespace
}  // namespace pso::common
