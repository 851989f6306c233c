#include "tests/controller/store/store_fixture.h"

#include <string>

#include "common/sqlite.h"

namespace pso::controller::store {
namespace {

class CycleStoreTest : public StoreTest {};

TEST_P(CycleStoreTest, CyclesAreNumberedAndListedNewestFirst) {
  for (int64_t expected = 1; expected <= 3; ++expected) {
    auto seq = store_->nextCycleSeq();
    ASSERT_TRUE(seq.ok());
    EXPECT_EQ(*seq, expected);
    CycleRecord c;
    c.seq = *seq;
    c.id = "c-" + std::to_string(*seq);
    c.ts_ms = *seq * 15000;
    c.mode = "act";
    c.duration_ms = 1.5;
    c.decisions_json = "[{\"system\":\"web\"}]";
    ASSERT_TRUE(store_->insertCycle(c).ok());
  }
  // A cycle recorded with its own number (e.g. a replay) moves the counter past it.
  CycleRecord replayed;
  replayed.id = "c-10";
  replayed.seq = 10;
  replayed.ts_ms = 150000;
  replayed.mode = "forecast-only";
  ASSERT_TRUE(store_->insertCycle(replayed).ok());
  auto seq = store_->nextCycleSeq();
  ASSERT_TRUE(seq.ok());
  EXPECT_EQ(*seq, 11);

  auto duplicate = store_->insertCycle(replayed);
  ASSERT_FALSE(duplicate.ok());
  EXPECT_EQ(duplicate.error().code, "exists");

  auto cycles = store_->cycles(2);
  ASSERT_TRUE(cycles.ok());
  ASSERT_EQ(cycles->size(), 2u);
  EXPECT_EQ((*cycles)[0].id, "c-10");
  EXPECT_EQ((*cycles)[1].id, "c-3");
  EXPECT_EQ((*cycles)[1].decisions_json, "[{\"system\":\"web\"}]");
  auto since = store_->cycles(0, 30000);
  ASSERT_TRUE(since.ok());
  EXPECT_EQ(since->size(), 3u);
}

TEST_P(CycleStoreTest, CyclesBetweenAreOldestFirstWithinTheWindowAndPage) {
  for (int64_t n = 1; n <= 6; ++n) {
    CycleRecord c;
    c.seq = n;
    c.id = "c-" + std::to_string(n);
    c.ts_ms = n * 15000;
    c.mode = "act";
    ASSERT_TRUE(store_->insertCycle(c).ok());
  }
  // [30000, 75000): cycles 2 to 4, the bound at the end left out.
  auto window = store_->cyclesBetween(30000, 75000);
  ASSERT_TRUE(window.ok());
  ASSERT_EQ(window->size(), 3u);
  EXPECT_EQ((*window)[0].id, "c-2");
  EXPECT_EQ((*window)[2].id, "c-4");
  EXPECT_EQ((*window)[0].decisions_json, "[]");
  auto page = store_->cyclesBetween(0, 1000000, 4);
  ASSERT_TRUE(page.ok());
  ASSERT_EQ(page->size(), 4u);
  auto rest = store_->cyclesBetween(page->back().ts_ms + 1, 1000000, 4);
  ASSERT_TRUE(rest.ok());
  ASSERT_EQ(rest->size(), 2u);
  EXPECT_EQ((*rest)[0].id, "c-5");
}

TEST_P(CycleStoreTest, EngineStateIsEmptyUntilSaved) {
  auto state = store_->loadEngineState();
  ASSERT_TRUE(state.ok());
  EXPECT_TRUE(state->empty());
  ASSERT_TRUE(store_->saveEngineState("a", kNowMs).ok());
  ASSERT_TRUE(store_->saveEngineState("b", kNowMs).ok());
  state = store_->loadEngineState();
  ASSERT_TRUE(state.ok());
  EXPECT_EQ(*state, "b");
}

TEST_P(CycleStoreTest, SavedEngineStateIsStampedWithTheTimeGiven) {
  auto stamp = [&] { return rawInt("SELECT updated_ms FROM engine_state WHERE id = 1"); };
  ASSERT_TRUE(store_->saveEngineState("a", 1234).ok());
  EXPECT_EQ(stamp(), 1234);
  ASSERT_TRUE(store_->saveEngineState("b", 5678).ok());
  EXPECT_EQ(stamp(), 5678);
}

TEST_P(CycleStoreTest, RetentionRemovesTheCyclesBeforeTheCutoffAcrossBatches) {
  // More than two batches of the retention pass, so its loop is exercised.
  constexpr int64_t kCycles = 2 * 500 + 203;
  for (int64_t seq = 1; seq <= kCycles; ++seq) {
    CycleRecord c;
    c.seq = seq;
    c.id = "c-" + std::to_string(seq);
    c.ts_ms = seq * 15000;
    c.mode = "act";
    ASSERT_TRUE(store_->insertCycle(c).ok());
  }
  // Cycles 1..1100 are before the cutoff; 1101..1203 stay.
  auto pruned = store_->pruneCycles(1101 * 15000);
  ASSERT_TRUE(pruned.ok()) << pruned.error().message;
  EXPECT_EQ(*pruned, 1100);
  auto left = store_->cycles(0);
  ASSERT_TRUE(left.ok());
  ASSERT_EQ(left->size(), 103u);
  EXPECT_EQ(left->back().seq, 1101);
  EXPECT_EQ(left->front().seq, kCycles);
  auto again = store_->pruneCycles(1101 * 15000);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(*again, 0);
  // The counter still moves on past the cycles that are gone.
  auto next = store_->nextCycleSeq();
  ASSERT_TRUE(next.ok());
  EXPECT_EQ(*next, kCycles + 1);
}

PSO_STORE_TEST_ON_EVERY_BACKEND(CycleStoreTest);

}  // namespace
}  // namespace pso::controller::store
