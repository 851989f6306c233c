#pragma once

// The fixture every store test starts from (tests/controller/store/*_test.cpp).
// Tests reach the store through Store::open and the aggregate interfaces;
// only the ones about the SQLite file itself (schema history, what a row
// holds on disk) open the database directly.

#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <cstdint>
#include <filesystem>
#include <limits>
#include <memory>
#include <string>
#include <vector>

#include "controller/store/store.h"

namespace pso::controller::store {

namespace fs = std::filesystem;

inline constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

/// What migrations 8 (sample chunks) and 9 (cycle and scenario blocks)
/// added, removed: for the tests that turn a current database back into an
/// earlier version's, before they set its user_version.
inline constexpr const char* kUndoMigrationsEightAndNineSql =
    "DROP TABLE sample_chunks; DROP TABLE sample_log; "
    "ALTER TABLE series DROP COLUMN flushed_log_id; "
    "DROP INDEX cycles_by_block; DROP INDEX cycles_loose_by_ts; DROP TABLE cycle_blocks; "
    "ALTER TABLE cycles DROP COLUMN block_id; ALTER TABLE cycles DROP COLUMN block_pos; "
    "DROP INDEX scenarios_by_block; DROP INDEX scenarios_loose_by_ts; DROP TABLE scenario_blocks; "
    "ALTER TABLE scenarios DROP COLUMN block_id; ALTER TABLE scenarios DROP COLUMN block_pos; ";

/// A fresh store in its own temporary directory, reopened at will, with
/// builders for the records the tests write.
class StoreTest : public ::testing::Test {
 protected:
  /// The time the store is told it is, for the writes that stamp one.
  static constexpr int64_t kNowMs = 1'700'000'000'000LL;

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

  /// Reopens the store. Most tests write samples at small timestamps and
  /// tell the store it is kNowMs, so the time window is opened wide here;
  /// the tests of the window set their own limits (or restore the defaults).
  void reopen() {
    store_.reset();
    auto opened = Store::open(path_);
    ASSERT_TRUE(opened.ok()) << opened.error().message;
    store_ = std::move(*opened);
    store_->setIngestLimits(anyTimeLimits());
  }

  /// The default limits, except that samples of any time are taken.
  static IngestLimits anyTimeLimits() {
    IngestLimits limits;
    limits.max_age_ms = std::numeric_limits<int64_t>::max();
    limits.max_ahead_ms = std::numeric_limits<int64_t>::max();
    return limits;
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

  // One "demand" series of web with the given timestamps and values, from an
  // agent whose spool still holds everything from `oldest` on.
  static protocol::TelemetryBatch batch(const std::string& agent, uint64_t seq,
                                        std::vector<int64_t> ts, std::vector<double> values,
                                        uint64_t oldest = 1) {
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

  // edge-01's report that directive `id` on web was applied with `replicas`.
  static protocol::DirectiveResult appliedResult(const std::string& id, int64_t replicas,
                                                 int64_t ts_ms) {
    protocol::DirectiveResult r;
    r.agent_id = "edge-01";
    r.directive_id = id;
    r.system = "web";
    r.status = "applied";
    r.replicas = replicas;
    r.message = "scaled to " + std::to_string(replicas);
    r.ts_ms = ts_ms;
    return r;
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

}  // namespace pso::controller::store
