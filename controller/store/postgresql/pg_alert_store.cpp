#include "controller/store/postgresql/pg_alert_store.h"

#include "controller/store/record_rules.h"

namespace pso::controller::store {
namespace {

const std::string kPgAlertColumns =
    "rule, subject, condition, system, agent, state, value, since_ms, fired_ms, resolved_ms, "
    "updated_ms";
const std::string kPgNotificationColumns =
    "id, rule, subject, event, url, body, status, created_ms, attempts, next_attempt_ms, "
    "delivered_ms, last_error";

AlertRecord pgAlertAt(const PgRows& rows, int i) {
  AlertRecord a;
  a.rule = rows.text(i, 0);
  a.subject = rows.text(i, 1);
  a.condition = rows.text(i, 2);
  a.system = rows.text(i, 3);
  a.agent = rows.text(i, 4);
  a.state = rows.text(i, 5);
  if (!rows.isNull(i, 6)) a.value = rows.real(i, 6);
  a.since_ms = rows.int64(i, 7);
  a.fired_ms = rows.int64(i, 8);
  a.resolved_ms = rows.int64(i, 9);
  a.updated_ms = rows.int64(i, 10);
  return a;
}

NotificationRecord pgNotificationAt(const PgRows& rows, int i) {
  NotificationRecord n;
  n.id = rows.int64(i, 0);
  n.rule = rows.text(i, 1);
  n.subject = rows.text(i, 2);
  n.event = rows.text(i, 3);
  n.url = rows.text(i, 4);
  n.body = rows.text(i, 5);
  n.status = rows.text(i, 6);
  n.created_ms = rows.int64(i, 7);
  n.attempts = rows.int64(i, 8);
  n.next_attempt_ms = rows.int64(i, 9);
  n.delivered_ms = rows.int64(i, 10);
  n.last_error = rows.text(i, 11);
  return n;
}

}  // namespace

Status PgAlertStore::prepare() {
  const std::string select_notification =
      "SELECT " + kPgNotificationColumns + " FROM notifications";
  std::lock_guard lock(context_.mutex());
  return context_.prepareAll({
      {"alert_upsert",
       "INSERT INTO alerts (" + kPgAlertColumns +
           ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) "
           "ON CONFLICT (rule, subject) DO UPDATE SET condition = EXCLUDED.condition, "
           "system = EXCLUDED.system, agent = EXCLUDED.agent, state = EXCLUDED.state, "
           "value = EXCLUDED.value, since_ms = EXCLUDED.since_ms, fired_ms = EXCLUDED.fired_ms, "
           "resolved_ms = EXCLUDED.resolved_ms, updated_ms = EXCLUDED.updated_ms"},
      {"alert_all", "SELECT " + kPgAlertColumns + " FROM alerts ORDER BY rule, subject"},
      {"alert_insert_notification",
       "INSERT INTO notifications (rule, subject, event, url, body, status, created_ms, "
       "next_attempt_ms) VALUES ($1, $2, $3, $4, $5, 'pending', $6, $7)"},
      // A notification waits while an older one to the same receiver waits.
      {"alert_due",
       select_notification +
           " AS n WHERE status = 'pending' AND next_attempt_ms <= $1 AND NOT EXISTS ("
           "SELECT 1 FROM notifications AS o WHERE o.status = 'pending' AND o.url = n.url "
           "AND o.id < n.id AND o.next_attempt_ms > $1) ORDER BY id LIMIT $2"},
      {"alert_count_pending", "SELECT COUNT(*) FROM notifications WHERE status = 'pending'"},
      {"alert_update_notification",
       "UPDATE notifications SET status = $2, attempts = $3, next_attempt_ms = $4, "
       "delivered_ms = $5, last_error = $6 WHERE id = $1"},
      {"alert_notifications", select_notification + " ORDER BY id DESC LIMIT $1"},
  });
}

Status PgAlertStore::recordAlert(const AlertRecord& alert,
                                 const std::vector<NotificationRecord>& notifications) {
  std::lock_guard lock(context_.mutex());
  PgTransaction tx(context_);
  if (!tx.beginStatus().ok()) return tx.beginStatus();
  if (auto st = pgDone(context_.runLocked("alert_upsert", PgParams()
                                                              .add(alert.rule)
                                                              .add(alert.subject)
                                                              .add(alert.condition)
                                                              .add(alert.system)
                                                              .add(alert.agent)
                                                              .add(alert.state)
                                                              .add(alert.value)
                                                              .add(alert.since_ms)
                                                              .add(alert.fired_ms)
                                                              .add(alert.resolved_ms)
                                                              .add(alert.updated_ms)));
      !st.ok()) {
    return st;
  }
  for (const NotificationRecord& n : notifications) {
    if (auto st =
            pgDone(context_.runLocked("alert_insert_notification", PgParams()
                                                                       .add(n.rule)
                                                                       .add(n.subject)
                                                                       .add(n.event)
                                                                       .add(n.url)
                                                                       .add(n.body)
                                                                       .add(n.created_ms)
                                                                       .add(n.next_attempt_ms)));
        !st.ok()) {
      return st;
    }
  }
  return tx.commit();
}

Result<std::vector<AlertRecord>> PgAlertStore::alerts() {
  std::lock_guard lock(context_.mutex());
  return pgAllRows<AlertRecord>(context_.runLocked("alert_all"), pgAlertAt);
}

Result<std::vector<NotificationRecord>> PgAlertStore::dueNotifications(int64_t now_ms,
                                                                       int64_t limit) {
  std::lock_guard lock(context_.mutex());
  return pgAllRows<NotificationRecord>(
      context_.runLocked("alert_due", PgParams().add(now_ms).addLimit(limit)), pgNotificationAt);
}

Result<int64_t> PgAlertStore::pendingNotificationCount() {
  std::lock_guard lock(context_.mutex());
  auto count = context_.runLocked("alert_count_pending");
  if (!count.ok()) return count.error();
  return count->empty() ? 0 : count->int64(0, 0);
}

Status PgAlertStore::updateNotification(const NotificationRecord& n) {
  if (!isKnownNotificationStatus(n.status)) {
    return makeError("invalid", "unknown notification status '" + n.status + "'");
  }
  std::lock_guard lock(context_.mutex());
  return pgChangedOne(context_.runLocked("alert_update_notification", PgParams()
                                                                          .add(n.id)
                                                                          .add(n.status)
                                                                          .add(n.attempts)
                                                                          .add(n.next_attempt_ms)
                                                                          .add(n.delivered_ms)
                                                                          .add(n.last_error)),
                      "unknown notification " + std::to_string(n.id));
}

Result<std::vector<NotificationRecord>> PgAlertStore::notifications(int64_t limit) {
  std::lock_guard lock(context_.mutex());
  return pgAllRows<NotificationRecord>(
      context_.runLocked("alert_notifications", PgParams().addLimit(limit)), pgNotificationAt);
}

}  // namespace pso::controller::store
