#pragma once

// Delivery of the store's notification outbox to webhook receivers (libcurl).
// A receiver that is down gets every notification once it is back: attempts
// back off exponentially up to a bound, a notification is given up (counted)
// only after give_up_after, and notifications to one receiver arrive in the
// order they were queued.

#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <string>
#include <thread>

#include "common/metrics.h"
#include "controller/store/alert_store.h"

namespace pso::controller::service {

struct WebhookDeliverySettings {
  int64_t timeout_ms = 5000;                      ///< one attempt, connect included
  int64_t first_backoff_ms = 1000;                ///< wait after the first failed attempt
  int64_t max_backoff_ms = 5 * 60 * 1000;         ///< the wait doubles up to this
  int64_t give_up_after_ms = 24 * 3600 * 1000LL;  ///< since the notification was queued
  /// HMAC-SHA256 key; empty: no signature header.
  std::string secret;
  int64_t poll_interval_ms = 1000;  ///< how often the thread looks for due notifications
  int64_t batch = 100;              ///< most notifications one pass reads
};

/// What one delivery pass did.
struct DeliveryPass {
  std::size_t delivered = 0;
  std::size_t retried = 0;   ///< failed, tried again later
  std::size_t failed = 0;    ///< given up (too old, or refused by the receiver)
  std::size_t deferred = 0;  ///< not tried: an earlier one to the same receiver failed
};

/// The signature header's value for `body` sent at `timestamp_ms`:
/// "sha256=" and the lowercase hex HMAC-SHA256 of "<timestamp_ms>.<body>"
/// under `secret`.
std::string webhookSignature(const std::string& secret, int64_t timestamp_ms,
                             const std::string& body);

/// Delivers the outbox, on its own thread (start/stop) or one pass at a time
/// (deliverDue, which tests drive with their own clock).
///
/// Each POST carries Content-Type: application/json, X-PSO-Notification-Id
/// (the outbox id: a receiver that got a notification twice, e.g. when its
/// answer was lost, can tell), X-PSO-Event (firing, resolved) and, with a
/// secret, X-PSO-Timestamp and X-PSO-Signature (webhookSignature). A 2xx
/// answer delivers; a transfer error, 408, 429 or 5xx is retried; any other
/// status is a refusal: given up at once, logged and counted.
class WebhookOutbox {
 public:
  WebhookOutbox(WebhookDeliverySettings settings, store::AlertStore& store,
                common::MetricsRegistry& metrics);
  ~WebhookOutbox();
  WebhookOutbox(const WebhookOutbox&) = delete;
  WebhookOutbox& operator=(const WebhookOutbox&) = delete;

  /// Starts the delivery thread (wall clock). Idempotent.
  void start();
  /// Stops the thread after the attempt in flight. Idempotent.
  void stop();
  /// Makes the thread look at the outbox now (new notifications queued).
  void wake();

  /// One pass at now_ms: every notification due, oldest first.
  DeliveryPass deliverDue(int64_t now_ms);

 private:
  void loop();

  WebhookDeliverySettings settings_;
  store::AlertStore& store_;
  common::MetricsRegistry& metrics_;
  std::mutex mutex_;
  std::condition_variable cv_;
  bool stopping_ = false;
  bool woken_ = false;
  std::thread thread_;
};

}  // namespace pso::controller::service
