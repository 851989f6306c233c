#include "controller/service/webhook_outbox.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <set>
#include <utility>

#include "common/clock.h"
#include "common/http_transfer.h"
#include "common/threads.h"

namespace pso::controller::service {
namespace {

// A receiver's answer is read for its status only; its body is not kept.
constexpr std::size_t kMaxReplyBytes = 64 * 1024;
constexpr std::size_t kMaxErrorBytes = 300;

int64_t backoffMs(const WebhookDeliverySettings& settings, int64_t attempts) {
  int64_t wait = settings.first_backoff_ms;
  for (int64_t i = 1; i < attempts && wait < settings.max_backoff_ms; ++i) wait *= 2;
  return std::min(wait, settings.max_backoff_ms);
}

}  // namespace

std::string webhookSignature(const std::string& secret, int64_t timestamp_ms,
                             const std::string& body) {
  const std::string message = std::to_string(timestamp_ms) + "." + body;
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()),
       reinterpret_cast<const unsigned char*>(message.data()), message.size(), digest, &length);
  std::string hex = "sha256=";
  char byte[3];
  for (unsigned int i = 0; i < length; ++i) {
    std::snprintf(byte, sizeof byte, "%02x", digest[i]);
    hex += byte;
  }
  return hex;
}

WebhookOutbox::WebhookOutbox(WebhookDeliverySettings settings, store::AlertStore& store,
                             common::MetricsRegistry& metrics)
    : settings_(std::move(settings)), store_(store), metrics_(metrics) {
  metrics_.describe("pso_webhook_deliveries_total", "counter",
                    "Webhook delivery attempts, by outcome (delivered, retry, failed)");
  metrics_.describe("pso_webhook_outbox_pending", "gauge", "Notifications waiting in the outbox");
}

WebhookOutbox::~WebhookOutbox() {
  stop();
}

void WebhookOutbox::start() {
  if (thread_.joinable()) return;
  {
    std::lock_guard lock(mutex_);
    stopping_ = false;
  }
  thread_ = std::thread([this] {
    common::nameThisThread("pso-webhooks");
    loop();
  });
}

void WebhookOutbox::stop() {
  if (!thread_.joinable()) return;
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  cv_.notify_all();
  thread_.join();
}

void WebhookOutbox::wake() {
  {
    std::lock_guard lock(mutex_);
    woken_ = true;
  }
  cv_.notify_all();
}

void WebhookOutbox::loop() {
  std::unique_lock lock(mutex_);
  while (!stopping_) {
    woken_ = false;
    lock.unlock();
    (void)deliverDue(common::wallMs());
    lock.lock();
    cv_.wait_for(lock, std::chrono::milliseconds(settings_.poll_interval_ms),
                 [this] { return stopping_ || woken_; });
  }
}

DeliveryPass WebhookOutbox::deliverDue(int64_t now_ms) {
  DeliveryPass pass;
  auto due = store_.dueNotifications(now_ms, settings_.batch);
  if (!due) {
    spdlog::error("webhooks: reading the outbox failed: {}", due.error().message);
    return pass;
  }
  // A receiver that failed now holds up its later notifications, so each
  // receiver sees them in the order they were queued.
  std::set<std::string> failing;
  for (store::NotificationRecord n : due.value()) {
    if (failing.count(n.url) > 0) {
      ++pass.deferred;
      continue;
    }
    std::string outcome;
    if (now_ms - n.created_ms >= settings_.give_up_after_ms) {
      n.status = "failed";
      n.delivered_ms = now_ms;
      n.last_error = "given up after " + std::to_string(n.attempts) + " attempts: " +
                     (n.last_error.empty() ? std::string("none succeeded") : n.last_error);
      outcome = "failed";
    } else {
      common::HttpTransfer transfer;
      transfer.method = "POST";
      transfer.url = n.url;
      transfer.body = n.body;
      transfer.timeout_ms = static_cast<long>(settings_.timeout_ms);
      transfer.max_reply_bytes = kMaxReplyBytes;
      transfer.headers = {"Content-Type: application/json",
                          "X-PSO-Notification-Id: " + std::to_string(n.id),
                          "X-PSO-Event: " + n.event};
      if (!settings_.secret.empty()) {
        transfer.headers.push_back("X-PSO-Timestamp: " + std::to_string(now_ms));
        transfer.headers.push_back("X-PSO-Signature: " +
                                   webhookSignature(settings_.secret, now_ms, n.body));
      }
      auto reply = common::performTransfer(transfer);
      ++n.attempts;
      if (reply && reply->status >= 200 && reply->status < 300) {
        n.status = "delivered";
        n.delivered_ms = now_ms;
        n.last_error.clear();
        outcome = "delivered";
      } else if (reply && !common::isRetryableHttpStatus(reply->status)) {
        n.status = "failed";
        n.delivered_ms = now_ms;
        n.last_error = "refused with HTTP " + std::to_string(reply->status);
        outcome = "failed";
      } else {
        n.last_error = reply ? "HTTP " + std::to_string(reply->status) : reply.error().message;
        if (n.last_error.size() > kMaxErrorBytes) n.last_error.resize(kMaxErrorBytes);
        n.next_attempt_ms = now_ms + backoffMs(settings_, n.attempts);
        outcome = "retry";
      }
    }
    if (auto updated = store_.updateNotification(n); !updated) {
      // Left pending, it is sent again: at least once beats never.
      spdlog::error("webhooks: recording notification {} failed: {}", n.id,
                    updated.error().message);
    }
    metrics_.increment("pso_webhook_deliveries_total", {{"outcome", outcome}});
    if (outcome == "delivered") {
      ++pass.delivered;
    } else if (outcome == "retry") {
      ++pass.retried;
      failing.insert(n.url);
      spdlog::warn("webhook {} to {} failed (attempt {}): {}; next attempt at {}", n.id, n.url,
                   n.attempts, n.last_error, common::formatIso8601(n.next_attempt_ms));
    } else {
      ++pass.failed;
      spdlog::error("webhook {} to {} given up: {}", n.id, n.url, n.last_error);
    }
  }
  if (auto pending = store_.pendingNotificationCount()) {
    metrics_.set("pso_webhook_outbox_pending", {}, static_cast<double>(pending.value()));
  }
  return pass;
}

}  // namespace pso::controller::service
