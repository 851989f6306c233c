// The telemetry writer on a real SQLite store: order, transactions sized by
// what waits, the queue bound, and a failing batch that holds back no other.

#include "controller/service/telemetry_writer.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <thread>

#include "common/sqlite.h"
#include "controller/store/store.h"
#include "tests/controller/service/service_test_support.h"

namespace pso::controller::service::testing {
namespace {

constexpr int64_t kWriterNow = 1'800'000'000'000;

class TelemetryWriterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto opened = store::Store::open(dir_.path() + "/controller.db");
    ASSERT_TRUE(opened.ok()) << opened.error().message;
    store_ = std::move(opened).value();
  }

  std::unique_ptr<TelemetryWriter> makeWriter(TelemetryWriterLimits limits) {
    return std::make_unique<TelemetryWriter>(
        *store_, metrics_, limits, [this] { ++wakes_; }, [] { return kWriterNow; });
  }

  uint64_t storedSeq(const std::string& agent_id) {
    auto record = store_->agent(agent_id);
    EXPECT_TRUE(record.ok());
    if (!record.ok() || !record.value()) return 0;
    return record.value()->last_seq;
  }

  pso::testing::TempDir dir_;
  std::unique_ptr<store::Store> store_;
  common::MetricsRegistry metrics_;
  std::atomic<int> wakes_{0};
};

// Three demand samples and three replica samples: six per batch.
protocol::TelemetryBatch writerBatch(const std::string& agent, uint64_t seq) {
  return telemetry(agent, seq, {1.0 * static_cast<double>(seq), 2.0, 3.0}, 2,
                   kWriterNow - 60'000 + static_cast<int64_t>(seq) * 3'000, "sys-" + agent);
}

TEST_F(TelemetryWriterTest, WaitingBatchesAreCommittedTogetherUpToTheTransactionBound) {
  // Pushed before the thread starts, so all 10 wait when it takes its first group.
  auto writer = makeWriter({.max_samples_per_transaction = 24, .max_queued_samples = 1000});
  for (uint64_t seq = 1; seq <= 10; ++seq) writer->push(writerBatch("a", seq));
  EXPECT_EQ(metrics_.value("pso_telemetry_queued_samples"), 60.0);
  writer->start();
  writer->awaitAgent("a");

  auto written = writer->takeWritten();
  ASSERT_EQ(written.size(), 10u);
  for (uint64_t i = 0; i < written.size(); ++i) {
    EXPECT_EQ(written[i].batch.seq, i + 1) << "written out of order";
    ASSERT_TRUE(written[i].outcome.has_value());
    EXPECT_EQ(written[i].outcome->kind, store::IngestOutcome::Kind::kStored);
    EXPECT_EQ(written[i].outcome->last_seq, i + 1);
  }
  // Four batches of six samples fill a transaction of 24: 4 + 4 + 2.
  EXPECT_EQ(metrics_.value("pso_telemetry_transactions_total"), 3.0);
  EXPECT_EQ(metrics_.value("pso_telemetry_transaction_duration_seconds"), 3.0)
      << "each transaction's duration is observed";
  EXPECT_EQ(metrics_.value("pso_telemetry_queued_samples"), 0.0);
  EXPECT_EQ(storedSeq("a"), 10u);
  EXPECT_GE(wakes_.load(), 1);
  writer->stop();
}

// Another connection (a psoctl import, say) holds the database's write lock
// for two seconds after the writer took its batch: that transaction's
// duration, its wait included, lands above the histogram's 1 s bucket.
TEST_F(TelemetryWriterTest, ATransactionThatWaitsForTheDatabaseIsObservedAsSlow) {
  auto other = common::Database::open(dir_.path() + "/controller.db");
  ASSERT_TRUE(other.ok()) << other.error().message;
  ASSERT_TRUE((*other)->exec("BEGIN IMMEDIATE").ok());
  auto writer = makeWriter({});
  writer->push(writerBatch("a", 1));
  writer->start();
  ASSERT_TRUE(
      pso::testing::waitFor([&] { return metrics_.value("pso_telemetry_queued_samples") == 0.0; },
                            std::chrono::seconds(10)));
  std::this_thread::sleep_for(std::chrono::seconds(2));
  ASSERT_TRUE((*other)->exec("ROLLBACK").ok());
  writer->awaitAgent("a");
  EXPECT_EQ(storedSeq("a"), 1u);

  const std::string text = metrics_.renderPrometheus();
  const std::string family = "pso_telemetry_transaction_duration_seconds_bucket";
  EXPECT_NE(text.find(family + "{le=\"1\"} 0"), std::string::npos) << text;
  EXPECT_NE(text.find(family + "{le=\"+Inf\"} 1"), std::string::npos) << text;
}

TEST_F(TelemetryWriterTest, ABatchLargerThanTheBoundIsWrittenAlone) {
  auto writer = makeWriter({.max_samples_per_transaction = 4, .max_queued_samples = 1000});
  writer->push(writerBatch("a", 1));
  writer->push(writerBatch("a", 2));
  writer->start();
  writer->awaitAgent("a");
  EXPECT_EQ(writer->takeWritten().size(), 2u);
  EXPECT_EQ(metrics_.value("pso_telemetry_transactions_total"), 2.0);
  auto samples = store_->samples("sys-a", "demand", 0, kWriterNow + 1);
  ASSERT_TRUE(samples.ok());
  EXPECT_EQ(samples->size(), 6u);
}

TEST_F(TelemetryWriterTest, FullWhileTheQueuedSamplesReachTheBoundAndNotOnceWritten) {
  auto writer = makeWriter({.max_samples_per_transaction = 1000, .max_queued_samples = 12});
  writer->push(writerBatch("a", 1));
  EXPECT_FALSE(writer->full());
  writer->push(writerBatch("a", 2));
  EXPECT_TRUE(writer->full());
  writer->start();
  writer->awaitAgent("a");
  EXPECT_FALSE(writer->full());
}

TEST_F(TelemetryWriterTest, AwaitAgentWaitsForThatAgentsBatchesOnly) {
  auto writer = makeWriter({});
  writer->push(writerBatch("a", 1));
  writer->push(writerBatch("b", 1));
  writer->push(writerBatch("a", 2));
  // No batch of "c": returns at once, before the thread even runs.
  writer->awaitAgent("c");
  EXPECT_EQ(storedSeq("a"), 0u);
  writer->start();
  writer->awaitAgent("a");
  EXPECT_EQ(storedSeq("a"), 2u);
}

TEST_F(TelemetryWriterTest, StopWritesEverythingQueued) {
  auto writer = makeWriter({.max_samples_per_transaction = 6, .max_queued_samples = 1000});
  for (uint64_t seq = 1; seq <= 5; ++seq) writer->push(writerBatch("a", seq));
  writer->start();
  writer->stop();
  EXPECT_EQ(storedSeq("a"), 5u);
  EXPECT_EQ(writer->takeWritten().size(), 5u);
}

TEST_F(TelemetryWriterTest, AMalformedBatchIsLeftUnackedAndTheOthersOfItsGroupAreStored) {
  auto writer = makeWriter({});
  auto broken = writerBatch("b", 1);
  broken.values.pop_back();  // fewer value rows than series: the store refuses the batch
  writer->push(writerBatch("a", 1));
  writer->push(broken);
  writer->push(writerBatch("a", 2));
  writer->start();
  writer->awaitAgent("a");
  writer->awaitAgent("b");

  auto written = writer->takeWritten();
  ASSERT_EQ(written.size(), 3u);
  EXPECT_TRUE(written[0].outcome.has_value());
  EXPECT_FALSE(written[1].outcome.has_value()) << "a batch the store refused has nothing to ack";
  EXPECT_TRUE(written[2].outcome.has_value());
  EXPECT_EQ(storedSeq("a"), 2u);
  EXPECT_EQ(metrics_.value("pso_store_errors_total", {{"operation", "ingest_telemetry"}}), 2.0);
  // The group failed as a whole, then every batch was tried on its own.
  EXPECT_EQ(metrics_.value("pso_telemetry_transactions_total"), 2.0);
}

}  // namespace
}  // namespace pso::controller::service::testing
