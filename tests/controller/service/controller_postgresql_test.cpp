// pso-controller on a PostgreSQL store, as a real process: the store section
// of its config, the store it logs, agents and their systems kept across a
// restart, and a server that cannot be reached stopping the start.

#include <gtest/gtest.h>
#include <signal.h>

#include <filesystem>
#include <fstream>
#include <regex>
#include <string>

#include "tests/controller/service/service_test_support.h"
#include "tests/support/pg_test_server.h"

namespace pso::controller::service::testing {
namespace {

using nlohmann::json;
using pso::testing::ChildProcess;
using pso::testing::PgTestDatabase;
using pso::testing::readFile;
using std::chrono::seconds;

// Starts pso-controller with `config` and waits for its listening line;
// returns the HTTP port and zmq endpoint through the match.
bool awaitListening(const TempDir& dir, std::smatch& match, std::string& out) {
  static const std::regex line(
      R"(^pso-controller listening zmq=(tcp://127\.0\.0\.1:\d+) http=127\.0\.0\.1:(\d+)\n)");
  return waitFor(
      [&] {
        out = readFile(dir.file("out"));
        return std::regex_search(out, match, line);
      },
      seconds(30));
}

TEST(ControllerPostgresql, KeepsItsAgentsAndSystemsInPostgresqlAcrossARestart) {
  PgTestDatabase database("controller");
  ASSERT_TRUE(database.ok()) << database.error();
  TempDir dir;
  std::ofstream(dir.file("controller.yaml")) << "controller:\n"
                                             << "  cycle_interval: 1h\n"
                                             << "  store:\n"
                                             << "    backend: postgresql\n"
                                             << "    dsn: \"" << database.dsn() << "\"\n";
  const std::vector<std::string> command = {PSO_CONTROLLER_BIN,
                                            "--config",
                                            dir.file("controller.yaml"),
                                            "--bind",
                                            "tcp://127.0.0.1:0",
                                            "--http",
                                            "127.0.0.1:0",
                                            "--db",
                                            dir.file("unused.db")};
  {
    ChildProcess process(command, dir.file("out"), dir.file("err"));
    std::smatch match;
    std::string out;
    ASSERT_TRUE(awaitListening(dir, match, out)) << out << readFile(dir.file("err"));
    TestAgent agent(match[1], "agent-pg");
    ASSERT_TRUE(agent.sayHello({webSystem()}).has_value());
    const auto port = static_cast<uint16_t>(std::stoi(match[2]));
    const json agents = httpRequest(port, "GET", "/api/v1/agents").json();
    ASSERT_EQ(agents["agents"].size(), 1u) << agents.dump();
    EXPECT_EQ(agents["agents"][0]["id"], "agent-pg");
    process.signal(SIGTERM);
    EXPECT_EQ(process.wait(seconds(20)), 0);
  }
  const std::string log = readFile(dir.file("err"));
  EXPECT_NE(log.find("db postgresql://"), std::string::npos) << log;
  // The SQLite file of --db is not the store.
  EXPECT_FALSE(std::filesystem::exists(dir.file("unused.db")));

  ChildProcess again(command, dir.file("out2"), dir.file("err2"));
  const std::regex line(R"(http=127\.0\.0\.1:(\d+)\n)");
  std::smatch match;
  std::string out;
  ASSERT_TRUE(waitFor(
      [&] {
        out = readFile(dir.file("out2"));
        return std::regex_search(out, match, line);
      },
      seconds(30)))
      << out << readFile(dir.file("err2"));
  const auto port = static_cast<uint16_t>(std::stoi(match[1]));
  const json systems = httpRequest(port, "GET", "/api/v1/systems").json();
  ASSERT_EQ(systems["systems"].size(), 1u) << systems.dump();
  EXPECT_EQ(systems["systems"][0]["name"], "web");
  again.signal(SIGTERM);
  EXPECT_EQ(again.wait(seconds(20)), 0);
}

TEST(ControllerPostgresql, AServerThatCannotBeReachedStopsTheStartWithOneLine) {
  TempDir dir;
  std::ofstream(dir.file("controller.yaml"))
      << "controller:\n"
      << "  store: {backend: postgresql, dsn: \"host=127.0.0.1 port=1 dbname=pso "
         "connect_timeout=5\"}\n";
  ChildProcess process({PSO_CONTROLLER_BIN, "--config", dir.file("controller.yaml"), "--bind",
                        "tcp://127.0.0.1:0", "--http", "127.0.0.1:0"},
                       dir.file("out"), dir.file("err"));
  EXPECT_NE(process.wait(seconds(30)), 0);
  const std::string err = readFile(dir.file("err"));
  EXPECT_NE(err.find("cannot connect to PostgreSQL"), std::string::npos) << err;
}

}  // namespace
}  // namespace pso::controller::service::testing
