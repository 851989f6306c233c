#pragma once

// The alert aggregate on SQLite. Tables: alerts, notifications.

#include <cstdint>
#include <vector>

#include "common/sqlite.h"
#include "controller/store/alert_store.h"
#include "controller/store/sqlite/sqlite_context.h"

namespace pso::controller::store {

/// AlertStore over the shared SQLite connection.
class SqliteAlertStore : public virtual AlertStore {
 public:
  explicit SqliteAlertStore(SqliteContext& context) : context_(context) {}

  /// Prepares the statements; called once before any other method.
  [[nodiscard]] Status prepare();

  Status recordAlert(const AlertRecord& alert,
                     const std::vector<NotificationRecord>& notifications) override;
  Result<std::vector<AlertRecord>> alerts() override;
  Result<std::vector<NotificationRecord>> dueNotifications(int64_t now_ms, int64_t limit) override;
  Result<int64_t> pendingNotificationCount() override;
  Status updateNotification(const NotificationRecord& n) override;
  Result<std::vector<NotificationRecord>> notifications(int64_t limit) override;

 private:
  SqliteContext& context_;
  common::Statement upsert_alert_;
  common::Statement select_alerts_;
  common::Statement insert_notification_;
  common::Statement select_due_;
  common::Statement count_pending_;
  common::Statement update_notification_;
  common::Statement select_notifications_;
};

}  // namespace pso::controller::store
