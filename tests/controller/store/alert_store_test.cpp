// The alert aggregate: alert states keyed by rule and subject, and the
// notification outbox (ids, due times, order per receiver, outcomes).

#include "tests/controller/store/store_fixture.h"

namespace pso::controller::store {
namespace {

class AlertStoreTest : public StoreTest {
 protected:
  static AlertRecord alert(const std::string& state, int64_t updated_ms) {
    AlertRecord a;
    a.rule = "unhealthy";
    a.subject = "web";
    a.condition = "health_score < 95";
    a.system = "web";
    a.agent = "edge-1";
    a.state = state;
    a.value = 90.5;
    a.since_ms = 1000;
    a.fired_ms = state == "firing" ? 2000 : 0;
    a.updated_ms = updated_ms;
    return a;
  }
  static NotificationRecord notification(const std::string& url, int64_t created_ms) {
    NotificationRecord n;
    n.rule = "unhealthy";
    n.subject = "web";
    n.event = "firing";
    n.url = url;
    n.body = R"({"status":"firing"})";
    n.created_ms = created_ms;
    n.next_attempt_ms = created_ms;
    return n;
  }
};

TEST_P(AlertStoreTest, AStateIsReplacedPerRuleAndSubjectAndSurvivesARestart) {
  ASSERT_TRUE(store_->recordAlert(alert("pending", 1000), {}));
  ASSERT_TRUE(store_->recordAlert(alert("firing", 2000), {notification("http://a/hook", 2000)}));
  AlertRecord api = alert("pending", 2000);
  api.subject = "api";
  api.system = "api";
  api.value.reset();
  ASSERT_TRUE(store_->recordAlert(api, {}));
  reopen();
  auto alerts = store_->alerts();
  ASSERT_TRUE(alerts) << alerts.error().message;
  ASSERT_EQ(alerts->size(), 2u);
  EXPECT_EQ((*alerts)[0].subject, "api");
  EXPECT_FALSE((*alerts)[0].value.has_value());
  const AlertRecord& web = (*alerts)[1];
  EXPECT_EQ(web.state, "firing");
  EXPECT_EQ(web.fired_ms, 2000);
  EXPECT_EQ(web.value, 90.5);
  EXPECT_EQ(web.agent, "edge-1");
  auto notifications = store_->notifications(0);
  ASSERT_TRUE(notifications);
  ASSERT_EQ(notifications->size(), 1u);
  EXPECT_GT((*notifications)[0].id, 0);
  EXPECT_EQ((*notifications)[0].status, "pending");
  EXPECT_EQ((*notifications)[0].body, R"({"status":"firing"})");
}

TEST_P(AlertStoreTest, NotificationsComeDueInOrderAndWaitBehindAnOlderOneToTheirReceiver) {
  ASSERT_TRUE(store_->recordAlert(alert("firing", 1000), {notification("http://a/hook", 1000),
                                                          notification("http://b/hook", 1000)}));
  ASSERT_TRUE(store_->recordAlert(alert("resolved", 3000), {notification("http://a/hook", 3000)}));
  auto due = store_->dueNotifications(999, 0);
  ASSERT_TRUE(due);
  EXPECT_TRUE(due->empty());
  due = store_->dueNotifications(5000, 0);
  ASSERT_TRUE(due);
  ASSERT_EQ(due->size(), 3u);
  EXPECT_LT((*due)[0].id, (*due)[1].id);
  EXPECT_LT((*due)[1].id, (*due)[2].id);

  // The first to a fails and waits until 10000: the later one to a waits too,
  // the one to b does not.
  NotificationRecord first = (*due)[0];
  first.attempts = 1;
  first.next_attempt_ms = 10000;
  first.last_error = "HTTP 503";
  ASSERT_TRUE(store_->updateNotification(first));
  due = store_->dueNotifications(5000, 0);
  ASSERT_TRUE(due);
  ASSERT_EQ(due->size(), 1u);
  EXPECT_EQ((*due)[0].url, "http://b/hook");
  EXPECT_EQ(store_->pendingNotificationCount().value(), 3);

  due = store_->dueNotifications(10000, 0);
  ASSERT_TRUE(due);
  ASSERT_EQ(due->size(), 3u);
  EXPECT_EQ((*due)[0].attempts, 1);
  EXPECT_EQ((*due)[0].last_error, "HTTP 503");
  for (NotificationRecord n : *due) {
    n.status = "delivered";
    n.delivered_ms = 10000;
    ASSERT_TRUE(store_->updateNotification(n));
  }
  EXPECT_TRUE(store_->dueNotifications(20000, 0)->empty());
  EXPECT_EQ(store_->pendingNotificationCount().value(), 0);
  EXPECT_EQ(store_->notifications(1)->at(0).status, "delivered");
}

TEST_P(AlertStoreTest, AnUnknownNotificationOrStatusIsRefused) {
  NotificationRecord ghost = notification("http://a/hook", 1000);
  ghost.id = 42;
  auto missing = store_->updateNotification(ghost);
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code, "not_found");
  ghost.status = "lost";
  auto invalid = store_->updateNotification(ghost);
  ASSERT_FALSE(invalid);
  EXPECT_EQ(invalid.error().code, "invalid");
}

PSO_STORE_TEST_ON_EVERY_BACKEND(AlertStoreTest);

}  // namespace
}  // namespace pso::controller::store
