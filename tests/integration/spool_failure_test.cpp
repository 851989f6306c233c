// The real pso-agent with a spool it cannot use: at start (the spool path runs
// through a regular file) and at run time (a file-size limit makes spool
// writes fail with EFBIG, as a full disk would). Either way it keeps sampling,
// says once what it did, and a real pso-controller keeps receiving demand.

#include <gtest/gtest.h>
#include <signal.h>

#include <climits>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>

#include "tests/support/controller_process.h"
#include "tests/support/process.h"

namespace pso::testing {
namespace {

using nlohmann::json;
using std::chrono::milliseconds;
using std::chrono::seconds;

int64_t wallMsNow() {
  return std::chrono::duration_cast<milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::size_t countOf(const std::string& text, const std::string& needle) {
  std::size_t count = 0;
  for (std::size_t at = text.find(needle); at != std::string::npos;
       at = text.find(needle, at + needle.size())) {
    ++count;
  }
  return count;
}

/// Timestamps of the demand samples the controller has stored for `system`.
std::vector<int64_t> demandTimestamps(const ControllerProcess& controller,
                                      const std::string& system) {
  std::vector<int64_t> stamps;
  json doc = controller.tryPsoctlJson({"samples", system, "--limit", "100000"});
  for (const auto& sample : doc.value("samples", json::array())) {
    stamps.push_back(sample[0].get<int64_t>());
  }
  return stamps;
}

/// Writes the config of an agent with one system whose demand replays a
/// constant trace; returns the config path.
std::string writeAgentConfig(const TempDir& dir, const std::string& id) {
  std::ofstream trace(dir.file("web.csv"));
  trace << "timestamp,value\n";
  for (int i = 0; i < 2000; ++i) trace << 1700000000 + 60 * i << ",40\n";
  const std::string config = dir.file(id + ".yaml");
  std::ofstream(config) << "agent:\n"
                        << "  id: " << id << "\n"
                        << "  sample_interval: 200ms\n"
                        << "  heartbeat_interval: 1s\n"
                        << "systems:\n"
                        << "  - name: web\n"
                        << "    capacity_per_replica: 100\n"
                        << "    min_replicas: 1\n"
                        << "    max_replicas: 3\n"
                        << "    demand: {source: replay, file: " << dir.file("web.csv")
                        << ", speed: 60, loop: true}\n"
                        << "    actuator: {kind: exec, command: [\"/bin/true\"]}\n";
  return config;
}

TEST(SpoolFailure, ASpoolPathThroughARegularFileStartsTheAgentWithASpoolInMemory) {
  TempDir dir;
  ControllerProcess controller(dir, {PSO_CONTROLLER_BIN, PSOCTL_BIN});
  ASSERT_TRUE(controller.started());
  std::ofstream(dir.file("not-a-directory")) << "a regular file where a directory should be\n";
  const std::string spool = dir.file("not-a-directory") + "/spool.db";
  ChildProcess agent({PSO_AGENT_BIN, "--config", writeAgentConfig(dir, "agent-mem"), "--controller",
                      controller.zmqEndpoint(), "--spool", spool},
                     dir.file("agent.out"), dir.file("agent.log"));

  ASSERT_TRUE(
      waitFor([&] { return demandTimestamps(controller, "web").size() >= 10; }, seconds(30)))
      << readFile(dir.file("agent.log"));
  EXPECT_TRUE(agent.running());
  const std::string log = readFile(dir.file("agent.log"));
  EXPECT_EQ(countOf(log, "in memory until restart"), 1u) << log;
  EXPECT_NE(log.find("spool: cannot create spool directory " + dir.file("not-a-directory")),
            std::string::npos)
      << log;

  agent.signal(SIGTERM);
  EXPECT_EQ(agent.wait(seconds(15)), 0) << readFile(dir.file("agent.log"));
}

TEST(SpoolFailure, SpoolWritesFailingAtRunTimeDoNotStopSamplingOrSending) {
  TempDir dir;
  ControllerProcess controller(dir, {PSO_CONTROLLER_BIN, PSOCTL_BIN});
  ASSERT_TRUE(controller.started());
  const std::string spool = dir.file("spool.db");
  // The agent runs with files limited to 256 KiB (ulimit -f counts 512-byte
  // blocks): once the spool's write-ahead log reaches the limit, SQLite's
  // writes fail with EFBIG, a real write failure. The agent itself ignores
  // SIGXFSZ, which would otherwise kill it there.
  ChildProcess agent({"/bin/sh", "-c", "ulimit -f 512 && exec \"$0\" \"$@\"", PSO_AGENT_BIN,
                      "--config", writeAgentConfig(dir, "agent-full"), "--controller",
                      controller.zmqEndpoint(), "--spool", spool},
                     dir.file("agent.out"), dir.file("agent.log"));

  const std::string moved = "spool: cannot write " + spool;
  ASSERT_TRUE(
      waitFor([&] { return readFile(dir.file("agent.log")).find(moved) != std::string::npos; },
              seconds(120)))
      << "the spool never failed; agent log:\n"
      << readFile(dir.file("agent.log"));
  const int64_t failed_ms = wallMsNow();
  ASSERT_TRUE(waitFor(
      [&] {
        std::vector<int64_t> stamps = demandTimestamps(controller, "web");
        std::size_t after = 0;
        for (int64_t stamp : stamps) after += stamp > failed_ms ? 1 : 0;
        return after >= 10;
      },
      seconds(30)))
      << readFile(dir.file("agent.log"));
  EXPECT_TRUE(agent.running());
  const std::string log = readFile(dir.file("agent.log"));
  EXPECT_EQ(countOf(log, moved), 1u) << log;
  EXPECT_NE(log.find("to memory, keeping up to"), std::string::npos) << log;
  EXPECT_EQ(countOf(log, "spool: cannot store a telemetry batch"), 0u) << log;

  agent.signal(SIGTERM);
  EXPECT_EQ(agent.wait(seconds(15)), 0) << readFile(dir.file("agent.log"));
}

}  // namespace
}  // namespace pso::testing
