// What only the PostgreSQL backend has: samples partitioned by day and
// retention by whole partitions, its own schema history, and the errors of
// a server that cannot be reached.

#include <libpq-fe.h>

#include <limits>
#include <string>
#include <vector>

#include "tests/controller/store/store_fixture.h"

namespace pso::controller::store {
namespace {

class PgStoreTest : public StoreTest {
 protected:
  static constexpr int64_t kDayMs = 24 * kHourMs;
  // Midnight UTC, so the days below are whole partitions.
  static constexpr int64_t kDay0 = 19'675 * kDayMs;

  int64_t partitions() {
    return rawInt("SELECT COUNT(*) FROM pg_inherits WHERE inhparent = 'samples'::regclass");
  }

  // Runs a statement on the test's database beside the store.
  void rawExec(const std::string& sql) {
    PGconn* conn = PQconnectdb(location_.dsn.c_str());
    PGresult* result = PQexec(conn, sql.c_str());
    EXPECT_EQ(PQresultStatus(result), PGRES_COMMAND_OK) << sql << ": " << PQerrorMessage(conn);
    PQclear(result);
    PQfinish(conn);
  }
};

TEST_P(PgStoreTest, MigrationsReachTheLatestVersionAndReopenIsIdempotent) {
  EXPECT_EQ(store_->schemaVersion(), Store::latestSchemaVersion(StoreBackend::kPostgresql));
  ASSERT_TRUE(store_->upsertAgent(hello("edge-01"), 1000).ok());
  reopen();
  reopen();
  EXPECT_EQ(store_->schemaVersion(), Store::latestSchemaVersion(StoreBackend::kPostgresql));
  auto agents = store_->agents();
  ASSERT_TRUE(agents.ok());
  EXPECT_EQ(agents->size(), 1u);
  auto integrity = store_->integrityCheck();
  ASSERT_TRUE(integrity.ok());
  EXPECT_TRUE(*integrity);
  EXPECT_EQ(store_->path().rfind("postgresql://", 0), 0u) << store_->path();
}

TEST_P(PgStoreTest, SamplesGoToOnePartitionADayCreatedOnDemand) {
  EXPECT_EQ(partitions(), 0);
  ASSERT_TRUE(
      store_
          ->ingestTelemetry(batch("edge-01", 1, {kDay0 + 1000, kDay0 + kDayMs + 1000}, {1.0, 2.0}),
                            kNowMs)
          .ok());
  EXPECT_EQ(partitions(), 2);
  // A day already there takes more samples without a new partition; a
  // restarted store finds its partitions.
  reopen();
  ASSERT_TRUE(store_->ingestTelemetry(batch("edge-01", 2, {kDay0 + 5000}, {3.0}), kNowMs).ok());
  EXPECT_EQ(partitions(), 2);
  EXPECT_EQ(webDemand().size(), 3u);
}

TEST_P(PgStoreTest, RetentionDropsWholeDaysAndTrimsTheDayOfTheCutoff) {
  std::vector<int64_t> ts;
  std::vector<double> values;
  // Four days, ten samples each, one an hour from midnight.
  for (int day = 0; day < 4; ++day) {
    for (int i = 0; i < 10; ++i) {
      ts.push_back(kDay0 + day * kDayMs + i * kHourMs);
      values.push_back(day * 10 + i);
    }
  }
  ASSERT_TRUE(store_->ingestTelemetry(batch("edge-01", 1, ts, values), kNowMs).ok());
  ASSERT_EQ(partitions(), 4);

  // Days 0 and 1 go whole; of day 2, the five samples before 05:00.
  auto removed = store_->pruneSamples(kDay0 + 2 * kDayMs + 5 * kHourMs);
  ASSERT_TRUE(removed.ok()) << removed.error().message;
  EXPECT_EQ(*removed, 25);
  EXPECT_EQ(partitions(), 2);
  const auto left = webDemand();
  ASSERT_EQ(left.size(), 15u);
  EXPECT_EQ(left.front().ts_ms, kDay0 + 2 * kDayMs + 5 * kHourMs);

  // New samples for a day that was dropped make it again.
  ASSERT_TRUE(store_->ingestTelemetry(batch("edge-01", 2, {kDay0 + 1}, {7.0}), kNowMs).ok());
  EXPECT_EQ(partitions(), 3);
}

TEST_P(PgStoreTest, TimesAtTheEdgesOfInt64HaveTheirPartitions) {
  constexpr int64_t kMin = std::numeric_limits<int64_t>::min();
  constexpr int64_t kMax = std::numeric_limits<int64_t>::max();
  ASSERT_TRUE(store_->ingestTelemetry(batch("edge-01", 1, {-1, 0, kMax}, {2, 3, 4}), kNowMs).ok());
  // Ingest's age window starts above int64's minimum; an import has none. Two
  // hours in, the sample is still in the first day (its partition starts at
  // MINVALUE) and its rollup buckets start after int64's minimum.
  auto imported = store_->importSamples("web", "demand", {{kMin + 2 * kHourMs, 1}});
  ASSERT_TRUE(imported.ok()) << imported.error().message;
  EXPECT_EQ(partitions(), 4);
  const auto all = store_->samples("web", "demand", kMin, kMax);
  ASSERT_TRUE(all.ok()) << all.error().message;
  // [kMin, kMax) leaves out kMax itself.
  EXPECT_EQ(all->size(), 3u);
  auto latest = store_->latestSample("web", "demand");
  ASSERT_TRUE(latest.ok() && latest->has_value());
  EXPECT_EQ((*latest)->ts_ms, kMax);
}

TEST_P(PgStoreTest, RefusesADatabaseOfANewerSchema) {
  store_.reset();
  rawExec("UPDATE meta SET value = 999 WHERE key = 'schema_version'");
  auto opened = Store::open(location_);
  ASSERT_FALSE(opened.ok());
  EXPECT_EQ(opened.error().code, "schema");
  EXPECT_NE(opened.error().message.find("999"), std::string::npos) << opened.error().message;
}

TEST_P(PgStoreTest, AServerThatCannotBeReachedIsAnIoErrorOnOneLine) {
  StoreLocation nowhere;
  nowhere.backend = StoreBackend::kPostgresql;
  // Port 1 on loopback: nothing listens there.
  nowhere.dsn = "host=127.0.0.1 port=1 dbname=pso connect_timeout=5";
  auto opened = Store::open(nowhere);
  ASSERT_FALSE(opened.ok());
  EXPECT_EQ(opened.error().code, "io");
  EXPECT_EQ(opened.error().message.find('\n'), std::string::npos) << opened.error().message;
}

PSO_STORE_TEST_ON_POSTGRESQL(PgStoreTest);

}  // namespace
}  // namespace pso::controller::store
