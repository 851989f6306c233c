#pragma once

// pso-controller assembled: store, ingest, decision cycle loop and HTTP API.

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "common/metrics.h"
#include "common/result.h"
#include "controller/config/controller_config.h"
#include "controller/service/api.h"
#include "controller/service/cycle_runner.h"
#include "controller/service/http_server.h"
#include "controller/service/ingest.h"
#include "controller/service/leadership.h"
#include "controller/service/remote_write.h"
#include "controller/service/webhook_outbox.h"
#include "controller/store/store.h"

namespace pso::controller::service {

/// The software version reported by /api/v1/status.
const char* controllerVersion();

/// The whole controller service. start() opens the store, binds the ROUTER and
/// the HTTP listener and starts the cycle loop and the webhook outbox; stop() (also run by the
/// destructor) stops them in reverse order, writes telemetry already received,
/// saves the engine state and closes the database.
///
/// On PostgreSQL those parts run only while this controller holds the leader
/// lease (leadership.h): start() may return with the controller standing by,
/// and it starts acting, or stops and stands by again, later, on a thread of
/// its own (onRoleChange tells). Each time it starts acting it opens the
/// store afresh, so it reads what the controller before it wrote.
class Controller {
 public:
  /// `clock` is the wall clock the HTTP API answers by (common::wallMs in
  /// production, a fixed instant in tests).
  Controller(ControllerConfig config, WallClock clock);
  ~Controller();
  Controller(const Controller&) = delete;
  Controller& operator=(const Controller&) = delete;

  /// Error codes: "config" (bad mode, incomplete curve settings, a bad tokens
  /// file line, an empty webhooks.secret_file), "io" (api_tokens_file,
  /// webhooks.secret_file), "permissions" and "invalid" (a curve
  /// key file), "tls" (http_tls files), the store's errors, "bind" (ZeroMQ or
  /// HTTP address).
  /// On error everything started so far is stopped again.
  [[nodiscard]] Status start();
  void stop();

  /// Called with true each time the controller starts acting and false each
  /// time it stops acting while it goes on standing by; from start() itself
  /// or from the leadership thread. Set it before start().
  void onRoleChange(std::function<void(bool active)> listener);
  /// True while the controller acts (always after a start() on SQLite).
  bool active() const;

  /// The bound ZeroMQ endpoint ("tcp://127.0.0.1:41523") while acting, else "".
  std::string zmqEndpoint() const;
  /// The bound HTTP port and "host:port" while acting, else 0 and "".
  uint16_t httpPort() const;
  std::string httpAddress() const;

  /// Runs one decision cycle now (see CycleRunner::runCycleOnce) and returns
  /// once the store's upkeep it handed to the maintenance thread (rollups,
  /// retention, compaction) is done, so the caller sees all of its effects.
  [[nodiscard]] Result<CycleReport> runCycleOnce(int64_t now_ms);

  const ControllerConfig& config() const { return config_; }
  common::MetricsRegistry& metrics() { return metrics_; }
  /// The store (after start()).
  store::Store& store() { return *store_; }

 private:
  [[nodiscard]] Status startActive();
  void stopActive();
  void stopActiveLocked();
  void notifyRole(bool active);

  ControllerConfig config_;
  WallClock clock_;
  common::MetricsRegistry metrics_;
  bool started_ = false;
  std::atomic<bool> stopping_{false};  ///< within stop(): the last fence is no standby
  // Read once by start(), used by every startActive().
  std::string curve_secret_key_;
  std::optional<std::vector<ApiToken>> tokens_;
  std::string webhook_secret_;
  RemoteWriteSettings remote_write_settings_;
  std::unique_ptr<Leadership> leadership_;  ///< on PostgreSQL only
  /// Guards the parts below, which the leadership thread starts and stops.
  mutable std::mutex parts_mutex_;
  std::function<void(bool)> role_listener_;
  std::unique_ptr<store::Store> store_;
  std::unique_ptr<RemoteWriter> remote_writer_;  ///< set while remote_write.url is
  std::unique_ptr<Ingest> ingest_;
  std::unique_ptr<WebhookOutbox> webhooks_;
  std::unique_ptr<CycleRunner> cycles_;
  std::unique_ptr<Api> api_;
  std::unique_ptr<HttpServer> http_;
};

}  // namespace pso::controller::service
