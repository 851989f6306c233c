#include "agent/agent.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>

#include <set>
#include <string>
#include <thread>
#include <vector>

#include "agent/subprocess.h"
#include "agent_test_util.h"
#include "common/clock.h"
#include "common/curve_keys.h"

namespace pso::agent {
namespace {

using namespace std::chrono_literals;
using testing::processExists;
using testing::TempDir;
using testing::TestController;
using testing::waitUntil;

// The value of a series in a batch's last column, if the batch has it.
std::optional<double> lastValue(const protocol::TelemetryBatch& batch, const std::string& system,
                                const std::string& metric) {
  for (std::size_t i = 0; i < batch.series.size(); ++i) {
    if (batch.series[i].system == system && batch.series[i].metric == metric &&
        !batch.values[i].empty()) {
      return batch.values[i].back();
    }
  }
  return std::nullopt;
}

AgentConfig agentConfig(const TempDir& dir, const std::string& controller) {
  testing::writeFile(dir.file("trace.csv"),
                     "timestamp,value\n1700000000,42\n1700000060,42\n1700000120,42\n");
  AgentConfig config;
  config.id = "edge-7";
  config.controller = controller;
  config.spool = dir.file("spool/agent.db");
  config.sample_interval = 100ms;
  config.heartbeat_interval = 1s;
  SystemConfig web;
  web.name = "web";
  web.min_replicas = 1;
  web.max_replicas = 4;
  web.initial_replicas = 1;
  web.capacity_per_replica = 50;
  web.demand.source = "replay";
  web.demand.file = dir.file("trace.csv");
  web.actuator.kind = "process-pool";
  web.actuator.command = {"sh", "-c",
                          "echo $$ > " + dir.file("worker-{index}.pid") + "; exec sleep 1000"};
  web.actuator.stop_grace = 2s;
  config.systems.push_back(web);
  return config;
}

TEST(Agent, RefusesADemandSourceItCannotBuildNamingTheSystem) {
  TempDir dir;
  AgentConfig config = agentConfig(dir, "tcp://127.0.0.1:1");
  config.systems[0].demand.source = "cgroup";
  config.systems[0].demand.metric = "cpu.usage";
  auto agent = Agent::create(config);
  ASSERT_FALSE(agent.ok());
  EXPECT_EQ(agent.error().message,
            "system web: demand source 'cgroup' needs the system's 'cgroup'");
}

TEST(Agent, RefusesDuplicateSystemsAndIncompleteCurveKeys) {
  TempDir dir;
  AgentConfig config = agentConfig(dir, "tcp://127.0.0.1:1");
  config.systems.push_back(config.systems[0]);
  auto twice = Agent::create(config);
  ASSERT_FALSE(twice.ok());
  EXPECT_EQ(twice.error().message, "system web is configured twice");

  // CurveZMQ needs the controller's key and a key file only this user reads.
  config.systems.pop_back();
  config.curve.secret_key_file = dir.file("agent.key");
  auto no_server_key = Agent::create(config);
  ASSERT_FALSE(no_server_key.ok());
  EXPECT_NE(no_server_key.error().message.find("server_public_key"), std::string::npos)
      << no_server_key.error().message;

  const auto server = common::generateCurveKeyPair();
  ASSERT_TRUE(server.ok());
  config.curve.server_public_key = server->public_key;
  auto missing_file = Agent::create(config);
  ASSERT_FALSE(missing_file.ok());
  EXPECT_NE(missing_file.error().message.find("curve.secret_key_file"), std::string::npos)
      << missing_file.error().message;

  ASSERT_TRUE(common::writeCurveKeyFiles(dir.file("agent"), *common::generateCurveKeyPair()).ok());
  config.curve.server_public_key = "not-a-key";
  auto bad_server_key = Agent::create(config);
  ASSERT_FALSE(bad_server_key.ok());
  EXPECT_NE(bad_server_key.error().message.find("Z85"), std::string::npos);

  config.curve.server_public_key = server->public_key;
  auto curve = Agent::create(config);
  EXPECT_TRUE(curve.ok()) << curve.error().message;
}

TEST(Agent, SplitsASampleLargerThanBatchMaxSamplesBySeries) {
  TempDir dir;
  AgentConfig config = agentConfig(dir, "tcp://127.0.0.1:1");
  config.batch_max_samples = 3;
  auto created = Agent::create(config);
  ASSERT_TRUE(created.ok()) << created.error().message;
  Agent& agent = **created;
  const int64_t now = common::wallMs();
  agent.sampleOnce(now);

  auto pending = agent.spool().pending(1, 100);
  ASSERT_TRUE(pending.ok());
  ASSERT_GE(pending->size(), 3u);  // 6+ host gauges, demand and replicas
  std::set<std::string> series;
  for (std::size_t i = 0; i < pending->size(); ++i) {
    auto decoded = protocol::decode((*pending)[i].frame);
    ASSERT_TRUE(decoded.ok());
    const auto& batch = std::get<protocol::TelemetryBatch>(*decoded);
    EXPECT_EQ(batch.seq, i + 1);
    EXPECT_EQ(batch.timestamps_ms, std::vector<int64_t>{now});
    EXPECT_LE(batch.series.size(), 3u);
    for (const auto& key : batch.series) {
      EXPECT_TRUE(series.insert(key.system + "/" + key.metric).second) << key.metric;
    }
  }
  EXPECT_EQ(series.count("web/demand"), 1u);
  EXPECT_EQ(series.count("web/replicas"), 1u);
  EXPECT_EQ(series.count("/memory.total"), 1u);
}

TEST(Agent, ReportsDemandAndReplicasAndScalesOnADirective) {
  TempDir dir;
  zmq::context_t context(1);
  TestController controller(context);
  auto created = Agent::create(agentConfig(dir, controller.endpoint()));
  ASSERT_TRUE(created.ok()) << created.error().message;
  Agent& agent = **created;

  Status run_status;
  std::thread loop([&] { run_status = agent.run(); });
  auto drainUntil = [&](const std::function<bool()>& done) {
    return waitUntil(done, 15s, [&] { controller.drain(20); });
  };

  ASSERT_TRUE(drainUntil([&] { return controller.count<protocol::Hello>() > 0; }));
  auto hello = controller.all<protocol::Hello>().front();
  EXPECT_EQ(hello.agent_id, "edge-7");
  EXPECT_FALSE(hello.version.empty());
  EXPECT_FALSE(hello.host_facts.at("hostname").empty());
  ASSERT_EQ(hello.systems.size(), 1u);
  EXPECT_EQ(hello.systems[0].actuator, "process-pool");
  EXPECT_EQ(hello.systems[0].replicas, 1);
  EXPECT_EQ(hello.systems[0].max_replicas, 4);
  EXPECT_DOUBLE_EQ(hello.systems[0].capacity_per_replica, 50.0);

  protocol::Welcome welcome;
  welcome.controller_id = "test";
  welcome.last_seq = 0;
  controller.send("edge-7", welcome);

  auto sawReplicas = [&](double replicas) {
    for (const auto& batch : controller.all<protocol::TelemetryBatch>()) {
      if (lastValue(batch, "web", "replicas") == replicas) return true;
    }
    return false;
  };
  ASSERT_TRUE(drainUntil([&] { return sawReplicas(1.0); }));
  auto batches = controller.all<protocol::TelemetryBatch>();
  EXPECT_EQ(lastValue(batches.back(), "web", "demand"), 42.0);
  EXPECT_TRUE(lastValue(batches.back(), "", "memory.total").has_value());
  for (std::size_t i = 0; i < batches.size(); ++i) EXPECT_EQ(batches[i].seq, i + 1);
  // Frames are handled in order, so the directive's result below also proves
  // this ack was applied.
  const uint64_t acked = batches.back().seq;
  controller.send("edge-7", protocol::Ack{acked});

  protocol::Directive directive;
  directive.id = "d-1";
  directive.system = "web";
  directive.action = "scale";
  directive.replicas = 3;
  directive.deadline_ms = common::wallMs() + 60'000;
  controller.send("edge-7", directive);
  ASSERT_TRUE(drainUntil([&] { return controller.count<protocol::DirectiveResult>() > 0; }));
  auto result = controller.all<protocol::DirectiveResult>().front();
  EXPECT_EQ(result.status, "applied") << result.message;
  EXPECT_EQ(result.replicas, 3);
  ASSERT_TRUE(drainUntil([&] { return sawReplicas(3.0); }));

  protocol::Directive unknown = directive;
  unknown.id = "d-2";
  unknown.system = "db";
  controller.send("edge-7", unknown);
  ASSERT_TRUE(drainUntil([&] { return controller.count<protocol::DirectiveResult>() > 1; }));
  EXPECT_EQ(controller.all<protocol::DirectiveResult>()[1].status, "refused");

  std::vector<pid_t> workers;
  for (int i = 0; i < 3; ++i) {
    std::string path = dir.file("worker-" + std::to_string(i) + ".pid");
    ASSERT_TRUE(waitUntil([&] { return !testing::readFile(path).empty(); }, 10s));
    workers.push_back(static_cast<pid_t>(std::stol(testing::readFile(path))));
    EXPECT_TRUE(processExists(workers.back()));
  }

  agent.requestStop();
  loop.join();
  EXPECT_TRUE(run_status.ok()) << run_status.error().message;
  for (pid_t pid : workers) EXPECT_FALSE(processExists(pid)) << pid;
  // Acked batches are gone from the spool; later ones wait for the next run.
  EXPECT_EQ(agent.spool().ackedSeq(), acked);
  EXPECT_EQ(agent.spool().oldestSeq(), acked + 1);
  EXPECT_EQ(agent.spool().pendingCount(), agent.spool().nextSeq() - acked - 1);
}

TEST(AgentBinary, BadFlagIsOneLineAndExitCodeTwo) {
  auto outcome = runCommand({PSO_AGENT_BINARY, "--sample-interval", "soon"}, 10s);
  ASSERT_TRUE(outcome.ok()) << outcome.error().message;
  EXPECT_EQ(outcome->exit_code, 2);
  EXPECT_EQ(std::count(outcome->output.begin(), outcome->output.end(), '\n'), 1) << outcome->output;
  EXPECT_NE(outcome->output.find("--sample-interval"), std::string::npos) << outcome->output;

  TempDir dir;
  auto missing = runCommand({PSO_AGENT_BINARY, "--config", dir.file("nope.yaml")}, 10s);
  ASSERT_TRUE(missing.ok());
  EXPECT_EQ(missing->exit_code, 2);
  EXPECT_NE(missing->output.find("nope.yaml"), std::string::npos) << missing->output;
}

TEST(AgentBinary, FlagsConfigureItAndSigtermStopsItCleanly) {
  TempDir dir;
  zmq::context_t context(1);
  TestController controller(context);
  auto pid = spawnProcess({PSO_AGENT_BINARY, "--controller", controller.endpoint(), "--id",
                           "bin-agent", "--spool", dir.file("spool.db"), "--sample-interval",
                           "200ms", "--log-level", "warn"});
  ASSERT_TRUE(pid.ok()) << pid.error().message;
  ASSERT_TRUE(waitUntil([&] { return controller.count<protocol::Hello>() > 0; }, 15s,
                        [&] { controller.drain(20); }));
  EXPECT_EQ(std::get<protocol::Hello>(controller.received().front().message).agent_id, "bin-agent");
  protocol::Welcome welcome;
  welcome.controller_id = "test";
  controller.send("bin-agent", welcome);
  ASSERT_TRUE(waitUntil([&] { return controller.count<protocol::TelemetryBatch>() > 0; }, 15s,
                        [&] { controller.drain(20); }));

  ASSERT_EQ(::kill(*pid, SIGTERM), 0);
  int status = 0;
  ASSERT_TRUE(waitUntil([&] { return ::waitpid(*pid, &status, WNOHANG) == *pid; }, 15s));
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0);
}

}  // namespace
}  // namespace pso::agent
