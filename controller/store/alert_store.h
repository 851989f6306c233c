#pragma once

// The alert aggregate of the controller's store: each alert rule's state per
// subject, and the outbox of webhook notifications.

#include <cstdint>
#include <vector>

#include "common/result.h"
#include "controller/store/records.h"

namespace pso::controller::store {

/// Alert states and the notification outbox. A transition and the
/// notifications it causes are written together, so a restart neither loses
/// a notification nor sends one twice for one transition. Implementations are
/// thread-safe.
class AlertStore {
 public:
  virtual ~AlertStore() = default;

  /// Writes `alert` (keyed by rule and subject, replacing the stored state)
  /// and appends `notifications` to the outbox (their ids are assigned
  /// here), in one transaction.
  [[nodiscard]] virtual Status recordAlert(
      const AlertRecord& alert, const std::vector<NotificationRecord>& notifications) = 0;
  /// Every stored alert state (inactive ones included), ordered by rule and subject.
  [[nodiscard]] virtual Result<std::vector<AlertRecord>> alerts() = 0;
  /// Pending notifications due at now_ms (next_attempt_ms <= now_ms), oldest
  /// first, at most `limit` (<= 0: no limit). One with an older pending
  /// notification to the same URL that is not due yet is left out, so a
  /// receiver gets its notifications in the order they were queued.
  [[nodiscard]] virtual Result<std::vector<NotificationRecord>> dueNotifications(int64_t now_ms,
                                                                                 int64_t limit) = 0;
  /// Notifications still pending, due or not.
  [[nodiscard]] virtual Result<int64_t> pendingNotificationCount() = 0;
  /// Stores a delivery attempt's outcome: status, attempts, next_attempt_ms,
  /// delivered_ms and last_error of the notification with `n.id`. Unknown
  /// id: "not_found"; a status other than pending, delivered, failed: "invalid".
  [[nodiscard]] virtual Status updateNotification(const NotificationRecord& n) = 0;
  /// Newest first, at most `limit` (<= 0: no limit).
  [[nodiscard]] virtual Result<std::vector<NotificationRecord>> notifications(int64_t limit) = 0;
};

}  // namespace pso::controller::store
