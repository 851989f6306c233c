// pso-controller on a PostgreSQL store, as a real process: the store section
// of its config, the store it logs, agents and their systems kept across a
// restart, a server that cannot be reached stopping the start, and a pair of
// controllers on one database, one acting and one standing by, with the
// acting one killed.

#include <gtest/gtest.h>
#include <signal.h>

#include <algorithm>
#include <climits>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <limits>
#include <map>
#include <regex>
#include <sstream>
#include <string>

#include "common/clock.h"
#include "controller/store/store.h"
#include "tests/controller/service/service_test_support.h"
#include "tests/support/agent_process.h"
#include "tests/support/pg_test_server.h"

namespace pso::controller::service::testing {
namespace {

using nlohmann::json;
using pso::testing::AgentProcess;
using pso::testing::AgentProcessOptions;
using pso::testing::ChildProcess;
using pso::testing::PgTestDatabase;
using pso::testing::readFile;
using std::chrono::milliseconds;
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

// controller.yaml in `dir` for a controller on `database`: hour-long cycles
// (none runs during a test), plus `controller_lines` and `store_lines`
// (each "  key: value\n" at its level).
void writePgConfig(const TempDir& dir, const PgTestDatabase& database,
                   const std::string& controller_lines = "", const std::string& store_lines = "") {
  std::ofstream(dir.file("controller.yaml")) << "controller:\n"
                                             << "  cycle_interval: 1h\n"
                                             << controller_lines << "  store:\n"
                                             << "    backend: postgresql\n"
                                             << "    dsn: \"" << database.dsn() << "\"\n"
                                             << store_lines;
}

// pso-controller on that config, bound to `bind`, its API on a free port.
std::vector<std::string> controllerCommand(const TempDir& dir, const std::string& bind) {
  return {PSO_CONTROLLER_BIN, "--config",   dir.file("controller.yaml"), "--bind", bind,
          "--http",           "127.0.0.1:0"};
}

TEST(ControllerPostgresql, KeepsItsAgentsAndSystemsInPostgresqlAcrossARestart) {
  PgTestDatabase database("controller");
  ASSERT_TRUE(database.ok()) << database.error();
  TempDir dir;
  writePgConfig(dir, database);
  std::vector<std::string> command = controllerCommand(dir, "tcp://127.0.0.1:0");
  command.insert(command.end(), {"--db", dir.file("unused.db")});
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

// Waits until `file` holds a line matching `pattern`; its first group, or ""
// after `timeout`.
std::string awaitLine(const std::string& file, const std::string& pattern, seconds timeout) {
  const std::regex line(pattern);
  std::string group;
  (void)waitFor(
      [&] {
        std::smatch match;
        const std::string text = readFile(file);
        if (!std::regex_search(text, match, line)) return false;
        group = match.size() > 1 ? match[1].str() : match[0].str();
        return true;
      },
      timeout);
  return group;
}

// The agent's position in the store, through a controller's HTTP API.
uint64_t lastSeqOf(uint16_t http_port, const std::string& agent_id) {
  const json agents = httpRequest(http_port, "GET", "/api/v1/agents").json();
  if (!agents.contains("agents")) return 0;
  for (const json& agent : agents["agents"]) {
    if (agent.value("id", "") == agent_id) return agent.value("last_seq", uint64_t{0});
  }
  return 0;
}

TEST(ControllerPostgresql,
     AStandbyTakesOverWithinTenSecondsOfTheActingOneDyingAndLosesNoAckedBatch) {
  PgTestDatabase database("pair");
  ASSERT_TRUE(database.ok()) << database.error();
  TempDir dir;
  // The default lease term (5 s): what a pair gets without tuning.
  writePgConfig(dir, database, "  heartbeat_interval: 1s\n");
  const std::string listening =
      R"(pso-controller listening zmq=(tcp://127\.0\.0\.1:\d+) http=127\.0\.0\.1:\d+\n)";
  ChildProcess first(controllerCommand(dir, "tcp://127.0.0.1:0"), dir.file("a.out"),
                     dir.file("a.err"));
  const std::string endpoint_a = awaitLine(dir.file("a.out"), listening, seconds(30));
  ASSERT_FALSE(endpoint_a.empty()) << readFile(dir.file("a.out")) << readFile(dir.file("a.err"));
  // The standby's endpoint, which the agents must know before it binds.
  const int port_b = pso::testing::unusedLoopbackPort();
  ASSERT_GT(port_b, 0);
  const std::string endpoint_b = "tcp://127.0.0.1:" + std::to_string(port_b);
  ChildProcess second(controllerCommand(dir, endpoint_b), dir.file("b.out"), dir.file("b.err"));
  ASSERT_FALSE(awaitLine(dir.file("b.out"), "pso-controller standing by\n", seconds(30)).empty())
      << readFile(dir.file("b.out")) << readFile(dir.file("b.err"));
  // The standby binds nothing while it stands by.
  EXPECT_EQ(readFile(dir.file("b.out")).find("listening"), std::string::npos);

  // A real agent given both endpoints, and a protocol-level one whose acks
  // the test sees, with the agent's reconnect bound for a pair.
  AgentProcessOptions options;
  options.binary = PSO_AGENT_BIN;
  options.id = "pair-agent";
  options.system = "api";
  options.controller = endpoint_a + "," + endpoint_b;
  AgentProcess agent(dir, options);
  common::DealerOptions dealer;
  dealer.reconnect_ivl_max_ms = 1000;
  TestAgent probe(endpoint_a + "," + endpoint_b, "probe", dealer);
  ASSERT_TRUE(probe.sayHello({webSystem()}).has_value());

  // Batches of one sample each, seq s at base + s seconds with value s; the
  // acting controller is killed while they stream.
  const int64_t base_ms = common::wallMs() - 120'000;
  auto batch = [&](uint64_t seq) {
    return demandHistory("probe", seq, base_ms + static_cast<int64_t>(seq) * 1000, 1000,
                         {static_cast<double>(seq)});
  };
  uint64_t acked = 0;
  uint64_t next = 1;
  auto drainAcks = [&](milliseconds wait) {
    while (auto message = probe.receive(wait)) {
      if (auto* ack = std::get_if<protocol::Ack>(&*message)) acked = std::max(acked, ack->seq);
      wait = milliseconds(0);
    }
  };
  while (acked < 30) {
    if (next <= acked + 8) probe.send(batch(next++));
    drainAcks(milliseconds(20));
  }
  // The real agent is stored too before the kill.
  const auto http_a = static_cast<uint16_t>(
      std::stoi(awaitLine(dir.file("a.out"), R"(http=127\.0\.0\.1:(\d+)\n)", seconds(5))));
  ASSERT_TRUE(waitFor([&] { return lastSeqOf(http_a, "pair-agent") > 0; }, seconds(30)));
  const uint64_t agent_seq_at_kill = lastSeqOf(http_a, "pair-agent");

  // Batches beyond the last ack are in flight when the acting controller dies.
  for (int i = 0; i < 4; ++i) probe.send(batch(next++));
  const int64_t killed_ms = common::steadyMs();
  first.signal(SIGKILL);
  EXPECT_NE(first.wait(seconds(10)), INT_MIN);
  drainAcks(milliseconds(0));
  const uint64_t acked_before_kill = acked;

  // Hello until the standby, now acting, answers.
  std::optional<protocol::Welcome> welcome;
  int64_t hello_sent_ms = 0;
  while (!welcome && common::steadyMs() - killed_ms < 20'000) {
    if (common::steadyMs() - hello_sent_ms >= 250) {
      protocol::Hello hello;
      hello.agent_id = "probe";
      hello.version = "test-agent 1.0";
      hello.systems = {webSystem()};
      hello.next_seq = next;
      hello.oldest_seq = acked + 1;
      if (probe.trySend(hello)) hello_sent_ms = common::steadyMs();
    }
    welcome = probe.receiveA<protocol::Welcome>(milliseconds(50));
  }
  const int64_t takeover_ms = common::steadyMs() - killed_ms;
  ASSERT_TRUE(welcome.has_value()) << readFile(dir.file("b.out")) << readFile(dir.file("b.err"));
  std::cout << "takeover: the standby welcomed the agent " << takeover_ms
            << " ms after the acting controller was killed\n";
  EXPECT_LT(takeover_ms, 10'000);
  EXPECT_NE(readFile(dir.file("b.out")).find("listening zmq=" + endpoint_b), std::string::npos);
  // Everything acked by the controller that died is in the store the
  // standby reads: it answers with a position at least that far.
  EXPECT_GE(welcome->last_seq, acked_before_kill);

  // The rest, from where the standby's store stands, as an agent's spool would.
  const uint64_t total = next + 10;
  next = welcome->last_seq + 1;
  const int64_t resend_deadline = common::steadyMs() + 20'000;
  while (acked < total && common::steadyMs() < resend_deadline) {
    if (next <= total && next <= acked + 8) probe.send(batch(next++));
    drainAcks(milliseconds(20));
  }
  ASSERT_EQ(acked, total);

  // The real agent followed the endpoint that binds now: the new acting
  // controller stores its batches past those stored before the kill.
  const auto http_b = static_cast<uint16_t>(
      std::stoi(awaitLine(dir.file("b.out"), R"(http=127\.0\.0\.1:(\d+)\n)", seconds(5))));
  EXPECT_TRUE(
      waitFor([&] { return lastSeqOf(http_b, "pair-agent") > agent_seq_at_kill + 2; }, seconds(20)))
      << "agent at " << lastSeqOf(http_b, "pair-agent") << ", " << agent_seq_at_kill
      << " before the kill\n"
      << agent.log();

  second.signal(SIGTERM);
  EXPECT_EQ(second.wait(seconds(20)), 0);
  // Every sample, read back from the database: one per seq, none lost or moved.
  store::StoreLocation location;
  location.backend = store::StoreBackend::kPostgresql;
  location.dsn = database.dsn();
  auto opened = store::Store::open(location);
  ASSERT_TRUE(opened.ok()) << opened.error().message;
  auto samples = (*opened)->samples("web", "demand", base_ms, base_ms + 1000 * (total + 1));
  ASSERT_TRUE(samples.ok()) << samples.error().message;
  ASSERT_EQ(samples->size(), total);
  for (uint64_t seq = 1; seq <= total; ++seq) {
    const store::Sample& sample = (*samples)[seq - 1];
    EXPECT_EQ(sample.ts_ms, base_ms + static_cast<int64_t>(seq) * 1000) << "seq " << seq;
    EXPECT_EQ(sample.value, static_cast<double>(seq)) << "seq " << seq;
  }
}

TEST(ControllerPostgresql, AControllerThatStopsGivesTheLeaseUpAndTheStandbyActsAtOnce) {
  PgTestDatabase database("handover");
  ASSERT_TRUE(database.ok()) << database.error();
  TempDir dir;
  // A term far longer than the wait below: only the release lets the
  // standby act in time.
  writePgConfig(dir, database, "", "    lease_ttl: 60s\n");
  ChildProcess first(controllerCommand(dir, "tcp://127.0.0.1:0"), dir.file("a.out"),
                     dir.file("a.err"));
  ASSERT_FALSE(awaitLine(dir.file("a.out"), "listening", seconds(30)).empty())
      << readFile(dir.file("a.err"));
  ChildProcess second(controllerCommand(dir, "tcp://127.0.0.1:0"), dir.file("b.out"),
                      dir.file("b.err"));
  ASSERT_FALSE(awaitLine(dir.file("b.out"), "standing by", seconds(30)).empty())
      << readFile(dir.file("b.err"));
  first.signal(SIGTERM);
  EXPECT_EQ(first.wait(seconds(20)), 0);
  // The standby polls the lease every second at most.
  EXPECT_FALSE(awaitLine(dir.file("b.out"), "listening", seconds(5)).empty())
      << readFile(dir.file("b.err"));
  EXPECT_NE(readFile(dir.file("a.err")).find("gave the leader lease up"), std::string::npos);
  // A controller that stops says so once, and never that it stands by.
  EXPECT_EQ(readFile(dir.file("a.out")).find("standing by"), std::string::npos)
      << readFile(dir.file("a.out"));
  second.signal(SIGTERM);
  EXPECT_EQ(second.wait(seconds(20)), 0);
}

// The libpq URI of a test database whose DSN is "host=H port=P user=U
// dbname=D" (the form pg_test_server.h hands out), for psoctl's --db.
std::string uriOf(const std::string& dsn) {
  std::map<std::string, std::string> fields;
  std::istringstream words(dsn);
  std::string word;
  while (words >> word) {
    const auto eq = word.find('=');
    if (eq != std::string::npos) fields[word.substr(0, eq)] = word.substr(eq + 1);
  }
  return "postgresql://" + fields["user"] + "@" + fields["host"] + ":" + fields["port"] + "/" +
         fields["dbname"];
}

TEST(ControllerPostgresql, PsoctlTakesThePostgresqlStoreAsAUriWhereItTakesADatabaseFile) {
  PgTestDatabase database("psoctl");
  ASSERT_TRUE(database.ok()) << database.error();
  const std::string uri = uriOf(database.dsn());
  TempDir dir;
  // An hour of a sample a minute, value i at minute i.
  const int64_t start_s = 1'764'000'000;
  {
    std::ofstream trace(dir.file("web.csv"));
    trace << "timestamp,value\n";
    for (int i = 0; i < 60; ++i) trace << start_s + 60 * i << ',' << i << '\n';
  }
  auto imported = pso::testing::runCommand({PSO_PSOCTL_BIN, "--json", "import", "--db", uri,
                                            "--system", "web", "--trace", dir.file("web.csv"),
                                            "--now", std::to_string(start_s + 7200)});
  ASSERT_EQ(imported.exit_code, 0) << imported.err;
  EXPECT_EQ(json::parse(imported.out)["samples"], 60) << imported.out;

  // In the database, as the controller reads it.
  auto store = store::Store::open(uri);
  ASSERT_TRUE(store.ok()) << store.error().message;
  auto samples = (*store)->samples("web", "demand", 0, std::numeric_limits<int64_t>::max());
  ASSERT_TRUE(samples.ok()) << samples.error().message;
  ASSERT_EQ(samples->size(), 60u);
  for (int i = 0; i < 60; ++i) {
    EXPECT_EQ((*samples)[i].ts_ms, (start_s + 60 * i) * 1000) << i;
    EXPECT_EQ((*samples)[i].value, i) << i;
  }
  store->reset();

  // A reading command on the same URI, and one on a database that is not there.
  auto listed =
      pso::testing::runCommand({PSO_PSOCTL_BIN, "--json", "scenarios", "list", "--db", uri});
  ASSERT_EQ(listed.exit_code, 0) << listed.err;
  EXPECT_TRUE(json::parse(listed.out)["scenarios"].is_array()) << listed.out;
  const std::string missing = uri.substr(0, uri.rfind('/')) + "/no_such_database";
  auto refused = pso::testing::runCommand({PSO_PSOCTL_BIN, "scenarios", "list", "--db", missing});
  EXPECT_NE(refused.exit_code, 0);
  EXPECT_NE(refused.err.find("no_such_database"), std::string::npos) << refused.err;
  EXPECT_EQ(std::count(refused.err.begin(), refused.err.end(), '\n'), 1) << refused.err;
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
