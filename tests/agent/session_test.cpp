#include "agent/session.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "agent/exec_actuator.h"
#include "agent/spool.h"
#include "agent_test_util.h"
#include "common/clock.h"

namespace pso::agent {
namespace {

using namespace std::chrono_literals;
using testing::TempDir;
using testing::TestController;
using testing::waitUntil;

protocol::TelemetryBatch makeSessionBatch(double value) {
  protocol::TelemetryBatch batch;
  batch.agent_id = "edge-1";
  batch.series = {{"web", "demand"}, {"web", "replicas"}};
  batch.timestamps_ms = {common::wallMs()};
  batch.values = {{value}, {1.0}};
  return batch;
}

std::vector<uint64_t> telemetrySeqs(const TestController& controller) {
  std::vector<uint64_t> seqs;
  for (const auto& batch : controller.all<protocol::TelemetryBatch>()) seqs.push_back(batch.seq);
  return seqs;
}

std::vector<uint64_t> range(uint64_t first, uint64_t last) {
  std::vector<uint64_t> out;
  for (uint64_t seq = first; seq <= last; ++seq) out.push_back(seq);
  return out;
}

class SessionTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto spool = Spool::open(dir_.file("spool.db"), 1000, &metrics_);
    ASSERT_TRUE(spool.ok()) << spool.error().message;
    spool_ = std::move(spool).value();
    controller_ = std::make_unique<TestController>(context_);
  }

  void TearDown() override {
    if (session_) session_->close();
  }

  // A real exec actuator behind the session: each execution appends a line.
  void startSession(SessionOptions options = {}) {
    options.agent_id = "edge-1";
    options.endpoint = controller_->endpoint();
    options.dealer.reconnect_ivl_ms = 50;
    options.dealer.reconnect_ivl_max_ms = 200;
    actuator_ = std::make_unique<ExecActuator>(
        "web", std::vector<std::string>{"sh", "-c", "echo {replicas} >> " + dir_.file("runs")},
        std::vector<std::string>{}, 5s, 1);
    session_ = std::make_unique<Session>(
        context_, options, *spool_,
        [] {
          protocol::Hello hello;
          hello.version = "test";
          protocol::SystemInfo web;
          web.name = "web";
          web.actuator = "exec";
          web.min_replicas = 1;
          web.max_replicas = 5;
          web.replicas = 1;
          hello.systems.push_back(web);
          return hello;
        },
        [this](const protocol::Directive& directive) {
          ++executions_;
          ActuationResult outcome = actuator_->apply(directive);
          protocol::DirectiveResult result;
          result.status = actuationStatusName(outcome.status);
          result.replicas = outcome.replicas;
          result.message = outcome.message;
          return result;
        },
        &metrics_);
    Status status = session_->start();
    ASSERT_TRUE(status.ok()) << status.error().message;
  }

  // Runs both ends (they share this thread) until `done` or 10 s pass.
  bool runUntil(const std::function<bool()>& done) {
    return waitUntil(done, 10s, [this] {
      session_->pollOnce(5);
      controller_->drain(5);
    });
  }

  void appendBatches(int count) {
    for (int i = 0; i < count; ++i) {
      protocol::TelemetryBatch batch = makeSessionBatch(i);
      ASSERT_TRUE(spool_->append(batch).ok());
    }
    if (session_) session_->pump();
  }

  void welcome(uint64_t last_seq) {
    protocol::Welcome message;
    message.controller_id = "test-controller";
    message.ts_ms = common::wallMs();
    message.last_seq = last_seq;
    controller_->send("edge-1", message);
  }

  TempDir dir_;
  zmq::context_t context_{1};
  common::MetricsRegistry metrics_;
  std::unique_ptr<Spool> spool_;
  std::unique_ptr<TestController> controller_;
  std::unique_ptr<ExecActuator> actuator_;
  std::unique_ptr<Session> session_;
  int executions_ = 0;
};

TEST_F(SessionTest, HelloWelcomeTelemetryInOrderAndAckDeletes) {
  appendBatches(3);  // spooled before the session exists, e.g. from a previous run
  startSession();
  ASSERT_TRUE(runUntil([&] { return controller_->count<protocol::Hello>() > 0; }));
  const auto& first = controller_->received().front();
  EXPECT_FALSE(first.identity.empty());  // the ROUTER's id for the connection, not the agent's
  auto hello = std::get<protocol::Hello>(first.message);
  EXPECT_EQ(hello.agent_id, "edge-1");
  ASSERT_EQ(hello.systems.size(), 1u);
  EXPECT_EQ(hello.systems[0].name, "web");
  // Nothing is sent before the controller has said where to start.
  EXPECT_EQ(controller_->count<protocol::TelemetryBatch>(), 0u);

  welcome(0);
  ASSERT_TRUE(runUntil([&] { return controller_->count<protocol::TelemetryBatch>() >= 3; }));
  EXPECT_TRUE(session_->welcomed());
  EXPECT_EQ(telemetrySeqs(*controller_), range(1, 3));
  for (const auto& batch : controller_->all<protocol::TelemetryBatch>()) {
    EXPECT_EQ(batch.agent_id, "edge-1");
    EXPECT_EQ(batch.oldest_seq, 1u);
  }

  // A heartbeat follows the welcome, carrying the spool's state.
  ASSERT_TRUE(runUntil([&] { return controller_->count<protocol::Heartbeat>() >= 1; }));
  auto heartbeat = controller_->all<protocol::Heartbeat>().front();
  EXPECT_EQ(heartbeat.agent_id, "edge-1");
  EXPECT_EQ(heartbeat.spool_pending, 3u);
  EXPECT_GT(heartbeat.ts_ms, 0);

  controller_->send("edge-1", protocol::Ack{2});
  ASSERT_TRUE(runUntil([&] { return spool_->pendingCount() == 1; }));
  EXPECT_EQ(spool_->oldestSeq(), 3u);

  appendBatches(2);
  ASSERT_TRUE(runUntil([&] { return controller_->count<protocol::TelemetryBatch>() >= 5; }));
  EXPECT_EQ(telemetrySeqs(*controller_), range(1, 5));
  controller_->send("edge-1", protocol::Ack{5});
  ASSERT_TRUE(runUntil([&] { return spool_->pendingCount() == 0; }));
  EXPECT_EQ(controller_->undecodable(), 0);
}

TEST_F(SessionTest, WelcomeRewindsToTheControllersLastSeq) {
  startSession();
  ASSERT_TRUE(runUntil([&] { return controller_->count<protocol::Hello>() > 0; }));
  appendBatches(5);
  welcome(0);
  ASSERT_TRUE(runUntil([&] { return controller_->count<protocol::TelemetryBatch>() >= 5; }));
  controller_->clear();

  // A restarted controller that stored only through seq 2 says so in its welcome.
  welcome(2);
  ASSERT_TRUE(runUntil([&] { return controller_->count<protocol::TelemetryBatch>() >= 3; }));
  EXPECT_EQ(telemetrySeqs(*controller_), range(3, 5));
  EXPECT_EQ(spool_->pendingCount(), 3u);  // welcome deleted 1 and 2
  EXPECT_EQ(spool_->oldestSeq(), 3u);
  EXPECT_EQ(session_->lastWelcome().last_seq, 2u);
}

TEST_F(SessionTest, DirectiveExecutesOnceAndARepeatGetsTheStoredResult) {
  startSession();
  ASSERT_TRUE(runUntil([&] { return controller_->count<protocol::Hello>() > 0; }));
  welcome(0);
  protocol::Directive directive;
  directive.id = "cycle-7/web";
  directive.system = "web";
  directive.action = "scale";
  directive.replicas = 3;
  directive.reason = "forecast peak";
  controller_->send("edge-1", directive);
  ASSERT_TRUE(runUntil([&] { return controller_->count<protocol::DirectiveResult>() >= 1; }));
  controller_->send("edge-1", directive);  // e.g. the controller did not see the result
  ASSERT_TRUE(runUntil([&] { return controller_->count<protocol::DirectiveResult>() >= 2; }));

  auto results = controller_->all<protocol::DirectiveResult>();
  for (const auto& result : results) {
    EXPECT_EQ(result.agent_id, "edge-1");
    EXPECT_EQ(result.directive_id, "cycle-7/web");
    EXPECT_EQ(result.system, "web");
    EXPECT_EQ(result.status, "applied");
    EXPECT_EQ(result.replicas, 3);
  }
  EXPECT_EQ(results[0].ts_ms, results[1].ts_ms);  // the very same stored result
  EXPECT_EQ(executions_, 1);
  EXPECT_EQ(testing::readFile(dir_.file("runs")), "3\n");
  EXPECT_EQ(session_->directivesExecuted(), 1u);
  EXPECT_EQ(session_->directivesRepeated(), 1u);
  EXPECT_EQ(metrics_.value("pso_agent_directive_repeats_total"), 1.0);
}

TEST_F(SessionTest, DirectiveRepeatAfterAgentRestartIsNotExecutedAgain) {
  protocol::DirectiveResult earlier;
  earlier.agent_id = "edge-1";
  earlier.directive_id = "d-9";
  earlier.system = "web";
  earlier.status = "applied";
  earlier.replicas = 4;
  earlier.message = "from before the restart";
  ASSERT_TRUE(spool_->storeDirectiveResult("d-9", protocol::encode(earlier)).ok());

  startSession();
  ASSERT_TRUE(runUntil([&] { return controller_->count<protocol::Hello>() > 0; }));
  welcome(0);
  protocol::Directive directive;
  directive.id = "d-9";
  directive.system = "web";
  directive.action = "scale";
  directive.replicas = 4;
  controller_->send("edge-1", directive);
  ASSERT_TRUE(runUntil([&] { return controller_->count<protocol::DirectiveResult>() >= 1; }));
  EXPECT_EQ(controller_->all<protocol::DirectiveResult>()[0].message, "from before the restart");
  EXPECT_EQ(executions_, 0);
}

TEST_F(SessionTest, MalformedFramesAreCountedAndTheSessionCarriesOn) {
  startSession();
  ASSERT_TRUE(runUntil([&] { return controller_->count<protocol::Hello>() > 0; }));
  welcome(0);
  ASSERT_TRUE(runUntil([&] { return session_->welcomed(); }));
  controller_->sendRaw("edge-1", std::string("\xc1\x00garbage", 9));
  protocol::Heartbeat not_for_agents;
  not_for_agents.agent_id = "someone";
  controller_->send("edge-1", not_for_agents);
  ASSERT_TRUE(runUntil([&] { return session_->refusedFrames() >= 2; }));
  EXPECT_EQ(metrics_.total("pso_agent_rx_refused_total"), 2.0);
  EXPECT_EQ(metrics_.value("pso_agent_rx_refused_total", {{"reason", "unexpected"}}), 1.0);

  appendBatches(1);
  ASSERT_TRUE(runUntil([&] { return controller_->count<protocol::TelemetryBatch>() >= 1; }));
  controller_->send("edge-1", protocol::Ack{1});
  ASSERT_TRUE(runUntil([&] { return spool_->pendingCount() == 0; }));
}

TEST_F(SessionTest, InFlightWindowIsBounded) {
  SessionOptions options;
  options.window = 16;
  startSession(options);
  ASSERT_TRUE(runUntil([&] { return controller_->count<protocol::Hello>() > 0; }));
  appendBatches(40);
  welcome(0);
  ASSERT_TRUE(runUntil([&] { return controller_->count<protocol::TelemetryBatch>() >= 16; }));
  // The window is full: more loop turns send nothing new.
  for (int i = 0; i < 20; ++i) {
    session_->pollOnce(1);
    controller_->drain(1);
  }
  EXPECT_EQ(telemetrySeqs(*controller_), range(1, 16));
  EXPECT_EQ(session_->sendCursor(), 17u);

  controller_->send("edge-1", protocol::Ack{10});
  ASSERT_TRUE(runUntil([&] { return controller_->count<protocol::TelemetryBatch>() >= 26; }));
  EXPECT_EQ(telemetrySeqs(*controller_), range(1, 26));
}

TEST_F(SessionTest, ResendsFromTheOldestUnackedWhenAcksStop) {
  SessionOptions options;
  options.resend_after_ms = 200;
  startSession(options);
  ASSERT_TRUE(runUntil([&] { return controller_->count<protocol::Hello>() > 0; }));
  appendBatches(2);
  welcome(0);
  ASSERT_TRUE(runUntil([&] { return controller_->count<protocol::TelemetryBatch>() >= 2; }));
  controller_->send("edge-1", protocol::Ack{1});
  // No ack for seq 2: it comes again.
  ASSERT_TRUE(runUntil([&] { return controller_->count<protocol::TelemetryBatch>() >= 3; }));
  EXPECT_EQ(telemetrySeqs(*controller_), (std::vector<uint64_t>{1, 2, 2}));
  EXPECT_GE(session_->resends(), 1u);
}

TEST_F(SessionTest, HelloIsRepeatedUntilAWelcomeComes) {
  SessionOptions options;
  options.hello_retry_ms = 100;
  startSession(options);
  ASSERT_TRUE(runUntil([&] { return controller_->count<protocol::Hello>() >= 3; }));
  EXPECT_FALSE(session_->welcomed());
  welcome(0);
  ASSERT_TRUE(runUntil([&] { return session_->welcomed(); }));
  std::size_t hellos = controller_->count<protocol::Hello>();
  for (int i = 0; i < 30; ++i) {
    session_->pollOnce(10);
    controller_->drain(0);
  }
  EXPECT_EQ(controller_->count<protocol::Hello>(), hellos);  // welcomed: no more
}

TEST_F(SessionTest, SilentControllerWithTelemetryWaitingGetsAnotherHello) {
  SessionOptions options;
  options.rehello_after_ms = 300;
  options.resend_after_ms = 100'000;
  startSession(options);
  ASSERT_TRUE(runUntil([&] { return controller_->count<protocol::Hello>() > 0; }));
  welcome(0);
  ASSERT_TRUE(runUntil([&] { return session_->welcomed(); }));
  std::size_t hellos = controller_->count<protocol::Hello>();
  appendBatches(1);
  // No ack, no message at all: the session assumes the controller lost it.
  ASSERT_TRUE(runUntil([&] { return controller_->count<protocol::Hello>() > hellos; }));
  EXPECT_FALSE(session_->welcomed());
  welcome(0);
  ASSERT_TRUE(runUntil([&] { return controller_->count<protocol::TelemetryBatch>() >= 2; }));
  EXPECT_EQ(telemetrySeqs(*controller_), (std::vector<uint64_t>{1, 1}));
}

TEST_F(SessionTest, ControllerRestartOnTheSameEndpointGetsHelloAndEverythingUnacked) {
  startSession();
  ASSERT_TRUE(runUntil([&] { return controller_->count<protocol::Hello>() > 0; }));
  appendBatches(3);
  welcome(0);
  ASSERT_TRUE(runUntil([&] { return controller_->count<protocol::TelemetryBatch>() >= 3; }));
  controller_->send("edge-1", protocol::Ack{1});
  ASSERT_TRUE(runUntil([&] { return spool_->pendingCount() == 2; }));

  // The controller goes away and a new one binds the same endpoint.
  const std::string endpoint = controller_->endpoint();
  controller_.reset();
  // Binding again may need a moment while the old listener closes.
  ASSERT_TRUE(waitUntil(
      [&] {
        try {
          controller_ = std::make_unique<TestController>(context_, endpoint);
          return true;
        } catch (const std::exception&) {
          return false;
        }
      },
      10s, [] { std::this_thread::sleep_for(20ms); }));
  ASSERT_TRUE(runUntil([&] { return controller_->count<protocol::Hello>() > 0; }));
  welcome(1);  // it had stored seq 1 before it went down
  ASSERT_TRUE(runUntil([&] { return controller_->count<protocol::TelemetryBatch>() >= 2; }));
  EXPECT_EQ(telemetrySeqs(*controller_), range(2, 3));
}

}  // namespace
}  // namespace pso::agent
