#include "controller/store/store.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <limits>
#include <string>
#include <thread>

#include "common/sqlite.h"

namespace pso::controller::store {
namespace {

namespace fs = std::filesystem;

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

class StoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    static std::atomic<int> counter{0};
    dir_ = fs::temp_directory_path() /
           ("pso-store-test-" + std::to_string(::getpid()) + "-" + std::to_string(counter++));
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    path_ = (dir_ / "controller.db").string();
    reopen();
  }
  void TearDown() override {
    store_.reset();
    fs::remove_all(dir_);
  }

  void reopen() {
    store_.reset();
    auto opened = Store::open(path_);
    ASSERT_TRUE(opened.ok()) << opened.error().message;
    store_ = std::move(*opened);
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

  // One "demand" series of web with the given timestamps and values.
  static protocol::TelemetryBatch batch(const std::string& agent, uint64_t seq,
                                        std::vector<int64_t> ts, std::vector<double> values,
                                        uint64_t oldest = 0) {
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

  fs::path dir_;
  std::string path_;
  std::unique_ptr<Store> store_;
};

TEST_F(StoreTest, MigrationsCreateEveryTableAndReopenIsIdempotent) {
  EXPECT_GE(Store::latestSchemaVersion(), 1);
  EXPECT_EQ(store_->schemaVersion(), Store::latestSchemaVersion());
  {
    auto db = common::Database::open(path_, true);
    ASSERT_TRUE(db.ok()) << db.error().message;
    auto stmt = (*db)->prepare("SELECT name FROM sqlite_schema WHERE type = 'table'");
    ASSERT_TRUE(stmt.ok());
    std::vector<std::string> tables;
    while (true) {
      auto row = stmt->step();
      ASSERT_TRUE(row.ok());
      if (!*row) break;
      tables.push_back(stmt->columnText(0));
    }
    for (const char* name : {"agents", "systems", "series", "samples", "health", "cycles",
                             "directives", "scenarios", "engine_state", "meta"}) {
      EXPECT_NE(std::find(tables.begin(), tables.end(), name), tables.end()) << name;
    }
  }
  ASSERT_TRUE(store_->upsertAgent(hello("edge-01"), 1000).ok());
  reopen();
  reopen();
  EXPECT_EQ(store_->schemaVersion(), Store::latestSchemaVersion());
  auto agents = store_->agents();
  ASSERT_TRUE(agents.ok());
  ASSERT_EQ(agents->size(), 1u);
  auto integrity = store_->integrityCheck();
  ASSERT_TRUE(integrity.ok());
  EXPECT_TRUE(*integrity);
}

TEST_F(StoreTest, RefusesDatabaseFromNewerSchema) {
  store_.reset();
  {
    auto db = common::Database::open(path_);
    ASSERT_TRUE(db.ok());
    ASSERT_TRUE(
        (*db)
            ->exec("PRAGMA user_version = " + std::to_string(Store::latestSchemaVersion() + 1))
            .ok());
  }
  auto opened = Store::open(path_);
  ASSERT_FALSE(opened.ok());
  EXPECT_EQ(opened.error().code, "schema");
}

TEST_F(StoreTest, MissingDirectoryOrForeignFileIsAClearError) {
  auto missing = Store::open((dir_ / "no-such-dir" / "controller.db").string());
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().code, "io");
  EXPECT_NE(missing.error().message.find("no-such-dir"), std::string::npos);

  const auto garbage = dir_ / "garbage.db";
  std::ofstream(garbage) << "this is not an SQLite database, just text that is long enough";
  auto foreign = Store::open(garbage.string());
  ASSERT_FALSE(foreign.ok());
  EXPECT_NE(foreign.error().message.find("garbage.db"), std::string::npos);
}

TEST_F(StoreTest, ConcurrentIngestAndReadsStayConsistent) {
  constexpr uint64_t kBatches = 200;
  std::thread writer([&] {
    for (uint64_t seq = 1; seq <= kBatches; ++seq) {
      const auto ts = static_cast<int64_t>(seq) * 1000;
      auto r = store_->ingestTelemetry(batch("edge-01", seq, {ts}, {static_cast<double>(seq)}));
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

TEST_F(StoreTest, UpsertAgentStoresAgentAndSystems) {
  ASSERT_TRUE(store_->upsertAgent(hello("edge-01", 3), 1000).ok());
  auto agent = store_->agent("edge-01");
  ASSERT_TRUE(agent.ok());
  ASSERT_TRUE(agent->has_value());
  EXPECT_EQ((*agent)->version, "1.2.3");
  EXPECT_TRUE((*agent)->connected);
  EXPECT_EQ((*agent)->first_seen_ms, 1000);
  EXPECT_NE((*agent)->host_facts_json.find("\"hostname\":\"edge-01\""), std::string::npos);

  auto systems = store_->systems();
  ASSERT_TRUE(systems.ok());
  ASSERT_EQ(systems->size(), 1u);
  const auto& web = systems->front();
  EXPECT_EQ(web.name, "web");
  EXPECT_EQ(web.agent_id, "edge-01");
  EXPECT_EQ(web.replicas, 3);
  EXPECT_EQ(web.info.actuator, "process-pool");
  EXPECT_EQ(web.info.max_replicas, 20);
  EXPECT_DOUBLE_EQ(web.info.capacity_per_replica, 120);
  EXPECT_EQ(web.info.warmup_ms, 30000);
  EXPECT_EQ(web.info.depends_on, (std::vector<std::string>{"api", "db"}));

  // A second hello keeps first_seen and the stored seq, updates the rest.
  ASSERT_TRUE(store_->ingestTelemetry(batch("edge-01", 1, {1000}, {5})).ok());
  ASSERT_TRUE(store_->setAgentConnected("edge-01", false, 2000).ok());
  ASSERT_TRUE(store_->upsertAgent(hello("edge-01", 4), 3000).ok());
  agent = store_->agent("edge-01");
  ASSERT_TRUE(agent.ok() && agent->has_value());
  EXPECT_EQ((*agent)->first_seen_ms, 1000);
  EXPECT_EQ((*agent)->last_seen_ms, 3000);
  EXPECT_EQ((*agent)->last_seq, 1u);
  EXPECT_TRUE((*agent)->connected);
  auto one = store_->system("web");
  ASSERT_TRUE(one.ok() && one->has_value());
  EXPECT_EQ((*one)->replicas, 4);

  auto missing = store_->setAgentConnected("nobody", true, 1);
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().code, "not_found");
}

TEST_F(StoreTest, IngestFollowsTheSequenceRule) {
  ASSERT_TRUE(store_->upsertAgent(hello("edge-01"), 1000).ok());

  auto first = store_->ingestTelemetry(batch("edge-01", 1, {1000, 2000}, {10, 20}));
  ASSERT_TRUE(first.ok()) << first.error().message;
  EXPECT_EQ(first->kind, IngestOutcome::Kind::kStored);
  EXPECT_EQ(first->last_seq, 1u);
  EXPECT_EQ(first->samples, 2u);

  // A replay of seq 1 with other values is a duplicate and changes nothing.
  auto duplicate = store_->ingestTelemetry(batch("edge-01", 1, {1000, 2000}, {99, 99}));
  ASSERT_TRUE(duplicate.ok());
  EXPECT_EQ(duplicate->kind, IngestOutcome::Kind::kDuplicate);
  EXPECT_EQ(duplicate->last_seq, 1u);
  EXPECT_EQ(duplicate->samples, 0u);

  auto ahead = store_->ingestTelemetry(batch("edge-01", 3, {4000}, {40}));
  ASSERT_TRUE(ahead.ok());
  EXPECT_EQ(ahead->kind, IngestOutcome::Kind::kOutOfOrder);
  EXPECT_EQ(ahead->last_seq, 1u);

  auto second = store_->ingestTelemetry(batch("edge-01", 2, {3000}, {30}));
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

TEST_F(StoreTest, OldestSeqLetsTheAgentSkipADroppedGap) {
  ASSERT_TRUE(store_->upsertAgent(hello("edge-01"), 1000).ok());
  ASSERT_TRUE(store_->ingestTelemetry(batch("edge-01", 1, {1000}, {1})).ok());
  // The agent's spool dropped 2..9: its oldest batch is now 10.
  auto skipped = store_->ingestTelemetry(batch("edge-01", 10, {10000}, {10}, 10));
  ASSERT_TRUE(skipped.ok());
  EXPECT_EQ(skipped->kind, IngestOutcome::Kind::kStored);
  EXPECT_EQ(skipped->last_seq, 10u);
  auto gap = store_->ingestTelemetry(batch("edge-01", 12, {12000}, {12}, 10));
  ASSERT_TRUE(gap.ok());
  EXPECT_EQ(gap->kind, IngestOutcome::Kind::kOutOfOrder);
  EXPECT_EQ(gap->last_seq, 10u);
  auto next = store_->ingestTelemetry(batch("edge-01", 11, {11000}, {11}, 10));
  ASSERT_TRUE(next.ok());
  EXPECT_EQ(next->kind, IngestOutcome::Kind::kStored);
  EXPECT_EQ(webDemand().size(), 3u);
}

TEST_F(StoreTest, BatchedIngestReportsEachBatchInOneTransaction) {
  std::vector<protocol::TelemetryBatch> batches = {
      batch("edge-01", 1, {1000}, {1}), batch("edge-01", 2, {2000}, {2}),
      batch("edge-01", 2, {2000}, {7}), batch("edge-01", 4, {4000}, {4}),
      batch("edge-02", 1, {1000}, {100})};
  batches.back().series = {{"api", "demand"}};
  auto outcomes = store_->ingestTelemetry(batches);
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

TEST_F(StoreTest, MalformedBatchIsRefusedAndNothingOfTheCallIsStored) {
  auto good = batch("edge-01", 1, {1000}, {1});
  auto bad = batch("edge-01", 2, {2000, 3000}, {2});  // one value for two timestamps
  auto result = store_->ingestTelemetry(std::vector<protocol::TelemetryBatch>{good, bad});
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().code, "invalid");
  EXPECT_NE(result.error().message.find("web/demand"), std::string::npos);
  EXPECT_TRUE(webDemand().empty());

  auto zero = store_->ingestTelemetry(batch("edge-01", 0, {1000}, {1}));
  ASSERT_FALSE(zero.ok());
  EXPECT_EQ(zero.error().code, "invalid");

  // The store still works afterwards, from seq 1.
  auto ok = store_->ingestTelemetry(good);
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ(ok->kind, IngestOutcome::Kind::kStored);
}

TEST_F(StoreTest, NaNValuesAreSkipped) {
  auto result =
      store_->ingestTelemetry(batch("edge-01", 1, {1000, 2000, 3000, 4000},
                                    {1, kNaN, 3, std::numeric_limits<double>::infinity()}));
  ASSERT_TRUE(result.ok());
  EXPECT_EQ(result->samples, 2u);
  auto samples = webDemand();
  ASSERT_EQ(samples.size(), 2u);
  EXPECT_EQ(samples[0].ts_ms, 1000);
  EXPECT_EQ(samples[1].ts_ms, 3000);
}

TEST_F(StoreTest, SampleQueriesAreOrderedAndBounded) {
  protocol::TelemetryBatch b;
  b.agent_id = "edge-01";
  b.seq = 1;
  b.series = {{"web", "demand"}, {"web", "cpu.usage"}, {"", "load1"}};
  b.timestamps_ms = {5000, 1000, 3000, 2000, 4000};
  b.values = {{5, 1, 3, 2, 4}, {0.5, 0.1, 0.3, 0.2, 0.4}, {9, 9, 9, 9, 9}};
  ASSERT_TRUE(store_->ingestTelemetry(b).ok());

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
  auto host = store_->metrics("");
  ASSERT_TRUE(host.ok());
  EXPECT_EQ(*host, (std::vector<std::string>{"load1"}));
}

TEST_F(StoreTest, PruneRemovesOnlyOlderSamples) {
  ASSERT_TRUE(
      store_->ingestTelemetry(batch("edge-01", 1, {1000, 2000, 3000, 4000}, {1, 2, 3, 4})).ok());
  auto removed = store_->pruneSamples(3000);
  ASSERT_TRUE(removed.ok());
  EXPECT_EQ(*removed, 2);
  auto left = webDemand();
  ASSERT_EQ(left.size(), 2u);
  EXPECT_EQ(left[0].ts_ms, 3000);
}

TEST_F(StoreTest, ReplicasMetricUpdatesTheSystemUnlessOlder) {
  ASSERT_TRUE(store_->upsertAgent(hello("edge-01", 2), 10000).ok());
  protocol::TelemetryBatch b;
  b.agent_id = "edge-01";
  b.seq = 1;
  b.series = {{"web", "replicas"}};
  b.timestamps_ms = {11000, 12000};
  b.values = {{3, 4}};
  ASSERT_TRUE(store_->ingestTelemetry(b).ok());
  auto web = store_->system("web");
  ASSERT_TRUE(web.ok() && web->has_value());
  EXPECT_EQ((*web)->replicas, 4);
  EXPECT_EQ((*web)->updated_ms, 12000);

  // Spooled telemetry older than what the controller knows does not roll back.
  b.seq = 2;
  b.timestamps_ms = {5000};
  b.values = {{1}};
  ASSERT_TRUE(store_->ingestTelemetry(b).ok());
  web = store_->system("web");
  ASSERT_TRUE(web.ok() && web->has_value());
  EXPECT_EQ((*web)->replicas, 4);
}

TEST_F(StoreTest, ReopenAfterCloseKeepsEverything) {
  ASSERT_TRUE(store_->upsertAgent(hello("edge-01"), 1000).ok());
  ASSERT_TRUE(store_->ingestTelemetry(batch("edge-01", 1, {1000, 2000}, {10, 20})).ok());
  ASSERT_TRUE(store_->insertDirective(directive("d-1", "engine", 5, 1500)).ok());
  ASSERT_TRUE(store_
                  ->insertScenario(
                      scenarioRecord("s-c-1", 1500, "foundation", {"scaling_executed"}, {"web"}))
                  .ok());
  ASSERT_TRUE(store_->saveEngineState(std::string("state\0with nul", 14)).ok());
  auto seq = store_->nextCycleSeq();
  ASSERT_TRUE(seq.ok());
  EXPECT_EQ(*seq, 1);

  reopen();

  auto agent = store_->agent("edge-01");
  ASSERT_TRUE(agent.ok() && agent->has_value());
  EXPECT_EQ((*agent)->last_seq, 1u);
  EXPECT_EQ(webDemand().size(), 2u);
  auto d = store_->directive("d-1");
  ASSERT_TRUE(d.ok() && d->has_value());
  EXPECT_EQ((*d)->replicas, 5);
  auto s = store_->scenario("s-c-1");
  ASSERT_TRUE(s.ok() && s->has_value());
  EXPECT_EQ((*s)->events, (std::vector<std::string>{"scaling_executed"}));
  auto state = store_->loadEngineState();
  ASSERT_TRUE(state.ok());
  EXPECT_EQ(*state, std::string("state\0with nul", 14));
  seq = store_->nextCycleSeq();
  ASSERT_TRUE(seq.ok());
  EXPECT_EQ(*seq, 2);

  // The next batch continues the sequence on the same series after a restart.
  auto next = store_->ingestTelemetry(batch("edge-01", 2, {3000}, {30}));
  ASSERT_TRUE(next.ok());
  EXPECT_EQ(next->kind, IngestOutcome::Kind::kStored);
  EXPECT_EQ(webDemand().size(), 3u);
}

TEST_F(StoreTest, EngineStateIsEmptyUntilSaved) {
  auto state = store_->loadEngineState();
  ASSERT_TRUE(state.ok());
  EXPECT_TRUE(state->empty());
  ASSERT_TRUE(store_->saveEngineState("a").ok());
  ASSERT_TRUE(store_->saveEngineState("b").ok());
  state = store_->loadEngineState();
  ASSERT_TRUE(state.ok());
  EXPECT_EQ(*state, "b");
}

TEST_F(StoreTest, HealthKeepsTheLatestResultPerCheck) {
  protocol::Health h;
  h.agent_id = "edge-01";
  h.checks = {{"web", "http:/healthz", "ok", 3.5, "", 1000},
              {"web", "tcp:5432", "failing", 0, "connection refused", 1000},
              {"api", "http:/ready", "ok", 1, "", 1000}};
  ASSERT_TRUE(store_->recordHealth(h).ok());
  h.checks = {{"web", "http:/healthz", "failing", 2000, "timeout", 2000}};
  ASSERT_TRUE(store_->recordHealth(h).ok());

  auto web = store_->health("web");
  ASSERT_TRUE(web.ok());
  ASSERT_EQ(web->size(), 2u);
  EXPECT_EQ((*web)[0].check, "http:/healthz");
  EXPECT_EQ((*web)[0].status, "failing");
  EXPECT_EQ((*web)[0].error, "timeout");
  EXPECT_EQ((*web)[0].ts_ms, 2000);
  EXPECT_EQ((*web)[1].error, "connection refused");
  auto all = store_->allHealth();
  ASSERT_TRUE(all.ok());
  ASSERT_EQ(all->size(), 3u);
  EXPECT_EQ((*all)[0].system, "api");
}

TEST_F(StoreTest, CyclesAreNumberedAndListedNewestFirst) {
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

TEST_F(StoreTest, DirectiveLifecycle) {
  ASSERT_TRUE(store_->upsertAgent(hello("edge-01", 2), 1000).ok());
  ASSERT_TRUE(store_->insertDirective(directive("d-1", "engine", 5, 2000)).ok());
  ASSERT_TRUE(store_->insertDirective(directive("d-2", "engine", 6, 3000)).ok());

  auto again = store_->insertDirective(directive("d-1", "engine", 5, 2000));
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.error().code, "exists");

  auto pending = store_->pendingDirectives();
  ASSERT_TRUE(pending.ok());
  ASSERT_EQ(pending->size(), 2u);
  EXPECT_EQ((*pending)[0].id, "d-1");

  ASSERT_TRUE(store_->markDirectiveSent("d-1", 2100).ok());
  auto d1 = store_->directive("d-1");
  ASSERT_TRUE(d1.ok() && d1->has_value());
  EXPECT_EQ((*d1)->status, "sent");
  EXPECT_EQ((*d1)->sent_ms, 2100);
  pending = store_->pendingDirectives();
  ASSERT_TRUE(pending.ok());
  ASSERT_EQ(pending->size(), 1u);
  EXPECT_EQ((*pending)[0].id, "d-2");

  protocol::DirectiveResult result;
  result.agent_id = "edge-01";
  result.directive_id = "d-1";
  result.system = "web";
  result.status = "applied";
  result.replicas = 5;
  result.message = "scaled to 5";
  result.ts_ms = 2500;

  protocol::DirectiveResult forged = result;
  forged.agent_id = "edge-99";
  auto refused = store_->recordDirectiveResult(forged);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code, "forbidden");

  ASSERT_TRUE(store_->recordDirectiveResult(result).ok());
  d1 = store_->directive("d-1");
  ASSERT_TRUE(d1.ok() && d1->has_value());
  EXPECT_EQ((*d1)->status, "applied");
  EXPECT_EQ((*d1)->result_replicas, 5);
  EXPECT_EQ((*d1)->result_message, "scaled to 5");
  EXPECT_EQ((*d1)->result_ms, 2500);
  auto web = store_->system("web");
  ASSERT_TRUE(web.ok() && web->has_value());
  EXPECT_EQ((*web)->replicas, 5);

  // A late "sent" mark does not undo the result.
  ASSERT_TRUE(store_->markDirectiveSent("d-1", 2600).ok());
  d1 = store_->directive("d-1");
  ASSERT_TRUE(d1.ok() && d1->has_value());
  EXPECT_EQ((*d1)->status, "applied");

  result.directive_id = "d-404";
  auto unknown = store_->recordDirectiveResult(result);
  ASSERT_FALSE(unknown.ok());
  EXPECT_EQ(unknown.error().code, "not_found");

  ASSERT_TRUE(store_->setDirectiveStatus("d-2", "expired", "deadline passed", 9000).ok());
  auto d2 = store_->directive("d-2");
  ASSERT_TRUE(d2.ok() && d2->has_value());
  EXPECT_EQ((*d2)->status, "expired");
  EXPECT_EQ((*d2)->result_message, "deadline passed");
  EXPECT_EQ((*d2)->result_ms, 9000);

  auto bad_status = store_->setDirectiveStatus("d-2", "exploded", "", 9000);
  ASSERT_FALSE(bad_status.ok());
  EXPECT_EQ(bad_status.error().code, "invalid");
  auto missing = store_->markDirectiveSent("d-404", 1);
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().code, "not_found");

  auto listed = store_->directives(10, "web");
  ASSERT_TRUE(listed.ok());
  ASSERT_EQ(listed->size(), 2u);
  EXPECT_EQ((*listed)[0].id, "d-2");
  auto limited = store_->directives(1);
  ASSERT_TRUE(limited.ok());
  ASSERT_EQ(limited->size(), 1u);
  auto other = store_->directives(10, "api");
  ASSERT_TRUE(other.ok());
  EXPECT_TRUE(other->empty());
}

TEST_F(StoreTest, OperatorHoldsAreActiveUntilTheyExpire) {
  ASSERT_TRUE(store_->insertDirective(directive("op-1", "operator", 5, 1000, 10000)).ok());
  ASSERT_TRUE(store_->insertDirective(directive("eng-1", "engine", 9, 3000, 50000)).ok());

  auto hold = store_->activeHold("web", 5000);
  ASSERT_TRUE(hold.ok() && hold->has_value());
  EXPECT_EQ((*hold)->id, "op-1");
  EXPECT_EQ((*hold)->replicas, 5);

  auto expired = store_->activeHold("web", 10000);
  ASSERT_TRUE(expired.ok());
  EXPECT_FALSE(expired->has_value());

  // The latest operator directive wins; a refused one holds nothing.
  ASSERT_TRUE(store_->insertDirective(directive("op-2", "operator", 7, 2000, 20000)).ok());
  hold = store_->activeHold("web", 5000);
  ASSERT_TRUE(hold.ok() && hold->has_value());
  EXPECT_EQ((*hold)->id, "op-2");
  ASSERT_TRUE(store_->setDirectiveStatus("op-2", "refused", "above max_replicas", 2100).ok());
  hold = store_->activeHold("web", 5000);
  ASSERT_TRUE(hold.ok() && hold->has_value());
  EXPECT_EQ((*hold)->id, "op-1");

  auto other = store_->activeHold("api", 5000);
  ASSERT_TRUE(other.ok());
  EXPECT_FALSE(other->has_value());
}

TEST_F(StoreTest, ScenariosFilterByEventLevelSystemTimeAndLimit) {
  ASSERT_TRUE(
      store_
          ->insertScenario(scenarioRecord("s-1", 1000, "foundation", {"scaling_executed"}, {"web"}))
          .ok());
  ASSERT_TRUE(store_
                  ->insertScenario(scenarioRecord("s-2", 2000, "advanced_optimization",
                                                  {"scaling_executed", "workflow_enhanced"},
                                                  {"web", "api"}))
                  .ok());
  ASSERT_TRUE(store_->insertScenario(scenarioRecord("s-3", 3000, "foundation", {}, {"api"})).ok());
  ASSERT_TRUE(store_
                  ->insertScenario(scenarioRecord("s-4", 4000, "enterprise_coordination",
                                                  {"coordination_optimized"}, {"web", "api", "db"}))
                  .ok());

  auto ids = [&](const ScenarioFilter& filter) {
    std::vector<std::string> out;
    auto rows = store_->scenarios(filter);
    EXPECT_TRUE(rows.ok());
    if (rows.ok()) {
      for (const auto& r : *rows) out.push_back(r.id);
    }
    return out;
  };
  using V = std::vector<std::string>;
  EXPECT_EQ(ids({}), (V{"s-1", "s-2", "s-3", "s-4"}));

  ScenarioFilter f;
  f.event = "scaling_executed";
  EXPECT_EQ(ids(f), (V{"s-1", "s-2"}));
  f = {};
  f.event = "workflow";  // whole event names only
  EXPECT_TRUE(ids(f).empty());
  f = {};
  f.level = "foundation";
  EXPECT_EQ(ids(f), (V{"s-1", "s-3"}));
  f = {};
  f.system = "api";
  EXPECT_EQ(ids(f), (V{"s-2", "s-3", "s-4"}));
  f = {};
  f.since_ms = 2000;
  f.until_ms = 4000;
  EXPECT_EQ(ids(f), (V{"s-2", "s-3"}));
  f = {};
  f.limit = 2;
  f.newest_first = true;
  EXPECT_EQ(ids(f), (V{"s-4", "s-3"}));
  f = {};
  f.system = "web";
  f.event = "scaling_executed";
  f.level = "advanced_optimization";
  EXPECT_EQ(ids(f), (V{"s-2"}));

  auto awaiting = store_->scenariosAwaitingOutcome(3500, 10);
  ASSERT_TRUE(awaiting.ok());
  ASSERT_EQ(awaiting->size(), 3u);

  // Outcome backfill: the record is replaced, its indexes follow.
  auto filled = scenarioRecord("s-1", 1000, "foundation",
                               {"scaling_executed", "bottleneck_prevented"}, {"web"});
  filled.outcome_filled = true;
  filled.json = "{\"id\":\"s-1\",\"outcome\":{}}";
  ASSERT_TRUE(store_->updateScenario(filled).ok());
  f = {};
  f.event = "bottleneck_prevented";
  EXPECT_EQ(ids(f), (V{"s-1"}));
  auto stored = store_->scenario("s-1");
  ASSERT_TRUE(stored.ok() && stored->has_value());
  EXPECT_TRUE((*stored)->outcome_filled);
  EXPECT_EQ((*stored)->json, filled.json);
  EXPECT_EQ((*stored)->systems, (std::vector<std::string>{"web"}));
  awaiting = store_->scenariosAwaitingOutcome(3500, 10);
  ASSERT_TRUE(awaiting.ok());
  ASSERT_EQ(awaiting->size(), 2u);
  EXPECT_EQ((*awaiting)[0].id, "s-2");

  auto duplicate = store_->insertScenario(scenarioRecord("s-1", 1, "foundation", {}, {}));
  ASSERT_FALSE(duplicate.ok());
  EXPECT_EQ(duplicate.error().code, "exists");
  auto unknown = store_->updateScenario(scenarioRecord("s-404", 1, "foundation", {}, {}));
  ASSERT_FALSE(unknown.ok());
  EXPECT_EQ(unknown.error().code, "not_found");
  auto absent = store_->scenario("s-404");
  ASSERT_TRUE(absent.ok());
  EXPECT_FALSE(absent->has_value());
}

TEST_F(StoreTest, SchemaOneDatabaseGainsLearnersAndKeepsItsScenarios) {
  ASSERT_TRUE(
      store_->insertScenario(scenarioRecord("s-old", 1000, "foundation", {}, {"web"})).ok());
  store_.reset();
  {
    // What a database written before learners existed looks like.
    auto db = common::Database::open(path_);
    ASSERT_TRUE(db.ok());
    ASSERT_TRUE(
        (*db)
            ->exec("DROP TABLE attempts; DROP TABLE learners; DROP TABLE rollups_minute; "
                   "DROP TABLE rollups_hour; DROP TABLE rollup_late; PRAGMA user_version = 1")
            .ok());
  }
  reopen();
  EXPECT_EQ(store_->schemaVersion(), Store::latestSchemaVersion());
  auto old = store_->scenario("s-old");
  ASSERT_TRUE(old.ok());
  ASSERT_TRUE(old->has_value());
  AttemptRecord a;
  a.learner_id = "learner-1";
  a.scenario_id = "s-old";
  a.question_id = "s-old-q1";
  a.correct = true;
  a.score = 1.0;
  a.ts_ms = 5000;
  EXPECT_TRUE(store_->recordAttempts("learner-1", {a}, 5000).ok());
}

TEST_F(StoreTest, AttemptsAreStoredPerLearner) {
  auto attempt = [](const std::string& learner, const std::string& q, bool correct, int64_t ts) {
    AttemptRecord a;
    a.learner_id = learner;
    a.scenario_id = "s-1";
    a.question_id = q;
    a.level = "foundation";
    a.response = "\"b\"";
    a.correct = correct;
    a.score = correct ? 1.0 : 0.0;
    a.ts_ms = ts;
    return a;
  };
  auto first = store_->recordAttempts(
      "learner-1",
      {attempt("learner-1", "s-1-q1", false, 100), attempt("learner-1", "s-1-q2", true, 100)}, 100);
  ASSERT_TRUE(first.ok()) << first.error().message;
  ASSERT_EQ(first->size(), 2u);
  EXPECT_GT((*first)[1].id, (*first)[0].id);
  ASSERT_TRUE(
      store_->recordAttempts("learner-1", {attempt("learner-1", "s-1-q1", true, 200)}, 200).ok());
  ASSERT_TRUE(
      store_->recordAttempts("learner-2", {attempt("learner-2", "s-1-q1", true, 150)}, 150).ok());

  auto mine = store_->attempts("learner-1");
  ASSERT_TRUE(mine.ok());
  ASSERT_EQ(mine->size(), 3u);
  EXPECT_EQ((*mine)[0].question_id, "s-1-q1");
  EXPECT_FALSE((*mine)[0].correct);
  EXPECT_EQ((*mine)[0].response, "\"b\"");
  EXPECT_EQ((*mine)[2].ts_ms, 200);
  EXPECT_TRUE((*mine)[2].correct);
  auto learner = store_->learner("learner-1");
  ASSERT_TRUE(learner.ok());
  ASSERT_TRUE(learner->has_value());
  EXPECT_EQ((*learner)->first_seen_ms, 100);
  EXPECT_EQ((*learner)->last_seen_ms, 200);
  auto nobody = store_->learner("learner-9");
  ASSERT_TRUE(nobody.ok());
  EXPECT_FALSE(nobody->has_value());

  // Someone else's attempt, or no learner at all, stores nothing.
  auto mixed =
      store_->recordAttempts("learner-1", {attempt("learner-2", "s-1-q3", true, 300)}, 300);
  ASSERT_FALSE(mixed.ok());
  EXPECT_EQ(mixed.error().code, "invalid");
  EXPECT_FALSE(store_->recordAttempts("", {}, 300).ok());
  EXPECT_EQ(store_->attempts("learner-2")->size(), 1u);
}

TEST_F(StoreTest, InsertScenariosIsAllOrNothing) {
  ASSERT_TRUE(
      store_
          ->insertScenarios({scenarioRecord("s-1", 1, "foundation", {}, {"web"}),
                             scenarioRecord("s-2", 2, "foundation", {"scaling_executed"}, {"web"})})
          .ok());
  auto clash = store_->insertScenarios({scenarioRecord("s-3", 3, "foundation", {}, {"web"}),
                                        scenarioRecord("s-1", 4, "foundation", {}, {"web"})});
  ASSERT_FALSE(clash.ok());
  EXPECT_EQ(clash.error().code, "exists");
  auto all = store_->scenarios({});
  ASSERT_TRUE(all.ok());
  ASSERT_EQ(all->size(), 2u);
  ScenarioFilter scaled;
  scaled.event = "scaling_executed";
  EXPECT_EQ(store_->scenarios(scaled)->size(), 1u);
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
    ASSERT_TRUE(store_->ingestTelemetry(batch("edge-01", ++seq_, ts, values)).ok());
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

TEST_F(RollupTest, MinuteAndHourBucketsHoldMinMeanMaxCount) {
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

TEST_F(RollupTest, OpenBucketsWaitAndRerunsNeverDoubleCount) {
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

TEST_F(RollupTest, ProgressSurvivesRestartAndTheHourCloses) {
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

TEST_F(RollupTest, GapsHaveNoRowsAndLateSamplesAreRecomputed) {
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

TEST_F(RollupTest, SchemaTwoDatabaseGainsRollupsOfItsSamples) {
  ingestRange(kStart, 60'000, 90, 0.0);
  store_.reset();
  {
    // What a database written before rollups existed looks like.
    auto db = common::Database::open(path_);
    ASSERT_TRUE(db.ok());
    ASSERT_TRUE((*db)
                    ->exec("DROP TABLE rollups_minute; DROP TABLE rollups_hour; "
                           "DROP TABLE rollup_late; PRAGMA user_version = 2")
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

TEST_F(RollupTest, RetentionPrunesSamplesAndRollupsSeparately) {
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

}  // namespace
}  // namespace pso::controller::store
