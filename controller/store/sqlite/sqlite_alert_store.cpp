#include "controller/store/sqlite/sqlite_alert_store.h"

#include "controller/store/record_rules.h"

namespace pso::controller::store {
namespace {

using common::ScopedStatement;
using common::Statement;

const char* const kAlertColumns =
    "rule, subject, condition, system, agent, state, value, since_ms, fired_ms, resolved_ms, "
    "updated_ms";
const char* const kNotificationColumns =
    "id, rule, subject, event, url, body, status, created_ms, attempts, next_attempt_ms, "
    "delivered_ms, last_error";

AlertRecord readAlert(const Statement& s) {
  AlertRecord a;
  a.rule = s.columnText(0);
  a.subject = s.columnText(1);
  a.condition = s.columnText(2);
  a.system = s.columnText(3);
  a.agent = s.columnText(4);
  a.state = s.columnText(5);
  if (!s.columnIsNull(6)) a.value = s.columnDouble(6);
  a.since_ms = s.columnInt64(7);
  a.fired_ms = s.columnInt64(8);
  a.resolved_ms = s.columnInt64(9);
  a.updated_ms = s.columnInt64(10);
  return a;
}

NotificationRecord readNotification(const Statement& s) {
  NotificationRecord n;
  n.id = s.columnInt64(0);
  n.rule = s.columnText(1);
  n.subject = s.columnText(2);
  n.event = s.columnText(3);
  n.url = s.columnText(4);
  n.body = s.columnText(5);
  n.status = s.columnText(6);
  n.created_ms = s.columnInt64(7);
  n.attempts = s.columnInt64(8);
  n.next_attempt_ms = s.columnInt64(9);
  n.delivered_ms = s.columnInt64(10);
  n.last_error = s.columnText(11);
  return n;
}

}  // namespace

Status SqliteAlertStore::prepare() {
  const std::string select_notification =
      std::string("SELECT ") + kNotificationColumns + " FROM notifications";
  return context_.db().prepareAll({
      {&upsert_alert_,
       std::string("INSERT INTO alerts (") + kAlertColumns +
           ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11) "
           "ON CONFLICT (rule, subject) DO UPDATE SET condition = excluded.condition, "
           "system = excluded.system, agent = excluded.agent, state = excluded.state, "
           "value = excluded.value, since_ms = excluded.since_ms, fired_ms = excluded.fired_ms, "
           "resolved_ms = excluded.resolved_ms, updated_ms = excluded.updated_ms"},
      {&select_alerts_,
       std::string("SELECT ") + kAlertColumns + " FROM alerts ORDER BY rule, subject"},
      {&insert_notification_,
       "INSERT INTO notifications (rule, subject, event, url, body, status, created_ms, "
       "next_attempt_ms) VALUES (?1, ?2, ?3, ?4, ?5, 'pending', ?6, ?7)"},
      // A notification waits while an older one to the same receiver waits.
      {&select_due_,
       select_notification +
           " AS n WHERE status = 'pending' AND next_attempt_ms <= ?1 AND NOT EXISTS ("
           "SELECT 1 FROM notifications AS o WHERE o.status = 'pending' AND o.url = n.url "
           "AND o.id < n.id AND o.next_attempt_ms > ?1) ORDER BY id LIMIT ?2"},
      {&count_pending_, "SELECT COUNT(*) FROM notifications WHERE status = 'pending'"},
      {&update_notification_,
       "UPDATE notifications SET status = ?2, attempts = ?3, next_attempt_ms = ?4, "
       "delivered_ms = ?5, last_error = ?6 WHERE id = ?1"},
      {&select_notifications_, select_notification + " ORDER BY id DESC LIMIT ?1"},
  });
}

Status SqliteAlertStore::recordAlert(const AlertRecord& alert,
                                     const std::vector<NotificationRecord>& notifications) {
  std::lock_guard lock(context_.mutex());
  common::Transaction tx(context_.db());
  if (!tx.beginStatus().ok()) return tx.beginStatus().error();
  {
    ScopedStatement s(upsert_alert_);
    s->bind(1, alert.rule)
        .bind(2, alert.subject)
        .bind(3, alert.condition)
        .bind(4, alert.system)
        .bind(5, alert.agent)
        .bind(6, alert.state);
    if (alert.value) {
      s->bind(7, *alert.value);
    } else {
      s->bindNull(7);
    }
    s->bind(8, alert.since_ms)
        .bind(9, alert.fired_ms)
        .bind(10, alert.resolved_ms)
        .bind(11, alert.updated_ms);
    if (auto st = s->run(); !st.ok()) return st.error();
  }
  for (const NotificationRecord& n : notifications) {
    ScopedStatement s(insert_notification_);
    s->bind(1, n.rule)
        .bind(2, n.subject)
        .bind(3, n.event)
        .bind(4, n.url)
        .bind(5, n.body)
        .bind(6, n.created_ms)
        .bind(7, n.next_attempt_ms);
    if (auto st = s->run(); !st.ok()) return st.error();
  }
  return tx.commit();
}

Result<std::vector<AlertRecord>> SqliteAlertStore::alerts() {
  std::lock_guard lock(context_.mutex());
  ScopedStatement s(select_alerts_);
  return common::collectRows<AlertRecord>(*s, readAlert);
}

Result<std::vector<NotificationRecord>> SqliteAlertStore::dueNotifications(int64_t now_ms,
                                                                           int64_t limit) {
  std::lock_guard lock(context_.mutex());
  ScopedStatement s(select_due_);
  s->bind(1, now_ms).bind(2, common::sqlLimit(limit));
  return common::collectRows<NotificationRecord>(*s, readNotification);
}

Result<int64_t> SqliteAlertStore::pendingNotificationCount() {
  std::lock_guard lock(context_.mutex());
  ScopedStatement s(count_pending_);
  auto count = common::firstRow<int64_t>(*s, common::firstColumnInt64);
  if (!count.ok()) return count.error();
  return count->value_or(0);
}

Status SqliteAlertStore::updateNotification(const NotificationRecord& n) {
  if (!isKnownNotificationStatus(n.status)) {
    return makeError("invalid", "unknown notification status '" + n.status + "'");
  }
  std::lock_guard lock(context_.mutex());
  ScopedStatement s(update_notification_);
  s->bind(1, n.id)
      .bind(2, n.status)
      .bind(3, n.attempts)
      .bind(4, n.next_attempt_ms)
      .bind(5, n.delivered_ms)
      .bind(6, n.last_error);
  auto changed = s->runCountingChanges();
  if (!changed.ok()) return changed.error();
  if (*changed == 0) return makeError("not_found", "unknown notification " + std::to_string(n.id));
  return Status();
}

Result<std::vector<NotificationRecord>> SqliteAlertStore::notifications(int64_t limit) {
  std::lock_guard lock(context_.mutex());
  ScopedStatement s(select_notifications_);
  s->bind(1, common::sqlLimit(limit));
  return common::collectRows<NotificationRecord>(*s, readNotification);
}

}  // namespace pso::controller::store
