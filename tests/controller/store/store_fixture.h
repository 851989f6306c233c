#pragma once

// The fixture every store test starts from (tests/controller/store/*_test.cpp).
// Tests reach the store through Store::open and the aggregate interfaces, and
// run once per backend: each suite is instantiated with
// PSO_STORE_TEST_ON_EVERY_BACKEND (SQLite, then PostgreSQL). The ones about
// the SQLite file itself (schema history, what a row holds on disk) open the
// database directly and are instantiated with PSO_STORE_TEST_ON_SQLITE only.
//
// PostgreSQL: each test gets a database of its own (PgTestDatabase, dropped
// after it) on the test run's server (tests/support/pg_test_server.h).
// Without a server the PostgreSQL tests fail, saying so; they are never
// skipped.

#include <gtest/gtest.h>
#include <libpq-fe.h>
#include <unistd.h>

#include <atomic>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <limits>
#include <memory>
#include <ostream>
#include <string>
#include <vector>

#include "common/sqlite.h"
#include "controller/store/store.h"
#include "tests/support/pg_test_server.h"

namespace pso::controller::store {

namespace fs = std::filesystem;

inline constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

/// What migrations 8 (sample chunks), 9 (cycle and scenario blocks) and 10
/// (engine states by system)
/// added, removed: for the tests that turn a current database back into an
/// earlier version's, before they set its user_version.
inline constexpr const char* kUndoMigrationsEightToTenSql =
    "DROP TABLE sample_chunks; DROP TABLE sample_log; "
    "ALTER TABLE series DROP COLUMN flushed_log_id; "
    "DROP INDEX cycles_by_block; DROP INDEX cycles_loose_by_ts; DROP TABLE cycle_blocks; "
    "ALTER TABLE cycles DROP COLUMN block_id; ALTER TABLE cycles DROP COLUMN block_pos; "
    "DROP INDEX scenarios_by_block; DROP INDEX scenarios_loose_by_ts; DROP TABLE scenario_blocks; "
    "ALTER TABLE scenarios DROP COLUMN block_id; ALTER TABLE scenarios DROP COLUMN block_pos; "
    "DROP TABLE engine_system_states; DROP INDEX directives_operator_holds; ";

/// How GoogleTest prints a backend in its messages.
inline void PrintTo(StoreBackend backend, std::ostream* out) {
  *out << storeBackendName(backend);
}

/// "sqlite" or "postgresql", for the names of the instantiated tests.
inline std::string storeBackendParamName(const ::testing::TestParamInfo<StoreBackend>& info) {
  return storeBackendName(info.param);
}

/// A fresh store (a temporary directory, or a database of its own), reopened
/// at will, with builders for the records the tests write.
class StoreTest : public ::testing::TestWithParam<StoreBackend> {
 protected:
  /// The time the store is told it is, for the writes that stamp one.
  static constexpr int64_t kNowMs = 1'700'000'000'000LL;

  void SetUp() override {
    static std::atomic<int> counter{0};
    tag_ = std::to_string(::getpid()) + "_" + std::to_string(counter++);
    dir_ = fs::temp_directory_path() / ("pso-store-test-" + tag_);
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    path_ = (dir_ / "controller.db").string();
    location_ = freshLocation("controller");
    if (HasFailure()) return;
    reopen();
  }
  void TearDown() override {
    store_.reset();
    databases_.clear();
    fs::remove_all(dir_);
  }

  StoreBackend backend() const { return GetParam(); }

  /// A new, empty store location of this test's backend: a file in the
  /// test's directory, or a new database. Fails the test when the
  /// PostgreSQL server cannot be reached.
  StoreLocation freshLocation(const std::string& name) {
    StoreLocation location;
    location.backend = backend();
    location.path = (dir_ / (name + ".db")).string();
    if (backend() != StoreBackend::kPostgresql) return location;
    auto database = std::make_unique<pso::testing::PgTestDatabase>(name);
    if (!database->ok()) {
      ADD_FAILURE() << database->error();
      return location;
    }
    location.dsn = database->dsn();
    databases_.push_back(std::move(database));
    return location;
  }

  /// The first column of the first row of `sql` read straight from the
  /// database, beside the store (-1 when there is no row); for what the
  /// interfaces do not show, such as index rows and stamps.
  int64_t rawInt(const std::string& sql) {
    if (backend() == StoreBackend::kPostgresql) {
      PGconn* conn = PQconnectdb(location_.dsn.c_str());
      int64_t value = -1;
      PGresult* result = PQexec(conn, sql.c_str());
      EXPECT_EQ(PQresultStatus(result), PGRES_TUPLES_OK) << sql << ": " << PQerrorMessage(conn);
      if (PQresultStatus(result) == PGRES_TUPLES_OK && PQntuples(result) > 0) {
        value = std::stoll(PQgetvalue(result, 0, 0));
      }
      PQclear(result);
      PQfinish(conn);
      return value;
    }
    auto db = common::Database::open(path_, true);
    EXPECT_TRUE(db.ok());
    if (!db.ok()) return -1;
    auto stmt = (*db)->prepare(sql);
    EXPECT_TRUE(stmt.ok()) << sql;
    if (!stmt.ok()) return -1;
    auto row = stmt->step();
    return (row.ok() && *row) ? stmt->columnInt64(0) : -1;
  }

  /// Reopens the store. Most tests write samples at small timestamps and
  /// tell the store it is kNowMs, so the time window is opened wide here;
  /// the tests of the window set their own limits (or restore the defaults).
  void reopen() {
    store_.reset();
    auto opened = Store::open(location_);
    ASSERT_TRUE(opened.ok()) << opened.error().message;
    store_ = std::move(*opened);
    store_->setIngestLimits(anyTimeLimits());
  }

  /// The default limits, except that samples of any time are taken.
  static IngestLimits anyTimeLimits() {
    IngestLimits limits;
    limits.max_age_ms = std::numeric_limits<int64_t>::max();
    limits.max_ahead_ms = std::numeric_limits<int64_t>::max();
    return limits;
  }

  static protocol::Hello hello(const std::string& agent, int64_t replicas = 2) {
    protocol::Hello h;
    h.agent_id = agent;
    h.version = "1.2.3";
    h.host_facts = {{"hostname", "edge-01"}, {"cpus", "4"}};
    protocol::SystemInfo web;
    web.name = "web";
    web.actuator = "process-pool";
    web.min_replicas = 1;
    web.max_replicas = 20;
    web.replicas = replicas;
    web.capacity_per_replica = 120;
    web.target_utilization = 0.7;
    web.warmup_ms = 30000;
    web.priority = 10;
    web.depends_on = {"api", "db"};
    h.systems.push_back(web);
    return h;
  }

  // One "demand" series of web with the given timestamps and values, from an
  // agent whose spool still holds everything from `oldest` on.
  static protocol::TelemetryBatch batch(const std::string& agent, uint64_t seq,
                                        std::vector<int64_t> ts, std::vector<double> values,
                                        uint64_t oldest = 1) {
    protocol::TelemetryBatch b;
    b.agent_id = agent;
    b.seq = seq;
    b.oldest_seq = oldest;
    b.series = {{"web", "demand"}};
    b.timestamps_ms = std::move(ts);
    b.values = {std::move(values)};
    return b;
  }

  static DirectiveRecord directive(const std::string& id, const std::string& source,
                                   int64_t replicas, int64_t created_ms,
                                   int64_t hold_until_ms = 0) {
    DirectiveRecord d;
    d.id = id;
    d.system = "web";
    d.agent_id = "edge-01";
    d.replicas = replicas;
    d.reason = "test " + id;
    d.source = source;
    d.status = "pending";
    d.created_ms = created_ms;
    d.deadline_ms = created_ms + 60000;
    d.hold_until_ms = hold_until_ms;
    return d;
  }

  // edge-01's report that directive `id` on web was applied with `replicas`.
  static protocol::DirectiveResult appliedResult(const std::string& id, int64_t replicas,
                                                 int64_t ts_ms) {
    protocol::DirectiveResult r;
    r.agent_id = "edge-01";
    r.directive_id = id;
    r.system = "web";
    r.status = "applied";
    r.replicas = replicas;
    r.message = "scaled to " + std::to_string(replicas);
    r.ts_ms = ts_ms;
    return r;
  }

  static ScenarioRecord scenarioRecord(const std::string& id, int64_t ts, const std::string& level,
                                       std::vector<std::string> events,
                                       std::vector<std::string> systems) {
    ScenarioRecord r;
    r.id = id;
    r.cycle_id = "c-" + id;
    r.ts_ms = ts;
    r.level = level;
    r.events = std::move(events);
    r.systems = std::move(systems);
    r.json = "{\"id\":\"" + id + "\"}";
    return r;
  }

  std::vector<Sample> webDemand(int64_t since = 0,
                                int64_t until = std::numeric_limits<int64_t>::max()) {
    auto samples = store_->samples("web", "demand", since, until);
    EXPECT_TRUE(samples.ok()) << samples.error().message;
    return samples.ok() ? *samples : std::vector<Sample>{};
  }

  std::string tag_;
  fs::path dir_;
  /// The SQLite file (what location_ names on SQLite).
  std::string path_;
  StoreLocation location_;
  std::vector<std::unique_ptr<pso::testing::PgTestDatabase>> databases_;
  std::unique_ptr<Store> store_;
};

}  // namespace pso::controller::store

/// Runs every TEST_P of `suite` once per backend.
#define PSO_STORE_TEST_ON_EVERY_BACKEND(suite)                                                     \
  INSTANTIATE_TEST_SUITE_P(Backends, suite,                                                        \
                           ::testing::Values(::pso::controller::store::StoreBackend::kSqlite,      \
                                             ::pso::controller::store::StoreBackend::kPostgresql), \
                           ::pso::controller::store::storeBackendParamName)

/// Runs every TEST_P of `suite` on SQLite only (tests of the SQLite file).
#define PSO_STORE_TEST_ON_SQLITE(suite)                                                        \
  INSTANTIATE_TEST_SUITE_P(Sqlite, suite,                                                      \
                           ::testing::Values(::pso::controller::store::StoreBackend::kSqlite), \
                           ::pso::controller::store::storeBackendParamName)

/// Runs every TEST_P of `suite` on PostgreSQL only (tests of partitions).
#define PSO_STORE_TEST_ON_POSTGRESQL(suite)                                                        \
  INSTANTIATE_TEST_SUITE_P(Postgresql, suite,                                                      \
                           ::testing::Values(::pso::controller::store::StoreBackend::kPostgresql), \
                           ::pso::controller::store::storeBackendParamName)
