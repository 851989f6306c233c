#pragma once

// The alert aggregate on PostgreSQL. Tables: alerts, notifications.

#include <cstdint>
#include <vector>

#include "controller/store/alert_store.h"
#include "controller/store/postgresql/pg_context.h"

namespace pso::controller::store {

/// AlertStore over the shared PostgreSQL connection.
class PgAlertStore : public virtual AlertStore {
 public:
  explicit PgAlertStore(PgContext& context) : context_(context) {}

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
  PgContext& context_;
};

}  // namespace pso::controller::store
