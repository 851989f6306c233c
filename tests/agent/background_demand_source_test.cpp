// Slow demand sources (commands, scrapes) read on a worker thread so they
// never hold up the agent's loop.

#include "agent/background_demand_source.h"

#include <gtest/gtest.h>

#include <atomic>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "agent/agent.h"
#include "agent/command_demand_source.h"
#include "agent_test_util.h"
#include "common/clock.h"
#include "http_test_server.h"

namespace pso::agent {
namespace {

using namespace std::chrono_literals;
using testing::HttpTestServer;
using testing::TempDir;
using testing::waitUntil;

DemandSourceConfig commandConfig(std::vector<std::string> argv) {
  DemandSourceConfig config;
  config.source = "command";
  config.command = std::move(argv);
  config.timeout = 30s;
  return config;
}

// A command that waits until `gate` exists, then prints its lines: slower
// than any sample interval for as long as the test wants, without timing.
std::vector<std::string> gatedCommand(const std::string& gate, const std::string& output) {
  return {"sh", "-c",
          "while [ ! -e '" + gate + "' ]; do sleep 0.02; done; printf '" + output + "'"};
}

std::unique_ptr<BackgroundDemandSource> background(const DemandSourceConfig& config,
                                                   int64_t interval_ms, int64_t timeout_ms) {
  auto source = makeDemandSource(config, DemandSourceContext{"web", nullptr, 0});
  EXPECT_TRUE(source.ok()) << source.error().message;
  if (!source.ok()) return nullptr;
  EXPECT_TRUE((*source)->mayBlock());
  return std::make_unique<BackgroundDemandSource>(std::move(source).value(), interval_ms,
                                                  timeout_ms);
}

TEST(BackgroundDemandSource, ACommandSlowerThanTheIntervalDoesNotHoldUpRead) {
  TempDir dir;
  const std::string gate = dir.file("gate");
  DemandSourceConfig config =
      commandConfig(gatedCommand(gate, "queue_depth 3\\ndemand 7\\n"));
  config.metric = "demand";
  auto source = background(config, 50, 30'000);
  ASSERT_TRUE(source);
  EXPECT_STREQ(source->kind(), "command");

  // The command cannot finish before the gate exists: a read() that waited
  // for it would never return, so these answers come from the worker's state.
  for (int i = 0; i < 3; ++i) {
    Result<double> value = source->read(common::wallMs());
    ASSERT_FALSE(value.ok());
    EXPECT_EQ(value.error().code, "pending");
    EXPECT_NE(value.error().message.find("no value yet"), std::string::npos)
        << value.error().message;
  }
  std::vector<SamplePoint> series;
  source->appendMetrics(series);
  EXPECT_TRUE(series.empty());
  EXPECT_EQ(source->completedReads(), 0u);

  testing::writeFile(gate, "");
  Result<double> value = makeError("pending", "");
  ASSERT_TRUE(waitUntil(
      [&] {
        value = source->read(common::wallMs());
        return value.ok();
      },
      20s))
      << value.error().message;
  EXPECT_DOUBLE_EQ(*value, 7.0);
  source->appendMetrics(series);
  ASSERT_EQ(series.size(), 1u);  // "demand" is the agent's own series
  EXPECT_EQ(series[0].key.metric, "queue_depth");
  EXPECT_DOUBLE_EQ(series[0].value, 3.0);
}

TEST(BackgroundDemandSource, AHangingReadMakesTheLastValueStaleThenRecovers) {
  TempDir dir;
  const std::string hang = dir.file("hang");
  const std::string value_file = dir.file("value");
  testing::writeFile(value_file, "5\n");
  // Prints the value file, after waiting for `hang` to go while it exists.
  DemandSourceConfig config = commandConfig(
      {"sh", "-c", "while [ -e '" + hang + "' ]; do sleep 0.02; done; cat '" + value_file + "'"});
  // The wrapper is told a 0 ms timeout, so an outcome older than two
  // intervals (100 ms) is stale while the command still runs.
  auto source = background(config, 50, 0);
  ASSERT_TRUE(source);
  EXPECT_EQ(source->staleAfterMs(), 100);
  Result<double> value = makeError("pending", "");
  ASSERT_TRUE(waitUntil(
      [&] {
        value = source->read(common::wallMs());
        return value.ok();
      },
      20s));
  EXPECT_DOUBLE_EQ(*value, 5.0);

  testing::writeFile(hang, "");
  ASSERT_TRUE(waitUntil(
      [&] {
        value = source->read(common::wallMs());
        return !value.ok() && value.error().code == "stale";
      },
      20s));
  EXPECT_NE(value.error().message.find("stale: last value is"), std::string::npos)
      << value.error().message;
  EXPECT_NE(value.error().message.find("the read in progress has run"), std::string::npos)
      << value.error().message;

  testing::writeFile(value_file, "6\n");
  std::filesystem::remove(hang);
  ASSERT_TRUE(waitUntil(
      [&] {
        value = source->read(common::wallMs());
        return value.ok() && *value == 6.0;
      },
      20s));
}

TEST(BackgroundDemandSource, ErrorsOfTheWrappedSourceAreReportedAsTheyWere) {
  auto source = background(commandConfig({"sh", "-c", "echo boom; exit 3"}), 50, 30'000);
  ASSERT_TRUE(source);
  Result<double> value = makeError("pending", "");
  ASSERT_TRUE(waitUntil(
      [&] {
        value = source->read(common::wallMs());
        return !value.ok() && value.error().code != "pending";
      },
      20s));
  EXPECT_EQ(value.error().code, "command");
  EXPECT_NE(value.error().message.find("exit 3: boom"), std::string::npos) << value.error().message;
}

TEST(BackgroundDemandSource, APrometheusCounterStillBecomesARate) {
  // Each scrape finds the counter 10 higher; reads start at least one
  // interval (50 ms) apart on the steady clock, so the rate is above 0 and at
  // most 10 per 49 ms (the wall-clock stamps the rate divides by are whole
  // milliseconds read a moment after the steady ones: one may round 1 ms
  // short), far below the raw counter.
  std::atomic<int> scrapes{0};
  HttpTestServer exporter([&](const HttpTestServer::Request&) {
    const int n = scrapes.fetch_add(1);
    return HttpTestServer::Response{
        200, "# TYPE jobs_total counter\njobs_total " + std::to_string(100000 + 10 * n) + "\n"};
  });
  DemandSourceConfig config;
  config.source = "prometheus";
  config.url = exporter.url("/metrics");
  config.metric = "jobs_total";
  config.timeout = 5s;
  auto source = background(config, 50, 5'000);
  ASSERT_TRUE(source);
  EXPECT_STREQ(source->kind(), "prometheus");
  Result<double> value = makeError("pending", "");
  ASSERT_TRUE(waitUntil(
      [&] {
        value = source->read(common::wallMs());
        return value.ok();
      },
      20s));
  EXPECT_GT(*value, 0.0);
  EXPECT_LE(*value, 10.0 / 0.049);
  EXPECT_GE(scrapes.load(), 2);
}

TEST(BackgroundDemandSource, TheAgentSamplesOtherSeriesWhileACommandSourceIsSlow) {
  TempDir dir;
  const std::string gate = dir.file("gate");
  testing::writeFile(dir.file("trace.csv"), "timestamp,value\n1700000000,42\n1700000060,42\n");
  AgentConfig config;
  config.id = "edge-slow";
  config.controller = "tcp://127.0.0.1:1";
  config.spool = dir.file("spool.db");
  config.sample_interval = 100ms;
  for (const std::string name : {"slow", "fast"}) {
    SystemConfig system;
    system.name = name;
    system.min_replicas = 1;
    system.max_replicas = 2;
    system.capacity_per_replica = 10;
    system.actuator.kind = "exec";
    system.actuator.command = {"true"};
    if (name == "slow") {
      system.demand = commandConfig(gatedCommand(gate, "12\\n"));
    } else {
      system.demand.source = "replay";
      system.demand.file = dir.file("trace.csv");
    }
    config.systems.push_back(system);
  }
  auto created = Agent::create(config);
  ASSERT_TRUE(created.ok()) << created.error().message;
  Agent& agent = **created;

  // While the slow command cannot finish, a sample still completes with the
  // other system's demand, and the slow one's absence is counted.
  agent.sampleOnce(common::wallMs());
  EXPECT_EQ(agent.metrics().value("pso_agent_demand_errors_total",
                                  {{"system", "slow"}, {"reason", "pending"}}),
            1.0);
  auto demandOf = [&](const std::string& system) {
    std::optional<double> found;
    auto pending = agent.spool().pending(1, 1000);
    for (const SpooledBatch& stored : *pending) {
      auto decoded = protocol::decode(stored.frame);
      const auto& batch = std::get<protocol::TelemetryBatch>(*decoded);
      for (std::size_t i = 0; i < batch.series.size(); ++i) {
        if (batch.series[i].system == system && batch.series[i].metric == "demand") {
          found = batch.values[i].back();
        }
      }
    }
    return found;
  };
  EXPECT_EQ(demandOf("fast"), 42.0);
  EXPECT_FALSE(demandOf("slow").has_value());

  testing::writeFile(gate, "");
  ASSERT_TRUE(waitUntil(
      [&] {
        agent.sampleOnce(common::wallMs());
        return demandOf("slow").has_value();
      },
      20s, [] { std::this_thread::sleep_for(20ms); }));
  EXPECT_EQ(demandOf("slow"), 12.0);
}

}  // namespace
}  // namespace pso::agent
