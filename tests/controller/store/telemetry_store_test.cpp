#include "tests/controller/store/store_fixture.h"

#include <chrono>
#include <cmath>
#include <limits>
#include <string>
#include <thread>
#include <vector>

#include "common/sqlite.h"
#include "controller/store/sqlite/schema.h"

namespace pso::controller::store {
namespace {

class TelemetryStoreTest : public StoreTest {};

TEST_P(TelemetryStoreTest, ConcurrentIngestAndReadsStayConsistent) {
  constexpr uint64_t kBatches = 200;
  std::thread writer([&] {
    for (uint64_t seq = 1; seq <= kBatches; ++seq) {
      const auto ts = static_cast<int64_t>(seq) * 1000;
      auto r =
          store_->ingestTelemetry(batch("edge-01", seq, {ts}, {static_cast<double>(seq)}), kNowMs);
      ASSERT_TRUE(r.ok()) << r.error().message;
      ASSERT_EQ(r->kind, IngestOutcome::Kind::kStored);
    }
  });
  std::size_t last_seen = 0;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (last_seen < kBatches && std::chrono::steady_clock::now() < deadline) {
    auto samples = store_->samples("web", "demand", 0, std::numeric_limits<int64_t>::max());
    ASSERT_TRUE(samples.ok()) << samples.error().message;
    // Each read sees a prefix of the writes: whole batches, in order.
    ASSERT_GE(samples->size(), last_seen);
    for (std::size_t i = 0; i < samples->size(); ++i) {
      ASSERT_DOUBLE_EQ((*samples)[i].value, static_cast<double>(i + 1));
    }
    last_seen = samples->size();
    if (last_seen < kBatches) std::this_thread::yield();
  }
  writer.join();
  EXPECT_EQ(last_seen, kBatches);
  auto agent = store_->agent("edge-01");
  ASSERT_TRUE(agent.ok() && agent->has_value());
  EXPECT_EQ((*agent)->last_seq, kBatches);
}

TEST_P(TelemetryStoreTest, CycleReadsOfAFleetMatchTheReadsOfEachSystem) {
  // web: a sample every second from 1 s to 30 s; api: three samples; db: none.
  std::vector<Sample> web;
  for (int64_t t = 1; t <= 30; ++t) web.push_back({t * 1000, static_cast<double>(t) * 1.5});
  ASSERT_TRUE(store_->importSamples("web", "demand", web).ok());
  ASSERT_TRUE(store_->importSamples("api", "demand", {{2000, 4}, {21000, 8}, {40000, 99}}).ok());

  // History from 5 s, the step after 20 s, up to (not including) 31 s; 8 recent.
  auto reads = store_->cycleReads({"web", "api", "db"}, "demand", 5000, 20000, 31000, 8);
  ASSERT_TRUE(reads.ok()) << reads.error().message;
  ASSERT_EQ(reads->size(), 2u) << "a system without samples is absent";
  ASSERT_FALSE(reads->contains("db"));

  const CycleSeriesRead& w = reads->at("web");
  auto expected = store_->samples("web", "demand", 23000, 31000);
  ASSERT_TRUE(expected.ok());
  ASSERT_EQ(w.recent.size(), 8u);
  for (std::size_t i = 0; i < w.recent.size(); ++i) {
    EXPECT_EQ(w.recent[i].ts_ms, (*expected)[i].ts_ms);
    EXPECT_EQ(w.recent[i].value, (*expected)[i].value);
  }
  // 21 s ... 30 s: ten samples, 1.5 x (21 + ... + 30) = 382.5.
  EXPECT_EQ(w.window_count, 10);
  EXPECT_DOUBLE_EQ(w.window_sum, 382.5);

  // api: 2 s is before the history, 40 s after the read.
  const CycleSeriesRead& a = reads->at("api");
  ASSERT_EQ(a.recent.size(), 1u);
  EXPECT_EQ(a.recent[0].ts_ms, 21000);
  EXPECT_EQ(a.window_count, 1);
  EXPECT_DOUBLE_EQ(a.window_sum, 8.0);

  auto latest = store_->latestSamples({"web", "api", "db"}, "demand");
  ASSERT_TRUE(latest.ok());
  ASSERT_EQ(latest->size(), 2u);
  EXPECT_EQ(latest->at("web").ts_ms, 30000);
  EXPECT_EQ(latest->at("api").ts_ms, 40000);
  EXPECT_EQ(latest->at("api").value, 99.0);
}

// The cycle asks every cycle for series most systems never send (their
// health_score); a series found missing must still appear as soon as this
// store creates it, and a series another connection creates (psoctl import
// on the same file, then that connection's rollup pass) must show its rollups.
TEST_P(TelemetryStoreTest, ASeriesFoundMissingIsSeenOnceThisOrAnotherConnectionCreatesIt) {
  for (int round = 0; round < 2; ++round) {
    auto none = store_->latestSamples({"web", "api"}, "health_score");
    ASSERT_TRUE(none.ok()) << none.error().message;
    ASSERT_TRUE(none->empty()) << "round " << round;
  }
  ASSERT_TRUE(store_->importSamples("api", "health_score", {{2000, 88}}).ok());
  auto api = store_->latestSamples({"web", "api"}, "health_score");
  ASSERT_TRUE(api.ok());
  ASSERT_EQ(api->size(), 1u) << "this store's own series is seen";
  EXPECT_EQ(api->at("api").ts_ms, 2000);
  EXPECT_EQ(api->at("api").value, 88.0);

  constexpr int64_t kHourMs = 3'600'000;
  auto hours = [&] {
    auto rows = store_->rollups("web", "demand", RollupResolution::kHour, 0,
                                std::numeric_limits<int64_t>::max());
    EXPECT_TRUE(rows.ok());
    return rows.ok() ? rows->size() : 0u;
  };
  // Asked twice: the second answer is the remembered miss.
  ASSERT_EQ(hours(), 0u);
  ASSERT_EQ(hours(), 0u);
  auto other = Store::open(location_);
  ASSERT_TRUE(other.ok()) << other.error().message;
  std::vector<Sample> two_hours;
  for (int64_t t = 0; t < 2 * kHourMs; t += 60'000) two_hours.push_back({t, 10.0});
  ASSERT_TRUE((*other)->importSamples("web", "demand", two_hours).ok());
  ASSERT_TRUE((*other)->rollup(2 * kHourMs).ok());
  EXPECT_EQ(hours(), 2u) << "the other connection's series and rollups are seen";
}

TEST_P(TelemetryStoreTest, IngestFollowsTheSequenceRule) {
  ASSERT_TRUE(store_->upsertAgent(hello("edge-01"), 1000).ok());

  auto first = store_->ingestTelemetry(batch("edge-01", 1, {1000, 2000}, {10, 20}), kNowMs);
  ASSERT_TRUE(first.ok()) << first.error().message;
  EXPECT_EQ(first->kind, IngestOutcome::Kind::kStored);
  EXPECT_EQ(first->last_seq, 1u);
  EXPECT_EQ(first->samples, 2u);

  // A replay of seq 1 with other values is a duplicate and changes nothing.
  auto duplicate = store_->ingestTelemetry(batch("edge-01", 1, {1000, 2000}, {99, 99}), kNowMs);
  ASSERT_TRUE(duplicate.ok());
  EXPECT_EQ(duplicate->kind, IngestOutcome::Kind::kDuplicate);
  EXPECT_EQ(duplicate->last_seq, 1u);
  EXPECT_EQ(duplicate->samples, 0u);

  auto ahead = store_->ingestTelemetry(batch("edge-01", 3, {4000}, {40}), kNowMs);
  ASSERT_TRUE(ahead.ok());
  EXPECT_EQ(ahead->kind, IngestOutcome::Kind::kOutOfOrder);
  EXPECT_EQ(ahead->last_seq, 1u);

  auto second = store_->ingestTelemetry(batch("edge-01", 2, {3000}, {30}), kNowMs);
  ASSERT_TRUE(second.ok());
  EXPECT_EQ(second->kind, IngestOutcome::Kind::kStored);
  EXPECT_EQ(second->last_seq, 2u);

  auto samples = webDemand();
  ASSERT_EQ(samples.size(), 3u);
  EXPECT_DOUBLE_EQ(samples[0].value, 10);
  EXPECT_DOUBLE_EQ(samples[1].value, 20);
  EXPECT_DOUBLE_EQ(samples[2].value, 30);
  auto agent = store_->agent("edge-01");
  ASSERT_TRUE(agent.ok() && agent->has_value());
  EXPECT_EQ((*agent)->last_seq, 2u);
}

TEST_P(TelemetryStoreTest, OldestSeqLetsTheAgentSkipADroppedGap) {
  ASSERT_TRUE(store_->upsertAgent(hello("edge-01"), 1000).ok());
  ASSERT_TRUE(store_->ingestTelemetry(batch("edge-01", 1, {1000}, {1}), kNowMs).ok());
  // The agent's spool dropped 2..9: its oldest batch is now 10.
  auto skipped = store_->ingestTelemetry(batch("edge-01", 10, {10000}, {10}, 10), kNowMs);
  ASSERT_TRUE(skipped.ok());
  EXPECT_EQ(skipped->kind, IngestOutcome::Kind::kStored);
  EXPECT_EQ(skipped->last_seq, 10u);
  auto gap = store_->ingestTelemetry(batch("edge-01", 12, {12000}, {12}, 10), kNowMs);
  ASSERT_TRUE(gap.ok());
  EXPECT_EQ(gap->kind, IngestOutcome::Kind::kOutOfOrder);
  EXPECT_EQ(gap->last_seq, 10u);
  auto next = store_->ingestTelemetry(batch("edge-01", 11, {11000}, {11}, 10), kNowMs);
  ASSERT_TRUE(next.ok());
  EXPECT_EQ(next->kind, IngestOutcome::Kind::kStored);
  EXPECT_EQ(webDemand().size(), 3u);
}

TEST_P(TelemetryStoreTest, BatchedIngestReportsEachBatchInOneTransaction) {
  std::vector<protocol::TelemetryBatch> batches = {
      batch("edge-01", 1, {1000}, {1}), batch("edge-01", 2, {2000}, {2}),
      batch("edge-01", 2, {2000}, {7}), batch("edge-01", 4, {4000}, {4}),
      batch("edge-02", 1, {1000}, {100})};
  batches.back().series = {{"api", "demand"}};
  auto outcomes = store_->ingestTelemetry(batches, kNowMs);
  ASSERT_TRUE(outcomes.ok()) << outcomes.error().message;
  ASSERT_EQ(outcomes->size(), 5u);
  EXPECT_EQ((*outcomes)[0].kind, IngestOutcome::Kind::kStored);
  EXPECT_EQ((*outcomes)[1].kind, IngestOutcome::Kind::kStored);
  EXPECT_EQ((*outcomes)[1].last_seq, 2u);
  EXPECT_EQ((*outcomes)[2].kind, IngestOutcome::Kind::kDuplicate);
  EXPECT_EQ((*outcomes)[3].kind, IngestOutcome::Kind::kOutOfOrder);
  EXPECT_EQ((*outcomes)[3].last_seq, 2u);
  EXPECT_EQ((*outcomes)[4].kind, IngestOutcome::Kind::kStored);

  // Telemetry before any hello registers the agent.
  auto unknown = store_->agent("edge-02");
  ASSERT_TRUE(unknown.ok() && unknown->has_value());
  EXPECT_EQ((*unknown)->last_seq, 1u);
  auto samples = webDemand();
  ASSERT_EQ(samples.size(), 2u);
  EXPECT_DOUBLE_EQ(samples[1].value, 2);
}

TEST_P(TelemetryStoreTest, TelemetryBeforeHelloRegistersTheAgentAtTheTimeGiven) {
  ASSERT_TRUE(store_->ingestTelemetry(batch("edge-09", 1, {1000}, {1}), 4242).ok());
  auto agent = store_->agent("edge-09");
  ASSERT_TRUE(agent.ok() && agent->has_value());
  EXPECT_EQ((*agent)->first_seen_ms, 4242);
  EXPECT_EQ((*agent)->last_seen_ms, 4242);
  EXPECT_EQ((*agent)->last_seq, 1u);
  EXPECT_FALSE((*agent)->connected);

  // Later batches move the seq, not the registration time.
  ASSERT_TRUE(store_->ingestTelemetry(batch("edge-09", 2, {2000}, {2}), 9999).ok());
  agent = store_->agent("edge-09");
  ASSERT_TRUE(agent.ok() && agent->has_value());
  EXPECT_EQ((*agent)->first_seen_ms, 4242);
  EXPECT_EQ((*agent)->last_seq, 2u);
}

TEST_P(TelemetryStoreTest, MalformedBatchIsRefusedAndNothingOfTheCallIsStored) {
  auto good = batch("edge-01", 1, {1000}, {1});
  auto bad = batch("edge-01", 2, {2000, 3000}, {2});  // one value for two timestamps
  auto result = store_->ingestTelemetry(std::vector<protocol::TelemetryBatch>{good, bad}, kNowMs);
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().code, "invalid");
  EXPECT_NE(result.error().message.find("web/demand"), std::string::npos);
  EXPECT_TRUE(webDemand().empty());

  auto zero = store_->ingestTelemetry(batch("edge-01", 0, {1000}, {1}), kNowMs);
  ASSERT_FALSE(zero.ok());
  EXPECT_EQ(zero.error().code, "invalid");

  // The store still works afterwards, from seq 1.
  auto ok = store_->ingestTelemetry(good, kNowMs);
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ(ok->kind, IngestOutcome::Kind::kStored);
}

TEST_P(TelemetryStoreTest, NaNValuesAreSkipped) {
  auto result =
      store_->ingestTelemetry(batch("edge-01", 1, {1000, 2000, 3000, 4000},
                                    {1, kNaN, 3, std::numeric_limits<double>::infinity()}),
                              kNowMs);
  ASSERT_TRUE(result.ok());
  EXPECT_EQ(result->samples, 2u);
  auto samples = webDemand();
  ASSERT_EQ(samples.size(), 2u);
  EXPECT_EQ(samples[0].ts_ms, 1000);
  EXPECT_EQ(samples[1].ts_ms, 3000);
}

TEST_P(TelemetryStoreTest, SampleQueriesAreOrderedAndBounded) {
  protocol::TelemetryBatch b;
  b.agent_id = "edge-01";
  b.seq = 1;
  b.oldest_seq = 1;
  b.series = {{"web", "demand"}, {"web", "cpu.usage"}, {"", "load1"}};
  b.timestamps_ms = {5000, 1000, 3000, 2000, 4000};
  b.values = {{5, 1, 3, 2, 4}, {0.5, 0.1, 0.3, 0.2, 0.4}, {9, 9, 9, 9, 9}};
  ASSERT_TRUE(store_->ingestTelemetry(b, kNowMs).ok());

  auto all = webDemand();
  ASSERT_EQ(all.size(), 5u);
  for (std::size_t i = 0; i < all.size(); ++i) {
    EXPECT_EQ(all[i].ts_ms, static_cast<int64_t>(i + 1) * 1000);
    EXPECT_DOUBLE_EQ(all[i].value, static_cast<double>(i + 1));
  }
  // since inclusive, until exclusive.
  auto window = webDemand(2000, 4000);
  ASSERT_EQ(window.size(), 2u);
  EXPECT_EQ(window[0].ts_ms, 2000);
  EXPECT_EQ(window[1].ts_ms, 3000);

  auto limited = store_->samples("web", "demand", 0, 10000, 2);
  ASSERT_TRUE(limited.ok());
  ASSERT_EQ(limited->size(), 2u);
  EXPECT_EQ((*limited)[0].ts_ms, 1000);
  EXPECT_EQ((*limited)[1].ts_ms, 2000);

  auto recent = store_->recentSamples("web", "demand", 5000, 3);
  ASSERT_TRUE(recent.ok());
  ASSERT_EQ(recent->size(), 3u);
  EXPECT_EQ((*recent)[0].ts_ms, 2000);
  EXPECT_EQ((*recent)[2].ts_ms, 4000);

  auto latest = store_->latestSample("web", "cpu.usage");
  ASSERT_TRUE(latest.ok() && latest->has_value());
  EXPECT_EQ((*latest)->ts_ms, 5000);
  EXPECT_DOUBLE_EQ((*latest)->value, 0.5);

  auto none = store_->samples("web", "nothing", 0, 10000);
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->empty());
  auto no_latest = store_->latestSample("api", "demand");
  ASSERT_TRUE(no_latest.ok());
  EXPECT_FALSE(no_latest->has_value());

  auto metrics = store_->metrics("web");
  ASSERT_TRUE(metrics.ok());
  EXPECT_EQ(*metrics, (std::vector<std::string>{"cpu.usage", "demand"}));
  // Host metrics are the agent's own series, not a system's.
  auto host = store_->metrics(hostSeriesSystem("edge-01"));
  ASSERT_TRUE(host.ok());
  EXPECT_EQ(*host, (std::vector<std::string>{"load1"}));
  auto unnamed = store_->metrics("");
  ASSERT_TRUE(unnamed.ok());
  EXPECT_TRUE(unnamed->empty());
}

TEST_P(TelemetryStoreTest, PruneRemovesOnlyOlderSamples) {
  ASSERT_TRUE(
      store_->ingestTelemetry(batch("edge-01", 1, {1000, 2000, 3000, 4000}, {1, 2, 3, 4}), kNowMs)
          .ok());
  auto removed = store_->pruneSamples(3000);
  ASSERT_TRUE(removed.ok());
  EXPECT_EQ(*removed, 2);
  auto left = webDemand();
  ASSERT_EQ(left.size(), 2u);
  EXPECT_EQ(left[0].ts_ms, 3000);
}

TEST_P(TelemetryStoreTest, ReplicasMetricUpdatesTheSystemUnlessOlder) {
  ASSERT_TRUE(store_->upsertAgent(hello("edge-01", 2), 10000).ok());
  protocol::TelemetryBatch b;
  b.agent_id = "edge-01";
  b.seq = 1;
  b.oldest_seq = 1;
  b.series = {{"web", "replicas"}};
  b.timestamps_ms = {11000, 12000};
  b.values = {{3, 4}};
  ASSERT_TRUE(store_->ingestTelemetry(b, kNowMs).ok());
  auto web = store_->system("web");
  ASSERT_TRUE(web.ok() && web->has_value());
  EXPECT_EQ((*web)->replicas, 4);
  EXPECT_EQ((*web)->updated_ms, 12000);

  // Spooled telemetry older than what the controller knows does not roll back.
  b.seq = 2;
  b.timestamps_ms = {5000};
  b.values = {{1}};
  ASSERT_TRUE(store_->ingestTelemetry(b, kNowMs).ok());
  web = store_->system("web");
  ASSERT_TRUE(web.ok() && web->has_value());
  EXPECT_EQ((*web)->replicas, 4);
}

TEST_P(TelemetryStoreTest, OneCallOfManyAgentsKeepsEachPositionOwnerAndNewestReplicaCount) {
  // Two agents declared, one agent only sending: every position, owner and
  // replica count of the call is decided as if its batches came one by one.
  ASSERT_TRUE(store_->upsertAgent(hello("edge-01", 2), 10000).ok());
  auto api_hello = hello("edge-02", 2);
  api_hello.systems.front().name = "api";
  ASSERT_TRUE(store_->upsertAgent(api_hello, 10000).ok());
  auto report = [](const std::string& agent, uint64_t seq, const std::string& system,
                   std::vector<int64_t> ts, std::vector<double> replicas) {
    protocol::TelemetryBatch b;
    b.agent_id = agent;
    b.seq = seq;
    b.oldest_seq = seq;
    b.series = {{system, "replicas"}};
    b.timestamps_ms = std::move(ts);
    b.values = {std::move(replicas)};
    return b;
  };
  const std::vector<protocol::TelemetryBatch> batches = {
      // The first report of web.
      report("edge-01", 1, "web", {13000}, {5}),
      // The first report of api.
      report("edge-02", 1, "api", {12000}, {7}),
      // Older than the first report of web: no roll back.
      report("edge-01", 2, "web", {11000}, {3}),
      // Equal times: the later report wins.
      report("edge-02", 2, "api", {12000}, {8}),
      // Another agent's system: refused, its position still moves.
      report("edge-03", 1, "web", {14000}, {99}),
      // Older than web's first report again.
      report("edge-01", 3, "web", {12500}, {4})};
  auto outcomes = store_->ingestTelemetry(batches, kNowMs);
  ASSERT_TRUE(outcomes.ok()) << outcomes.error().message;
  ASSERT_EQ(outcomes->size(), batches.size());
  EXPECT_EQ((*outcomes)[4].samples_not_owned, 1u);
  for (const auto& [agent, seq] : std::vector<std::pair<std::string, uint64_t>>{
           {"edge-01", 3}, {"edge-02", 2}, {"edge-03", 1}}) {
    auto stored = store_->agent(agent);
    ASSERT_TRUE(stored.ok() && stored->has_value()) << agent;
    EXPECT_EQ((*stored)->last_seq, seq) << agent;
  }
  auto web = store_->system("web");
  ASSERT_TRUE(web.ok() && web->has_value());
  EXPECT_EQ((*web)->replicas, 5);
  EXPECT_EQ((*web)->updated_ms, 13000);
  EXPECT_EQ((*web)->agent_id, "edge-01");
  auto api = store_->system("api");
  ASSERT_TRUE(api.ok() && api->has_value());
  EXPECT_EQ((*api)->replicas, 8);
  EXPECT_EQ((*api)->updated_ms, 12000);

  // The next call starts from the stored positions: a repeat is a duplicate.
  auto again = store_->ingestTelemetry(report("edge-02", 2, "api", {15000}, {1}), kNowMs);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->kind, IngestOutcome::Kind::kDuplicate);
}

// ---------------------------------------------------------------------------
// What one agent sends cannot freeze, corrupt or hide another's state:
// the sequence window, the time window, system ownership, host series.

constexpr uint64_t kTwoTo63 = uint64_t{1} << 63;

TEST_P(TelemetryStoreTest, ForgedSeqFarAheadIsRefusedAndTheAgentKeepsItsPosition) {
  ASSERT_TRUE(store_->upsertAgent(hello("edge-01"), 1000).ok());
  ASSERT_TRUE(store_->ingestTelemetry(batch("edge-01", 1, {1000}, {1}), kNowMs).ok());

  auto forged =
      store_->ingestTelemetry(batch("edge-01", kTwoTo63, {2000}, {666}, kTwoTo63), kNowMs);
  ASSERT_TRUE(forged.ok()) << forged.error().message;
  EXPECT_EQ(forged->kind, IngestOutcome::Kind::kRefused);
  EXPECT_EQ(forged->last_seq, 1u);
  EXPECT_EQ(forged->samples, 0u);
  EXPECT_NE(forged->refusal.find("max_seq_advance"), std::string::npos) << forged->refusal;
  EXPECT_EQ(forged->refusal.find('\n'), std::string::npos);
  EXPECT_EQ(store_->agent("edge-01")->value().last_seq, 1u);

  // The real agent's next batch is still the one expected.
  auto next = store_->ingestTelemetry(batch("edge-01", 2, {3000}, {2}), kNowMs);
  ASSERT_TRUE(next.ok());
  EXPECT_EQ(next->kind, IngestOutcome::Kind::kStored);
  EXPECT_EQ(next->last_seq, 2u);
  auto samples = webDemand();
  ASSERT_EQ(samples.size(), 2u);
  EXPECT_DOUBLE_EQ(samples[1].value, 2);
}

TEST_P(TelemetryStoreTest, OldestSeqOutsideOneToSeqIsRefused) {
  auto above = store_->ingestTelemetry(batch("edge-01", 1, {1000}, {1}, 2), kNowMs);
  ASSERT_TRUE(above.ok());
  EXPECT_EQ(above->kind, IngestOutcome::Kind::kRefused);
  EXPECT_NE(above->refusal.find("oldest_seq 2 is outside [1, seq]"), std::string::npos)
      << above->refusal;
  auto zero = store_->ingestTelemetry(batch("edge-01", 1, {1000}, {1}, 0), kNowMs);
  ASSERT_TRUE(zero.ok());
  EXPECT_EQ(zero->kind, IngestOutcome::Kind::kRefused);
  EXPECT_TRUE(webDemand().empty());
  EXPECT_EQ(store_->agent("edge-01")->value().last_seq, 0u);

  // In a call with other batches, only the refused one is left out.
  auto outcomes = store_->ingestTelemetry(
      std::vector<protocol::TelemetryBatch>{batch("edge-01", 1, {1000}, {1}),
                                            batch("edge-01", 3, {3000}, {3}, 4),
                                            batch("edge-01", 2, {2000}, {2})},
      kNowMs);
  ASSERT_TRUE(outcomes.ok()) << outcomes.error().message;
  EXPECT_EQ((*outcomes)[0].kind, IngestOutcome::Kind::kStored);
  EXPECT_EQ((*outcomes)[1].kind, IngestOutcome::Kind::kRefused);
  EXPECT_EQ((*outcomes)[1].last_seq, 1u);
  EXPECT_EQ((*outcomes)[2].kind, IngestOutcome::Kind::kStored);
  EXPECT_EQ(webDemand().size(), 2u);
}

TEST_P(TelemetryStoreTest, SeqWindowTakesLegitimateGapsAndRefusesWiderOnes) {
  IngestLimits limits = anyTimeLimits();
  limits.max_seq_advance = 10;
  store_->setIngestLimits(limits);
  ASSERT_TRUE(store_->ingestTelemetry(batch("edge-01", 1, {1000}, {1}), kNowMs).ok());

  // The spool dropped 2..10: oldest 11 moves the position from 1 to 10, 9 on.
  auto gap = store_->ingestTelemetry(batch("edge-01", 11, {11000}, {11}, 11), kNowMs);
  ASSERT_TRUE(gap.ok());
  EXPECT_EQ(gap->kind, IngestOutcome::Kind::kStored);
  EXPECT_EQ(gap->last_seq, 11u);
  // Exactly max_seq_advance past the stored seq is still inside the window.
  auto edge = store_->ingestTelemetry(batch("edge-01", 22, {22000}, {22}, 22), kNowMs);
  ASSERT_TRUE(edge.ok());
  EXPECT_EQ(edge->kind, IngestOutcome::Kind::kStored);
  EXPECT_EQ(edge->last_seq, 22u);
  // One more is not.
  auto skip = store_->ingestTelemetry(batch("edge-01", 34, {34000}, {34}, 34), kNowMs);
  ASSERT_TRUE(skip.ok());
  EXPECT_EQ(skip->kind, IngestOutcome::Kind::kRefused);
  EXPECT_EQ(skip->last_seq, 22u);
  EXPECT_NE(skip->refusal.find("from stored seq 22 to 33"), std::string::npos) << skip->refusal;
  // Nor is a spool spanning max_seq_advance batches.
  auto span = store_->ingestTelemetry(batch("edge-01", 33, {33000}, {33}, 23), kNowMs);
  ASSERT_TRUE(span.ok());
  EXPECT_EQ(span->kind, IngestOutcome::Kind::kRefused);
  EXPECT_NE(span->refusal.find("spans 11 batches"), std::string::npos) << span->refusal;
  // A seq ahead with an old oldest_seq stays out of order, as before.
  auto ahead = store_->ingestTelemetry(batch("edge-01", 30, {30000}, {30}, 23), kNowMs);
  ASSERT_TRUE(ahead.ok());
  EXPECT_EQ(ahead->kind, IngestOutcome::Kind::kOutOfOrder);
  EXPECT_EQ(webDemand().size(), 3u);
  EXPECT_EQ(store_->agent("edge-01")->value().last_seq, 22u);
}

TEST_P(TelemetryStoreTest, ResetAgentSeqMovesThePositionBothWays) {
  ASSERT_TRUE(store_->upsertAgent(hello("edge-01"), 1000).ok());
  ASSERT_TRUE(store_->ingestTelemetry(batch("edge-01", 1, {1000}, {1}), kNowMs).ok());
  // The agent's hello says it legitimately moved on to 5'000'000.
  ASSERT_TRUE(store_->resetAgentSeq("edge-01", 4'999'999).ok());
  EXPECT_EQ(store_->agent("edge-01")->value().last_seq, 4'999'999u);
  auto far = store_->ingestTelemetry(batch("edge-01", 5'000'000, {2000}, {2}, 5'000'000), kNowMs);
  ASSERT_TRUE(far.ok());
  EXPECT_EQ(far->kind, IngestOutcome::Kind::kStored);

  // Its sequence restarted (a new spool): back to 0, and 1 is stored again.
  ASSERT_TRUE(store_->resetAgentSeq("edge-01", 0).ok());
  auto restarted = store_->ingestTelemetry(batch("edge-01", 1, {3000}, {3}), kNowMs);
  ASSERT_TRUE(restarted.ok());
  EXPECT_EQ(restarted->kind, IngestOutcome::Kind::kStored);
  EXPECT_EQ(restarted->last_seq, 1u);
  EXPECT_EQ(webDemand().size(), 3u);

  auto unknown = store_->resetAgentSeq("nobody", 1);
  ASSERT_FALSE(unknown.ok());
  EXPECT_EQ(unknown.error().code, "not_found");
}

TEST_P(TelemetryStoreTest, SamplesOutsideTheTimeWindowAreRefusedOneByOne) {
  // A store nobody set limits on: the defaults (24 h back, 5 min ahead).
  auto opened = Store::open(freshLocation("defaults"));
  ASSERT_TRUE(opened.ok()) << opened.error().message;
  Store& store = **opened;
  ASSERT_TRUE(store.upsertAgent(hello("edge-01", 2), kNowMs - 60'000).ok());

  constexpr int64_t kMax = std::numeric_limits<int64_t>::max();
  protocol::TelemetryBatch b;
  b.agent_id = "edge-01";
  b.seq = 1;
  b.oldest_seq = 1;
  b.series = {{"web", "demand"}, {"web", "replicas"}};
  b.timestamps_ms = {0, kNowMs - 1000, kMax, kNowMs};
  b.values = {{1, 2, 3, 4}, {50, 3, 99, 4}};
  auto outcome = store.ingestTelemetry(b, kNowMs);
  ASSERT_TRUE(outcome.ok()) << outcome.error().message;
  EXPECT_EQ(outcome->kind, IngestOutcome::Kind::kStored);
  EXPECT_EQ(outcome->last_seq, 1u);
  EXPECT_EQ(outcome->samples, 4u);
  EXPECT_EQ(outcome->samples_too_old, 2u);
  EXPECT_EQ(outcome->samples_too_new, 2u);
  auto demand = store.samples("web", "demand", std::numeric_limits<int64_t>::min(), kMax);
  ASSERT_TRUE(demand.ok());
  ASSERT_EQ(demand->size(), 2u);
  EXPECT_EQ((*demand)[0].ts_ms, kNowMs - 1000);
  EXPECT_EQ((*demand)[1].ts_ms, kNowMs);
  // The replica count comes from the newest sample in the window, not 99 at
  // the end of time...
  auto web = store.system("web");
  ASSERT_TRUE(web.ok() && web->has_value());
  EXPECT_EQ((*web)->replicas, 4);
  EXPECT_EQ((*web)->updated_ms, kNowMs);
  // ...so the next report still moves it.
  b.seq = 2;
  b.timestamps_ms = {kNowMs + 1000};
  b.values = {{5}, {6}};
  ASSERT_TRUE(store.ingestTelemetry(b, kNowMs + 1000).ok());
  web = store.system("web");
  ASSERT_TRUE(web.ok() && web->has_value());
  EXPECT_EQ((*web)->replicas, 6);

  // The window's edges are inside it.
  b.seq = 3;
  b.series = {{"web", "demand"}};
  b.timestamps_ms = {kNowMs - 24 * kHourMs - 1, kNowMs - 24 * kHourMs, kNowMs + 5 * kMinuteMs,
                     kNowMs + 5 * kMinuteMs + 1};
  b.values = {{7, 8, 9, 10}};
  auto edges = store.ingestTelemetry(b, kNowMs);
  ASSERT_TRUE(edges.ok());
  EXPECT_EQ(edges->samples, 2u);
  EXPECT_EQ(edges->samples_too_old, 1u);
  EXPECT_EQ(edges->samples_too_new, 1u);

  // A batch whose samples are all refused is still stored: the seq moves on.
  b.seq = 4;
  b.timestamps_ms = {kMax};
  b.values = {{11}};
  auto none = store.ingestTelemetry(b, kNowMs);
  ASSERT_TRUE(none.ok());
  EXPECT_EQ(none->kind, IngestOutcome::Kind::kStored);
  EXPECT_EQ(none->last_seq, 4u);
  EXPECT_EQ(none->samples, 0u);
  EXPECT_EQ(none->samples_too_new, 1u);
}

TEST_P(TelemetryStoreTest, SetIngestLimitsNarrowsTheTimeWindow) {
  IngestLimits limits;
  limits.max_age_ms = 1000;
  limits.max_ahead_ms = 0;
  store_->setIngestLimits(limits);
  auto outcome = store_->ingestTelemetry(
      batch("edge-01", 1, {kNowMs - 1001, kNowMs - 1000, kNowMs, kNowMs + 1}, {1, 2, 3, 4}),
      kNowMs);
  ASSERT_TRUE(outcome.ok());
  EXPECT_EQ(outcome->samples, 2u);
  EXPECT_EQ(outcome->samples_too_old, 1u);
  EXPECT_EQ(outcome->samples_too_new, 1u);

  // A negative window counts as none: only samples stamped now are taken.
  limits.max_age_ms = std::numeric_limits<int64_t>::min();
  limits.max_ahead_ms = -1;
  store_->setIngestLimits(limits);
  auto negative = store_->ingestTelemetry(
      batch("edge-01", 2, {kNowMs - 1, kNowMs, kNowMs + 1}, {5, 6, 7}), kNowMs);
  ASSERT_TRUE(negative.ok());
  EXPECT_EQ(negative->samples, 1u);
  EXPECT_EQ(negative->samples_too_old, 1u);
  EXPECT_EQ(negative->samples_too_new, 1u);
}

TEST_P(TelemetryStoreTest, SamplesOfASystemOwnedByAnotherAgentAreRefused) {
  ASSERT_TRUE(store_->upsertAgent(hello("edge-01", 2), 1000).ok());
  protocol::Hello intruder = hello("edge-02", 9);
  intruder.systems.push_back(intruder.systems.front());
  intruder.systems.back().name = "api";
  auto conflicts = store_->upsertAgent(intruder, 2000);
  ASSERT_TRUE(conflicts.ok()) << conflicts.error().message;
  ASSERT_EQ(conflicts->size(), 1u);

  protocol::TelemetryBatch b;
  b.agent_id = "edge-02";
  b.seq = 1;
  b.oldest_seq = 1;
  b.series = {{"web", "demand"}, {"web", "replicas"}, {"api", "demand"}, {"ghost", "demand"}};
  b.timestamps_ms = {3000, 4000};
  b.values = {{900, 900}, {1, kNaN}, {5, 6}, {7, 8}};
  auto outcome = store_->ingestTelemetry(b, kNowMs);
  ASSERT_TRUE(outcome.ok()) << outcome.error().message;
  EXPECT_EQ(outcome->kind, IngestOutcome::Kind::kStored);
  EXPECT_EQ(outcome->samples_not_owned, 3u);
  // Its own system and one nobody declared are written.
  EXPECT_EQ(outcome->samples, 4u);
  EXPECT_TRUE(webDemand().empty());
  auto web = store_->system("web");
  ASSERT_TRUE(web.ok() && web->has_value());
  EXPECT_EQ((*web)->agent_id, "edge-01");
  EXPECT_EQ((*web)->replicas, 2);
  EXPECT_EQ(store_->samples("api", "demand", 0, kNowMs)->size(), 2u);

  // The owner's own samples are stored.
  auto own = store_->ingestTelemetry(batch("edge-01", 1, {3000}, {30}), kNowMs);
  ASSERT_TRUE(own.ok());
  EXPECT_EQ(own->samples, 1u);
  EXPECT_EQ(own->samples_not_owned, 0u);
  EXPECT_EQ(webDemand().size(), 1u);
}

TEST_P(TelemetryStoreTest, HostSeriesAreStoredPerAgentAndRolledUp) {
  auto host = [](const std::string& agent, uint64_t seq, double value) {
    protocol::TelemetryBatch b;
    b.agent_id = agent;
    b.seq = seq;
    b.oldest_seq = 1;
    b.series = {{"", "cpu.usage"}};
    b.timestamps_ms = {kNowMs + static_cast<int64_t>(seq) * 1000};
    b.values = {{value}};
    return b;
  };
  ASSERT_TRUE(store_->ingestTelemetry(host("edge-01", 1, 0.25), kNowMs).ok());
  ASSERT_TRUE(store_->ingestTelemetry(host("edge-02", 1, 0.75), kNowMs).ok());
  ASSERT_TRUE(store_->ingestTelemetry(host("edge-01", 2, 0.5), kNowMs).ok());

  auto one = store_->samples(hostSeriesSystem("edge-01"), "cpu.usage", 0, kNowMs + kHourMs);
  auto two = store_->samples(hostSeriesSystem("edge-02"), "cpu.usage", 0, kNowMs + kHourMs);
  ASSERT_TRUE(one.ok() && two.ok());
  ASSERT_EQ(one->size(), 2u);
  EXPECT_DOUBLE_EQ((*one)[0].value, 0.25);
  EXPECT_DOUBLE_EQ((*one)[1].value, 0.5);
  ASSERT_EQ(two->size(), 1u);
  EXPECT_DOUBLE_EQ((*two)[0].value, 0.75);
  EXPECT_TRUE(store_->samples("", "cpu.usage", 0, kNowMs + kHourMs)->empty());
  EXPECT_EQ(*store_->metrics(hostSeriesSystem("edge-02")), std::vector<std::string>{"cpu.usage"});
  // The key is not a system name: no system can be called that.
  EXPECT_EQ(hostSeriesSystem("edge-01"), "@host:edge-01");

  // A batch naming a host key as its system writes nothing there.
  protocol::TelemetryBatch forged = host("edge-02", 2, 99);
  forged.series = {{hostSeriesSystem("edge-01"), "cpu.usage"}};
  auto refused = store_->ingestTelemetry(forged, kNowMs);
  ASSERT_TRUE(refused.ok());
  EXPECT_EQ(refused->samples_not_owned, 1u);
  EXPECT_EQ(store_->samples(hostSeriesSystem("edge-01"), "cpu.usage", 0, kNowMs + kHourMs)->size(),
            2u);

  // Rollups cover host series like any other.
  auto report = store_->rollup(kNowMs + kHourMs);
  ASSERT_TRUE(report.ok()) << report.error().message;
  auto minutes = store_->rollups(hostSeriesSystem("edge-01"), "cpu.usage",
                                 RollupResolution::kMinute, 0, kNowMs + kHourMs);
  ASSERT_TRUE(minutes.ok());
  ASSERT_EQ(minutes->size(), 1u);
  EXPECT_EQ((*minutes)[0].count, 2);
  EXPECT_DOUBLE_EQ((*minutes)[0].mean, 0.375);
}

// ---------------------------------------------------------------------------
// Rollups.

class RollupTest : public StoreTest {
 protected:
  // An hour boundary, so minute and hour buckets line up with the arithmetic.
  static constexpr int64_t kStart = 1'700'002'800'000LL;
  static_assert(kStart % kHourMs == 0);

  // Ingests `count` samples of web/demand, `step_ms` apart from `first_ms`,
  // value = value0 + index.
  void ingestRange(int64_t first_ms, int64_t step_ms, int count, double value0) {
    std::vector<int64_t> ts;
    std::vector<double> values;
    for (int i = 0; i < count; ++i) {
      ts.push_back(first_ms + i * step_ms);
      values.push_back(value0 + i);
    }
    ASSERT_TRUE(store_->ingestTelemetry(batch("edge-01", ++seq_, ts, values), kNowMs).ok());
  }

  std::vector<RollupBucket> buckets(RollupResolution resolution) {
    auto rows =
        store_->rollups("web", "demand", resolution, 0, std::numeric_limits<int64_t>::max());
    EXPECT_TRUE(rows.ok()) << rows.error().message;
    return rows.ok() ? *rows : std::vector<RollupBucket>{};
  }

  RollupReport rollUp(int64_t closed_before_ms) {
    auto report = store_->rollup(closed_before_ms);
    EXPECT_TRUE(report.ok()) << report.error().message;
    return report.ok() ? *report : RollupReport{};
  }

  uint64_t seq_ = 0;
};

// A database written by an earlier SQLite schema.
class SqliteRollupTest : public RollupTest {};

TEST_P(RollupTest, MinuteAndHourBucketsHoldMinMeanMaxCount) {
  // Two hours of samples every 10 s, values 0, 1, 2, ...
  ingestRange(kStart, 10'000, 720, 0.0);
  const RollupReport report = rollUp(kStart + 2 * kHourMs);
  EXPECT_EQ(report.rolled_until_ms, kStart + 2 * kHourMs);
  EXPECT_EQ(report.minute_rows, 120);
  EXPECT_EQ(report.hour_rows, 2);

  const auto minutes = buckets(RollupResolution::kMinute);
  ASSERT_EQ(minutes.size(), 120u);
  for (std::size_t m = 0; m < minutes.size(); ++m) {
    const double first = static_cast<double>(m * 6);
    EXPECT_EQ(minutes[m].start_ms, kStart + static_cast<int64_t>(m) * kMinuteMs);
    EXPECT_EQ(minutes[m].count, 6);
    EXPECT_DOUBLE_EQ(minutes[m].min, first);
    EXPECT_DOUBLE_EQ(minutes[m].max, first + 5);
    EXPECT_NEAR(minutes[m].mean, first + 2.5, 1e-9);
  }
  const auto hours = buckets(RollupResolution::kHour);
  ASSERT_EQ(hours.size(), 2u);
  EXPECT_EQ(hours[0].start_ms, kStart);
  EXPECT_EQ(hours[0].count, 360);
  EXPECT_DOUBLE_EQ(hours[0].min, 0.0);
  EXPECT_DOUBLE_EQ(hours[0].max, 359.0);
  EXPECT_NEAR(hours[0].mean, 179.5, 1e-9);
  EXPECT_EQ(hours[1].start_ms, kStart + kHourMs);
  EXPECT_NEAR(hours[1].mean, 539.5, 1e-9);

  // Range reads are half-open on the bucket start.
  auto second_hour_minutes = store_->rollups("web", "demand", RollupResolution::kMinute,
                                             kStart + kHourMs, kStart + kHourMs + 3 * kMinuteMs);
  ASSERT_TRUE(second_hour_minutes.ok());
  ASSERT_EQ(second_hour_minutes->size(), 3u);
  EXPECT_EQ(second_hour_minutes->front().start_ms, kStart + kHourMs);
  auto unknown = store_->rollups("nope", "demand", RollupResolution::kHour, 0, kStart * 2);
  ASSERT_TRUE(unknown.ok());
  EXPECT_TRUE(unknown->empty());
}

TEST_P(RollupTest, OpenBucketsWaitAndRerunsNeverDoubleCount) {
  ingestRange(kStart, 10'000, 9, 0.0);  // 0:00 .. 1:20
  // Closed before 1:30: minute 0 is complete, minute 1 is still open.
  RollupReport first = rollUp(kStart + 90'000);
  EXPECT_EQ(first.rolled_until_ms, kStart + kMinuteMs);
  auto minutes = buckets(RollupResolution::kMinute);
  ASSERT_EQ(minutes.size(), 1u);
  EXPECT_EQ(minutes[0].count, 6);
  EXPECT_TRUE(buckets(RollupResolution::kHour).empty());

  // The rest of minute 1 arrives before it closes: it joins the bucket.
  ingestRange(kStart + 90'000, 10'000, 3, 100.0);
  for (int run = 0; run < 3; ++run) {
    RollupReport again = rollUp(kStart + 2 * kMinuteMs);
    EXPECT_EQ(again.rolled_until_ms, kStart + 2 * kMinuteMs);
  }
  minutes = buckets(RollupResolution::kMinute);
  ASSERT_EQ(minutes.size(), 2u);
  EXPECT_EQ(minutes[0].count, 6);
  EXPECT_EQ(minutes[1].count, 6);
  EXPECT_DOUBLE_EQ(minutes[1].max, 102.0);
  // A pass with nothing new writes nothing.
  const RollupReport idle = rollUp(kStart + 2 * kMinuteMs + 30'000);
  EXPECT_EQ(idle.minute_rows, 0);
  EXPECT_EQ(idle.hour_rows, 0);
  EXPECT_EQ(store_->rolledUntil(RollupResolution::kMinute), kStart + 2 * kMinuteMs);
  EXPECT_EQ(store_->rolledUntil(RollupResolution::kHour), kStart);
}

TEST_P(RollupTest, ProgressSurvivesRestartAndTheHourCloses) {
  ingestRange(kStart, 60'000, 30, 1.0);  // one sample a minute, 1..30
  rollUp(kStart + 30 * kMinuteMs);
  reopen();
  EXPECT_EQ(store_->rolledUntil(RollupResolution::kMinute), kStart + 30 * kMinuteMs);
  ingestRange(kStart + 30 * kMinuteMs, 60'000, 30, 31.0);  // 31..60
  const RollupReport report = rollUp(kStart + kHourMs);
  EXPECT_EQ(report.minute_rows, 30);  // only the new minutes
  EXPECT_EQ(report.hour_rows, 1);
  const auto hours = buckets(RollupResolution::kHour);
  ASSERT_EQ(hours.size(), 1u);
  EXPECT_EQ(hours[0].count, 60);
  EXPECT_NEAR(hours[0].mean, 30.5, 1e-9);
  EXPECT_DOUBLE_EQ(hours[0].min, 1.0);
  EXPECT_DOUBLE_EQ(hours[0].max, 60.0);
  EXPECT_EQ(buckets(RollupResolution::kMinute).size(), 60u);
}

TEST_P(RollupTest, GapsHaveNoRowsAndLateSamplesAreRecomputed) {
  // Minutes 0-9 and 20-29 of the first hour, and minute 0 of the second.
  ingestRange(kStart, 60'000, 10, 10.0);
  ingestRange(kStart + 20 * kMinuteMs, 60'000, 10, 20.0);
  ingestRange(kStart + kHourMs, 60'000, 1, 99.0);
  rollUp(kStart + kHourMs + kMinuteMs);
  auto minutes = buckets(RollupResolution::kMinute);
  ASSERT_EQ(minutes.size(), 21u);
  EXPECT_EQ(minutes[10].start_ms, kStart + 20 * kMinuteMs);  // no rows for the gap
  auto hours = buckets(RollupResolution::kHour);
  ASSERT_EQ(hours.size(), 1u);
  EXPECT_EQ(hours[0].count, 20);

  // A drained spool delivers minute 12 after the hour was rolled up.
  ingestRange(kStart + 12 * kMinuteMs + 5'000, 10'000, 2, 500.0);
  const RollupReport late = rollUp(kStart + kHourMs + kMinuteMs);
  EXPECT_EQ(late.late_series, 1);
  minutes = buckets(RollupResolution::kMinute);
  ASSERT_EQ(minutes.size(), 22u);
  EXPECT_EQ(minutes[10].start_ms, kStart + 12 * kMinuteMs);
  EXPECT_EQ(minutes[10].count, 2);
  hours = buckets(RollupResolution::kHour);
  ASSERT_EQ(hours.size(), 1u);
  EXPECT_EQ(hours[0].count, 22);
  EXPECT_DOUBLE_EQ(hours[0].max, 501.0);
  // Handled once: the next pass has nothing late.
  EXPECT_EQ(rollUp(kStart + kHourMs + kMinuteMs).late_series, 0);
  reopen();
  EXPECT_EQ(rollUp(kStart + kHourMs + kMinuteMs).late_series, 0);
  EXPECT_EQ(buckets(RollupResolution::kHour)[0].count, 22);
}

TEST_P(SqliteRollupTest, SchemaTwoDatabaseGainsRollupsOfItsSamples) {
  store_.reset();
  fs::remove(path_);
  {
    // What a database written before rollups existed looks like: one row
    // per sample, 90 minutes of them.
    auto db = common::Database::open(path_);
    ASSERT_TRUE(db.ok());
    auto migrations = sqliteMigrations();
    migrations.resize(2);
    ASSERT_TRUE((*db)->migrate(migrations).ok());
    ASSERT_TRUE((*db)
                    ->exec("INSERT INTO series (id, system, metric) VALUES (1, 'web', 'demand');"
                           "WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n "
                           "WHERE i < 89) INSERT INTO samples SELECT 1, " +
                           std::to_string(kStart) + " + i * 60000, i FROM n;")
                    .ok());
  }
  reopen();
  EXPECT_EQ(store_->schemaVersion(), Store::latestSchemaVersion());
  EXPECT_EQ(store_->rolledUntil(RollupResolution::kMinute), 0);
  // The first pass starts at the first stored sample.
  rollUp(kStart + 2 * kHourMs);
  EXPECT_EQ(buckets(RollupResolution::kMinute).size(), 90u);
  const auto hours = buckets(RollupResolution::kHour);
  ASSERT_EQ(hours.size(), 2u);
  EXPECT_EQ(hours[0].count, 60);
  EXPECT_EQ(hours[1].count, 30);
}

TEST_P(RollupTest, RetentionPrunesSamplesAndRollupsSeparately) {
  // Three hours, one sample a minute.
  ingestRange(kStart, 60'000, 180, 0.0);
  rollUp(kStart + 3 * kHourMs);
  ASSERT_EQ(buckets(RollupResolution::kMinute).size(), 180u);

  // Raw samples go after `retention`; the rollups stay.
  auto removed = store_->pruneSamples(kStart + 2 * kHourMs);
  ASSERT_TRUE(removed.ok());
  EXPECT_EQ(*removed, 120);
  EXPECT_EQ(webDemand().size(), 60u);
  EXPECT_EQ(buckets(RollupResolution::kMinute).size(), 180u);
  EXPECT_EQ(buckets(RollupResolution::kHour).size(), 3u);

  // Minute rollups have their own retention; hours outlive them.
  auto minutes_removed = store_->pruneRollups(RollupResolution::kMinute, kStart + kHourMs);
  ASSERT_TRUE(minutes_removed.ok());
  EXPECT_EQ(*minutes_removed, 60);
  EXPECT_EQ(buckets(RollupResolution::kMinute).size(), 120u);
  EXPECT_EQ(buckets(RollupResolution::kHour).size(), 3u);

  // A late sample older than the raw retention does not rebuild buckets from
  // samples that are gone: the hour of the first hour keeps its full count.
  ingestRange(kStart + 5 * kMinuteMs + 1'000, 1'000, 1, 1000.0);
  const RollupReport late = rollUp(kStart + 3 * kHourMs);
  EXPECT_EQ(late.late_series, 1);
  auto hours = buckets(RollupResolution::kHour);
  ASSERT_EQ(hours.size(), 3u);
  EXPECT_EQ(hours[0].count, 60);
  EXPECT_DOUBLE_EQ(hours[0].max, 59.0);
  EXPECT_EQ(hours[1].count, 60);

  auto hours_removed = store_->pruneRollups(RollupResolution::kHour, kStart + kHourMs);
  ASSERT_TRUE(hours_removed.ok());
  EXPECT_EQ(*hours_removed, 1);
  EXPECT_EQ(buckets(RollupResolution::kHour).size(), 2u);
}

// ---------------------------------------------------------------------------
// Imported history (psoctl import).

TEST_P(RollupTest, ImportWritesSamplesReplacesAndSkipsNonFinite) {
  std::vector<Sample> history;
  for (int i = 0; i < 25000; ++i) history.push_back({kStart + i * 1'000LL, double(i)});
  history[7].value = kNaN;
  history[8].value = std::numeric_limits<double>::infinity();
  auto report = store_->importSamples("web", "demand", history);
  ASSERT_TRUE(report.ok()) << report.error().message;
  EXPECT_EQ(report->samples, 24998u);
  EXPECT_EQ(report->non_finite, 2u);
  EXPECT_EQ(report->first_ts_ms, kStart);
  EXPECT_EQ(report->last_ts_ms, kStart + 24999'000LL);

  auto stored = store_->samples("web", "demand", 0, std::numeric_limits<int64_t>::max());
  ASSERT_TRUE(stored.ok());
  ASSERT_EQ(stored->size(), 24998u);
  EXPECT_EQ((*stored)[7].ts_ms, kStart + 9'000);
  EXPECT_DOUBLE_EQ((*stored)[7].value, 9.0);

  // A second import of the same times replaces the values, never adds rows;
  // an agent's own sample at that time is replaced as well.
  ingestRange(kStart + 30'000'000, 1'000, 1, 5.0);
  auto again = store_->importSamples("web", "demand",
                                     {{kStart, -1.0}, {kStart + 30'000'000, 42.0}, {kStart, -2.0}});
  ASSERT_TRUE(again.ok()) << again.error().message;
  EXPECT_EQ(again->samples, 3u);
  auto first = store_->samples("web", "demand", kStart, kStart + 1);
  ASSERT_TRUE(first.ok());
  ASSERT_EQ(first->size(), 1u);
  EXPECT_DOUBLE_EQ(first->front().value, -2.0);
  auto latest = store_->latestSample("web", "demand");
  ASSERT_TRUE(latest.ok());
  ASSERT_TRUE(latest->has_value());
  EXPECT_DOUBLE_EQ((*latest)->value, 42.0);
}

TEST_P(RollupTest, ImportRefusesNamesOutsideTheRulesAndWritesNothing) {
  for (const auto& [system, metric] : {std::pair<std::string, std::string>{"", "demand"},
                                       {"@host:edge-01", "demand"},
                                       {"web site", "demand"},
                                       {"web", ""},
                                       {"web", "de\nmand"}}) {
    auto report = store_->importSamples(system, metric, {{kStart, 1.0}});
    ASSERT_FALSE(report.ok()) << system << "/" << metric;
    EXPECT_EQ(report.error().code, "invalid");
  }
  auto metrics = store_->metrics("web");
  ASSERT_TRUE(metrics.ok());
  EXPECT_TRUE(metrics->empty());
}

TEST_P(RollupTest, ImportBeforeTheRolledMarkIsRecomputedByTheNextPass) {
  // The controller has rolled up two hours past the history to come.
  ingestRange(kStart + 10 * kHourMs, 10'000, 6, 0.0);
  rollUp(kStart + 12 * kHourMs);
  ASSERT_TRUE(buckets(RollupResolution::kHour).size() == 1u);

  // Two hours of history, one sample a minute, value = minute index.
  std::vector<Sample> history;
  for (int i = 0; i < 120; ++i) history.push_back({kStart + i * kMinuteMs, double(i)});
  ASSERT_TRUE(store_->importSamples("web", "demand", history).ok());
  const RollupReport report = rollUp(kStart + 12 * kHourMs);
  EXPECT_EQ(report.late_series, 1);
  auto hours = buckets(RollupResolution::kHour);
  ASSERT_EQ(hours.size(), 3u);
  EXPECT_EQ(hours[0].start_ms, kStart);
  EXPECT_EQ(hours[0].count, 60);
  EXPECT_NEAR(hours[0].mean, 29.5, 1e-9);
  EXPECT_NEAR(hours[1].mean, 89.5, 1e-9);
  EXPECT_EQ(buckets(RollupResolution::kMinute).size(), 121u);
}

TEST_P(RollupTest, ImportOlderThanRetentionIsRolledUpAtOnce) {
  // Retention has run: raw samples before kStart + 20 h and minute rows
  // before kStart + 10 h are gone, so the rollup pass recomputes nothing there.
  ingestRange(kStart + 30 * kHourMs, 10'000, 6, 0.0);
  rollUp(kStart + 31 * kHourMs);
  ASSERT_TRUE(store_->pruneSamples(kStart + 20 * kHourMs).ok());
  ASSERT_TRUE(store_->pruneRollups(RollupResolution::kMinute, kStart + 10 * kHourMs).ok());

  // A day of history, one sample a minute, value = hour index.
  std::vector<Sample> history;
  for (int i = 0; i < 24 * 60; ++i) history.push_back({kStart + i * kMinuteMs, double(i / 60)});
  ASSERT_TRUE(store_->importSamples("web", "demand", history).ok());
  rollUp(kStart + 31 * kHourMs);
  auto hours = buckets(RollupResolution::kHour);
  ASSERT_EQ(hours.size(), 25u);
  for (int h = 0; h < 24; ++h) {
    EXPECT_EQ(hours[h].start_ms, kStart + h * kHourMs) << h;
    EXPECT_EQ(hours[h].count, 60) << h;
    EXPECT_DOUBLE_EQ(hours[h].mean, double(h)) << h;
  }
  EXPECT_EQ(buckets(RollupResolution::kMinute).size(), 24u * 60 + 1);
}

PSO_STORE_TEST_ON_EVERY_BACKEND(TelemetryStoreTest);
PSO_STORE_TEST_ON_EVERY_BACKEND(RollupTest);
PSO_STORE_TEST_ON_SQLITE(SqliteRollupTest);

}  // namespace
}  // namespace pso::controller::store
