// Leadership against the real leader lease in a PostgreSQL database: a lease
// taken over by another holder, a renewal that hangs on a locked row, an
// activation that fails, and two controllers taking turns.

#include "controller/service/leadership.h"

#include <gtest/gtest.h>
#include <libpq-fe.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <string>

#include "common/clock.h"
#include "tests/support/pg_test_server.h"
#include "tests/support/process.h"

namespace pso::controller::service {
namespace {

using pso::testing::PgTestDatabase;
using pso::testing::waitFor;
using std::chrono::seconds;

// Short terms keep the test quick: renewal every 400 ms, the term by the
// local clock 1 s.
constexpr int64_t kTtlMs = 1200;

// A connection of the test's own to the database, for what another
// controller or an operator would do to the lease row.
class SqlSession {
 public:
  explicit SqlSession(const std::string& dsn) : conn_(PQconnectdb(dsn.c_str())) {}
  ~SqlSession() { PQfinish(conn_); }
  SqlSession(const SqlSession&) = delete;
  SqlSession& operator=(const SqlSession&) = delete;
  bool ok() const { return PQstatus(conn_) == CONNECTION_OK; }
  /// Runs `sql`; its error message, or "" on success.
  std::string run(const std::string& sql) {
    PGresult* result = PQexec(conn_, sql.c_str());
    const ExecStatusType status = PQresultStatus(result);
    std::string error;
    if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK) error = PQerrorMessage(conn_);
    PQclear(result);
    return error;
  }

 private:
  PGconn* conn_;
};

// One controller's leadership with counters standing in for its parts.
struct Contender {
  std::atomic<int> activations{0};
  std::atomic<int> fences{0};
  std::atomic<int> failures_left{0};  ///< activations to fail before one succeeds
  common::MetricsRegistry metrics;    ///< before leadership, which uses it until destroyed
  std::unique_ptr<Leadership> leadership;

  Status start(const std::string& dsn, const std::string& holder) {
    auto lease = store::openPostgresqlLeaderLease(dsn, "controller");
    if (!lease) return lease.error();
    LeadershipSettings settings;
    settings.holder = holder;
    settings.ttl_ms = kTtlMs;
    leadership = std::make_unique<Leadership>(std::move(lease).value(), settings, metrics);
    return leadership->start(
        [this]() -> Status {
          if (failures_left > 0) {
            --failures_left;
            return makeError("bind", "port in use");
          }
          ++activations;
          return {};
        },
        [this](const std::string&) { ++fences; });
  }
};

class LeadershipTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(database_.ok()) << database_.error(); }
  PgTestDatabase database_{"leadership"};
};

TEST_F(LeadershipTest, ALoneControllerActsBeforeStartReturnsAndGivesTheLeaseUpOnStop) {
  Contender one;
  ASSERT_TRUE(one.start(database_.dsn(), "one").ok());
  EXPECT_TRUE(one.leadership->active());
  EXPECT_EQ(one.activations, 1);
  EXPECT_EQ(one.metrics.value("pso_controller_leader"), 1);
  one.leadership->stop();
  EXPECT_EQ(one.fences, 1);
  auto lease = store::openPostgresqlLeaderLease(database_.dsn(), "controller");
  ASSERT_TRUE(lease.ok());
  auto state = (*lease)->observe();
  ASSERT_TRUE(state.ok());
  EXPECT_FALSE(state->heldBy("one")) << "the lease is still held after a clean stop";
}

TEST_F(LeadershipTest, AStandbyActsOnlyOnceTheActingOnesTermHasEnded) {
  Contender one;
  Contender two;
  ASSERT_TRUE(one.start(database_.dsn(), "one").ok());
  ASSERT_TRUE(two.start(database_.dsn(), "two").ok());
  EXPECT_FALSE(two.leadership->active());
  EXPECT_EQ(two.leadership->observedHolder(), "one");
  // Renewals keep the standby out for many terms.
  EXPECT_FALSE(waitFor([&] { return two.activations > 0; }, std::chrono::milliseconds(3 * kTtlMs)));
  // "one" dies as a killed process does: it stops renewing, and the row
  // stays as its last renewal left it (a full term to run). Its clean stop
  // gives the lease up, so the row is put back that way after it.
  SqlSession sql(database_.dsn());
  ASSERT_TRUE(sql.ok());
  one.leadership.reset();
  ASSERT_EQ(sql.run("UPDATE controller_lease SET holder = 'one', expires = clock_timestamp() + "
                    "interval '1200 milliseconds'"),
            "");
  const int64_t dead = common::steadyMs();
  ASSERT_TRUE(waitFor([&] { return two.leadership->active(); }, seconds(10)));
  // Not before the dead one's term ended in the database.
  EXPECT_GE(common::steadyMs() - dead, kTtlMs - 100);
  EXPECT_EQ(two.activations, 1);
}

TEST_F(LeadershipTest, ALeaseAnotherHolderTookStopsTheActingControllerAtOnce) {
  Contender one;
  ASSERT_TRUE(one.start(database_.dsn(), "one").ok());
  ASSERT_TRUE(one.leadership->active());
  SqlSession sql(database_.dsn());
  ASSERT_TRUE(sql.ok());
  ASSERT_EQ(sql.run("UPDATE controller_lease SET holder = 'usurper', expires = clock_timestamp() + "
                    "interval '1 minute'"),
            "");
  // The next renewal (every 400 ms) finds it lost.
  ASSERT_TRUE(waitFor([&] { return one.fences == 1; }, seconds(5)));
  EXPECT_FALSE(one.leadership->active());
  EXPECT_EQ(one.metrics.value("pso_controller_leader"), 0);
  EXPECT_GE(one.metrics.value("pso_controller_lease_calls_total", {{"outcome", "lost"}}), 1);
  // It stands by and does not take it back while the other holds it.
  EXPECT_FALSE(waitFor([&] { return one.activations > 1; }, std::chrono::milliseconds(1500)));
}

TEST_F(LeadershipTest, ARenewalThatHangsStopsTheActingControllerWithinItsTerm) {
  Contender one;
  ASSERT_TRUE(one.start(database_.dsn(), "one").ok());
  ASSERT_TRUE(one.leadership->active());
  // Another session holds the lease row: the next renewal waits on its lock.
  SqlSession sql(database_.dsn());
  ASSERT_TRUE(sql.ok());
  ASSERT_EQ(sql.run("BEGIN"), "");
  ASSERT_EQ(sql.run("SELECT * FROM controller_lease FOR UPDATE"), "");
  const int64_t locked = common::steadyMs();
  ASSERT_TRUE(waitFor([&] { return one.fences == 1; }, seconds(5)));
  // At most one term (1 s by the local clock) after the last renewal, which
  // was before the lock.
  EXPECT_LE(common::steadyMs() - locked, kTtlMs);
  EXPECT_FALSE(one.leadership->active());
  ASSERT_EQ(sql.run("ROLLBACK"), "");
}

TEST_F(LeadershipTest, AControllerThatCannotActGivesTheLeaseUpToOneThatCan) {
  Contender one;
  one.failures_left = 1000;
  Contender two;
  // The first attempt fails in start() itself, which gives the lease up.
  const Status first = one.start(database_.dsn(), "one");
  ASSERT_FALSE(first.ok());
  EXPECT_EQ(first.error().code, "bind");
  ASSERT_TRUE(two.start(database_.dsn(), "two").ok());
  EXPECT_TRUE(two.leadership->active());
  two.leadership.reset();

  // Failing later, on the leadership thread: the lease goes to the other.
  Contender three;
  ASSERT_TRUE(three.start(database_.dsn(), "three").ok());
  Contender four;
  four.failures_left = 1000;
  ASSERT_TRUE(four.start(database_.dsn(), "four").ok());
  EXPECT_FALSE(four.leadership->active());
  three.leadership.reset();
  // Four takes the lease, cannot act, and gives it up for a term: five,
  // starting after that, finds it free and acts.
  ASSERT_TRUE(waitFor([&] { return four.failures_left < 1000; }, seconds(5)));
  Contender five;
  ASSERT_TRUE(five.start(database_.dsn(), "five").ok());
  ASSERT_TRUE(waitFor([&] { return five.leadership->active(); }, seconds(5)));
  EXPECT_EQ(four.activations, 0);
  EXPECT_FALSE(four.leadership->active());
}

}  // namespace
}  // namespace pso::controller::service
