// pso-controller: command-line flags over the YAML configuration, then the
// Controller until SIGTERM or SIGINT.

#include <spdlog/spdlog.h>

#include <pthread.h>
#include <CLI/CLI.hpp>
#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstring>
#include <ctime>
#include <iostream>
#include <string>

#include "common/clock.h"
#include "common/config.h"
#include "common/logging.h"
#include "common/sd_notify.h"
#include "controller/config/controller_config.h"
#include "controller/service/controller.h"

namespace {

constexpr int kStartupFailure = 2;

int startupFailure(const std::string& message) {
  std::cerr << "pso-controller: " << message << std::endl;
  return kStartupFailure;
}

// A service manager that cannot be told is worth a warning, never a stop.
void warnIfUnsent(const pso::Status& status) {
  if (!status) spdlog::warn("sd_notify: {}", status.error().message);
}

// Waits for one of `signals` and returns it, feeding systemd's watchdog in the
// meantime. The watchdog is fed from this thread: it shows that the process
// is scheduled and handles signals, not that each of its loops turns.
int awaitStopSignal(const sigset_t& signals, pso::common::ServiceNotifier& notifier) {
  for (;;) {
    warnIfUnsent(notifier.keepAlive(pso::common::steadyMs()));
    if (!notifier.watchdogEnabled()) {
      int received = 0;
      return sigwait(&signals, &received) == 0 ? received : SIGTERM;
    }
    const int64_t wait_ms =
        std::max<int64_t>(notifier.nextKeepAliveMs() - pso::common::steadyMs(), 1);
    const timespec timeout{static_cast<time_t>(wait_ms / 1000),
                           static_cast<long>(wait_ms % 1000) * 1000000};
    const int received = sigtimedwait(&signals, nullptr, &timeout);
    if (received > 0) return received;
    if (errno != EAGAIN && errno != EINTR) return SIGTERM;
  }
}

}  // namespace

int main(int argc, char** argv) {
  // Before any thread starts: it takes systemd's variables out of the
  // environment.
  pso::common::ServiceNotifier notifier = pso::common::ServiceNotifier::fromEnvironment();
  namespace common = pso::common;
  namespace service = pso::controller::service;

  CLI::App app{
      "pso-controller: aggregates agent telemetry, forecasts load, dispatches scaling "
      "directives and records every decision cycle as a scenario"};
  std::string config_path;
  std::string bind;
  std::string http;
  std::string db;
  std::string cycle_interval;
  std::string mode;
  std::string log_level;
  app.add_option("--config", config_path, "YAML configuration file (controller.yaml)");
  app.add_option("--bind", bind, "ZeroMQ endpoint the agents connect to, e.g. tcp://0.0.0.0:7450");
  app.add_option("--http", http, "HTTP API address ADDR:PORT (port 0 picks a free port)");
  app.add_option("--db", db, "SQLite database path");
  app.add_option("--cycle-interval", cycle_interval, "time between decision cycles, e.g. 15s");
  app.add_option("--mode", mode, "act | forecast-only");
  app.add_option("--log-level", log_level, "trace | debug | info | warn | error | off");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() == 0) return app.exit(e);
    return startupFailure(e.what());
  }

  pso::controller::ControllerConfig config;
  if (!config_path.empty()) {
    auto loaded = pso::controller::loadControllerConfig(config_path);
    if (!loaded) return startupFailure(loaded.error().message);
    config = std::move(loaded.value());
  }
  if (!bind.empty()) config.bind = bind;
  if (!http.empty()) config.http = http;
  if (!db.empty()) config.db = db;
  if (!mode.empty()) config.mode = mode;
  if (!log_level.empty()) config.log_level = log_level;
  if (!cycle_interval.empty()) {
    auto parsed = common::parseDuration(cycle_interval);
    if (!parsed) return startupFailure("--cycle-interval: " + parsed.error().message);
    config.cycle_interval = parsed.value();
  }
  if (auto status = common::setupLogging("pso-controller", config.log_level); !status) {
    return startupFailure(status.error().message);
  }

  // A peer that goes away must surface as a write error, not end the process.
  std::signal(SIGPIPE, SIG_IGN);
  // Every thread the controller starts inherits this mask, so the signals are
  // delivered only to sigwait below and the stop runs in an ordinary context.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  service::Controller controller(config, common::wallMs);
  // One line each time the role changes (on PostgreSQL a standby starts
  // acting later, from the controller's leadership thread): scripts and
  // tests wait for it.
  controller.onRoleChange([&controller](bool active) {
    if (active) {
      std::cout << "pso-controller listening zmq=" << controller.zmqEndpoint()
                << " http=" << controller.httpAddress() << std::endl;
    } else {
      std::cout << "pso-controller standing by" << std::endl;
    }
  });
  if (auto status = controller.start(); !status) return startupFailure(status.error().message);
  warnIfUnsent(notifier.ready());
  warnIfUnsent(notifier.status(controller.active() ? "agents on " + controller.zmqEndpoint() +
                                                         ", API on " + controller.httpAddress()
                                                   : "standing by for the leader lease"));

  const int received = awaitStopSignal(signals, notifier);
  warnIfUnsent(notifier.stopping());
  spdlog::info("received {}, stopping", received == SIGINT ? "SIGINT" : "SIGTERM");
  controller.stop();
  return 0;
}
