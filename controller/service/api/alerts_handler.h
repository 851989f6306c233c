#pragma once

// GET /api/v1/alerts: the alert rules' states per subject; GET
// /api/v1/notifications: the webhook outbox, newest first.

#include "controller/service/api/router.h"
#include "controller/store/store.h"

namespace pso::controller::service {

class AlertsHandler {
 public:
  explicit AlertsHandler(store::Store& store);

  /// {"alerts":[{"rule","condition","subject","system","agent","state","value",
  /// "since","fired_at","resolved_at","updated_at"}]}, firing first, then
  /// pending, then resolved. "state": one of pending, firing, resolved,
  /// inactive, or "all"; default: every state but inactive. Another value is
  /// a 400 naming the accepted ones.
  HttpResponse list(const ApiRequest& request);
  /// {"notifications":[{"id","rule","subject","event","url","status",
  /// "attempts","created_at","next_attempt_at","delivered_at","last_error"}]},
  /// newest first ("limit", default 50).
  HttpResponse notifications(const ApiRequest& request);

 private:
  store::Store& store_;
};

}  // namespace pso::controller::service
