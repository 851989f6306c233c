// Alert rules in the live controller and the webhook outbox, with real parts:
// a Controller on loopback fed by DEALER agents, its SQLite store, and a real
// HTTP receiver on loopback. The outbox's passes are driven with the test's
// own clock, so a minute of a receiver being down takes no minute.

#include <gtest/gtest.h>

#include <atomic>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <regex>
#include <set>

#include "controller/service/alerting.h"
#include "controller/service/webhook_outbox.h"
#include "tests/controller/service/service_test_support.h"
#include "tests/support/loopback_http_server.h"

namespace pso::controller::service::testing {
namespace {

using nlohmann::json;
using pso::testing::LoopbackHttpServer;

constexpr int64_t kT0 = 1'700'000'000'000LL;

/// A webhook receiver that answers 503 while `down`, else 200.
class Receiver {
 public:
  Receiver()
      : server_(
            [this](const LoopbackHttpServer::Request&) {
              LoopbackHttpServer::Answer answer;
              answer.status = down_ ? 503 : status_.load();
              answer.body = "{}";
              return answer;
            },
            "webhook receiver") {}

  std::string url() const { return server_.base() + "/hook"; }
  void setDown(bool down) { down_ = down; }
  void setStatus(int status) { status_ = status; }
  std::vector<LoopbackHttpServer::Request> requests() { return server_.requests(); }

 private:
  std::atomic<bool> down_{false};
  std::atomic<int> status_{200};
  LoopbackHttpServer server_;
};

class WebhookOutboxTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto opened = store::Store::open(dir_.file("controller.db"));
    ASSERT_TRUE(opened) << opened.error().message;
    store_ = std::move(opened.value());
  }

  void queue(const std::string& url, const std::string& subject, const std::string& event,
             int64_t at_ms) {
    store::AlertRecord alert;
    alert.rule = "unhealthy";
    alert.subject = subject;
    alert.condition = "health_score < 95";
    alert.system = subject;
    alert.state = event;
    alert.updated_ms = at_ms;
    store::NotificationRecord n;
    n.rule = alert.rule;
    n.subject = subject;
    n.event = event;
    n.url = url;
    n.body = json{{"subject", subject}, {"status", event}}.dump();
    n.created_ms = at_ms;
    n.next_attempt_ms = at_ms;
    ASSERT_TRUE(store_->recordAlert(alert, {n}));
  }

  store::NotificationRecord notification(std::size_t newest_first_index) {
    return store_->notifications(0).value().at(newest_first_index);
  }

  TempDir dir_;
  std::unique_ptr<store::Store> store_;
  common::MetricsRegistry metrics_;
};

TEST(WebhookSignature, IsTheHmacSha256OfTheTimestampAndTheBody) {
  // Computed with Python's hmac module: hmac.new(b"s3cret",
  // b'1700000000000.{"status":"firing"}', hashlib.sha256).hexdigest().
  EXPECT_EQ(webhookSignature("s3cret", kT0, R"({"status":"firing"})"),
            "sha256=e2ca3a9323ba22912ab8d18d0b8bd36aef010f46198b37f7f5830ee768886fc7");
}

TEST_F(WebhookOutboxTest, EveryNotificationArrivesOnceWhenTheReceiverIsBackAfterAMinute) {
  Receiver receiver;
  receiver.setDown(true);
  WebhookDeliverySettings settings;
  settings.first_backoff_ms = 1000;
  settings.max_backoff_ms = 20'000;
  settings.secret = "s3cret";
  WebhookOutbox outbox(settings, *store_, metrics_);
  queue(receiver.url(), "web", "firing", kT0);
  queue(receiver.url(), "api", "firing", kT0);
  queue(receiver.url(), "web", "resolved", kT0 + 5000);

  // A minute down, a pass every second: the oldest is retried with backoff
  // (1, 2, 4, 8, 16, 20, 20 s apart); the later ones wait behind it.
  std::size_t retried = 0;
  for (int64_t s = 0; s <= 60; ++s) {
    const DeliveryPass pass = outbox.deliverDue(kT0 + s * 1000);
    EXPECT_EQ(pass.delivered, 0u);
    EXPECT_EQ(pass.failed, 0u);
    retried += pass.retried;
  }
  EXPECT_EQ(retried, 7u);  // at 0, 1, 3, 7, 15, 31, 51 s
  EXPECT_EQ(receiver.requests().size(), 7u);
  std::set<std::string> tried_ids;
  for (const auto& r : receiver.requests()) {
    EXPECT_EQ(json::parse(r.body)["subject"], "web");
    tried_ids.insert(r.header("x-pso-notification-id"));
  }
  EXPECT_EQ(tried_ids.size(), 1u);
  const store::NotificationRecord waiting = notification(2);
  EXPECT_EQ(waiting.status, "pending");
  EXPECT_EQ(waiting.attempts, 7);
  EXPECT_EQ(waiting.last_error, "HTTP 503");
  EXPECT_EQ(waiting.next_attempt_ms, kT0 + 71'000);
  EXPECT_EQ(metrics_.value("pso_webhook_deliveries_total", {{"outcome", "retry"}}), 7.0);
  EXPECT_EQ(metrics_.value("pso_webhook_outbox_pending"), 3.0);

  receiver.setDown(false);
  const std::size_t while_down = receiver.requests().size();
  EXPECT_EQ(outbox.deliverDue(kT0 + 70'000).delivered, 0u);  // not due yet
  const DeliveryPass back = outbox.deliverDue(kT0 + 71'000);
  EXPECT_EQ(back.delivered, 3u);
  EXPECT_EQ(outbox.deliverDue(kT0 + 200'000).delivered, 0u);  // nothing twice

  // In the order they were queued, each once, signed.
  std::vector<json> accepted;
  const auto all = receiver.requests();
  for (std::size_t i = while_down; i < all.size(); ++i)
    accepted.push_back(json::parse(all[i].body));
  ASSERT_EQ(accepted.size(), 3u);
  EXPECT_EQ(accepted[0]["subject"], "web");
  EXPECT_EQ(accepted[0]["status"], "firing");
  EXPECT_EQ(accepted[1]["subject"], "api");
  EXPECT_EQ(accepted[2]["status"], "resolved");
  for (const auto& r : receiver.requests()) {
    const std::string timestamp = r.header("x-pso-timestamp");
    ASSERT_FALSE(timestamp.empty());
    EXPECT_EQ(r.header("x-pso-signature"),
              webhookSignature("s3cret", std::stoll(timestamp), r.body));
    EXPECT_EQ(r.header("content-type"), "application/json");
  }
  EXPECT_EQ(notification(0).status, "delivered");
  EXPECT_EQ(notification(0).delivered_ms, kT0 + 71'000);
  EXPECT_EQ(metrics_.value("pso_webhook_outbox_pending"), 0.0);
}

TEST_F(WebhookOutboxTest, AReceiverThatIsNotListeningIsRetriedAndTooOldIsGivenUp) {
  std::string dead_url;
  {
    Receiver gone;
    dead_url = gone.url();
  }  // the port is closed now: connections are refused
  WebhookDeliverySettings settings;
  settings.give_up_after_ms = 10'000;
  WebhookOutbox outbox(settings, *store_, metrics_);
  queue(dead_url, "web", "firing", kT0);
  EXPECT_EQ(outbox.deliverDue(kT0).retried, 1u);
  store::NotificationRecord n = notification(0);
  EXPECT_EQ(n.status, "pending");
  EXPECT_NE(n.last_error.find("connect"), std::string::npos) << n.last_error;
  const DeliveryPass late = outbox.deliverDue(kT0 + 10'000);
  EXPECT_EQ(late.failed, 1u);
  n = notification(0);
  EXPECT_EQ(n.status, "failed");
  EXPECT_NE(n.last_error.find("given up after 1 attempts"), std::string::npos) << n.last_error;
  EXPECT_EQ(metrics_.value("pso_webhook_deliveries_total", {{"outcome", "failed"}}), 1.0);
}

TEST_F(WebhookOutboxTest, AReceiverThatRefusesIsNotRetried) {
  Receiver receiver;
  receiver.setStatus(400);
  WebhookOutbox outbox({}, *store_, metrics_);
  queue(receiver.url(), "web", "firing", kT0);
  EXPECT_EQ(outbox.deliverDue(kT0).failed, 1u);
  EXPECT_EQ(notification(0).last_error, "refused with HTTP 400");
  EXPECT_EQ(outbox.deliverDue(kT0 + 3'600'000).failed + outbox.deliverDue(kT0).retried, 0u);
  EXPECT_EQ(receiver.requests().size(), 1u);
}

// The whole path in the controller: figures from ingested samples, the rule
// evaluated after the cycle, the notification delivered by the outbox thread.

class AlertingServiceTest : public ServiceTest {
 protected:
  // A batch of health_score samples of web, one second apart, ending at end_ms.
  void sendHealth(TestAgent& agent, uint64_t seq, const std::vector<double>& scores,
                  int64_t end_ms) {
    protocol::TelemetryBatch batch;
    batch.agent_id = agent.id();
    batch.seq = seq;
    batch.oldest_seq = seq;
    batch.series = {{"web", "health_score"}};
    const auto n = static_cast<int64_t>(scores.size());
    for (int64_t i = 0; i < n; ++i) batch.timestamps_ms.push_back(end_ms - (n - 1 - i) * 1000);
    batch.values = {scores};
    agent.send(batch);
    auto ack = agent.receiveA<protocol::Ack>();
    ASSERT_TRUE(ack.has_value());
    ASSERT_EQ(ack->seq, seq);
  }

  std::vector<json> received(Receiver& receiver) {
    std::vector<json> out;
    for (const auto& r : receiver.requests()) out.push_back(json::parse(r.body));
    return out;
  }
};

TEST_F(AlertingServiceTest, ARuleFiresOneWebhookAtTheFirstCycleItHoldsAndOneWhenItResolves) {
  Receiver receiver;
  HarnessOptions options;
  AlertRuleConfig rule;
  rule.name = "web-unhealthy";
  rule.when = "health_score < 95";
  rule.hysteresis = 2;
  rule.notify = receiver.url();
  options.alerts = {rule};
  options.webhooks.dashboard_url = "https://pso.example/";
  startController(options);
  auto agent = connectWebAgent("edge-1", {50, 50, 50});
  ASSERT_TRUE(agent);

  // In the past, so the outbox thread (on the wall clock) finds each
  // notification due the moment it is queued.
  const int64_t t = now() - 60'000;
  sendHealth(*agent, 2, {100, 100}, t);
  auto cycle = controller().runCycleOnce(t + 1000);
  ASSERT_TRUE(cycle) << cycle.error().message;
  EXPECT_EQ(cycle->notifications_queued, 0u);

  // The condition holds from this batch on: the next cycle fires.
  sendHealth(*agent, 3, {80}, t + 2000);
  cycle = controller().runCycleOnce(t + 3000);
  ASSERT_TRUE(cycle);
  EXPECT_EQ(cycle->notifications_queued, 1u);
  ASSERT_TRUE(pso::testing::waitFor([&] { return receiver.requests().size() >= 1; },
                                    std::chrono::seconds(10)));
  // Still holding, and inside the hysteresis band: no second notification.
  sendHealth(*agent, 4, {96}, t + 4000);
  for (int i = 0; i < 3; ++i) {
    cycle = controller().runCycleOnce(t + 5000 + i * 1000);
    ASSERT_TRUE(cycle);
    EXPECT_EQ(cycle->notifications_queued, 0u);
  }
  const json alerts = get("/api/v1/alerts").json();
  ASSERT_EQ(alerts["alerts"].size(), 1u) << alerts.dump();
  EXPECT_EQ(alerts["alerts"][0]["state"], "firing");
  EXPECT_EQ(alerts["alerts"][0]["value"], 96.0);
  EXPECT_EQ(alerts["alerts"][0]["agent"], "edge-1");
  EXPECT_EQ(get("/api/v1/alerts?state=burning").status, 400);

  sendHealth(*agent, 5, {99}, t + 8000);
  cycle = controller().runCycleOnce(t + 9000);
  ASSERT_TRUE(cycle);
  EXPECT_EQ(cycle->notifications_queued, 1u);
  ASSERT_TRUE(pso::testing::waitFor([&] { return receiver.requests().size() >= 2; },
                                    std::chrono::seconds(10)));
  const auto bodies = received(receiver);
  ASSERT_EQ(bodies.size(), 2u);
  EXPECT_EQ(bodies[0]["status"], "firing");
  EXPECT_EQ(bodies[0]["rule"], "web-unhealthy");
  EXPECT_EQ(bodies[0]["system"], "web");
  EXPECT_EQ(bodies[0]["value"], 80.0);
  EXPECT_EQ(bodies[0]["threshold"], 95.0);
  EXPECT_EQ(bodies[0]["figures"]["health_score"], 80.0);
  EXPECT_EQ(bodies[0]["figures"]["desired"].is_number(), true);
  EXPECT_EQ(bodies[0]["dashboard_url"], "https://pso.example/#/systems/web");
  EXPECT_EQ(bodies[0]["fired_at"], common::formatIso8601(t + 3000));
  EXPECT_EQ(bodies[1]["status"], "resolved");
  EXPECT_EQ(bodies[1]["value"], 99.0);
  EXPECT_EQ(bodies[1]["resolved_at"], common::formatIso8601(t + 9000));
  EXPECT_EQ(bodies[0]["fingerprint"], bodies[1]["fingerprint"]);
  EXPECT_EQ(metric("pso_alert_transitions_total", {{"rule", "web-unhealthy"}, {"state", "firing"}}),
            1.0);
}

TEST_F(AlertingServiceTest, AFiringAlertIsNotNotifiedAgainAfterARestart) {
  Receiver receiver;
  HarnessOptions options;
  AlertRuleConfig rule;
  rule.name = "web-unhealthy";
  rule.when = "health_score < 95";
  rule.notify = receiver.url();
  rule.format = "alertmanager";
  options.alerts = {rule};
  startController(options);
  auto agent = connectWebAgent("edge-1", {50});
  ASSERT_TRUE(agent);
  const int64_t t = now() - 60'000;
  sendHealth(*agent, 2, {10}, t);
  ASSERT_EQ(controller().runCycleOnce(t + 1000)->notifications_queued, 1u);
  ASSERT_TRUE(pso::testing::waitFor([&] { return receiver.requests().size() >= 1; },
                                    std::chrono::seconds(10)));
  agent.reset();
  stopController();
  startController(options);
  agent = std::make_unique<TestAgent>(endpoint(), "edge-1");
  auto welcome = agent->sayHello({webSystem()});
  ASSERT_TRUE(welcome);
  sendHealth(*agent, welcome->last_seq + 1, {10}, t + 2000);
  EXPECT_EQ(controller().runCycleOnce(t + 3000)->notifications_queued, 0u);
  const auto bodies = received(receiver);
  ASSERT_EQ(bodies.size(), 1u);
  // Alertmanager's webhook payload, version 4.
  EXPECT_EQ(bodies[0]["version"], "4");
  EXPECT_EQ(bodies[0]["status"], "firing");
  ASSERT_EQ(bodies[0]["alerts"].size(), 1u);
  EXPECT_EQ(bodies[0]["alerts"][0]["labels"]["alertname"], "web-unhealthy");
  EXPECT_EQ(bodies[0]["alerts"][0]["labels"]["system"], "web");
  EXPECT_EQ(bodies[0]["alerts"][0]["endsAt"], "0001-01-01T00:00:00Z");
  EXPECT_EQ(bodies[0]["alerts"][0]["startsAt"], common::formatIso8601(t + 1000));
}

TEST_F(AlertingServiceTest, AScaleUpRuleDispatchesThroughTheGuardrailsAndIsAWorkflowEvent) {
  HarnessOptions options;
  AlertRuleConfig rule;
  rule.name = "web-unhealthy";
  rule.when = "health_score < 95";
  rule.scale_up = "$subject";
  rule.step = 2;
  options.alerts = {rule};
  startController(options);
  auto agent = connectWebAgent("edge-1", {10, 10, 10}, 2);
  ASSERT_TRUE(agent);
  const int64_t t = now();
  sendHealth(*agent, 2, {40}, t);
  // The cycle that sees the condition fires the rule; the next one acts on it.
  auto first = controller().runCycleOnce(t + 1000);
  ASSERT_TRUE(first);
  for (const auto& d : first->decisions.systems) EXPECT_TRUE(d.facts.alerts.empty());
  auto second = controller().runCycleOnce(t + 2000);
  ASSERT_TRUE(second);
  ASSERT_EQ(second->decisions.systems.size(), 1u);
  const auto& decision = second->decisions.systems[0];
  EXPECT_EQ(decision.desired_replicas, 4);
  ASSERT_EQ(decision.facts.alerts.size(), 1u);
  ASSERT_EQ(second->directives.size(), 1u);
  EXPECT_EQ(second->directives[0].source, "alert");
  EXPECT_EQ(second->directives[0].replicas, 4);
  const json scenario = get("/api/v1/scenarios/" + second->scenario_id).json();
  const std::string events = scenario.dump();
  EXPECT_NE(events.find("workflow_enhanced"), std::string::npos) << events;
  EXPECT_NE(events.find("alert rule web-unhealthy (health_score < 95) asks scale_up of web"),
            std::string::npos);
}

TEST_F(AlertingServiceTest, TheCycleSetsTheFleetGaugesAndReadinessFollowsTheCycle) {
  startController();
  EXPECT_EQ(get("/healthz").status, 200);
  EXPECT_EQ(get("/readyz").json()["ready"], true);  // just started: no cycle due yet
  auto agent = connectWebAgent("edge-1", {50, 50, 50}, 3);
  ASSERT_TRUE(agent);
  const int64_t t = now() - 60'000;
  sendHealth(*agent, 2, {75}, t);
  // Four intervals (of an hour) ago: the cycle loop looks stuck.
  auto cycle = controller().runCycleOnce(now() - 4 * 3'600'000LL);
  ASSERT_TRUE(cycle) << cycle.error().message;
  const HttpReply stale = get("/readyz");
  EXPECT_EQ(stale.status, 503);
  EXPECT_NE(
      stale.json()["reason"].get<std::string>().find("the last decision cycle ran 14400 s ago"),
      std::string::npos)
      << stale.body;
  EXPECT_EQ(get("/healthz").status, 200);

  cycle = controller().runCycleOnce(now());
  ASSERT_TRUE(cycle);
  EXPECT_EQ(get("/readyz").status, 200);
  const auto& decision = cycle->decisions.systems.at(0);
  const common::Labels web = {{"system", "web"}};
  EXPECT_EQ(metric("pso_system_desired_replicas", web),
            static_cast<double>(decision.desired_replicas));
  EXPECT_EQ(metric("pso_system_replicas", web), 3.0);
  EXPECT_EQ(metric("pso_system_health_score", web), 75.0);
  EXPECT_EQ(metric("pso_system_demand", web), decision.demand);
  EXPECT_GE(metric("pso_agent_last_seen_seconds", {{"agent", "edge-1"}}), 0.0);
  EXPECT_EQ(metric("pso_cycle_duration_seconds"), 2.0);  // two cycles observed
  const std::string text = get("/metrics").body;
  EXPECT_NE(text.find("pso_cycle_duration_seconds_bucket{le=\"+Inf\"} 2"), std::string::npos);
  EXPECT_NE(text.find("pso_system_health_score{system=\"web\"} 75"), std::string::npos);
}

// installers/grafana/pso-prime-fleet.json reads only series the controller
// exports: every pso_* name in its queries is a family of /metrics.
TEST_F(AlertingServiceTest, GrafanaDashboardReadsOnlySeriesTheControllerExports) {
  HarnessOptions options;
  AlertRuleConfig rule;
  rule.when = "health_score < 95";
  rule.notify = "http://127.0.0.1:1/hook";
  options.alerts = {rule};
  startController(options);
  auto agent = connectWebAgent("edge-1", {50, 50}, 2);
  ASSERT_TRUE(agent);
  ASSERT_TRUE(controller().runCycleOnce(now()));
  const std::string metrics = get("/metrics").body;

  std::ifstream file(std::string(PSO_SOURCE_DIR) + "/installers/grafana/pso-prime-fleet.json");
  ASSERT_TRUE(file) << "no installers/grafana/pso-prime-fleet.json";
  const json dashboard = json::parse(file);
  std::set<std::string> names;
  const std::regex name_pattern("pso_[a-z_]+");
  for (const json& panel : dashboard.at("panels")) {
    for (const json& target : panel.at("targets")) {
      const std::string expr = target.at("expr");
      for (std::sregex_iterator it(expr.begin(), expr.end(), name_pattern), end; it != end; ++it) {
        names.insert(it->str());
      }
    }
  }
  EXPECT_GE(names.size(), 15u);
  for (std::string name : names) {
    // A histogram's series carry suffixes its family does not.
    for (const char* suffix : {"_bucket", "_sum", "_count"}) {
      const std::string s = suffix;
      if (name.size() > s.size() && name.compare(name.size() - s.size(), s.size(), s) == 0 &&
          metrics.find("# TYPE " + name.substr(0, name.size() - s.size()) + " histogram") !=
              std::string::npos) {
        name.resize(name.size() - s.size());
      }
    }
    EXPECT_NE(metrics.find("# TYPE " + name + " "), std::string::npos)
        << name << " is not in /metrics";
  }
}

}  // namespace
}  // namespace pso::controller::service::testing
