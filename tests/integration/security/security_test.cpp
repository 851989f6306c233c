// The agent link played by an attacker on loopback (docs/security.md): real
// pso-controller and pso-agent processes, keys made by psoctl keygen, and raw
// ZeroMQ sockets for the impostors. Every check awaits a condition with a
// deadline; none depends on the wall clock.

#include <gtest/gtest.h>
#include <signal.h>

#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <zmq.hpp>

#include "common/curve_keys.h"
#include "common/zmq_socket.h"
#include "protocol/codec.h"
#include "tests/support/agent_process.h"
#include "tests/support/controller_process.h"
#include "tests/support/process.h"

namespace pso::testing {
namespace {

using nlohmann::json;
using std::chrono::milliseconds;
using std::chrono::seconds;

const ControllerBinaries kBinaries{PSO_CONTROLLER_BIN, PSOCTL_BIN};

/// `psoctl keygen --out dir/name`: name.key and name.pub.
common::CurveKeyPair keygen(const TempDir& dir, const std::string& name) {
  const CommandOutput out = runCommand({PSOCTL_BIN, "keygen", "--out", dir.file(name)});
  EXPECT_EQ(out.exit_code, 0) << out.err;
  auto pair = common::readCurveSecretKeyFile(dir.file(name + ".key"));
  EXPECT_TRUE(pair.ok()) << (pair.ok() ? "" : pair.error().message);
  return pair.ok() ? *pair : common::CurveKeyPair{};
}

/// Authorizes `name`'s key for agent id `agent_id` in the controller's
/// authorized-keys directory.
void authorize(const TempDir& dir, const std::string& name, const std::string& agent_id) {
  std::filesystem::copy_file(dir.file(name + ".pub"), dir.file("agents/" + agent_id + ".pub"),
                             std::filesystem::copy_options::overwrite_existing);
}

std::string curveControllerYaml(const TempDir& dir) {
  return "  curve:\n    secret_key_file: " + dir.file("controller.key") +
         "\n    authorized_keys_dir: " + dir.file("agents") + "\n";
}

std::string curveAgentYaml(const TempDir& dir, const std::string& key_name,
                           const common::CurveKeyPair& controller) {
  return "  curve:\n    server_public_key: \"" + controller.public_key +
         "\"\n    secret_key_file: " + dir.file(key_name + ".key") + "\n";
}

/// The agent's record in `psoctl agents --json`, or null.
json agentRecord(const ControllerProcess& controller, const std::string& id) {
  const json agents = controller.tryPsoctlJson({"agents"});
  for (const auto& agent : agents.value("agents", json::array())) {
    if (agent.value("id", "") == id) return agent;
  }
  return nullptr;
}

bool connected(const ControllerProcess& controller, const std::string& id) {
  const json agent = agentRecord(controller, id);
  return agent.is_object() && agent.value("connected", false);
}

/// Samples of a system's demand the controller stored.
std::size_t demandSamples(const ControllerProcess& controller, const std::string& system) {
  const json samples =
      controller.tryPsoctlJson({"samples", system, "--metric", "demand", "--since", "1h"});
  return samples.value("samples", json::array()).size();
}

/// A raw DEALER playing an impostor, with CurveZMQ client keys when given.
class Impostor {
 public:
  Impostor(const std::string& endpoint, const common::DealerOptions& options) : context_(1) {
    auto dealer = common::makeDealer(context_, endpoint, options);
    EXPECT_TRUE(dealer.ok()) << (dealer.ok() ? "" : dealer.error().message);
    if (dealer.ok()) socket_ = std::move(dealer).value();
    socket_.set(zmq::sockopt::linger, 0);
  }
  void send(const protocol::Message& message) {
    (void)socket_.send(zmq::buffer(protocol::encode(message)), zmq::send_flags::dontwait);
  }
  /// Every message that arrives within `window`.
  std::vector<protocol::Message> collect(milliseconds window) {
    std::vector<protocol::Message> out;
    const auto end = std::chrono::steady_clock::now() + window;
    while (std::chrono::steady_clock::now() < end) {
      zmq::pollitem_t item{socket_.handle(), 0, ZMQ_POLLIN, 0};
      zmq::poll(&item, 1, milliseconds(50));
      if (!(item.revents & ZMQ_POLLIN)) continue;
      zmq::message_t frame;
      if (!socket_.recv(frame, zmq::recv_flags::dontwait)) continue;
      if (auto decoded = protocol::decode(frame.to_string_view())) out.push_back(*decoded);
    }
    return out;
  }

 private:
  zmq::context_t context_;
  zmq::socket_t socket_;
};

protocol::Hello helloAs(const std::string& agent_id, const std::string& system) {
  protocol::Hello hello;
  hello.agent_id = agent_id;
  hello.version = "impostor";
  protocol::SystemInfo info;
  info.name = system;
  info.actuator = "exec";
  info.min_replicas = 0;
  info.max_replicas = 500;
  info.capacity_per_replica = 1;
  info.target_utilization = 0.5;
  hello.systems = {info};
  return hello;
}

template <typename T>
bool holds(const std::vector<protocol::Message>& messages) {
  for (const auto& m : messages) {
    if (std::holds_alternative<T>(m)) return true;
  }
  return false;
}

// With CurveZMQ on both sides a fleet of real agents works end to end; an
// agent with an unknown key and one presenting another agent's id get no
// welcome and no directive, and the real agent keeps its stream. A key added
// to the directory lets its agent in without a restart.
TEST(Security, CurveFleetAdmitsItsAgentsAndRefusesImpostors) {
  TempDir dir;
  std::filesystem::create_directories(dir.file("agents"));
  const common::CurveKeyPair controller_key = keygen(dir, "controller");
  keygen(dir, "edge-a");
  keygen(dir, "edge-b");
  const common::CurveKeyPair intruder = keygen(dir, "intruder");
  const common::CurveKeyPair b_key = *common::readCurveSecretKeyFile(dir.file("edge-b.key"));
  authorize(dir, "edge-a", "edge-a");
  authorize(dir, "edge-b", "edge-b");
  ControllerProcess controller(dir, kBinaries, "tcp://127.0.0.1:0", curveControllerYaml(dir));
  ASSERT_TRUE(controller.started());

  AgentProcess a(dir, {PSO_AGENT_BIN, "edge-a", "web", controller.zmqEndpoint(), 300, "250ms",
                       curveAgentYaml(dir, "edge-a", controller_key)});
  AgentProcess b(dir, {PSO_AGENT_BIN, "edge-b", "api", controller.zmqEndpoint(), 50, "250ms",
                       curveAgentYaml(dir, "edge-b", controller_key)});
  ASSERT_TRUE(
      waitFor([&] { return connected(controller, "edge-a") && connected(controller, "edge-b"); },
              seconds(30)))
      << a.log() << b.log();
  ASSERT_TRUE(waitFor([&] { return demandSamples(controller, "web") >= 3; }, seconds(30)));

  // An unknown key: the handshake fails, nothing comes back.
  common::DealerOptions unknown;
  unknown.curve_server_key = controller_key.public_key;
  unknown.curve_public_key = intruder.public_key;
  unknown.curve_secret_key = intruder.secret_key;
  Impostor stranger(controller.zmqEndpoint(), unknown);
  for (int i = 0; i < 10; ++i) {
    stranger.send(helloAs("edge-a", "web"));
    EXPECT_TRUE(stranger.collect(milliseconds(150)).empty());
  }
  // Refused at the handshake and logged with its key.
  EXPECT_TRUE(waitFor(
      [&] {
        return readFile(dir.file("controller.log")).find(intruder.public_key) != std::string::npos;
      },
      seconds(10)));

  // A valid key claiming another agent's id: refused, never welcomed.
  common::DealerOptions b_keys = unknown;
  b_keys.curve_public_key = b_key.public_key;
  b_keys.curve_secret_key = b_key.secret_key;
  Impostor borrower(controller.zmqEndpoint(), b_keys);
  std::vector<protocol::Message> replies;
  ASSERT_TRUE(waitFor(
      [&] {
        borrower.send(helloAs("edge-a", "web"));
        auto more = borrower.collect(milliseconds(300));
        replies.insert(replies.end(), more.begin(), more.end());
        return holds<protocol::Refused>(replies);
      },
      seconds(15)));
  EXPECT_FALSE(holds<protocol::Welcome>(replies));
  EXPECT_FALSE(holds<protocol::Directive>(replies));

  // The real agent keeps its stream, and its system keeps its bounds.
  const std::size_t before = demandSamples(controller, "web");
  EXPECT_TRUE(waitFor([&] { return demandSamples(controller, "web") > before + 2; }, seconds(20)));
  EXPECT_TRUE(connected(controller, "edge-a"));
  // (The borrower's hello declared web with at most 500 replicas.)
  const json systems = controller.psoctlJson({"systems"});
  const json list = systems.value("systems", json::array());
  const json* web = nullptr;
  for (const json& system : list) {
    if (system.value("name", "") == "web") web = &system;
  }
  ASSERT_NE(web, nullptr) << systems.dump();
  EXPECT_EQ(web->value("agent", ""), "edge-a") << web->dump();
  EXPECT_NE(web->value("max_replicas", json()), json(500)) << web->dump();

  // A key added to the directory takes effect without a restart.
  keygen(dir, "edge-c");
  AgentProcess c(dir, {PSO_AGENT_BIN, "edge-c", "db", controller.zmqEndpoint(), 20, "250ms",
                       curveAgentYaml(dir, "edge-c", controller_key)});
  EXPECT_FALSE(waitFor([&] { return connected(controller, "edge-c"); }, seconds(2)));
  authorize(dir, "edge-c", "edge-c");
  EXPECT_TRUE(waitFor([&] { return connected(controller, "edge-c"); }, seconds(30))) << c.log();
  EXPECT_TRUE(controller.process().running());
}

// Copying one agent config to two hosts: two real agents under one id, again
// and again. The controller never crashes, one of them holds the id at a time,
// and the other is told why.
TEST(Security, TwoAgentsUnderOneIdNeverCrashTheController) {
  TempDir dir;
  ControllerProcess controller(dir, kBinaries);
  ASSERT_TRUE(controller.started());
  TempDir dir_one;
  TempDir dir_two;
  auto first = std::make_unique<AgentProcess>(
      dir_one, AgentProcessOptions{PSO_AGENT_BIN, "twin", "web", controller.zmqEndpoint(), 100,
                                   "250ms", ""});
  ASSERT_TRUE(waitFor([&] { return connected(controller, "twin"); }, seconds(30)));
  for (int round = 0; round < 3; ++round) {
    AgentProcess second(dir_two,
                        {PSO_AGENT_BIN, "twin", "web", controller.zmqEndpoint(), 100, "250ms", ""});
    ASSERT_TRUE(
        waitFor([&] { return second.log().find("id_in_use") != std::string::npos; }, seconds(30)))
        << "round " << round << ": " << second.log();
    EXPECT_TRUE(controller.process().running());
    if (round % 2 == 0) {
      // The holder goes: the other takes the id over.
      first.reset();
      ASSERT_TRUE(
          waitFor([&] { return second.log().find("welcomed") != std::string::npos; }, seconds(40)))
          << "round " << round << ": " << second.log();
      first = std::make_unique<AgentProcess>(
          dir_one, AgentProcessOptions{PSO_AGENT_BIN, "twin", "web", controller.zmqEndpoint(), 100,
                                       "250ms", ""});
    }
  }
  first.reset();
  EXPECT_TRUE(controller.process().running());
  EXPECT_TRUE(waitFor([&] { return demandSamples(controller, "web") > 0; }, seconds(10)));
  const json status = controller.psoctlJson({"status"});
  EXPECT_GT(status.value("rejected_messages", 0), 0) << status.dump();
}

// A hello whose system name would split a header or a log line is refused at
// the codec; the controller stays up and stores nothing of it.
TEST(Security, ControlCharactersInNamesAreRefusedAtTheCodec) {
  TempDir dir;
  ControllerProcess controller(dir, kBinaries);
  ASSERT_TRUE(controller.started());
  Impostor peer(controller.zmqEndpoint(), {});
  const protocol::Hello hello = helloAs("edge-x", "web\r\nX-Injected: 1");
  std::vector<protocol::Message> replies;
  ASSERT_TRUE(waitFor(
      [&] {
        peer.send(hello);
        auto more = peer.collect(milliseconds(100));
        replies.insert(replies.end(), more.begin(), more.end());
        return controller.tryPsoctlJson({"status"}).value("rejected_messages", 0) >= 3;
      },
      seconds(15)));
  EXPECT_TRUE(replies.empty());
  EXPECT_NE(readFile(dir.file("controller.log")).find("invalid_name"), std::string::npos);
  EXPECT_TRUE(agentRecord(controller, "edge-x").is_null());
  EXPECT_TRUE(controller.process().running());
}

}  // namespace
}  // namespace pso::testing
