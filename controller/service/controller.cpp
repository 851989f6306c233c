#include "controller/service/controller.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <optional>
#include <utility>
#include <vector>

#include "common/clock.h"
#include "common/curve_keys.h"

#ifndef PSO_VERSION
#error "PSO_VERSION must be defined by the build"
#endif

namespace pso::controller::service {
namespace {

// How long runCycleOnce waits for the upkeep its cycle handed over: a rollup
// pass of 10,000 agents' series takes seconds.
constexpr std::chrono::milliseconds kCycleUpkeepWait{60'000};

// The controller's CurveZMQ secret key, after checking the agent-key
// directory can be read (an unreadable one would admit nobody, silently).
Result<std::string> curveServerKey(const common::CurveConfig& curve) {
  if (curve.secret_key_file.empty() || curve.authorized_keys_dir.empty()) {
    return makeError("config",
                     "curve: secret_key_file and authorized_keys_dir are both needed for "
                     "CurveZMQ (psoctl keygen writes the key files)");
  }
  auto pair = common::readCurveSecretKeyFile(curve.secret_key_file);
  if (!pair) {
    return makeError(pair.error().code, "curve.secret_key_file: " + pair.error().message);
  }
  std::error_code error;
  if (!std::filesystem::is_directory(curve.authorized_keys_dir, error)) {
    return makeError("config", "curve.authorized_keys_dir: " + curve.authorized_keys_dir +
                                   " is not a readable directory");
  }
  spdlog::info(
      "CurveZMQ: this controller's public key is {} (agents pin it as "
      "curve.server_public_key)",
      pair->public_key);
  return pair->secret_key;
}

// The first line of a key or token file (`key` names the setting), which
// must hold one.
Result<std::string> firstLineOf(const std::string& key, const std::string& path) {
  std::ifstream file(path);
  if (!file) return makeError("io", key + ": cannot read " + path);
  std::string line;
  std::getline(file, line);
  while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) line.pop_back();
  if (line.empty()) return makeError("config", key + ": " + path + " holds no key");
  return line;
}

WebhookDeliverySettings webhookSettings(const WebhookConfig& config, std::string secret) {
  WebhookDeliverySettings settings;
  settings.timeout_ms = config.timeout.count();
  settings.max_backoff_ms = config.max_backoff.count();
  settings.first_backoff_ms = std::min<int64_t>(settings.first_backoff_ms, settings.max_backoff_ms);
  settings.give_up_after_ms = config.give_up_after.count();
  settings.secret = std::move(secret);
  return settings;
}

}  // namespace

const char* controllerVersion() {
  return PSO_VERSION;
}

Controller::Controller(ControllerConfig config, WallClock clock)
    : config_(std::move(config)), clock_(std::move(clock)) {}

Controller::~Controller() {
  stop();
}

Status Controller::start() {
  if (started_) return makeError("config", "controller already started");
  if (config_.mode != "act" && config_.mode != "forecast-only") {
    return makeError("config", "mode: expected act or forecast-only, got '" + config_.mode + "'");
  }
  if (config_.cycle_interval.count() <= 0) {
    return makeError("config", "cycle_interval: must be positive");
  }
  if (auto valid = engine::DecisionEngine::validateSettings(engineSettingsFrom(config_)); !valid) {
    return makeError("config", "engine: " + valid.error().message);
  }
  curve_secret_key_.clear();
  if (config_.curve.enabled() || !config_.curve.authorized_keys_dir.empty()) {
    auto key = curveServerKey(config_.curve);
    if (!key) return key.error();
    curve_secret_key_ = std::move(key).value();
  }
  tokens_.reset();
  if (!config_.api_tokens_file.empty()) {
    auto loaded = loadApiTokens(config_.api_tokens_file);
    if (!loaded) return loaded.error();
    if (loaded->empty()) {
      spdlog::warn("api_tokens_file {} holds no token: every request that needs one is refused",
                   config_.api_tokens_file);
    }
    tokens_ = std::move(loaded.value());
  }
  webhook_secret_.clear();
  if (!config_.webhooks.secret_file.empty()) {
    auto secret = firstLineOf("webhooks.secret_file", config_.webhooks.secret_file);
    if (!secret) return secret.error();
    webhook_secret_ = std::move(secret).value();
  }
  RemoteWriteSettings& remote_write = remote_write_settings_;
  remote_write = RemoteWriteSettings();
  remote_write.url = config_.remote_write.url;
  remote_write.timeout_ms = config_.remote_write.timeout.count();
  remote_write.max_samples_per_send =
      static_cast<std::size_t>(config_.remote_write.max_samples_per_send);
  remote_write.max_queued_samples =
      static_cast<std::size_t>(config_.remote_write.max_queued_samples);
  remote_write.max_backoff_ms = config_.remote_write.max_backoff.count();
  if (!config_.remote_write.bearer_token_file.empty()) {
    auto token =
        firstLineOf("remote_write.bearer_token_file", config_.remote_write.bearer_token_file);
    if (!token) return token.error();
    remote_write.bearer_token = std::move(token).value();
  }
  started_ = true;
  // The config's check admits only the two names, so an unknown one is SQLite.
  const store::StoreBackend backend =
      store::parseStoreBackend(config_.store.backend).value_or(store::StoreBackend::kSqlite);
  if (backend != store::StoreBackend::kPostgresql) {
    auto status = startActive();
    if (!status) started_ = false;
    return status;
  }
  // Controllers sharing one database act one at a time (leadership.h).
  auto lease = store::openPostgresqlLeaderLease(config_.store.dsn, "controller");
  if (!lease) {
    started_ = false;
    return lease.error();
  }
  LeadershipSettings settings;
  settings.holder = Leadership::uniqueHolder(config_.id);
  settings.ttl_ms = config_.store.lease_ttl.count();
  leadership_ = std::make_unique<Leadership>(std::move(lease).value(), settings, metrics_);
  auto status = leadership_->start([this] { return startActive(); },
                                   [this](const std::string& /*reason*/) {
                                     stopActive();
                                     // A controller that stops does not stand by.
                                     if (!stopping_) notifyRole(false);
                                   });
  if (!status) {
    leadership_.reset();
    started_ = false;
    return status;
  }
  if (!leadership_->active()) {
    spdlog::info("pso-controller {} ({}) stands by: '{}' holds the leader lease",
                 controllerVersion(), config_.id, leadership_->observedHolder());
    notifyRole(false);
  }
  return {};
}

Status Controller::startActive() {
  std::unique_lock lock(parts_mutex_);
  const int64_t started = common::steadyMs();
  store::StoreLocation location;
  location.backend =
      store::parseStoreBackend(config_.store.backend).value_or(store::StoreBackend::kSqlite);
  location.path = config_.db;
  location.dsn = config_.store.dsn;
  auto opened = store::Store::open(location);
  if (!opened) return opened.error();
  store_ = std::move(opened.value());
  store::IngestLimits limits;
  limits.max_seq_advance = static_cast<uint64_t>(config_.ingest.max_seq_advance);
  limits.max_age_ms = config_.ingest.max_sample_age.count();
  limits.max_ahead_ms = config_.ingest.max_sample_ahead.count();
  store_->setIngestLimits(limits);

  IngestOptions ingest_options;
  ingest_options.controller_id = config_.id;
  ingest_options.bind = config_.bind;
  ingest_options.heartbeat_interval = config_.heartbeat_interval;
  ingest_options.agent_timeout = config_.agent_timeout;
  ingest_options.curve_secret_key = curve_secret_key_;
  ingest_options.authorized_keys_dir = config_.curve.authorized_keys_dir;
  if (!remote_write_settings_.url.empty()) {
    remote_writer_ = std::make_unique<RemoteWriter>(remote_write_settings_, metrics_);
    remote_writer_->start();
    ingest_options.forward_stored =
        [writer = remote_writer_.get()](std::vector<store::StoredSeries> stored) {
          writer->enqueue(std::move(stored));
        };
    spdlog::info("remote_write: forwarding stored telemetry to {}", config_.remote_write.url);
  }
  ingest_ = std::make_unique<Ingest>(ingest_options, *store_, metrics_);
  if (auto status = ingest_->start(); !status) {
    stopActiveLocked();
    return status;
  }

  webhooks_ = std::make_unique<WebhookOutbox>(webhookSettings(config_.webhooks, webhook_secret_),
                                              *store_, metrics_);
  webhooks_->start();
  cycles_ = std::make_unique<CycleRunner>(config_, *store_, *ingest_, metrics_);
  cycles_->onNotificationsQueued([outbox = webhooks_.get()] { outbox->wake(); });
  if (auto status = cycles_->start(); !status) {
    stopActiveLocked();
    return status;
  }

  ApiOptions api_options;
  api_options.controller_id = config_.id;
  api_options.version = controllerVersion();
  api_options.mode = config_.mode;
  api_options.tokens = tokens_;
  api_options.anonymous_role = config_.api_read_requires_token ? Role::kNone : Role::kRead;
  api_options.started_steady_ms = started;
  api_options.cycle_interval_ms = config_.cycle_interval.count();
  api_options.clock = clock_;
  api_ = std::make_unique<Api>(std::move(api_options), *store_, *cycles_, metrics_);
  HttpServerOptions http_options;
  http_options.tls_cert_file = config_.http_tls.cert_file;
  http_options.tls_key_file = config_.http_tls.key_file;
  http_ = std::make_unique<HttpServer>(
      [api = api_.get()](const HttpRequest& request) { return api->handle(request); }, metrics_,
      http_options);
  if (auto status = http_->start(config_.http); !status) {
    stopActiveLocked();
    return status;
  }

  spdlog::info("pso-controller {} ({}) bound zmq {} http {}, db {}, cycle every {}, mode {}",
               controllerVersion(), config_.id, ingest_->endpoint(), http_->address(),
               store_->path(), common::formatDuration(config_.cycle_interval), config_.mode);
  if (curve_secret_key_.empty()) {
    spdlog::warn(
        "agent link is plain TCP without CurveZMQ: any process that reaches {} can speak for "
        "any agent; for loopback or a trusted network only (docs/security.md)",
        ingest_->endpoint());
  } else {
    spdlog::info("agent link: CurveZMQ with agent keys from {}", config_.curve.authorized_keys_dir);
  }
  if (!config_.api_tokens_file.empty()) {
    spdlog::info("mutating API enabled with tokens from {}", config_.api_tokens_file);
  } else {
    spdlog::info("mutating API disabled: no api_tokens_file configured");
  }
  if (!http_->tls()) {
    spdlog::warn("HTTP API {} speaks plain HTTP: keep it on loopback, or set http_tls",
                 http_->address());
  }
  for (const auto& pool : config_.pools) {
    spdlog::info("pool {}: {} replicas shared by {} systems", pool.name, pool.capacity_replicas,
                 pool.systems.size());
  }
  for (const auto& alert : config_.alerts) {
    std::string actions;
    if (!alert.notify.empty()) actions += " notify " + alert.notify + " (" + alert.format + ")";
    if (!alert.scale_up.empty()) actions += " scale_up " + alert.scale_up;
    if (!alert.scale_down.empty()) actions += " scale_down " + alert.scale_down;
    if (!alert.hold.empty()) actions += " hold " + alert.hold;
    spdlog::info("alert rule {}: {} for {} ->{}", alert.name, alert.when,
                 common::formatDuration(alert.for_duration), actions);
  }
  lock.unlock();
  notifyRole(true);
  return {};
}

void Controller::stop() {
  stopping_ = true;
  if (leadership_) {
    // Stops the parts first (if this controller acts), then gives the lease up.
    leadership_->stop();
    leadership_.reset();
  } else {
    stopActive();
  }
  started_ = false;
  stopping_ = false;
}

void Controller::stopActive() {
  std::lock_guard lock(parts_mutex_);
  stopActiveLocked();
}

void Controller::stopActiveLocked() {
  if (http_) http_->stop();
  if (cycles_) cycles_->stop();
  if (webhooks_) webhooks_->stop();
  if (ingest_) ingest_->stop();
  // After ingest: it forwards to the remote writer until it stops.
  if (remote_writer_) remote_writer_->stop();
  http_.reset();
  api_.reset();
  cycles_.reset();
  webhooks_.reset();
  ingest_.reset();
  remote_writer_.reset();
  if (store_) {
    store_.reset();
    spdlog::info("pso-controller stopped");
  }
}

void Controller::notifyRole(bool active) {
  std::function<void(bool)> listener;
  {
    std::lock_guard lock(parts_mutex_);
    listener = role_listener_;
  }
  if (listener) listener(active);
}

void Controller::onRoleChange(std::function<void(bool active)> listener) {
  std::lock_guard lock(parts_mutex_);
  role_listener_ = std::move(listener);
}

bool Controller::active() const {
  std::lock_guard lock(parts_mutex_);
  return ingest_ != nullptr;
}

std::string Controller::zmqEndpoint() const {
  std::lock_guard lock(parts_mutex_);
  return ingest_ ? ingest_->endpoint() : std::string();
}

uint16_t Controller::httpPort() const {
  std::lock_guard lock(parts_mutex_);
  return http_ ? http_->port() : 0;
}

std::string Controller::httpAddress() const {
  std::lock_guard lock(parts_mutex_);
  return http_ ? http_->address() : std::string();
}

Result<CycleReport> Controller::runCycleOnce(int64_t now_ms) {
  if (!cycles_) return makeError("config", "controller not started or standing by");
  auto report = cycles_->runCycleOnce(now_ms);
  if (report && !cycles_->awaitMaintenance(kCycleUpkeepWait)) {
    return makeError("store", "the store's upkeep after cycle " + report->cycle.id +
                                  " was still running after " +
                                  common::formatDuration(kCycleUpkeepWait));
  }
  return report;
}

}  // namespace pso::controller::service
