#include "controller/service/zap_handler.h"

#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>

#include "common/curve_keys.h"
#include "common/metrics.h"
#include "tests/common/temp_dir.h"

namespace pso::controller::service {
namespace {

using namespace std::chrono_literals;

// Waits for `done`, polling, up to `timeout`.
template <typename Fn>
bool waitFor(Fn done, std::chrono::milliseconds timeout) {
  const auto until = std::chrono::steady_clock::now() + timeout;
  while (!done()) {
    if (std::chrono::steady_clock::now() >= until) return false;
    std::this_thread::sleep_for(10ms);
  }
  return true;
}

void writeFile(const std::string& path, const std::string& text) {
  std::ofstream out(path);
  out << text;
}

// A CURVE server ROUTER and clients on loopback, with the real ZAP handler in
// the same context.
class ZapHandlerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    keys_dir_ = dir_.file("agents.d");
    std::filesystem::create_directories(keys_dir_);
    server_keys_ = *common::generateCurveKeyPair();
    auto handler = ZapHandler::start(context_, keys_dir_, metrics_);
    ASSERT_TRUE(handler.ok()) << handler.error().message;
    handler_ = std::move(*handler);
    router_ = zmq::socket_t(context_, zmq::socket_type::router);
    router_.set(zmq::sockopt::curve_server, 1);
    router_.set(zmq::sockopt::curve_secretkey, server_keys_.secret_key);
    router_.set(zmq::sockopt::linger, 0);
    router_.bind("tcp://127.0.0.1:0");
    endpoint_ = router_.get(zmq::sockopt::last_endpoint);
  }

  common::CurveKeyPair authorize(const std::string& agent_id) {
    common::CurveKeyPair pair = *common::generateCurveKeyPair();
    writeFile(keys_dir_ + "/" + agent_id + ".pub", pair.public_key + "\n");
    return pair;
  }

  zmq::socket_t connect(const common::CurveKeyPair& client, const std::string& routing_id) {
    zmq::socket_t dealer(context_, zmq::socket_type::dealer);
    dealer.set(zmq::sockopt::routing_id, routing_id);
    dealer.set(zmq::sockopt::curve_serverkey, server_keys_.public_key);
    dealer.set(zmq::sockopt::curve_publickey, client.public_key);
    dealer.set(zmq::sockopt::curve_secretkey, client.secret_key);
    dealer.set(zmq::sockopt::linger, 0);
    dealer.connect(endpoint_);
    return dealer;
  }

  // The next message on the ROUTER within `timeout`: (routing id, body, User-Id).
  struct Received {
    std::string routing_id, body, user_id;
  };
  std::optional<Received> receive(std::chrono::milliseconds timeout) {
    zmq::pollitem_t item{static_cast<void*>(router_), 0, ZMQ_POLLIN, 0};
    if (zmq::poll(&item, 1, timeout) <= 0) return std::nullopt;
    zmq::message_t id;
    zmq::message_t body;
    EXPECT_TRUE(router_.recv(id));
    EXPECT_TRUE(router_.recv(body));
    const char* user = body.gets("User-Id");
    return Received{id.to_string(), body.to_string(), user ? user : ""};
  }

  double zap(const std::string& result) {
    return metrics_.value("pso_zap_requests_total", {{"result", result}});
  }

  common::testing::TempDir dir_;
  std::string keys_dir_;
  zmq::context_t context_{1};
  common::MetricsRegistry metrics_;
  common::CurveKeyPair server_keys_;
  std::unique_ptr<ZapHandler> handler_;
  zmq::socket_t router_;
  std::string endpoint_;
};

TEST_F(ZapHandlerTest, AnAuthorizedKeyGetsThroughWithItsFileNameAsUserId) {
  const common::CurveKeyPair edge = authorize("edge-01");
  zmq::socket_t agent = connect(edge, "edge-01");
  agent.send(zmq::str_buffer("hello"), zmq::send_flags::none);
  auto got = receive(5s);
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(got->body, "hello");
  EXPECT_EQ(got->user_id, "edge-01");
  EXPECT_EQ(zap("accepted"), 1.0);
}

TEST_F(ZapHandlerTest, AnUnknownKeyNeverDeliversAMessage) {
  const common::CurveKeyPair edge = authorize("edge-01");
  zmq::socket_t impostor = connect(*common::generateCurveKeyPair(), "edge-01");
  impostor.send(zmq::str_buffer("forged"), zmq::send_flags::dontwait);
  ASSERT_TRUE(waitFor([&] { return zap("unknown_key") >= 1.0; }, 5s));
  // The real agent still gets through, and only its message arrives.
  zmq::socket_t agent = connect(edge, "edge-01b");
  agent.send(zmq::str_buffer("real"), zmq::send_flags::none);
  auto got = receive(5s);
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(got->body, "real");
  EXPECT_EQ(got->user_id, "edge-01");
  EXPECT_FALSE(receive(200ms).has_value());
}

TEST_F(ZapHandlerTest, KeysAddedAndRemovedTakeEffectWithoutARestart) {
  const common::CurveKeyPair late = *common::generateCurveKeyPair();
  {
    zmq::socket_t early = connect(late, "edge-02");
    early.send(zmq::str_buffer("too early"), zmq::send_flags::dontwait);
    ASSERT_TRUE(waitFor([&] { return zap("unknown_key") >= 1.0; }, 5s));
  }
  writeFile(keys_dir_ + "/edge-02.pub", late.public_key + "\n");
  zmq::socket_t admitted = connect(late, "edge-02");
  admitted.send(zmq::str_buffer("now"), zmq::send_flags::none);
  auto got = receive(10s);
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(got->body, "now");
  EXPECT_EQ(got->user_id, "edge-02");

  std::filesystem::remove(keys_dir_ + "/edge-02.pub");
  const double refused_before = zap("unknown_key");
  zmq::socket_t removed = connect(late, "edge-02c");
  removed.send(zmq::str_buffer("after removal"), zmq::send_flags::dontwait);
  ASSERT_TRUE(waitFor([&] { return zap("unknown_key") > refused_before; }, 10s));
}

TEST(AuthorizedKeys, SkipsBadFileNamesBadKeysAndKeysListedTwice) {
  common::testing::TempDir dir;
  const std::string d = dir.path().string();
  const std::string shared = common::generateCurveKeyPair()->public_key;
  const std::string good = common::generateCurveKeyPair()->public_key;
  writeFile(d + "/web-1.pub", good + "\n");
  writeFile(d + "/bad name.pub", common::generateCurveKeyPair()->public_key + "\n");
  writeFile(d + "/broken.pub", "not a key\n");
  writeFile(d + "/a.pub", shared + "\n");
  writeFile(d + "/b.pub", shared + "\n");
  writeFile(d + "/README", "ignored: not a .pub file\n");
  AuthorizedKeys keys(d);
  keys.refresh(0);
  EXPECT_EQ(keys.size(), 1u);
  EXPECT_EQ(keys.agentFor(*common::decodeCurveKey(good)), "web-1");
  EXPECT_FALSE(keys.agentFor(*common::decodeCurveKey(shared)).has_value());
  EXPECT_EQ(keys.problems().size(), 3u);
}

TEST(AuthorizedKeys, AMissingDirectoryLetsNobodyIn) {
  AuthorizedKeys keys("/nonexistent/agents.d");
  keys.refresh(0);
  EXPECT_EQ(keys.size(), 0u);
  ASSERT_EQ(keys.problems().size(), 1u);
  EXPECT_NE(keys.problems()[0].find("/nonexistent/agents.d"), std::string::npos);
}

}  // namespace
}  // namespace pso::controller::service
