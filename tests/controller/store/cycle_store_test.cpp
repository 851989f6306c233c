#include "tests/controller/store/store_fixture.h"

#include <cmath>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

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

// Each system's part of the engine state is replaced on its own, bytes as
// given (a binary state holds NUL and high bytes), and survives a reopen.
TEST_P(CycleStoreTest, SystemStatesAreReplacedOneByOneAndSurviveAReopen) {
  auto none = store_->loadSystemStates();
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->empty());
  const std::string binary("\xB5s\x00web\xFF", 7);
  ASSERT_TRUE(store_->saveSystemStates({{"web", binary}, {"api", "a1"}}, 1000).ok());
  ASSERT_TRUE(store_->saveSystemStates({{"api", "a2"}}, 2000).ok());
  ASSERT_TRUE(store_->saveSystemStates({}, 3000).ok());
  reopen();
  auto states = store_->loadSystemStates();
  ASSERT_TRUE(states.ok());
  const std::vector<std::pair<std::string, std::string>> expected = {{"api", "a2"},
                                                                     {"web", binary}};
  EXPECT_EQ(*states, expected);
  EXPECT_EQ(rawInt("SELECT updated_ms FROM engine_system_states WHERE system = 'api'"), 2000);
  EXPECT_EQ(rawInt("SELECT updated_ms FROM engine_system_states WHERE system = 'web'"), 1000);
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

// Compaction into blocks is the SQLite backend's (the interface's default
// keeps rows as written).
class CycleCompactionTest : public StoreTest {};

// Decisions of `systems` systems as the cycle runner writes them, numbers
// moving every cycle; cycle 3 writes its own spacing (kept as text).
std::string compactTestDecisions(int64_t cycle, int systems) {
  if (cycle == 3) return R"([ {"system": "web"} ])";
  nlohmann::json out = nlohmann::json::array();
  for (int s = 0; s < systems; ++s) {
    const double demand = 200 + 50 * std::sin(static_cast<double>(cycle) * 0.37 + s);
    out.push_back({{"system", "sys-" + std::to_string(s)},
                   {"demand", demand},
                   {"forecast_point", demand + 1},
                   {"forecast_hi", demand + 9.5},
                   {"forecast_lo", demand - 7.5},
                   {"current", 3},
                   {"rationale", "Demand " + std::to_string(static_cast<int>(demand)) + "."},
                   {"bottleneck", nullptr}});
  }
  return out.dump();
}

std::vector<CycleRecord> insertCompactTestCycles(Store& store, int64_t count) {
  std::vector<CycleRecord> written;
  for (int64_t n = 1; n <= count; ++n) {
    CycleRecord c;
    c.seq = n;
    c.id = "c-" + std::to_string(n);
    c.ts_ms = n * 15000;
    c.mode = n % 2 ? "act" : "forecast-only";
    c.duration_ms = 0.25 * static_cast<double>(n);
    c.decisions_json = compactTestDecisions(n, 5);
    EXPECT_TRUE(store.insertCycle(c).ok());
    written.push_back(c);
  }
  return written;
}

void expectSameCycles(const std::vector<CycleRecord>& a, const std::vector<CycleRecord>& b) {
  ASSERT_EQ(a.size(), b.size());
  for (std::size_t i = 0; i < a.size(); ++i) {
    EXPECT_EQ(a[i].id, b[i].id);
    EXPECT_EQ(a[i].seq, b[i].seq);
    EXPECT_EQ(a[i].ts_ms, b[i].ts_ms);
    EXPECT_EQ(a[i].mode, b[i].mode);
    EXPECT_EQ(a[i].duration_ms, b[i].duration_ms);
    EXPECT_EQ(a[i].decisions_json, b[i].decisions_json) << a[i].id;
  }
}

TEST_P(CycleCompactionTest, CompactedCyclesReadBackByteForByte) {
  insertCompactTestCycles(*store_, 300);
  auto newest_before = store_->cycles(0);
  auto window_before = store_->cyclesBetween(100 * 15000, 290 * 15000, 0);
  ASSERT_TRUE(newest_before.ok() && window_before.ok());

  // Everything before cycle 281 goes into blocks; the newest stay as written.
  auto report = store_->compactCycles(281 * 15000, 0);
  ASSERT_TRUE(report.ok()) << report.error().message;
  EXPECT_EQ(report->records, 280);
  EXPECT_EQ(report->blocks, 2);  // 240 + 40
  EXPECT_LT(report->bytes_after * 5, report->bytes_before);

  expectSameCycles(*newest_before, store_->cycles(0).value());
  expectSameCycles(*window_before, store_->cyclesBetween(100 * 15000, 290 * 15000, 0).value());
  // Pages across a block boundary, and after a restart.
  auto page = store_->cyclesBetween(230 * 15000, 300 * 15000, 20);
  ASSERT_TRUE(page.ok());
  ASSERT_EQ(page->size(), 20u);
  EXPECT_EQ(page->front().id, "c-230");
  EXPECT_EQ(page->back().decisions_json, compactTestDecisions(249, 5));
  reopen();
  expectSameCycles(*newest_before, store_->cycles(0).value());

  // Nothing left to compact before that time.
  auto again = store_->compactCycles(281 * 15000, 0);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->records, 0);
}

TEST_P(CycleCompactionTest, CompactionWritesAtMostTheBlocksAskedFor) {
  insertCompactTestCycles(*store_, 500);
  auto report = store_->compactCycles(1'000'000'000, 1);
  ASSERT_TRUE(report.ok());
  EXPECT_EQ(report->blocks, 1);
  EXPECT_EQ(report->records, 240);
  auto rest = store_->compactCycles(1'000'000'000, 0);
  ASSERT_TRUE(rest.ok());
  EXPECT_EQ(rest->records, 260);
  EXPECT_EQ(store_->cyclesBetween(0, 1'000'000'000, 0).value().size(), 500u);
}

TEST_P(CycleCompactionTest, RetentionRemovesABlockWithItsLastCycle) {
  insertCompactTestCycles(*store_, 300);
  ASSERT_TRUE(store_->compactCycles(301 * 15000, 0).ok());
  auto blocks = [&] {
    auto db = common::Database::open(path_);
    EXPECT_TRUE(db.ok());
    auto s = (*db)->prepare("SELECT COUNT(*) FROM cycle_blocks");
    EXPECT_TRUE(s.ok());
    return common::firstRow<int64_t>(*s, common::firstColumnInt64).value().value_or(-1);
  };
  EXPECT_EQ(blocks(), 2);
  // Cycles 1..100 go: the first block (1..240) keeps the rest of its cycles.
  ASSERT_EQ(store_->pruneCycles(101 * 15000).value(), 100);
  EXPECT_EQ(blocks(), 2);
  auto left = store_->cyclesBetween(0, 1'000'000'000, 0);
  ASSERT_TRUE(left.ok());
  ASSERT_EQ(left->size(), 200u);
  EXPECT_EQ(left->front().decisions_json, compactTestDecisions(101, 5));
  ASSERT_EQ(store_->pruneCycles(241 * 15000).value(), 140);
  EXPECT_EQ(blocks(), 1);
}

TEST_P(CycleCompactionTest, ADamagedBlockIsReportedNotReadAsEmpty) {
  insertCompactTestCycles(*store_, 10);
  ASSERT_TRUE(store_->compactCycles(11 * 15000, 0).ok());
  store_.reset();
  {
    auto db = common::Database::open(path_);
    ASSERT_TRUE(db.ok());
    ASSERT_TRUE((*db)->exec("UPDATE cycle_blocks SET body = substr(body, 1, 40)").ok());
  }
  reopen();
  auto read = store_->cycles(0);
  ASSERT_FALSE(read.ok());
  EXPECT_EQ(read.error().code, "corrupt");
  EXPECT_NE(read.error().message.find("record block"), std::string::npos);
}

PSO_STORE_TEST_ON_EVERY_BACKEND(CycleStoreTest);
PSO_STORE_TEST_ON_SQLITE(CycleCompactionTest);

}  // namespace
}  // namespace pso::controller::store
