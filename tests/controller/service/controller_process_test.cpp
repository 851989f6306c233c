// The pso-controller executable as a real process: flags, the listening line,
// SIGTERM, startup errors.

#include <gtest/gtest.h>
#include <signal.h>

#include <climits>
#include <fstream>
#include <regex>

#include "tests/controller/service/service_test_support.h"

namespace pso::controller::service::testing {
namespace {

using nlohmann::json;
using pso::testing::ChildProcess;
using pso::testing::readFile;
using pso::testing::runCommand;
using std::chrono::seconds;

TEST(ControllerProcess, PrintsWhereItListensServesAndStopsCleanlyOnSigterm) {
  TempDir dir;
  std::ofstream(dir.file("controller.yaml")) << "controller:\n"
                                             << "  id: process-test\n"
                                             << "  cycle_interval: 1h\n"
                                             << "  mode: act\n";
  ChildProcess process(
      {PSO_CONTROLLER_BIN, "--config", dir.file("controller.yaml"), "--db", dir.file("c.db"),
       "--bind", "tcp://127.0.0.1:0", "--http", "127.0.0.1:0", "--mode", "forecast-only",
       "--cycle-interval", "30s", "--log-level", "debug"},
      dir.file("out"), dir.file("err"));
  const std::regex line(
      R"(^pso-controller listening zmq=(tcp://127\.0\.0\.1:\d+) http=(127\.0\.0\.1:(\d+))\n)");
  std::smatch match;
  std::string out;
  ASSERT_TRUE(waitFor(
      [&] {
        out = readFile(dir.file("out"));
        return std::regex_search(out, match, line);
      },
      seconds(20)))
      << out << readFile(dir.file("err"));
  const auto port = static_cast<uint16_t>(std::stoi(match[3]));
  EXPECT_NE(port, 0);

  // Flags override the file.
  const json status = httpRequest(port, "GET", "/api/v1/status").json();
  EXPECT_EQ(status["controller_id"], "process-test");
  EXPECT_EQ(status["mode"], "forecast-only");

  TestAgent agent(match[1], "agent-p");
  EXPECT_TRUE(agent.sayHello({webSystem()}).has_value());

  const std::string log = readFile(dir.file("err"));
  EXPECT_NE(log.find("agent link is plain TCP without CurveZMQ"), std::string::npos) << log;
  EXPECT_NE(log.find(match[1].str()), std::string::npos) << log;
  EXPECT_NE(log.find(match[2].str()), std::string::npos) << log;

  process.signal(SIGTERM);
  EXPECT_EQ(process.wait(seconds(20)), 0);
  EXPECT_NE(readFile(dir.file("err")).find("stopped"), std::string::npos);
  // The listening line is printed once.
  const std::string final_out = readFile(dir.file("out"));
  EXPECT_EQ(final_out.find("pso-controller listening"),
            final_out.rfind("pso-controller listening"));
}

TEST(ControllerProcess, StartupErrorsAreOneLineOnStderrAndExitCode2) {
  TempDir dir;
  std::ofstream(dir.file("bad.yaml")) << "controller:\n  cycle_interval: often\n";
  const std::vector<std::vector<std::string>> cases = {
      {PSO_CONTROLLER_BIN, "--config", dir.file("missing.yaml")},
      {PSO_CONTROLLER_BIN, "--config", dir.file("bad.yaml")},
      {PSO_CONTROLLER_BIN, "--db", dir.file("c.db"), "--mode", "sometimes", "--bind",
       "tcp://127.0.0.1:0", "--http", "127.0.0.1:0"},
      {PSO_CONTROLLER_BIN, "--db", dir.file("c.db"), "--cycle-interval", "soon"},
      {PSO_CONTROLLER_BIN, "--db", dir.file("c.db"), "--bind", "tcp://256.1.1.1:1", "--http",
       "127.0.0.1:0"},
      {PSO_CONTROLLER_BIN, "--db", dir.file("c.db"), "--bind", "tcp://127.0.0.1:0", "--http",
       "127.0.0.1"},
      {PSO_CONTROLLER_BIN, "--db", dir.file("no-such-dir/c.db"), "--bind", "tcp://127.0.0.1:0",
       "--http", "127.0.0.1:0"},
      {PSO_CONTROLLER_BIN, "--no-such-flag"},
  };
  for (const auto& argv : cases) {
    const auto result = runCommand(argv, {}, seconds(20));
    std::string joined;
    for (const auto& a : argv) joined += a + " ";
    EXPECT_EQ(result.exit_code, 2) << joined << "\n" << result.err;
    EXPECT_EQ(result.out.find("listening"), std::string::npos) << joined;
    // The error is the last line of stderr and starts with the program name.
    ASSERT_FALSE(result.err.empty()) << joined;
    std::string err = result.err;
    if (err.back() == '\n') err.pop_back();
    const std::string last =
        err.substr(err.rfind('\n') == std::string::npos ? 0 : err.rfind('\n') + 1);
    EXPECT_EQ(last.rfind("pso-controller: ", 0), 0u) << joined << "\n" << result.err;
  }
}

}  // namespace
}  // namespace pso::controller::service::testing
