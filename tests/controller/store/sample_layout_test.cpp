// The telemetry store's sample layout (in-memory heads, the sample log,
// compressed chunks): what is acked survives a restart whether or not it
// reached a chunk, later writes of a timestamp win across heads, chunks and
// imports, and every read agrees with a plain map of what was written.

#include <gtest/gtest.h>

#include <bit>

#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <future>
#include <limits>
#include <map>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "common/sqlite.h"
#include "controller/store/sample_log.h"
#include "controller/store/sqlite/sqlite_context.h"
#include "tests/controller/store/store_fixture.h"

namespace pso::controller::store {
namespace {

constexpr int64_t kLayoutStartMs = 1'600'000'000'000LL;

class SampleLayoutTest : public StoreTest {
 protected:
  /// Sends web/demand samples as the next batch of edge-01, at `now_ms`.
  void send(const std::vector<int64_t>& ts, const std::vector<double>& values,
            int64_t now_ms = kNowMs) {
    auto outcome = store_->ingestTelemetry(batch("edge-01", ++seq_, ts, values), now_ms);
    ASSERT_TRUE(outcome.ok()) << outcome.error().message;
    ASSERT_EQ(outcome->kind, IngestOutcome::Kind::kStored);
    for (std::size_t i = 0; i < ts.size(); ++i) model_[ts[i]] = values[i];
  }

  /// `count` samples one second apart from `first_ms`, value = base + i.
  void sendRun(int64_t first_ms, int count, double base, int64_t now_ms = kNowMs) {
    std::vector<int64_t> ts;
    std::vector<double> values;
    for (int i = 0; i < count; ++i) {
      ts.push_back(first_ms + i * 1000);
      values.push_back(base + i);
    }
    send(ts, values, now_ms);
  }

  /// A count of rows in the database file, read beside the open store.
  int64_t rows(const std::string& table) {
    auto db = common::Database::open(path_, true);
    EXPECT_TRUE(db.ok());
    if (!db.ok()) return -1;
    auto count = (*db)->prepare("SELECT COUNT(*) FROM " + table);
    EXPECT_TRUE(count.ok());
    auto row = count->step();
    EXPECT_TRUE(row.ok() && *row);
    return count->columnInt64(0);
  }

  /// Every read of the store agrees with the model over [since, until).
  void expectReadsMatch(int64_t since, int64_t until, const std::string& when) {
    std::vector<Sample> expected;
    for (auto it = model_.lower_bound(since); it != model_.end() && it->first < until; ++it) {
      expected.push_back({it->first, it->second});
    }
    auto all = store_->samples("web", "demand", since, until);
    ASSERT_TRUE(all.ok()) << all.error().message;
    for (std::size_t i = 0; i < std::min(all->size(), expected.size()); ++i) {
      ASSERT_EQ((*all)[i].ts_ms, expected[i].ts_ms) << when << " sample " << i;
      ASSERT_EQ((*all)[i].value, expected[i].value) << when << " at ts " << expected[i].ts_ms;
    }
    ASSERT_EQ(all->size(), expected.size()) << when;
    for (int64_t limit : {1, 7, 150}) {
      auto page = store_->samples("web", "demand", since, until, limit);
      ASSERT_TRUE(page.ok());
      const std::size_t n = std::min<std::size_t>(expected.size(), static_cast<std::size_t>(limit));
      ASSERT_EQ(page->size(), n) << when << " limit " << limit;
      for (std::size_t i = 0; i < n; ++i) {
        ASSERT_EQ((*page)[i].ts_ms, expected[i].ts_ms) << when << " limit " << limit;
        ASSERT_EQ((*page)[i].value, expected[i].value) << when << " limit " << limit;
      }
    }
    for (int64_t count : {1, 5, 130}) {
      auto recent = store_->recentSamples("web", "demand", until, count);
      ASSERT_TRUE(recent.ok());
      std::vector<Sample> want;
      for (auto it = model_.lower_bound(until);
           it != model_.begin() && want.size() < static_cast<std::size_t>(count);) {
        --it;
        want.insert(want.begin(), Sample{it->first, it->second});
      }
      ASSERT_EQ(recent->size(), want.size()) << when << " recent " << count;
      for (std::size_t i = 0; i < want.size(); ++i) {
        ASSERT_EQ((*recent)[i].ts_ms, want[i].ts_ms) << when << " recent " << count;
        ASSERT_EQ((*recent)[i].value, want[i].value) << when << " recent " << count;
      }
    }
    auto latest = store_->latestSample("web", "demand");
    ASSERT_TRUE(latest.ok());
    ASSERT_EQ(latest->has_value(), !model_.empty()) << when;
    if (!model_.empty()) {
      EXPECT_EQ((*latest)->ts_ms, model_.rbegin()->first) << when;
      EXPECT_EQ((*latest)->value, model_.rbegin()->second) << when;
    }
    // The cycle's read: the newest 10 samples from `since`, and the window
    // after since + 20 s.
    auto reads = store_->cycleReads({"web"}, "demand", since, since + 20'000, until, 10);
    ASSERT_TRUE(reads.ok());
    if (expected.empty()) {
      EXPECT_TRUE(reads->empty()) << when;
      return;
    }
    ASSERT_EQ(reads->count("web"), 1u) << when;
    const auto& read = reads->at("web");
    const std::size_t n = std::min<std::size_t>(10, expected.size());
    ASSERT_EQ(read.recent.size(), n) << when;
    EXPECT_EQ(read.recent.back().ts_ms, expected.back().ts_ms) << when;
    EXPECT_EQ(read.recent.front().ts_ms, expected[expected.size() - n].ts_ms) << when;
    double sum = 0;
    int64_t in_window = 0;
    for (const auto& s : expected) {
      if (s.ts_ms > since + 20'000) {
        sum += s.value;
        ++in_window;
      }
    }
    EXPECT_EQ(read.window_count, in_window) << when;
    EXPECT_DOUBLE_EQ(read.window_sum, sum) << when;
  }

  uint64_t seq_ = 0;
  std::map<int64_t, double> model_;
};

TEST_P(SampleLayoutTest, AckedSamplesInTheHeadSurviveARestartThroughTheLog) {
  sendRun(kLayoutStartMs, 50, 0.0);
  // Fewer than a chunk's worth: nothing is cut yet, the log holds them.
  EXPECT_EQ(rows("sample_chunks"), 0);
  EXPECT_EQ(rows("sample_log"), 1);
  reopen();
  expectReadsMatch(0, std::numeric_limits<int64_t>::max(), "after a restart");
  EXPECT_EQ(webDemand().size(), 50u);
}

TEST_P(SampleLayoutTest, AFullHeadBecomesAChunkAndTheLogItNoLongerNeedsIsDeleted) {
  // One sample a batch, as a 1 s agent sends them.
  for (int i = 0; i < 130; ++i) {
    send({kLayoutStartMs + i * 1000}, {100.0 + i * 0.5});
  }
  // The first 120 were cut into one chunk; ten wait in the head.
  EXPECT_EQ(rows("sample_chunks"), 1);
  EXPECT_EQ(rows("sample_log"), 10);
  expectReadsMatch(0, std::numeric_limits<int64_t>::max(), "live");
  expectReadsMatch(kLayoutStartMs + 115'000, kLayoutStartMs + 125'000, "across the cut");
  reopen();
  expectReadsMatch(0, std::numeric_limits<int64_t>::max(), "after a restart");
}

TEST_P(SampleLayoutTest, AQuietSeriesIsCutByAgeSoTheLogDoesNotGrowBehindIt) {
  sendRun(kLayoutStartMs, 3, 1.0, kNowMs);
  EXPECT_EQ(rows("sample_log"), 1);
  // Three minutes later a batch of another series arrives: the quiet head is
  // cut into a chunk, and the log keeps only the row the new head needs.
  protocol::TelemetryBatch cpu = batch("edge-01", ++seq_, {kLayoutStartMs + 180'000}, {0.5});
  cpu.series = {{"web", "cpu"}};
  ASSERT_TRUE(store_->ingestTelemetry(cpu, kNowMs + 180'000).ok());
  EXPECT_EQ(rows("sample_chunks"), 1);
  EXPECT_EQ(rows("sample_log"), 1);
  reopen();
  expectReadsMatch(0, std::numeric_limits<int64_t>::max(), "after a restart");
  auto cpu_samples = store_->samples("web", "cpu", 0, std::numeric_limits<int64_t>::max());
  ASSERT_TRUE(cpu_samples.ok());
  ASSERT_EQ(cpu_samples->size(), 1u);
  EXPECT_EQ(cpu_samples->front().value, 0.5);
}

TEST_P(SampleLayoutTest, ALaterWriteOfATimestampWinsAcrossHeadChunksAndImport) {
  sendRun(kLayoutStartMs, 125, 0.0);  // cut: 125 samples in one chunk
  ASSERT_EQ(rows("sample_chunks"), 1);
  // A re-sent sample inside the chunk's time: the head's value wins...
  send({kLayoutStartMs + 5000}, {-5.0});
  expectReadsMatch(0, std::numeric_limits<int64_t>::max(), "re-sent into the head");
  // ... and still wins once that head is cut into an overlapping chunk.
  sendRun(kLayoutStartMs + 200'000, 125, 1000.0);
  ASSERT_EQ(rows("sample_chunks"), 2);
  expectReadsMatch(0, std::numeric_limits<int64_t>::max(), "overlapping chunks");
  expectReadsMatch(kLayoutStartMs + 4000, kLayoutStartMs + 7000, "overlapping chunks, narrow");

  // An import replaces what it covers, in chunks and in the head.
  send({kLayoutStartMs + 400'000}, {7.0});
  std::vector<Sample> imported;
  for (int64_t ts : {kLayoutStartMs + 5000, kLayoutStartMs + 250'000, kLayoutStartMs + 400'000}) {
    imported.push_back({ts, 0.25});
    model_[ts] = 0.25;
  }
  auto report = store_->importSamples("web", "demand", imported);
  ASSERT_TRUE(report.ok()) << report.error().message;
  EXPECT_EQ(report->samples, 3u);
  expectReadsMatch(0, std::numeric_limits<int64_t>::max(), "after the import");
  // Live samples after the import win over it.
  send({kLayoutStartMs + 250'000}, {42.0});
  expectReadsMatch(0, std::numeric_limits<int64_t>::max(), "live after the import");
  reopen();
  expectReadsMatch(0, std::numeric_limits<int64_t>::max(), "after a restart");
}

TEST_P(SampleLayoutTest, RetentionCutsAcrossAChunkAndWhatItRemovedStaysRemoved) {
  sendRun(kLayoutStartMs, 200, 0.0);             // 200 samples in one chunk
  sendRun(kLayoutStartMs + 200'000, 20, 200.0);  // in the head
  const int64_t cutoff = kLayoutStartMs + 150'000;
  auto removed = store_->pruneSamples(cutoff);
  ASSERT_TRUE(removed.ok()) << removed.error().message;
  EXPECT_EQ(*removed, 150);
  model_.erase(model_.begin(), model_.lower_bound(cutoff));
  expectReadsMatch(0, std::numeric_limits<int64_t>::max(), "after retention");
  // Past the head's samples too: the log still holds them, but a restart
  // does not bring them back.
  const int64_t later = kLayoutStartMs + 210'000;
  removed = store_->pruneSamples(later);
  ASSERT_TRUE(removed.ok());
  EXPECT_EQ(*removed, 60);
  model_.erase(model_.begin(), model_.lower_bound(later));
  reopen();
  expectReadsMatch(0, std::numeric_limits<int64_t>::max(), "after a restart");
  EXPECT_EQ(webDemand().size(), 10u);
}

// A fixed seed in every run; PSO_LAYOUT_SEED=N explores another sequence by
// hand (a failure names the steps since the last check).
TEST_P(SampleLayoutTest, RandomWritesRestartsAndRetentionAlwaysReadAsThePlainMap) {
  const char* seed_env = std::getenv("PSO_LAYOUT_SEED");
  std::mt19937_64 rng(seed_env != nullptr ? std::strtoull(seed_env, nullptr, 10) : 20261204);
  int64_t now = kNowMs;
  int64_t next_ts = kLayoutStartMs;
  std::vector<std::string> done;  // the steps since the last check, for a failure's message
  for (int step = 0; step < 400; ++step) {
    const int what = static_cast<int>(rng() % 100);
    done.push_back(what < 70   ? "send"
                   : what < 80 ? "import"
                   : what < 90 ? "restart"
                   : what < 93 ? "prune"
                               : "-");
    if (what < 70) {
      // The next 1-30 samples, sometimes with re-sent older timestamps.
      const int n = 1 + static_cast<int>(rng() % 30);
      std::vector<int64_t> ts;
      std::vector<double> values;
      for (int i = 0; i < n; ++i) {
        if (rng() % 10 == 0 && next_ts > kLayoutStartMs) {
          ts.push_back(
              kLayoutStartMs +
              static_cast<int64_t>(rng() % static_cast<uint64_t>(next_ts - kLayoutStartMs)));
        } else {
          // 20 s apart, so the run spans several compaction blocks.
          next_ts += 20'000 + static_cast<int64_t>(rng() % 5);
          ts.push_back(next_ts);
        }
        values.push_back(static_cast<double>(rng() % 100000) / 100.0);
      }
      now += static_cast<int64_t>(rng() % 20'000);
      send(ts, values, now);
    } else if (what < 80) {
      std::vector<Sample> imported;
      const int n = 1 + static_cast<int>(rng() % 50);
      for (int i = 0; i < n; ++i) {
        const int64_t ts =
            kLayoutStartMs +
            static_cast<int64_t>(rng() % static_cast<uint64_t>(next_ts - kLayoutStartMs + 1));
        imported.push_back({ts, -static_cast<double>(rng() % 1000)});
      }
      auto report = store_->importSamples("web", "demand", imported);
      ASSERT_TRUE(report.ok()) << report.error().message;
      for (const auto& s : imported) model_[s.ts_ms] = s.value;
    } else if (what < 90) {
      reopen();
    } else if (what < 93) {
      const int64_t cutoff =
          kLayoutStartMs +
          static_cast<int64_t>(rng() % static_cast<uint64_t>((next_ts - kLayoutStartMs) / 4 + 1));
      auto removed = store_->pruneSamples(cutoff);
      ASSERT_TRUE(removed.ok()) << removed.error().message;
      model_.erase(model_.begin(), model_.lower_bound(cutoff));
    } else if (what < 97) {
      // Closes the hours before the newest sample: their chunks merge.
      auto report = store_->rollup(next_ts);
      ASSERT_TRUE(report.ok()) << report.error().message;
    }
    if (step % 5 == 0 || step == 399) {
      std::string when = "step " + std::to_string(step) + " after";
      for (const auto& d : done) when += " " + d;
      done.clear();
      expectReadsMatch(0, std::numeric_limits<int64_t>::max(), when);
      const int64_t a =
          kLayoutStartMs +
          static_cast<int64_t>(rng() % static_cast<uint64_t>(next_ts - kLayoutStartMs + 1));
      expectReadsMatch(a, a + 1 + static_cast<int64_t>(rng() % 4'000'000), when + " (a window)");
      if (HasFatalFailure()) return;
    }
  }
  EXPECT_GT(rows("sample_chunks"), 10);
}

TEST_P(SampleLayoutTest, AClosedBlocksChunksMergeIntoOneRowThatReadsTheSame) {
  // Six hours and five minutes of 1 s samples, 100 a batch: rows of 200.
  constexpr int64_t kBlockMs = 6 * kHourMs;
  const int64_t block = floorToBucket(kLayoutStartMs, kBlockMs) + kBlockMs;
  for (int i = 0; i < 21'900; i += 100) {
    std::vector<int64_t> ts;
    std::vector<double> values;
    for (int j = i; j < i + 100; ++j) {
      ts.push_back(block + j * 1000);
      values.push_back(std::round(100 * std::sin(j / 300.0)) / 100 + 50);
    }
    send(ts, values);
  }
  const std::string in_block = "sample_chunks WHERE end_ms < " + std::to_string(block + kBlockMs);
  EXPECT_EQ(rows(in_block), 108);
  const int64_t after = rows("sample_chunks") - rows(in_block);
  auto report = store_->rollup(block + kBlockMs + 2 * kMinuteMs);
  ASSERT_TRUE(report.ok());
  // The closed block's rows are one; the row across its edge and the ones
  // after it stay.
  EXPECT_EQ(rows(in_block), 1);
  EXPECT_EQ(rows("sample_chunks"), 1 + after);
  expectReadsMatch(0, std::numeric_limits<int64_t>::max(), "after compaction");
  expectReadsMatch(block + kBlockMs - 1000, block + kBlockMs + 1000, "across the block's edge");
  reopen();
  expectReadsMatch(0, std::numeric_limits<int64_t>::max(), "after a restart");
}

TEST_P(SampleLayoutTest, ABlockOverlappedByALaterChunkIsLeftApartSoTheLaterWriteStillWins) {
  constexpr int64_t kBlockMs = 6 * kHourMs;
  const int64_t block = floorToBucket(kLayoutStartMs, kBlockMs) + kBlockMs;
  sendRun(block, 120, 0.0);              // chunk 1, inside the block
  sendRun(block + 200'000, 120, 500.0);  // chunk 2, inside the block
  // A later write across chunk 1's time and past the block's end: chunk 3.
  std::vector<int64_t> ts;
  std::vector<double> values;
  for (int i = 0; i < 120; ++i) {
    ts.push_back(block + 60'000 + i * 200'000);
    values.push_back(-1.0 - i);
  }
  send(ts, values);
  ASSERT_EQ(rows("sample_chunks"), 3);
  ASSERT_TRUE(store_->rollup(block + 2 * kBlockMs).ok());
  EXPECT_EQ(rows("sample_chunks"), 3);
  expectReadsMatch(0, std::numeric_limits<int64_t>::max(), "after the rollup pass");
}

TEST_P(SampleLayoutTest, TheCyclesReadOfTheNewestSamplesIsServedFromMemory) {
  sendRun(kLayoutStartMs, 120, 0.0);             // cut: one chunk
  sendRun(kLayoutStartMs + 120'000, 10, 120.0);  // in the head
  // The file's chunk is made unreadable: a read that went to the file would
  // fail, so these come from the head and the newest chunk kept in memory.
  {
    auto db = common::Database::open(path_);
    ASSERT_TRUE(db.ok());
    ASSERT_TRUE((*db)->exec("UPDATE sample_chunks SET data = x'01ff'").ok());
  }
  const int64_t until = kLayoutStartMs + 130'000;
  auto reads = store_->cycleReads({"web"}, "demand", kLayoutStartMs, until - 15'000, until, 60);
  ASSERT_TRUE(reads.ok()) << reads.error().message;
  const auto& read = reads->at("web");
  ASSERT_EQ(read.recent.size(), 60u);
  EXPECT_EQ(read.recent.front().ts_ms, kLayoutStartMs + 70'000);
  EXPECT_EQ(read.recent.front().value, 70.0);
  EXPECT_EQ(read.recent.back().value, 129.0);
  EXPECT_EQ(read.window_count, 14);
  auto latest = store_->latestSample("web", "demand");
  ASSERT_TRUE(latest.ok() && latest->has_value());
  EXPECT_EQ((*latest)->value, 129.0);
  // Reopened, the store has only the file: the same read names the bad row.
  reopen();
  reads = store_->cycleReads({"web"}, "demand", kLayoutStartMs, until - 15'000, until, 60);
  ASSERT_FALSE(reads.ok());
  EXPECT_EQ(reads.error().code, "corrupt");
}

// A sample every 15 s: a head is cut every two minutes with eight samples,
// so the last 60 span eight chunks, and the store keeps as many of the
// newest in memory as hold 64 samples.
TEST_P(SampleLayoutTest, TheCyclesReadSpanningSeveralNewestChunksIsServedFromMemory) {
  constexpr int64_t kStep = 15'000;
  for (int i = 0; i < 200; ++i) {
    const int64_t ts = kLayoutStartMs + i * kStep;
    send({ts}, {static_cast<double>(i)}, ts);
    ASSERT_TRUE(store_->rollup(ts - 120'000).ok());
  }
  ASSERT_GT(rows("sample_chunks"), 20);
  {
    auto db = common::Database::open(path_);
    ASSERT_TRUE(db.ok());
    ASSERT_TRUE((*db)->exec("UPDATE sample_chunks SET data = x'01ff'").ok());
  }
  const int64_t until = kLayoutStartMs + 200 * kStep;
  auto reads =
      store_->cycleReads({"web"}, "demand", until - 60 * kStep, until - kStep - 1, until, 60);
  ASSERT_TRUE(reads.ok()) << reads.error().message;
  const auto& read = reads->at("web");
  ASSERT_EQ(read.recent.size(), 60u);
  EXPECT_EQ(read.recent.front().value, 140.0);
  EXPECT_EQ(read.recent.back().value, 199.0);
  EXPECT_EQ(read.window_count, 1);
  // Older samples than the held chunks reach are in the file alone.
  auto older = store_->samples("web", "demand", kLayoutStartMs, kLayoutStartMs + 60 * kStep);
  ASSERT_FALSE(older.ok());
  EXPECT_EQ(older.error().code, "corrupt");
}

// A background pass that yields between its groups lets a waiting ingest
// take the store first: yieldToIngest() returns true only once the waiting
// IngestLock holds the mutex, and at once when none waits.
TEST(SqliteContextLocking, ABackgroundPassYieldsToWaitingIngest) {
  const fs::path dir =
      fs::temp_directory_path() / ("pso-context-test-" + std::to_string(::getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  auto context = SqliteContext::open((dir / "controller.db").string());
  ASSERT_TRUE(context.ok()) << context.error().message;
  SqliteContext& store = **context;
  EXPECT_TRUE(store.yieldToIngest());  // nobody waits

  std::unique_lock group(store.mutex());  // a background pass's group
  std::promise<void> release;
  std::thread ingest([&] {
    SqliteContext::IngestLock lock(store);
    release.get_future().wait();
  });
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (store.ingestWaiting() == 0 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  ASSERT_EQ(store.ingestWaiting(), 1);
  // While the group holds the mutex, the ingest cannot go first.
  EXPECT_FALSE(store.yieldToIngest());
  group.unlock();
  bool went_first = false;
  while (!went_first && std::chrono::steady_clock::now() < deadline) {
    went_first = store.yieldToIngest();
  }
  ASSERT_TRUE(went_first);
  // The pass's next group would wait: the ingest holds the store.
  EXPECT_FALSE(store.mutex().try_lock());
  release.set_value();
  ingest.join();
  EXPECT_TRUE(store.mutex().try_lock());
  store.mutex().unlock();
  context->reset();
  fs::remove_all(dir);
}

TEST_P(SampleLayoutTest, ACorruptChunkIsAnErrorNamingTheRowNotACrash) {
  sendRun(kLayoutStartMs, 120, 0.0);           // one chunk
  sendRun(kLayoutStartMs + 120'000, 10, 0.0);  // in the head
  {
    auto db = common::Database::open(path_);
    ASSERT_TRUE(db.ok());
    ASSERT_TRUE((*db)->exec("UPDATE sample_chunks SET data = x'01ff'").ok());
  }
  // Read from the file (the store keeps the newest chunk it wrote in memory).
  reopen();
  auto read = store_->samples("web", "demand", 0, std::numeric_limits<int64_t>::max());
  ASSERT_FALSE(read.ok());
  EXPECT_EQ(read.error().code, "corrupt");
  EXPECT_NE(read.error().message.find("sample_chunks row 1: sample chunk: "), std::string::npos)
      << read.error().message;
  // The head's samples, after the chunk, still read.
  auto recent = store_->recentSamples("web", "demand", std::numeric_limits<int64_t>::max(), 5);
  ASSERT_TRUE(recent.ok());
  EXPECT_EQ(recent->size(), 5u);
}

TEST_P(SampleLayoutTest, ACorruptLogRowStopsTheOpenWithItsIdRatherThanLosingIt) {
  sendRun(kLayoutStartMs, 10, 0.0);
  store_.reset();
  {
    auto db = common::Database::open(path_);
    ASSERT_TRUE(db.ok());
    ASSERT_TRUE((*db)->exec("UPDATE sample_log SET data = x'0105'").ok());
  }
  auto opened = Store::open(path_);
  ASSERT_FALSE(opened.ok());
  EXPECT_EQ(opened.error().code, "corrupt");
  EXPECT_NE(opened.error().message.find("sample_log row 1: sample log: "), std::string::npos)
      << opened.error().message;
}

TEST_P(SampleLayoutTest, TheWalIsCheckpointedInTheBackgroundNotInTheWritersCommit) {
  const auto file_size = [&] { return std::filesystem::file_size(path_); };
  const auto before = file_size();
  // About 300 KB of chunks: well under the 1,000 pages after which a
  // connection's own automatic checkpoint would copy them into the file.
  std::vector<Sample> history;
  for (int i = 0; i < 100'000; ++i) history.push_back({kLayoutStartMs + i * 1000LL, i * 0.37});
  ASSERT_TRUE(store_->importSamples("web", "demand", history).ok());
  EXPECT_EQ(file_size(), before) << "the commit itself checkpointed";
  // The store's checkpointer copies the pages into the file, a second or so later.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (file_size() == before && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  EXPECT_GT(file_size(), before);
}

TEST_P(SampleLayoutTest, HeadsThatFillTogetherAreCutOverSeveralTransactions) {
  // 3,000 series whose heads fill in the same batch, as a fleet that
  // started together does.
  constexpr int kSeries = 3000;
  protocol::TelemetryBatch batch;
  batch.agent_id = "edge-01";
  for (int s = 0; s < kSeries; ++s) batch.series.push_back({"web", "m" + std::to_string(s)});
  batch.values.resize(kSeries);
  int64_t ts = kLayoutStartMs;
  auto sendPoints = [&](int points) {
    batch.seq = ++seq_;
    batch.oldest_seq = batch.seq;
    batch.timestamps_ms.clear();
    for (auto& column : batch.values) column.clear();
    for (int p = 0; p < points; ++p, ts += 1000) {
      batch.timestamps_ms.push_back(ts);
      for (int s = 0; s < kSeries; ++s) batch.values[s].push_back(s + p * 0.5);
    }
    auto outcome = store_->ingestTelemetry(batch, kNowMs);
    ASSERT_TRUE(outcome.ok()) << outcome.error().message;
  };
  ASSERT_NO_FATAL_FAILURE(sendPoints(119));
  EXPECT_EQ(rows("sample_chunks"), 0);
  // Every head is full now: one transaction cuts 2,000 of them...
  ASSERT_NO_FATAL_FAILURE(sendPoints(1));
  EXPECT_EQ(rows("sample_chunks"), 2000);
  // ... and the next the other 1,000 (their heads one sample longer).
  ASSERT_NO_FATAL_FAILURE(sendPoints(1));
  EXPECT_EQ(rows("sample_chunks"), 3000);
  // Nothing was lost or doubled, in chunks and heads alike, and after a
  // restart that replays the log.
  for (int pass = 0; pass < 2; ++pass) {
    for (int s : {0, 1999, 2000, 2999}) {
      auto read =
          store_->samples("web", "m" + std::to_string(s), 0, std::numeric_limits<int64_t>::max());
      ASSERT_TRUE(read.ok()) << read.error().message;
      ASSERT_EQ(read->size(), 121u) << "series " << s;
      EXPECT_EQ(read->front().value, s);
      EXPECT_EQ(read->back().ts_ms, ts - 1000);
      EXPECT_EQ(read->back().value, s);
    }
    ASSERT_NO_FATAL_FAILURE(reopen());
  }
}

TEST_P(SampleLayoutTest, AReleasedRunOfLogRowsIsDeletedOverSeveralTransactions) {
  auto sendTo = [&](const std::string& metric, int64_t ts, int count) {
    std::vector<int64_t> stamps;
    std::vector<double> values;
    for (int i = 0; i < count; ++i) {
      stamps.push_back(ts + i * 1000);
      values.push_back(static_cast<double>(i));
    }
    auto outcome = store_->ingestTelemetry(
        [&] {
          auto b = batch("edge-01", ++seq_, stamps, values);
          b.series[0].metric = metric;
          return b;
        }(),
        kNowMs);
    ASSERT_TRUE(outcome.ok()) << outcome.error().message;
  };
  // A quiet series' head holds the first log row while 2,499 transactions
  // of a busy one add theirs.
  ASSERT_NO_FATAL_FAILURE(sendTo("quiet", kLayoutStartMs, 1));
  for (int i = 0; i < 2499; ++i)
    ASSERT_NO_FATAL_FAILURE(sendTo("busy", kLayoutStartMs + i * 1000, 1));
  EXPECT_EQ(rows("sample_log"), 2500);
  // The quiet head fills and is cut: some 2,400 rows are no longer needed,
  // 2,000 go with this transaction and the rest with the next.
  ASSERT_NO_FATAL_FAILURE(sendTo("quiet", kLayoutStartMs + 1000, 119));
  const int64_t after_cut = rows("sample_log");
  EXPECT_GE(after_cut, 2501 - 2000);
  EXPECT_LE(after_cut, 2501 - 2000 + 1);
  ASSERT_NO_FATAL_FAILURE(sendTo("busy", kLayoutStartMs + 2499 * 1000, 1));
  EXPECT_LE(rows("sample_log"), 121);
  // Both series read whole after a restart that replays what is left.
  ASSERT_NO_FATAL_FAILURE(reopen());
  auto quiet = store_->samples("web", "quiet", 0, std::numeric_limits<int64_t>::max());
  auto busy = store_->samples("web", "busy", 0, std::numeric_limits<int64_t>::max());
  ASSERT_TRUE(quiet.ok() && busy.ok());
  EXPECT_EQ(quiet->size(), 120u);
  EXPECT_EQ(busy->size(), 2500u);
}

TEST_P(SampleLayoutTest, TheWalStaysBoundedUnderAWriterThatNeverPauses) {
  const std::string wal = path_ + "-wal";
  const auto wal_size = [&] {
    std::error_code error;
    const auto size = std::filesystem::file_size(wal, error);
    return error ? uintmax_t{0} : size;
  };
  // 500 series a batch, back to back: tens of pages a commit, so the WAL
  // passes the checkpointer's 32 MiB bound within a few hundred commits.
  protocol::TelemetryBatch batch;
  batch.agent_id = "edge-01";
  for (int s = 0; s < 500; ++s) batch.series.push_back({"web", "load." + std::to_string(s)});
  batch.values.resize(batch.series.size());
  constexpr uintmax_t kBound = 32u << 20;
  uintmax_t largest = 0;
  bool shrank = false;
  int64_t ts = kLayoutStartMs;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(90);
  while (!shrank && std::chrono::steady_clock::now() < deadline) {
    batch.seq = ++seq_;
    batch.oldest_seq = batch.seq;
    batch.timestamps_ms.clear();
    for (auto& column : batch.values) column.clear();
    for (int p = 0; p < 10; ++p, ts += 1000) {
      batch.timestamps_ms.push_back(ts);
      for (std::size_t s = 0; s < batch.values.size(); ++s) {
        batch.values[s].push_back(static_cast<double>((ts / 1000 + s) % 997));
      }
    }
    auto outcome = store_->ingestTelemetry(batch, ts);
    ASSERT_TRUE(outcome.ok()) << outcome.error().message;
    const uintmax_t size = wal_size();
    // Truncated while the writer went on: the bound held without a pause.
    if (largest >= kBound && size < largest) shrank = true;
    largest = std::max(largest, size);
  }
  EXPECT_TRUE(shrank) << "the WAL grew to " << largest << " bytes and was never truncated";
  // What was written reads back after the truncations.
  auto last = store_->latestSample("web", "load.499");
  ASSERT_TRUE(last.ok());
  ASSERT_TRUE(last->has_value());
  EXPECT_EQ((*last)->ts_ms, ts - 1000);
}

PSO_STORE_TEST_ON_SQLITE(SampleLayoutTest);

// The log codec on its own.
TEST(SampleLogCodec, EntriesRoundTripBitForBit) {
  std::vector<SampleLogEntry> entries = {
      {1, {{-5, 0.1}, {7, -0.0}, {1'700'000'000'000LL, 1e300}}},
      {123456789, {{std::numeric_limits<int64_t>::min(), 5e-324}}},
      {2, {{0, std::numeric_limits<double>::max()}, {std::numeric_limits<int64_t>::max(), 1.5}}},
  };
  auto blob = encodeSampleLog(entries);
  ASSERT_TRUE(blob.ok()) << blob.error().message;
  auto decoded = decodeSampleLog(*blob);
  ASSERT_TRUE(decoded.ok()) << decoded.error().message;
  ASSERT_EQ(decoded->size(), entries.size());
  for (std::size_t e = 0; e < entries.size(); ++e) {
    EXPECT_EQ((*decoded)[e].series_id, entries[e].series_id);
    ASSERT_EQ((*decoded)[e].samples.size(), entries[e].samples.size());
    for (std::size_t i = 0; i < entries[e].samples.size(); ++i) {
      EXPECT_EQ((*decoded)[e].samples[i].ts_ms, entries[e].samples[i].ts_ms);
      EXPECT_EQ(std::bit_cast<uint64_t>((*decoded)[e].samples[i].value),
                std::bit_cast<uint64_t>(entries[e].samples[i].value));
    }
  }
}

TEST(SampleLogCodec, RefusesWhatItCannotWriteAndEveryTruncation) {
  EXPECT_EQ(encodeSampleLog(std::vector<SampleLogEntry>{{0, {{1, 1.0}}}}).error().code, "invalid");
  EXPECT_EQ(encodeSampleLog(std::vector<SampleLogEntry>{{1, {}}}).error().code, "invalid");
  EXPECT_EQ(encodeSampleLog(std::vector<SampleLogEntry>{{1, {{2, 1.0}, {2, 2.0}}}}).error().code,
            "invalid");
  auto blob = encodeSampleLog(std::vector<SampleLogEntry>{{3, {{1, 1.0}, {2, 2.0}}}});
  ASSERT_TRUE(blob.ok());
  for (std::size_t cut = 0; cut < blob->size(); ++cut) {
    auto decoded = decodeSampleLog(std::string_view(*blob).substr(0, cut));
    ASSERT_FALSE(decoded.ok()) << "cut at " << cut;
    EXPECT_EQ(decoded.error().code, "corrupt");
    EXPECT_EQ(decoded.error().message.rfind("sample log: ", 0), 0u) << decoded.error().message;
  }
  EXPECT_FALSE(decodeSampleLog(*blob + "x").ok());
  std::string wrong_version = *blob;
  wrong_version[0] = 2;
  EXPECT_NE(decodeSampleLog(wrong_version).error().message.find("unknown version 2"),
            std::string::npos);
}

TEST(SampleLogCodec, AnIngestCallsSamplesSortBySeriesThenTimeAndTheLastQueuedWins) {
  std::vector<SeriesSample> queued = {{2, {5, 1.0}}, {1, {7, 2.0}}, {2, {3, 3.0}},
                                      {2, {5, 4.0}}, {1, {7, 5.0}}, {1, {1, 6.0}}};
  sortSeriesSamplesLastWins(queued);
  ASSERT_EQ(queued.size(), 4u);
  EXPECT_EQ(queued[0].series_id, 1);
  EXPECT_EQ(queued[0].sample.ts_ms, 1);
  EXPECT_EQ(queued[1].sample.value, 5.0);  // (1, 7): the later of two
  EXPECT_EQ(queued[2].series_id, 2);
  EXPECT_EQ(queued[2].sample.ts_ms, 3);
  EXPECT_EQ(queued[3].sample.value, 4.0);  // (2, 5): the later of two
}

TEST(SampleLogCodec, MergesKeepTheLaterWriteOfATimestamp) {
  std::vector<Sample> staged = {{5, 1.0}, {3, 2.0}, {5, 3.0}, {1, 4.0}};
  sortSamplesLastWins(staged);
  ASSERT_EQ(staged.size(), 3u);
  EXPECT_EQ(staged[0].ts_ms, 1);
  EXPECT_EQ(staged[2].value, 3.0);
  std::vector<Sample> base = {{1, 10.0}, {2, 20.0}, {6, 60.0}};
  mergeNewerSamples(base, staged);
  ASSERT_EQ(base.size(), 5u);
  EXPECT_EQ(base[0].value, 4.0);   // newer wins
  EXPECT_EQ(base[1].value, 20.0);  // only in base
  EXPECT_EQ(base[3].value, 3.0);
  EXPECT_EQ(base[4].ts_ms, 6);
}

}  // namespace
}  // namespace pso::controller::store
