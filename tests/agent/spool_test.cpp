#include "agent/spool.h"

#include <gtest/gtest.h>

#include <signal.h>
#include <sys/resource.h>

#include <filesystem>
#include <string>
#include <vector>

#include "agent_test_util.h"
#include "protocol/codec.h"

namespace pso::agent {
namespace {

using testing::TempDir;

protocol::TelemetryBatch makeBatch(double value) {
  protocol::TelemetryBatch batch;
  batch.agent_id = "edge-1";
  batch.series = {{"web", "demand"}};
  batch.timestamps_ms = {1'700'000'000'000};
  batch.values = {{value}};
  return batch;
}

std::vector<uint64_t> seqs(const std::vector<SpooledBatch>& batches) {
  std::vector<uint64_t> out;
  for (const SpooledBatch& batch : batches) out.push_back(batch.seq);
  return out;
}

std::unique_ptr<Spool> openSpool(const std::string& path, int64_t max_batches = 1000,
                                 common::MetricsRegistry* metrics = nullptr) {
  auto spool = Spool::open(path, max_batches, metrics);
  EXPECT_TRUE(spool.ok()) << spool.error().message;
  return spool.ok() ? std::move(spool).value() : nullptr;
}

TEST(Spool, AppendNumbersBatchesAndStoresTheirEncodedFrames) {
  TempDir dir;
  auto spool = openSpool(dir.file("spool.db"));
  ASSERT_TRUE(spool);
  EXPECT_EQ(spool->nextSeq(), 1u);
  for (int i = 0; i < 3; ++i) {
    protocol::TelemetryBatch batch = makeBatch(10.0 * i);
    Result<uint64_t> seq = spool->append(batch);
    ASSERT_TRUE(seq.ok()) << seq.error().message;
    EXPECT_EQ(*seq, static_cast<uint64_t>(i + 1));
    EXPECT_EQ(batch.seq, *seq);
    EXPECT_EQ(batch.oldest_seq, 1u);
  }
  auto pending = spool->pending(1, 10);
  ASSERT_TRUE(pending.ok());
  ASSERT_EQ(seqs(*pending), (std::vector<uint64_t>{1, 2, 3}));
  Result<protocol::Message> decoded = protocol::decode((*pending)[2].frame);
  ASSERT_TRUE(decoded.ok()) << decoded.error().message;
  const auto& batch = std::get<protocol::TelemetryBatch>(*decoded);
  EXPECT_EQ(batch.seq, 3u);
  EXPECT_EQ(batch.oldest_seq, 1u);
  EXPECT_DOUBLE_EQ(batch.values[0][0], 20.0);
  EXPECT_EQ(seqs(*spool->pending(2, 1)), (std::vector<uint64_t>{2}));
}

TEST(Spool, AckDeletesThroughItsSeq) {
  TempDir dir;
  auto spool = openSpool(dir.file("spool.db"));
  ASSERT_TRUE(spool);
  for (int i = 0; i < 5; ++i) {
    protocol::TelemetryBatch batch = makeBatch(i);
    ASSERT_TRUE(spool->append(batch).ok());
  }
  ASSERT_TRUE(spool->ack(3).ok());
  EXPECT_EQ(spool->pendingCount(), 2u);
  EXPECT_EQ(spool->oldestSeq(), 4u);
  EXPECT_EQ(seqs(*spool->pending(1, 10)), (std::vector<uint64_t>{4, 5}));
  // A stale, lower ack changes nothing.
  ASSERT_TRUE(spool->ack(2).ok());
  EXPECT_EQ(spool->pendingCount(), 2u);
  ASSERT_TRUE(spool->ack(5).ok());
  EXPECT_EQ(spool->pendingCount(), 0u);
  EXPECT_TRUE(spool->pending(1, 10)->empty());
  EXPECT_EQ(spool->nextSeq(), 6u);
  EXPECT_EQ(spool->oldestSeq(), 6u);
}

TEST(Spool, RestartKeepsPendingAndContinuesTheSequence) {
  TempDir dir;
  const std::string path = dir.file("spool.db");
  {
    auto spool = openSpool(path);
    ASSERT_TRUE(spool);
    for (int i = 0; i < 3; ++i) {
      protocol::TelemetryBatch batch = makeBatch(i);
      ASSERT_TRUE(spool->append(batch).ok());
    }
    ASSERT_TRUE(spool->ack(1).ok());
  }
  {
    auto spool = openSpool(path);
    ASSERT_TRUE(spool);
    EXPECT_TRUE(spool->recoveredFrom().empty());
    EXPECT_EQ(spool->pendingCount(), 2u);
    EXPECT_EQ(seqs(*spool->pending(1, 10)), (std::vector<uint64_t>{2, 3}));
    EXPECT_EQ(spool->nextSeq(), 4u);
    protocol::TelemetryBatch batch = makeBatch(9);
    EXPECT_EQ(*spool->append(batch), 4u);
    EXPECT_EQ(batch.oldest_seq, 2u);
    // Everything acked, even past what was stored (the controller remembers
    // more than this spool): numbering continues after the ack.
    ASSERT_TRUE(spool->ack(10).ok());
  }
  auto spool = openSpool(path);
  ASSERT_TRUE(spool);
  EXPECT_EQ(spool->pendingCount(), 0u);
  EXPECT_EQ(spool->ackedSeq(), 10u);
  EXPECT_EQ(spool->nextSeq(), 11u);
  protocol::TelemetryBatch batch = makeBatch(1);
  EXPECT_EQ(*spool->append(batch), 11u);
}

TEST(Spool, BoundDropsTheOldestAndCountsThem) {
  TempDir dir;
  common::MetricsRegistry metrics;
  auto spool = openSpool(dir.file("spool.db"), 3, &metrics);
  ASSERT_TRUE(spool);
  protocol::TelemetryBatch last;
  for (int i = 0; i < 5; ++i) {
    last = makeBatch(i);
    ASSERT_TRUE(spool->append(last).ok());
  }
  EXPECT_EQ(spool->pendingCount(), 3u);
  EXPECT_EQ(spool->droppedCount(), 2u);
  EXPECT_EQ(metrics.value("pso_agent_spool_dropped_total"), 2.0);
  EXPECT_EQ(metrics.value("pso_agent_spool_pending"), 3.0);
  EXPECT_EQ(seqs(*spool->pending(1, 10)), (std::vector<uint64_t>{3, 4, 5}));
  // The batch itself tells the controller what is left.
  EXPECT_EQ(last.seq, 5u);
  EXPECT_EQ(last.oldest_seq, 3u);
  auto frame = spool->pending(5, 1);
  auto decoded = protocol::decode((*frame)[0].frame);
  ASSERT_TRUE(decoded.ok());
  EXPECT_EQ(std::get<protocol::TelemetryBatch>(*decoded).oldest_seq, 3u);
}

TEST(Spool, BatchesEncodedBeforeLaterDropsCarryTheCurrentOldestSeq) {
  TempDir dir;
  auto spool = openSpool(dir.file("spool.db"), 3);
  ASSERT_TRUE(spool);
  for (int i = 0; i < 3; ++i) {
    protocol::TelemetryBatch batch = makeBatch(i);
    ASSERT_TRUE(spool->append(batch).ok());
    EXPECT_EQ(batch.oldest_seq, 1u);
  }
  // Seq 3 was encoded saying "1 is the oldest"; appending two more drops 1 and 2.
  for (int i = 0; i < 2; ++i) {
    protocol::TelemetryBatch batch = makeBatch(i);
    ASSERT_TRUE(spool->append(batch).ok());
  }
  auto pending = spool->pending(1, 10);
  ASSERT_TRUE(pending.ok()) << pending.error().message;
  ASSERT_EQ(seqs(*pending), (std::vector<uint64_t>{3, 4, 5}));
  for (const SpooledBatch& stored : *pending) {
    auto decoded = protocol::decode(stored.frame);
    ASSERT_TRUE(decoded.ok());
    const auto& batch = std::get<protocol::TelemetryBatch>(*decoded);
    EXPECT_EQ(batch.seq, stored.seq);
    // A controller holding up to seq 0 accepts seq 3 only if told 1 and 2 are gone.
    EXPECT_EQ(batch.oldest_seq, 3u) << "seq " << stored.seq;
    EXPECT_DOUBLE_EQ(batch.values[0][0], stored.seq == 3 ? 2.0 : stored.seq - 4.0);
  }
}

TEST(Spool, DirectiveResultsAreKeptAcrossRestarts) {
  TempDir dir;
  const std::string path = dir.file("spool.db");
  protocol::DirectiveResult result;
  result.agent_id = "edge-1";
  result.directive_id = "d-42";
  result.system = "web";
  result.status = "applied";
  result.replicas = 3;
  const std::string frame = protocol::encode(result);
  {
    auto spool = openSpool(path);
    ASSERT_TRUE(spool);
    EXPECT_FALSE(spool->directiveResult("d-42")->has_value());
    ASSERT_TRUE(spool->storeDirectiveResult("d-42", frame).ok());
    EXPECT_EQ(spool->directiveResult("d-42")->value(), frame);
  }
  auto spool = openSpool(path);
  ASSERT_TRUE(spool);
  auto stored = spool->directiveResult("d-42");
  ASSERT_TRUE(stored.ok());
  ASSERT_TRUE(stored->has_value());
  EXPECT_EQ(**stored, frame);
  EXPECT_FALSE(spool->directiveResult("d-43")->has_value());
}

TEST(Spool, CorruptedFileIsMovedAsideAndAFreshSpoolStarts) {
  TempDir dir;
  const std::string path = dir.file("spool.db");
  std::string garbage(8192, '\0');
  for (std::size_t i = 0; i < garbage.size(); ++i) garbage[i] = static_cast<char>((i * 131) % 251);
  testing::writeFile(path, garbage);

  common::MetricsRegistry metrics;
  auto spool = openSpool(path, 1000, &metrics);
  ASSERT_TRUE(spool);
  const std::string aside = spool->recoveredFrom();
  ASSERT_FALSE(aside.empty());
  EXPECT_EQ(aside.rfind(path + ".corrupt-", 0), 0u) << aside;
  EXPECT_EQ(testing::readFile(aside), garbage);  // kept for inspection, unchanged
  EXPECT_EQ(metrics.value("pso_agent_spool_recovered_total"), 1.0);
  EXPECT_EQ(spool->pendingCount(), 0u);
  protocol::TelemetryBatch batch = makeBatch(1);
  EXPECT_EQ(*spool->append(batch), 1u);
  spool.reset();

  // The fresh file is a healthy spool from now on.
  auto reopened = openSpool(path);
  ASSERT_TRUE(reopened);
  EXPECT_TRUE(reopened->recoveredFrom().empty());
  EXPECT_EQ(reopened->pendingCount(), 1u);
}

TEST(Spool, RefusesABoundBelowOne) {
  TempDir dir;
  auto spool = Spool::open(dir.file("spool.db"), 0);
  ASSERT_FALSE(spool.ok());
  EXPECT_NE(spool.error().message.find("spool_max_batches"), std::string::npos);
}

TEST(Spool, AFileThatCannotBeCreatedLeavesASpoolInMemoryWithTheSameBound) {
  TempDir dir;
  testing::writeFile(dir.file("not-a-directory"), "a regular file\n");
  const std::string path = dir.file("not-a-directory") + "/spool.db";
  ASSERT_FALSE(Spool::open(path, 3).ok());

  common::MetricsRegistry metrics;
  auto spool = Spool::openOrKeepInMemory(path, 3, &metrics);
  ASSERT_TRUE(spool.ok()) << spool.error().message;
  EXPECT_TRUE((*spool)->inMemory());
  EXPECT_EQ((*spool)->path(), path);
  EXPECT_EQ(metrics.value("pso_agent_spool_in_memory"), 1.0);
  EXPECT_EQ(metrics.value("pso_agent_spool_storage_failures_total"), 1.0);
  EXPECT_NE(metrics.renderPrometheus().find("# TYPE pso_agent_spool_in_memory gauge"),
            std::string::npos);
  for (int i = 0; i < 5; ++i) {
    protocol::TelemetryBatch batch = makeBatch(i);
    ASSERT_TRUE((*spool)->append(batch).ok());
  }
  EXPECT_EQ(seqs(*(*spool)->pending(1, 10)), (std::vector<uint64_t>{3, 4, 5}));
  EXPECT_EQ((*spool)->droppedCount(), 2u);
  ASSERT_TRUE((*spool)->ack(4).ok());
  EXPECT_EQ(seqs(*(*spool)->pending(1, 10)), (std::vector<uint64_t>{5}));
  ASSERT_TRUE((*spool)->storeDirectiveResult("d-1", "frame").ok());
  EXPECT_EQ((*spool)->directiveResult("d-1")->value(), "frame");
  EXPECT_FALSE(std::filesystem::exists(path));
}

TEST(Spool, AWorkingFileIsNotReplacedByMemoryAndAnInvalidBoundIsStillRefused) {
  TempDir dir;
  common::MetricsRegistry metrics;
  auto spool = Spool::openOrKeepInMemory(dir.file("spool.db"), 10, &metrics);
  ASSERT_TRUE(spool.ok()) << spool.error().message;
  EXPECT_FALSE((*spool)->inMemory());
  EXPECT_EQ(metrics.value("pso_agent_spool_in_memory"), 0.0);
  auto refused = Spool::openOrKeepInMemory(dir.file("other") + "/spool.db", 0);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code, "invalid");
}

// Limits the size of files this process may write to (RLIMIT_FSIZE), with
// SIGXFSZ ignored so a write past it fails with EFBIG: a real write failure,
// as a full disk gives, without needing privileges. Restored on destruction.
class FileSizeLimit {
 public:
  explicit FileSizeLimit(rlim_t bytes) {
    ::getrlimit(RLIMIT_FSIZE, &saved_);
    previous_handler_ = ::signal(SIGXFSZ, SIG_IGN);
    rlimit limit = saved_;
    limit.rlim_cur = bytes;
    ok_ = ::setrlimit(RLIMIT_FSIZE, &limit) == 0;
  }
  ~FileSizeLimit() {
    ::setrlimit(RLIMIT_FSIZE, &saved_);
    ::signal(SIGXFSZ, previous_handler_);
  }
  bool ok() const { return ok_; }

 private:
  rlimit saved_{};
  sighandler_t previous_handler_ = SIG_DFL;
  bool ok_ = false;
};

std::uintmax_t fileSize(const std::string& path) {
  std::error_code ec;
  const std::uintmax_t size = std::filesystem::file_size(path, ec);
  return ec ? 0 : size;
}

TEST(Spool, AWriteTheFileRefusesMovesTheSpoolToMemoryKeepingBatchesAndSeqs) {
  TempDir dir;
  const std::string path = dir.file("spool.db");
  common::MetricsRegistry metrics;
  auto spool = openSpool(path, 1000, &metrics);
  ASSERT_TRUE(spool);
  for (int i = 0; i < 4; ++i) {
    protocol::TelemetryBatch batch = makeBatch(i);
    ASSERT_TRUE(spool->append(batch).ok());
  }
  ASSERT_TRUE(spool->ack(1).ok());
  ASSERT_TRUE(spool->storeDirectiveResult("d-7", "stored result").ok());
  ASSERT_FALSE(spool->inMemory());
  {
    // No spool file may grow from here on: the next commit cannot be written.
    FileSizeLimit limit(std::max(fileSize(path), fileSize(path + "-wal")));
    ASSERT_TRUE(limit.ok());
    protocol::TelemetryBatch batch = makeBatch(40);
    Result<uint64_t> seq = spool->append(batch);
    ASSERT_TRUE(seq.ok()) << seq.error().message;
    EXPECT_EQ(*seq, 5u);
    EXPECT_TRUE(spool->inMemory());
    EXPECT_EQ(metrics.value("pso_agent_spool_in_memory"), 1.0);
    EXPECT_EQ(metrics.value("pso_agent_spool_storage_failures_total"), 1.0);
    // Everything pending came along, in order, and the new batch follows it.
    auto pending = spool->pending(1, 10);
    ASSERT_TRUE(pending.ok()) << pending.error().message;
    EXPECT_EQ(seqs(*pending), (std::vector<uint64_t>{2, 3, 4, 5}));
    auto decoded = protocol::decode(pending->back().frame);
    ASSERT_TRUE(decoded.ok());
    EXPECT_DOUBLE_EQ(std::get<protocol::TelemetryBatch>(*decoded).values[0][0], 40.0);
    EXPECT_EQ(spool->ackedSeq(), 1u);
    EXPECT_EQ(spool->droppedCount(), 0u);
    // A directive already answered is still answered, not run again.
    EXPECT_EQ(spool->directiveResult("d-7")->value(), "stored result");
    ASSERT_TRUE(spool->ack(3).ok());
    protocol::TelemetryBatch next = makeBatch(41);
    EXPECT_EQ(*spool->append(next), 6u);
    EXPECT_EQ(next.oldest_seq, 4u);
    EXPECT_EQ(seqs(*spool->pending(1, 10)), (std::vector<uint64_t>{4, 5, 6}));
    ASSERT_TRUE(spool->storeDirectiveResult("d-8", "in memory").ok());
    EXPECT_EQ(metrics.value("pso_agent_spool_storage_failures_total"), 1.0);
  }
  spool.reset();
  // The failed write was rolled back: the file holds what it held before.
  auto reopened = openSpool(path);
  ASSERT_TRUE(reopened);
  EXPECT_FALSE(reopened->inMemory());
  EXPECT_EQ(seqs(*reopened->pending(1, 10)), (std::vector<uint64_t>{2, 3, 4}));
  EXPECT_EQ(reopened->directiveResult("d-7")->value(), "stored result");
}

}  // namespace
}  // namespace pso::agent
