// The ingest loop through a real ROUTER socket: a DEALER plays the agent.

#include <gtest/gtest.h>

#include "common/clock.h"
#include "common/sqlite.h"
#include "controller/store/store.h"
#include "protocol/codec.h"
#include "tests/controller/service/service_test_support.h"

namespace pso::controller::service::testing {
namespace {

using nlohmann::json;
using std::chrono::milliseconds;
using std::chrono::seconds;

class IngestTest : public ServiceTest {};

TEST_F(IngestTest, HelloIsAnsweredWithWelcomeAndRegistersTheAgent) {
  ASSERT_NO_FATAL_FAILURE(startController());
  TestAgent agent(endpoint(), "agent-1");
  auto welcome = agent.sayHello({webSystem()});
  ASSERT_TRUE(welcome.has_value());
  EXPECT_EQ(welcome->controller_id, "test-controller");
  EXPECT_EQ(welcome->last_seq, 0u);
  EXPECT_EQ(welcome->heartbeat_interval_ms, 1000);

  auto record = controller().store().agent("agent-1");
  ASSERT_TRUE(record.ok());
  ASSERT_TRUE(record.value().has_value());
  EXPECT_TRUE(record.value()->connected);
  EXPECT_EQ(record.value()->version, "test-agent 1.0");
  EXPECT_EQ(metric("pso_agents_connected"), 1.0);
}

TEST_F(IngestTest, TelemetryIsAckedAndADuplicateIsReackedButNotStoredTwice) {
  ASSERT_NO_FATAL_FAILURE(startController());
  TestAgent agent(endpoint(), "agent-1");
  ASSERT_TRUE(agent.sayHello({webSystem()}));
  const int64_t now = common::wallMs();

  agent.send(telemetry("agent-1", 1, {10, 11, 12}, 2, now - 10000));
  auto ack1 = agent.receiveA<protocol::Ack>();
  ASSERT_TRUE(ack1);
  EXPECT_EQ(ack1->seq, 1u);
  agent.send(telemetry("agent-1", 2, {13, 14}, 2, now));
  auto ack2 = agent.receiveA<protocol::Ack>();
  ASSERT_TRUE(ack2);
  EXPECT_EQ(ack2->seq, 2u);

  // The same batch again (the agent did not see the ack): acked, not stored.
  agent.send(telemetry("agent-1", 2, {13, 14}, 2, now));
  auto again = agent.receiveA<protocol::Ack>();
  ASSERT_TRUE(again);
  EXPECT_EQ(again->seq, 2u);
  // A gap (seq 5 after 2 while the agent still holds 3) is not stored either and
  // is answered with what is held.
  auto ahead = telemetry("agent-1", 5, {99}, 2, now + 1000);
  ahead.oldest_seq = 3;
  agent.send(ahead);
  auto gap = agent.receiveA<protocol::Ack>();
  ASSERT_TRUE(gap);
  EXPECT_EQ(gap->seq, 2u);

  auto samples = controller().store().samples("web", "demand", 0, now + 60000);
  ASSERT_TRUE(samples.ok());
  ASSERT_EQ(samples->size(), 5u);
  EXPECT_DOUBLE_EQ(samples->front().value, 10.0);
  EXPECT_DOUBLE_EQ(samples->back().value, 14.0);
  EXPECT_EQ(metric("pso_telemetry_batches_total", {{"outcome", "stored"}}), 2.0);
  EXPECT_EQ(metric("pso_telemetry_batches_total", {{"outcome", "duplicate"}}), 1.0);
  EXPECT_EQ(metric("pso_telemetry_batches_total", {{"outcome", "out_of_order"}}), 1.0);
  EXPECT_EQ(metric("pso_telemetry_samples_total"), 10.0);  // demand + replicas

  // A new session learns what is stored.
  auto welcome = agent.sayHello({webSystem()});
  ASSERT_TRUE(welcome);
  EXPECT_EQ(welcome->last_seq, 2u);
}

TEST_F(IngestTest, ManyBatchesInFlightAreAllStoredAndAckedInOrder) {
  ASSERT_NO_FATAL_FAILURE(startController());
  TestAgent agent(endpoint(), "agent-1");
  ASSERT_TRUE(agent.sayHello({webSystem()}));
  const int64_t start = common::wallMs() - 200000;
  constexpr uint64_t kBatches = 150;
  for (uint64_t seq = 1; seq <= kBatches; ++seq) {
    agent.send(telemetry("agent-1", seq, {static_cast<double>(seq)}, 2,
                         start + static_cast<int64_t>(seq) * 1000));
  }
  // Acks never go back, and at most one comes per batch (batches written
  // together share one).
  uint64_t last = 0;
  uint64_t acks = 0;
  while (last < kBatches) {
    auto ack = agent.receiveA<protocol::Ack>();
    ASSERT_TRUE(ack) << "after ack " << last;
    EXPECT_GE(ack->seq, last);
    last = ack->seq;
    ASSERT_LE(++acks, kBatches);
  }
  EXPECT_EQ(last, kBatches);
  auto samples = controller().store().samples("web", "demand", 0, common::wallMs() + 1);
  ASSERT_TRUE(samples.ok());
  EXPECT_EQ(samples->size(), kBatches);
  // Batching: fewer transactions than batches is allowed, more is not.
  EXPECT_LE(metric("pso_telemetry_transactions_total"), static_cast<double>(kBatches));
}

TEST_F(IngestTest, GarbageTruncatedAndMisframedMessagesAreRefusedAndCounted) {
  ASSERT_NO_FATAL_FAILURE(startController());
  TestAgent agent(endpoint(), "agent-1");
  protocol::Hello hello;
  hello.agent_id = "agent-1";
  hello.version = "1";
  hello.systems = {webSystem()};
  const std::string valid = protocol::encode(hello);

  agent.sendFrames({"this is not msgpack"});
  agent.sendFrames({valid.substr(0, valid.size() / 2)});
  agent.sendFrames({valid, valid});                     // two message frames in one ZeroMQ message
  agent.sendFrames({std::string("\x81\xa1v\x01", 4)});  // {"v": 1} without a type

  // Still serving: the next valid hello is answered.
  auto welcome = agent.sayHello({webSystem()});
  ASSERT_TRUE(welcome.has_value());

  EXPECT_EQ(controller().metrics().total("pso_rejected_messages_total"), 4.0);
  EXPECT_GE(metric("pso_rejected_messages_total", {{"reason", "malformed"}}), 3.0);
  const HttpReply metrics = get("/metrics");
  ASSERT_EQ(metrics.status, 200);
  EXPECT_NE(metrics.body.find("pso_rejected_messages_total{reason=\"malformed\"}"),
            std::string::npos)
      << metrics.body;
  const json status = get("/api/v1/status").json();
  EXPECT_EQ(status["rejected_messages"], 4);
}

TEST_F(IngestTest, RequestStyleEnvelopeWithAnEmptyDelimiterIsAnsweredInKind) {
  ASSERT_NO_FATAL_FAILURE(startController());
  TestAgent agent(endpoint(), "agent-1");
  protocol::Hello hello;
  hello.agent_id = "agent-1";
  hello.version = "1";
  hello.systems = {webSystem()};
  agent.sendFrames({"", protocol::encode(hello)});
  const auto frames = agent.receiveFrames();
  ASSERT_EQ(frames.size(), 2u);
  EXPECT_TRUE(frames[0].empty());
  auto welcome = protocol::decode(frames[1]);
  ASSERT_TRUE(welcome.ok()) << welcome.error().message;
  EXPECT_TRUE(std::holds_alternative<protocol::Welcome>(welcome.value()));
  EXPECT_EQ(controller().metrics().total("pso_rejected_messages_total"), 0.0);
}

// A connection speaks for the agent of its welcomed hello and no other; a
// connection without one speaks for nobody and is told so.
TEST_F(IngestTest, MessageClaimingAnotherAgentIdIsRefused) {
  ASSERT_NO_FATAL_FAILURE(startController());
  TestAgent agent(endpoint(), "agent-1");
  ASSERT_TRUE(agent.sayHello({webSystem()}));
  agent.send(telemetry("agent-2", 1, {1}, 1, common::wallMs()));
  ASSERT_TRUE(waitFor(
      [&] {
        return metric("pso_rejected_messages_total", {{"reason", "identity"}}) == 1.0;
      },
      seconds(10)));
  auto other = controller().store().agent("agent-2");
  ASSERT_TRUE(other.ok());
  EXPECT_FALSE(other.value().has_value());

  // Its own telemetry still counts.
  agent.send(telemetry("agent-1", 1, {5}, 1, common::wallMs()));
  auto ack = agent.receiveA<protocol::Ack>();
  ASSERT_TRUE(ack);
  EXPECT_EQ(ack->seq, 1u);

  // Telemetry on a connection no hello bound: refused and answered `refused`.
  TestAgent stranger(endpoint(), "agent-1");
  stranger.send(telemetry("agent-1", 2, {1e9}, 1, common::wallMs()));
  auto refused = stranger.receiveA<protocol::Refused>();
  ASSERT_TRUE(refused);
  EXPECT_EQ(refused->reason, "no_session");
  EXPECT_EQ(metric("pso_rejected_messages_total", {{"reason", "no_session"}}), 1.0);
  auto samples = controller().store().samples("web", "demand", 0, INT64_MAX);
  ASSERT_TRUE(samples.ok());
  ASSERT_EQ(samples->size(), 1u);
  EXPECT_EQ(samples->front().value, 5.0);
}

// Two agents configured with one id (a copied config): the second connection
// is refused while the first lives, the first keeps its stream, and once the
// first is gone the second takes over. Repeated: nothing crashes.
TEST_F(IngestTest, OnlyOneLiveConnectionPerAgentIdOnPlainTcp) {
  ASSERT_NO_FATAL_FAILURE(startController());
  for (int round = 0; round < 3; ++round) {
    auto first = std::make_unique<TestAgent>(endpoint(), "twin");
    ASSERT_TRUE(first->sayHello({webSystem()})) << "round " << round;

    TestAgent second(endpoint(), "twin");
    protocol::Hello hello;
    hello.agent_id = "twin";
    hello.version = "1";
    second.send(hello);
    auto refused = second.receiveA<protocol::Refused>();
    ASSERT_TRUE(refused) << "round " << round;
    EXPECT_EQ(refused->reason, "id_in_use");

    // The first keeps its stream. (The controller checked the first was alive
    // with an ack of what it had stored, which a real agent takes as a no-op.)
    const uint64_t seq = static_cast<uint64_t>(round) + 1;
    first->send(telemetry("twin", seq, {static_cast<double>(seq)}, 1, common::wallMs()));
    std::optional<protocol::Ack> ack;
    while ((ack = first->receiveA<protocol::Ack>()) && ack->seq < seq) {
      EXPECT_EQ(ack->seq, seq - 1);
    }
    ASSERT_TRUE(ack) << "round " << round;
    EXPECT_EQ(ack->seq, seq);

    // Gone: the next hello of the second takes the id over.
    first.reset();
    std::optional<protocol::Welcome> welcome;
    ASSERT_TRUE(waitFor(
        [&] {
          second.send(hello);
          auto reply = second.receive(milliseconds(500));
          if (reply && std::holds_alternative<protocol::Welcome>(*reply)) {
            welcome = std::get<protocol::Welcome>(*reply);
          }
          return welcome.has_value();
        },
        seconds(20)))
        << "round " << round;
    EXPECT_EQ(welcome->last_seq, seq);
  }
  EXPECT_GE(metric("pso_rejected_messages_total", {{"reason", "id_in_use"}}), 3.0);
}

// Batches written in one go (here after the database was locked by another
// connection) are acked once per agent, with the position after the last of
// them: an ack covers every sequence up to its own.
TEST_F(IngestTest, BatchesWrittenTogetherAreAckedOnceWithTheLastPosition) {
  ASSERT_NO_FATAL_FAILURE(startController());
  TestAgent agent(endpoint(), "agent-1");
  ASSERT_TRUE(agent.sayHello({webSystem()}));
  auto other = common::Database::open(dir_.file("controller.db"));
  ASSERT_TRUE(other.ok()) << other.error().message;
  ASSERT_TRUE((*other)->exec("BEGIN IMMEDIATE").ok());
  const int64_t now = common::wallMs();
  for (uint64_t seq = 1; seq <= 5; ++seq) {
    agent.send(telemetry("agent-1", seq, {static_cast<double>(seq)}, 2,
                         now - 10000 + static_cast<int64_t>(seq) * 1000));
  }
  // All five reach the writer, which waits for the lock with what it took
  // first; the rest wait for the next transaction.
  ASSERT_TRUE(waitFor(
      [&] {
        return metric("pso_messages_received_total", {{"type", "telemetry"}}) >= 5.0;
      },
      seconds(20)));
  ASSERT_TRUE((*other)->exec("ROLLBACK").ok());

  std::vector<uint64_t> acked;
  while (acked.empty() || acked.back() != 5) {
    auto ack = agent.receiveA<protocol::Ack>();
    ASSERT_TRUE(ack) << "acked so far: " << acked.size();
    acked.push_back(ack->seq);
  }
  EXPECT_FALSE(agent.receive(milliseconds(300)).has_value());
  // One ack per transaction at most (the one that waited for the lock, the
  // rest, and the fifth should it have reached the writer after them), never
  // one per batch.
  EXPECT_LE(acked.size(), 3u);
  EXPECT_EQ(metric("pso_telemetry_batches_total", {{"outcome", "stored"}}), 5.0);
  auto samples = controller().store().samples("web", "demand", 0, now + 60000);
  ASSERT_TRUE(samples.ok());
  EXPECT_EQ(samples->size(), 5u);
}

// A directive delivered but never answered is sent again when the agent
// returns within its deadline, and expires at its deadline, with the reason.
// Each half has its own deadline (restart on the same database), so neither
// depends on how fast the machine is: the resend's is minutes away, and the
// expiry is awaited only after the agent has received the directive.
TEST_F(IngestTest, SentDirectiveIsResentOnReconnectAndExpiresUnanswered) {
  ASSERT_NO_FATAL_FAILURE(startController());
  auto agent = std::make_unique<TestAgent>(endpoint(), "agent-1");
  ASSERT_TRUE(agent->sayHello({webSystem()}));
  HttpReply created =
      post("/api/v1/directives", R"({"system":"web","replicas":4,"reason":"lost on the way"})");
  ASSERT_EQ(created.status, 201) << created.body;
  const std::string resent_id = created.json()["directive"]["id"];
  auto first = agent->receiveA<protocol::Directive>();
  ASSERT_TRUE(first);
  EXPECT_EQ(first->id, resent_id);

  // The agent goes away without answering, and a new connection says hello.
  agent = std::make_unique<TestAgent>(endpoint(), "agent-1");
  ASSERT_TRUE(waitFor([&] { return agent->sayHello({webSystem()}).has_value(); }, seconds(20)));
  auto again = agent->receiveA<protocol::Directive>();
  ASSERT_TRUE(again);
  EXPECT_EQ(again->id, resent_id);

  // Directives made by a controller with a five-second deadline.
  agent.reset();
  HarnessOptions options;
  options.directive_deadline = std::chrono::seconds(5);
  ASSERT_NO_FATAL_FAILURE(startController(options));
  agent = std::make_unique<TestAgent>(endpoint(), "agent-1");
  ASSERT_TRUE(waitFor([&] { return agent->sayHello({webSystem()}).has_value(); }, seconds(20)));
  created = post("/api/v1/directives", R"({"system":"web","replicas":5,"reason":"unanswered"})");
  ASSERT_EQ(created.status, 201) << created.body;
  const std::string expiring_id = created.json()["directive"]["id"];
  std::optional<protocol::Directive> delivered;
  ASSERT_TRUE(waitFor(
      [&] {
        delivered = agent->receiveA<protocol::Directive>();
        return delivered && delivered->id == expiring_id;
      },
      seconds(20)));

  // No result: expired at the deadline, and the store says why.
  std::optional<store::DirectiveRecord> record;
  ASSERT_TRUE(waitFor(
      [&] {
        auto current = controller().store().directive(expiring_id);
        if (current.ok() && current.value()) record = current.value();
        return record && record->status == "expired";
      },
      seconds(20)));
  EXPECT_NE(record->result_message.find("no result"), std::string::npos) << record->result_message;
  // Counted once the store has the status, so awaited rather than read.
  EXPECT_TRUE(waitFor(
      [&] {
        return metric("pso_directives_total", {{"status", "expired"}}) >= 1.0;
      },
      seconds(20)));
  // The first one, minutes from its deadline, is still waiting for its result.
  auto waiting = controller().store().directive(resent_id);
  ASSERT_TRUE(waiting.ok() && waiting.value());
  EXPECT_EQ(waiting.value()->status, "sent");
}

// A hello whose spool position contradicts the stored one (a new spool file
// restarted the agent's sequence, or a forged batch moved the position) gets a
// welcome the agent can use, and its batches are stored again.
TEST_F(IngestTest, WelcomeHandsOutAPositionTheAgentCanUse) {
  ASSERT_NO_FATAL_FAILURE(startController());
  TestAgent agent(endpoint(), "agent-1");
  ASSERT_TRUE(agent.sayHello({webSystem()}));
  const int64_t now = common::wallMs();
  for (uint64_t seq = 1; seq <= 5; ++seq) {
    agent.send(telemetry("agent-1", seq, {1.0}, 1, now - 10'000 + static_cast<int64_t>(seq)));
  }
  ASSERT_TRUE(waitFor(
      [&] {
        auto record = controller().store().agent("agent-1");
        return record.ok() && record.value() && record.value()->last_seq == 5;
      },
      seconds(10)));

  protocol::Hello restarted;
  restarted.agent_id = "agent-1";
  restarted.version = "1";
  restarted.systems = {webSystem()};
  restarted.next_seq = 3;  // holds batches 1 and 2 of a new sequence
  restarted.oldest_seq = 1;
  agent.send(restarted);
  auto welcome = agent.receiveA<protocol::Welcome>();
  ASSERT_TRUE(welcome);
  EXPECT_EQ(welcome->last_seq, 0u);
  agent.send(telemetry("agent-1", 1, {7.0}, 1, now));
  auto ack = agent.receiveA<protocol::Ack>();
  ASSERT_TRUE(ack);
  EXPECT_EQ(ack->seq, 1u);
  EXPECT_EQ(metric("pso_agent_position_resets_total"), 1.0);
}

// A forged sequence number far ahead is refused and counted, and the real
// stream carries on; samples outside the time window are refused one by one.
TEST_F(IngestTest, ForgedSequenceAndTimestampsAreRefusedAndCounted) {
  ASSERT_NO_FATAL_FAILURE(startController());
  TestAgent agent(endpoint(), "agent-1");
  ASSERT_TRUE(agent.sayHello({webSystem()}));
  const int64_t now = common::wallMs();
  protocol::TelemetryBatch forged = telemetry("agent-1", uint64_t{1} << 63, {1e9}, 500, now);
  forged.oldest_seq = forged.seq;
  agent.send(forged);
  auto ack = agent.receiveA<protocol::Ack>();
  ASSERT_TRUE(ack);
  EXPECT_EQ(ack->seq, 0u);
  EXPECT_EQ(metric("pso_telemetry_batches_total", {{"outcome", "refused"}}), 1.0);
  EXPECT_EQ(metric("pso_rejected_messages_total", {{"reason", "seq_window"}}), 1.0);

  protocol::TelemetryBatch batch = telemetry("agent-1", 1, {10.0, 11.0, 12.0}, 2, now);
  batch.timestamps_ms = {INT64_MAX, now, 0};
  agent.send(batch);
  ack = agent.receiveA<protocol::Ack>();
  ASSERT_TRUE(ack);
  EXPECT_EQ(ack->seq, 1u);
  EXPECT_EQ(metric("pso_telemetry_samples_refused_total", {{"reason", "too_new"}}), 2.0);
  EXPECT_EQ(metric("pso_telemetry_samples_refused_total", {{"reason", "too_old"}}), 2.0);
  auto samples = controller().store().samples("web", "demand", 0, INT64_MAX);
  ASSERT_TRUE(samples.ok());
  ASSERT_EQ(samples->size(), 1u);
  EXPECT_EQ(samples->front().value, 11.0);
}

// A system name belongs to the first agent that declared it: another agent's
// declaration is refused in its welcome, its telemetry for that system is not
// stored, and the owner's bounds stay.
TEST_F(IngestTest, ASystemAnotherAgentOwnsIsRefusedOnBothSides) {
  ASSERT_NO_FATAL_FAILURE(startController());
  TestAgent owner(endpoint(), "owner");
  auto welcome = owner.sayHello({webSystem()});
  ASSERT_TRUE(welcome);
  EXPECT_TRUE(welcome->conflicts.empty());

  TestAgent hijacker(endpoint(), "hijacker");
  protocol::SystemInfo big = webSystem();
  big.max_replicas = 500;
  auto refused = hijacker.sayHello({big});
  ASSERT_TRUE(refused);
  ASSERT_EQ(refused->conflicts.size(), 1u);
  EXPECT_EQ(refused->conflicts[0].system, "web");
  EXPECT_EQ(refused->conflicts[0].owner, "owner");
  hijacker.send(telemetry("hijacker", 1, {1e6}, 400, common::wallMs()));
  ASSERT_TRUE(hijacker.receiveA<protocol::Ack>());
  EXPECT_GE(metric("pso_telemetry_samples_refused_total", {{"reason", "not_owned"}}), 2.0);

  auto system = controller().store().system("web");
  ASSERT_TRUE(system.ok() && system.value());
  EXPECT_EQ(system.value()->agent_id, "owner");
  EXPECT_EQ(system.value()->info.max_replicas, webSystem().max_replicas);
  const json agents = get("/api/v1/agents").json();
  bool shown = false;
  for (const auto& a : agents["agents"]) {
    if (a["id"] == "hijacker") shown = a.dump().find("owner") != std::string::npos;
  }
  EXPECT_TRUE(shown) << agents.dump();
}

TEST_F(IngestTest, HealthAndDirectiveResultsAreStored) {
  ASSERT_NO_FATAL_FAILURE(startController());
  auto agent = connectWebAgent("agent-1", {5, 5, 5});
  ASSERT_TRUE(agent);

  protocol::Health health;
  health.agent_id = "agent-1";
  health.checks = {
      {"web", "http:http://127.0.0.1:1/healthz", "ok", 3.5, "", common::wallMs()},
      {"web", "tcp:127.0.0.1:2", "failing", 0, "connection refused", common::wallMs()}};
  agent->send(health);

  const HttpReply created =
      post("/api/v1/directives", R"({"system":"web","replicas":4,"reason":"test"})");
  ASSERT_EQ(created.status, 201) << created.body;
  const std::string id = created.json()["directive"]["id"];
  auto directive = agent->receiveA<protocol::Directive>();
  ASSERT_TRUE(directive);
  EXPECT_EQ(directive->id, id);

  protocol::DirectiveResult result;
  result.agent_id = "agent-1";
  result.directive_id = id;
  result.system = "web";
  result.status = "applied";
  result.replicas = 4;
  result.message = "4 workers running";
  result.ts_ms = common::wallMs();
  agent->send(result);

  ASSERT_TRUE(waitFor(
      [&] {
        auto stored = controller().store().directive(id);
        return stored.ok() && stored.value() && stored.value()->status == "applied";
      },
      seconds(10)));
  auto stored = controller().store().directive(id);
  EXPECT_EQ(stored.value()->result_message, "4 workers running");

  const json system = get("/api/v1/systems/web").json();
  ASSERT_EQ(system["health"].size(), 2u) << system.dump();
  EXPECT_DOUBLE_EQ(system["health_score"].get<double>(), 50.0);
  EXPECT_EQ(system["replicas"], 4);
}

TEST_F(IngestTest, SilentAgentIsMarkedDisconnectedAndReconnectsWhenItTalks) {
  HarnessOptions options;
  options.agent_timeout = milliseconds(300);
  ASSERT_NO_FATAL_FAILURE(startController(options));
  TestAgent agent(endpoint(), "agent-1");
  ASSERT_TRUE(agent.sayHello({webSystem()}));

  auto connected = [&] {
    auto record = controller().store().agent("agent-1");
    return record.ok() && record.value() && record.value()->connected;
  };
  ASSERT_TRUE(waitFor([&] { return !connected(); }, seconds(10)));
  EXPECT_EQ(metric("pso_agents_connected"), 0.0);
  const json agents = get("/api/v1/agents").json();
  ASSERT_EQ(agents["agents"].size(), 1u);
  EXPECT_EQ(agents["agents"][0]["connected"], false);

  protocol::Heartbeat heartbeat;
  heartbeat.agent_id = "agent-1";
  heartbeat.ts_ms = common::wallMs();
  heartbeat.spool_pending = 7;
  agent.send(heartbeat);
  // The agent is marked connected just before its heartbeat is counted: await both.
  ASSERT_TRUE(waitFor(
      [&] {
        return connected() && metric("pso_agent_spool_pending", {{"agent", "agent-1"}}) == 7.0;
      },
      seconds(10)));
}

TEST_F(IngestTest, DirectiveForAnAbsentAgentStaysPendingUntilItsHello) {
  // The agent is known from an earlier run but not connected to this one.
  {
    auto store = store::Store::open(dir_.file("controller.db"));
    ASSERT_TRUE(store.ok()) << store.error().message;
    protocol::Hello hello;
    hello.agent_id = "agent-9";
    hello.version = "1";
    hello.systems = {webSystem()};
    ASSERT_TRUE(store.value()->upsertAgent(hello, common::wallMs()).ok());
  }
  ASSERT_NO_FATAL_FAILURE(startController());

  const HttpReply created =
      post("/api/v1/directives", R"({"system":"web","replicas":6,"reason":"before the agent"})");
  ASSERT_EQ(created.status, 201) << created.body;
  const std::string id = created.json()["directive"]["id"];
  ASSERT_TRUE(
      waitFor([&] { return metric("pso_directive_send_deferred_total") >= 1.0; }, seconds(10)));
  auto pending = controller().store().directive(id);
  ASSERT_TRUE(pending.ok() && pending.value());
  EXPECT_EQ(pending.value()->status, "pending");

  TestAgent agent(endpoint(), "agent-9");
  ASSERT_TRUE(agent.sayHello({webSystem()}));
  auto directive = agent.receiveA<protocol::Directive>();
  ASSERT_TRUE(directive);
  EXPECT_EQ(directive->id, id);
  ASSERT_TRUE(directive->replicas.has_value());
  EXPECT_EQ(*directive->replicas, 6);
  ASSERT_TRUE(waitFor(
      [&] {
        auto sent = controller().store().directive(id);
        return sent.ok() && sent.value() && sent.value()->status == "sent";
      },
      seconds(10)));
}

}  // namespace
}  // namespace pso::controller::service::testing
