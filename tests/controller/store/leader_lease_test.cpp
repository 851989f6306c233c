// The PostgreSQL leader lease: two controllers (two connections) competing
// for one lease, expiry by the database's clock, takeover and release.

#include "controller/store/leader_lease.h"

#include <chrono>
#include <memory>
#include <string>
#include <thread>

#include "tests/controller/store/store_fixture.h"

namespace pso::controller::store {
namespace {

class LeaderLeaseTest : public StoreTest {
 protected:
  std::unique_ptr<LeaderLease> openLease(const std::string& name = "controller") {
    auto opened = openPostgresqlLeaderLease(location_.dsn, name);
    EXPECT_TRUE(opened.ok()) << opened.error().message;
    return opened.ok() ? std::move(*opened) : nullptr;
  }

  // Waits (up to 10 s) until the database's clock passes the lease's term.
  static bool awaitExpiry(LeaderLease& lease) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (std::chrono::steady_clock::now() < deadline) {
      auto state = lease.observe();
      if (state.ok() && state->now_ms >= state->expires_ms) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return false;
  }
};

TEST_P(LeaderLeaseTest, OneHolderAtATimeUntilItReleases) {
  auto a = openLease();
  auto b = openLease();
  ASSERT_TRUE(a && b);

  auto free = a->observe();
  ASSERT_TRUE(free.ok()) << free.error().message;
  EXPECT_EQ(free->holder, "");
  EXPECT_GT(free->now_ms, 0);

  auto took = a->acquire("ctl-a", 60'000);
  ASSERT_TRUE(took.ok()) << took.error().message;
  EXPECT_TRUE(took->heldBy("ctl-a"));
  EXPECT_GE(took->expires_ms - took->now_ms, 59'000);

  // b sees a's lease and does not get it.
  auto refused = b->acquire("ctl-b", 60'000);
  ASSERT_TRUE(refused.ok()) << refused.error().message;
  EXPECT_FALSE(refused->heldBy("ctl-b"));
  EXPECT_EQ(refused->holder, "ctl-a");
  auto lost = b->renew("ctl-b", 60'000);
  ASSERT_FALSE(lost.ok());
  EXPECT_EQ(lost.error().code, "lost");

  // a renews (and acquiring again renews too); then it lets go.
  auto renewed = a->renew("ctl-a", 60'000);
  ASSERT_TRUE(renewed.ok()) << renewed.error().message;
  EXPECT_GE(renewed->expires_ms, took->expires_ms);
  ASSERT_TRUE(a->acquire("ctl-a", 60'000)->heldBy("ctl-a"));
  ASSERT_TRUE(b->release("ctl-b").ok());  // not b's: nothing happens
  EXPECT_TRUE(b->observe()->heldBy("ctl-a"));
  ASSERT_TRUE(a->release("ctl-a").ok());

  auto taken = b->acquire("ctl-b", 60'000);
  ASSERT_TRUE(taken.ok()) << taken.error().message;
  EXPECT_TRUE(taken->heldBy("ctl-b"));
  auto a_lost = a->renew("ctl-a", 60'000);
  ASSERT_FALSE(a_lost.ok());
  EXPECT_EQ(a_lost.error().code, "lost");
  EXPECT_NE(a_lost.error().message.find("ctl-b"), std::string::npos) << a_lost.error().message;
}

TEST_P(LeaderLeaseTest, AnExpiredLeaseIsTakenOverAndItsHolderCannotRenewIt) {
  auto a = openLease();
  auto b = openLease();
  ASSERT_TRUE(a && b);
  ASSERT_TRUE(a->acquire("ctl-a", 300)->heldBy("ctl-a"));
  ASSERT_TRUE(awaitExpiry(*b));
  EXPECT_FALSE(b->observe()->heldBy("ctl-a"));

  auto taken = b->acquire("ctl-b", 60'000);
  ASSERT_TRUE(taken.ok()) << taken.error().message;
  EXPECT_TRUE(taken->heldBy("ctl-b"));
  auto renew = a->renew("ctl-a", 60'000);
  ASSERT_FALSE(renew.ok());
  EXPECT_EQ(renew.error().code, "lost");
  EXPECT_TRUE(a->observe()->heldBy("ctl-b"));
}

TEST_P(LeaderLeaseTest, LeasesOfDifferentNamesAreIndependentAndBadArgumentsAreRefused) {
  auto shard1 = openLease("shard-1");
  auto shard2 = openLease("shard-2");
  ASSERT_TRUE(shard1 && shard2);
  EXPECT_TRUE(shard1->acquire("ctl-a", 60'000)->heldBy("ctl-a"));
  EXPECT_TRUE(shard2->acquire("ctl-b", 60'000)->heldBy("ctl-b"));
  auto no_ttl = shard1->acquire("ctl-a", 0);
  ASSERT_FALSE(no_ttl.ok());
  EXPECT_EQ(no_ttl.error().code, "invalid");
  auto no_holder = shard1->renew("", 1000);
  ASSERT_FALSE(no_holder.ok());
  EXPECT_EQ(no_holder.error().code, "invalid");
}

PSO_STORE_TEST_ON_POSTGRESQL(LeaderLeaseTest);

}  // namespace
}  // namespace pso::controller::store
