// pso-agent: samples metrics beside a managed system, spools them for the
// controller and applies its directives. Flags override the config file.

#include <malloc.h>
#include <signal.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <iostream>
#include <string>

#include "agent/agent.h"
#include "agent/agent_config.h"
#include "common/config.h"
#include "common/logging.h"
#include "common/sd_notify.h"

namespace {

constexpr int kUsageOrConfigError = 2;

pso::agent::Agent* g_agent = nullptr;

void onStopSignal(int /*sig*/) {
  if (g_agent != nullptr) g_agent->requestStop();
}

int fail(const std::string& message) {
  std::cerr << "pso-agent: " << message << "\n";
  return kUsageOrConfigError;
}

}  // namespace

int main(int argc, char** argv) {
  // One malloc arena for every thread: the agent allocates little and seldom,
  // and each extra arena (one per ZeroMQ or health thread by default) is
  // resident memory it does not need.
  mallopt(M_ARENA_MAX, 1);
  // A write past a file-size limit (ulimit -f, systemd's LimitFSIZE=) fails
  // with EFBIG instead of killing the agent, so the spool can move to memory.
  signal(SIGXFSZ, SIG_IGN);
  // Before any thread starts: it takes systemd's variables out of the
  // environment the workers inherit.
  pso::common::ServiceNotifier service = pso::common::ServiceNotifier::fromEnvironment();
  CLI::App app{"pso-agent: samples metrics and applies scaling directives for PSO-PRIME"};
  std::string config_path;
  std::string controller;
  std::string id;
  std::string spool;
  std::string sample_interval;
  std::string log_level;
  app.add_option("--config", config_path, "agent YAML file (default: built-in defaults)");
  app.add_option("--controller", controller, "controller endpoint, e.g. tcp://127.0.0.1:7450");
  app.add_option("--id", id, "agent id (default: the host name)");
  app.add_option("--spool", spool, "spool database path");
  app.add_option("--sample-interval", sample_interval, "sampling interval, e.g. 5s or 500ms");
  app.add_option("--log-level", log_level, "trace|debug|info|warn|error|off");
  app.set_version_flag("--version", pso::agent::agentVersion());
  try {
    app.parse(argc, argv);
  } catch (const CLI::Success& success) {
    return app.exit(success);
  } catch (const CLI::ParseError& error) {
    return fail(error.what());
  }

  pso::agent::AgentConfig config;
  if (!config_path.empty()) {
    pso::Result<pso::agent::AgentConfig> loaded = pso::agent::loadAgentConfig(config_path);
    if (!loaded) return fail(loaded.error().message);
    config = std::move(loaded).value();
  }
  if (!controller.empty()) config.controller = controller;
  if (!id.empty()) config.id = id;
  if (!spool.empty()) config.spool = spool;
  if (!log_level.empty()) config.log_level = log_level;
  if (!sample_interval.empty()) {
    pso::Result<pso::common::Duration> interval = pso::common::parseDuration(sample_interval);
    if (!interval) return fail("--sample-interval: " + interval.error().message);
    config.sample_interval = *interval;
  }
  if (pso::Status status = pso::common::setupLogging("pso-agent", config.log_level); !status) {
    return fail("log level: " + status.error().message);
  }

  pso::Result<std::unique_ptr<pso::agent::Agent>> agent =
      pso::agent::Agent::create(std::move(config));
  if (!agent) return fail(agent.error().message);

  g_agent = agent->get();
  struct sigaction action {};
  action.sa_handler = onStopSignal;
  sigemptyset(&action.sa_mask);
  sigaction(SIGTERM, &action, nullptr);
  sigaction(SIGINT, &action, nullptr);
  signal(SIGPIPE, SIG_IGN);

  pso::Status status = (*agent)->run(&service);
  g_agent = nullptr;
  if (!status) return fail(status.error().message);
  return 0;
}
