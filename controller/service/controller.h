#pragma once

// pso-controller assembled: store, ingest, decision cycle loop and HTTP API.

#include <cstdint>
#include <memory>
#include <string>

#include "common/metrics.h"
#include "common/result.h"
#include "controller/config/controller_config.h"
#include "controller/service/api.h"
#include "controller/service/cycle_runner.h"
#include "controller/service/http_server.h"
#include "controller/service/ingest.h"
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

  /// The bound ZeroMQ endpoint ("tcp://127.0.0.1:41523"), after start().
  const std::string& zmqEndpoint() const;
  /// The bound HTTP port and "host:port", after start().
  uint16_t httpPort() const;
  std::string httpAddress() const;

  /// Runs one decision cycle now (see CycleRunner::runCycleOnce).
  [[nodiscard]] Result<CycleReport> runCycleOnce(int64_t now_ms);

  const ControllerConfig& config() const { return config_; }
  common::MetricsRegistry& metrics() { return metrics_; }
  /// The store (after start()).
  store::Store& store() { return *store_; }

 private:
  ControllerConfig config_;
  WallClock clock_;
  common::MetricsRegistry metrics_;
  std::unique_ptr<store::Store> store_;
  std::unique_ptr<RemoteWriter> remote_writer_;  ///< set while remote_write.url is
  std::unique_ptr<Ingest> ingest_;
  std::unique_ptr<WebhookOutbox> webhooks_;
  std::unique_ptr<CycleRunner> cycles_;
  std::unique_ptr<Api> api_;
  std::unique_ptr<HttpServer> http_;
};

}  // namespace pso::controller::service
