#include "agent/agent.h"

#include <fcntl.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <set>
#include <utility>

#include "agent/background_demand_source.h"
#include "common/clock.h"
#include "common/curve_keys.h"
#include "common/sd_notify.h"
#include "common/zmq_socket.h"

#ifndef PSO_AGENT_VERSION
#define PSO_AGENT_VERSION "0.0.0"
#endif

namespace pso::agent {
namespace {

// The longest wait between connection attempts to one endpoint of a
// controller pair (Agent::create).
constexpr int kControllerPairReconnectMaxMs = 1000;

// The agent's CurveZMQ client keys (docs/security.md): the controller's public
// key is pinned, and the agent's own pair comes from its secret key file.
Result<common::DealerOptions> curveDealerOptions(const common::CurveConfig& curve) {
  if (curve.secret_key_file.empty() || curve.server_public_key.empty()) {
    return makeError("invalid",
                     "curve: server_public_key and secret_key_file are both needed for "
                     "CurveZMQ (psoctl keygen writes the key files)");
  }
  if (!common::isCurveKey(curve.server_public_key)) {
    return makeError("invalid",
                     "curve.server_public_key: not a Z85 key (40 characters, the controller's "
                     ".pub file)");
  }
  Result<common::CurveKeyPair> pair = common::readCurveSecretKeyFile(curve.secret_key_file);
  if (!pair) {
    return makeError(pair.error().code, "curve.secret_key_file: " + pair.error().message);
  }
  common::DealerOptions options;
  options.curve_server_key = curve.server_public_key;
  options.curve_public_key = pair->public_key;
  options.curve_secret_key = pair->secret_key;
  return options;
}

// Actuator housekeeping (reaping, SIGKILL escalation, restarts) runs this
// often; it bounds how long a dead worker goes unnoticed.
constexpr int64_t kActuatorPollMs = 250;

// A service manager that cannot be told is worth a warning, never a stop.
void warnIfUnsent(const Status& status) {
  if (!status) spdlog::warn("sd_notify: {}", status.error().message);
}

std::string systemHostName() {
  char name[256] = {};
  if (::gethostname(name, sizeof name - 1) != 0 || name[0] == '\0') return "localhost";
  return name;
}

std::map<std::string, std::string> hostFacts() {
  std::map<std::string, std::string> facts;
  facts["hostname"] = systemHostName();
  struct utsname uts {};
  if (::uname(&uts) == 0) {
    facts["os"] = std::string(uts.sysname) + " " + uts.release;
    facts["arch"] = uts.machine;
  }
  long cpus = ::sysconf(_SC_NPROCESSORS_ONLN);
  if (cpus > 0) facts["cpus"] = std::to_string(cpus);
  long pages = ::sysconf(_SC_PHYS_PAGES);
  long page_size = ::sysconf(_SC_PAGESIZE);
  if (pages > 0 && page_size > 0) {
    facts["memory_bytes"] = std::to_string(static_cast<int64_t>(pages) * page_size);
  }
  return facts;
}

}  // namespace

const char* agentVersion() {
  return PSO_AGENT_VERSION;
}

Agent::Agent(AgentConfig config) : config_(std::move(config)), context_(1) {
  if (::pipe2(stop_pipe_, O_NONBLOCK | O_CLOEXEC) != 0) {
    stop_pipe_[0] = stop_pipe_[1] = -1;
  }
}

Agent::~Agent() {
  // Its thread reads the registry and the liveness figures: stopped first.
  metrics_server_.reset();
  if (health_) health_->stop();
  session_.reset();
  stopActuators();
  for (int fd : stop_pipe_) {
    if (fd >= 0) ::close(fd);
  }
}

Result<std::unique_ptr<Agent>> Agent::create(AgentConfig config) {
  if (config.id.empty()) config.id = systemHostName();
  // Flags may have changed what the config file's reader checked.
  if (Status settings = checkAgentSettings(config); !settings) return settings.error();
  common::DealerOptions dealer;
  if (config.curve.enabled() || !config.curve.server_public_key.empty()) {
    Result<common::DealerOptions> keys = curveDealerOptions(config.curve);
    if (!keys) return keys.error();
    dealer = std::move(keys).value();
  }
  // A standby binds no port, so its endpoint refuses connections until it
  // takes over; libzmq then waits the maximum interval between attempts.
  // Kept short, an agent reaches the new acting controller soon after it
  // binds (docs/scale.md "Beyond one controller").
  if (common::splitEndpoints(config.controller).size() > 1) {
    dealer.reconnect_ivl_max_ms = kControllerPairReconnectMaxMs;
  }
  std::set<std::string> names;
  for (const SystemConfig& system : config.systems) {
    if (system.name.empty()) return makeError("invalid", "a system has no name");
    if (!names.insert(system.name).second) {
      return makeError("invalid", "system " + system.name + " is configured twice");
    }
  }

  std::unique_ptr<Agent> agent(new Agent(std::move(config)));
  if (agent->stop_pipe_[0] < 0) {
    return makeError(
        "io", std::string("cannot create the agent's wake-up pipe: ") + std::strerror(errno));
  }
  const AgentConfig& cfg = agent->config_;
  agent->host_ = std::make_unique<HostSampler>(cfg.proc_root, &agent->metrics_, cfg.filesystems);
  const std::string cgroup_root = cfg.sys_root + "/fs/cgroup";
  agent->metrics_.describe("pso_agent_demand_errors_total", "counter",
                           "Demand reads that produced no value, by system and reason");
  agent->metrics_.describe("pso_agent_spool_errors_total", "counter",
                           "Telemetry batches that could not be written to the spool");
  agent->metrics_.describe("pso_agent_samples_total", "counter", "Sampling steps taken");
  agent->metrics_.describe("pso_agent_sample_points_total", "counter",
                           "Points sampled (host and systems), before spooling");
  agent->liveness_rule_ = livenessRule(cfg);

  const int64_t start_ms = common::wallMs();
  for (const SystemConfig& system : cfg.systems) {
    std::unique_ptr<CgroupSampler> cgroup;
    if (!system.cgroup.empty()) {
      cgroup = std::make_unique<CgroupSampler>(system.name, cgroup_root + "/" + system.cgroup,
                                               &agent->metrics_);
    }
    DemandSourceContext context{system.name, agent->host_.get(), start_ms, cgroup.get()};
    Result<std::unique_ptr<DemandSource>> demand = makeDemandSource(system.demand, context);
    if (!demand) return demand.error();
    if ((*demand)->mayBlock()) {
      demand = std::unique_ptr<DemandSource>(std::make_unique<BackgroundDemandSource>(
          std::move(demand).value(), cfg.sample_interval.count(), system.demand.timeout.count()));
    }
    Result<std::unique_ptr<Actuator>> actuator =
        makeActuator(system, &agent->metrics_, cgroup_root);
    if (!actuator) return actuator.error();
    agent->systems_.push_back(ManagedSystem{
        system, std::move(demand).value(), std::move(actuator).value(), std::move(cgroup), {}, {}});
  }
  Result<std::unique_ptr<HealthMonitor>> health =
      HealthMonitor::create(cfg.systems, &agent->metrics_);
  if (!health) return health.error();
  agent->health_ = std::move(health).value();

  // A spool file that cannot be used must not keep the agent from sampling:
  // the spool then lives in memory (and says so) until the next start.
  Result<std::unique_ptr<Spool>> spool =
      Spool::openOrKeepInMemory(cfg.spool, cfg.spool_max_batches, &agent->metrics_);
  if (!spool) return spool.error();
  agent->spool_ = std::move(spool).value();

  SessionOptions options;
  options.dealer = std::move(dealer);
  options.agent_id = cfg.id;
  options.endpoint = cfg.controller;
  options.heartbeat_interval_ms = cfg.heartbeat_interval.count();
  options.hello_retry_ms = std::max<int64_t>(1000, cfg.heartbeat_interval.count());
  options.resend_after_ms = 2 * cfg.heartbeat_interval.count();
  options.rehello_after_ms = 6 * cfg.heartbeat_interval.count();
  options.refused_retry_ms = std::max<int64_t>(1000, 3 * cfg.heartbeat_interval.count());
  Agent* self = agent.get();
  agent->session_ = std::make_unique<Session>(
      agent->context_, std::move(options), *agent->spool_, [self] { return self->buildHello(); },
      [self](const protocol::Directive& directive) { return self->execute(directive); },
      &agent->metrics_);
  return agent;
}

Actuator* Agent::actuator(const std::string& system) {
  for (ManagedSystem& managed : systems_) {
    if (managed.config.name == system) return managed.actuator.get();
  }
  return nullptr;
}

void Agent::requestStop() {
  char byte = 1;
  if (stop_pipe_[1] >= 0) {
    ssize_t ignored = ::write(stop_pipe_[1], &byte, 1);
    (void)ignored;
  }
}

Status Agent::run(common::ServiceNotifier* service) {
  for (ManagedSystem& system : systems_) {
    if (Status status = system.actuator->start(); !status) {
      stopActuators();
      return status;
    }
  }
  if (Status status = session_->start(); !status) {
    stopActuators();
    return status;
  }
  if (Status status = health_->start(); !status) {
    stopActuators();
    return status;
  }
  publishLiveness(common::steadyMs());
  if (Status status = startMetricsServer(); !status) {
    health_->stop();
    stopActuators();
    return status;
  }
  spdlog::info("pso-agent {} as '{}': {} system(s), controller {}, spool {}{} ({} pending)",
               agentVersion(), config_.id, systems_.size(), config_.controller, config_.spool,
               spool_->inMemory() ? " (held in memory)" : "", spool_->pendingCount());
  if (config_.curve.enabled()) {
    spdlog::info("controller link: CurveZMQ, controller key pinned to {}",
                 config_.curve.server_public_key);
  } else {
    spdlog::warn(
        "controller link is plain TCP without CurveZMQ: for loopback or a trusted "
        "network only");
  }
  if (service != nullptr) warnIfUnsent(service->ready());

  const int64_t interval = config_.sample_interval.count();
  int64_t next_sample = common::steadyMs();
  int64_t next_actuator_poll = next_sample;
  std::vector<zmq::pollitem_t> items;
  bool stopping = false;
  while (!stopping) {
    int64_t now = common::steadyMs();
    // The loop wakes at least every kActuatorPollMs, well within any watchdog.
    if (service != nullptr) warnIfUnsent(service->keepAlive(now));
    if (now >= next_actuator_poll) {
      pollActuators();
      next_actuator_poll = now + kActuatorPollMs;
    }
    if (now >= next_sample) {
      sampleOnce(common::wallMs());
      next_sample += interval;
      // After a stall (suspend, slow disk) skip the missed samples instead of
      // bursting to catch up.
      if (next_sample <= now) next_sample = now + interval;
    }
    session_->tick();

    now = common::steadyMs();
    int64_t wake = std::min({next_sample, next_actuator_poll, session_->nextWakeMs()});
    items.clear();
    items.push_back(zmq::pollitem_t{nullptr, stop_pipe_[0], ZMQ_POLLIN, 0});
    items.push_back(zmq::pollitem_t{nullptr, health_->wakeFd(), ZMQ_POLLIN, 0});
    session_->addPollItems(items);
    try {
      zmq::poll(items, std::chrono::milliseconds(std::max<int64_t>(0, wake - now)));
    } catch (const zmq::error_t& error) {
      if (error.num() != EINTR) spdlog::warn("agent: poll failed: {}", error.what());
      continue;
    }
    if ((items[0].revents & ZMQ_POLLIN) != 0) {
      char drain[64];
      while (::read(stop_pipe_[0], drain, sizeof drain) > 0) {
      }
      stopping = true;
    }
    session_->onPolled(items, 2);
    // After the session has handled a welcome, so the full state can follow it.
    if ((items[1].revents & ZMQ_POLLIN) != 0 || session_->welcomes() != health_welcomes_) {
      forwardHealth();
    }
    publishLiveness(common::steadyMs());
  }

  if (service != nullptr) warnIfUnsent(service->stopping());
  metrics_server_.reset();
  spdlog::info("pso-agent stopping: stopping workers and closing the spool");
  health_->stop();
  flush();
  session_->pump();
  stopActuators();
  session_->close();
  if (spool_->inMemory() && spool_->pendingCount() > 0) {
    spdlog::warn("pso-agent stopped: {} unacked batch(es) held in memory are lost",
                 spool_->pendingCount());
  } else {
    spdlog::info("pso-agent stopped ({} batch(es) left in the spool)", spool_->pendingCount());
  }
  return {};
}

void Agent::sampleOnce(int64_t wall_ms) {
  points_.clear();
  if (Status status = host_->sample(wall_ms, points_); !status) {
    if (status.error().message != last_host_error_) {
      spdlog::warn("host sampler: {}", status.error().message);
      last_host_error_ = status.error().message;
    }
  } else {
    last_host_error_.clear();
  }
  for (ManagedSystem& system : systems_) {
    if (system.cgroup) {
      Status status = system.cgroup->sample(wall_ms, points_);
      std::string error = status.ok() ? std::string() : status.error().message;
      if (!error.empty() && error != system.last_cgroup_error)
        spdlog::warn("cgroup sampler: {}", error);
      system.last_cgroup_error = std::move(error);
    }
    Result<double> demand = system.demand->read(wall_ms);
    if (demand && !std::isfinite(*demand)) {
      demand = makeError("invalid", "demand is not a finite number");
    }
    system.demand->appendMetrics(points_);
    if (demand) {
      points_.push_back(SamplePoint{{system.config.name, "demand"}, *demand});
      system.last_demand_error.clear();
    } else {
      metrics_.increment("pso_agent_demand_errors_total",
                         {{"system", system.config.name}, {"reason", demand.error().code}});
      if (demand.error().message != system.last_demand_error) {
        spdlog::warn("system {}: no demand sample: {}", system.config.name, demand.error().message);
        system.last_demand_error = demand.error().message;
      }
    }
    int64_t replicas = system.actuator->currentReplicas();
    if (replicas >= 0) {
      points_.push_back(
          SamplePoint{{system.config.name, "replicas"}, static_cast<double>(replicas)});
    }
    if (std::optional<double> score = health_->score(system.config.name)) {
      points_.push_back(SamplePoint{{system.config.name, "health_score"}, *score});
    }
  }
  metrics_.increment("pso_agent_samples_total");
  metrics_.increment("pso_agent_sample_points_total", {}, static_cast<double>(points_.size()));
  batch_.add(wall_ms, points_);
  flush();
}

void Agent::flush() {
  if (batch_.empty()) return;
  protocol::TelemetryBatch whole;
  whole.agent_id = config_.id;
  batch_.takeInto(whole);
  if (whole.series.empty()) return;
  // One batch per sample interval; one with more than batch_max_samples points
  // (many series) is split by series so no single frame grows without bound.
  const std::size_t columns = std::max<std::size_t>(1, whole.timestamps_ms.size());
  const std::size_t rows_per_batch =
      std::max<std::size_t>(1, static_cast<std::size_t>(config_.batch_max_samples) / columns);
  for (std::size_t first = 0; first < whole.series.size(); first += rows_per_batch) {
    protocol::TelemetryBatch batch;
    batch.agent_id = config_.id;
    batch.timestamps_ms = whole.timestamps_ms;
    std::size_t last = std::min(whole.series.size(), first + rows_per_batch);
    for (std::size_t row = first; row < last; ++row) {
      batch.series.push_back(std::move(whole.series[row]));
      batch.values.push_back(std::move(whole.values[row]));
    }
    Result<uint64_t> seq = spool_->append(batch);
    if (!seq) {
      metrics_.increment("pso_agent_spool_errors_total");
      spdlog::error("spool: cannot store a telemetry batch: {}", seq.error().message);
    }
  }
  session_->pump();
}

protocol::Hello Agent::buildHello() {
  protocol::Hello hello;
  hello.agent_id = config_.id;
  hello.version = agentVersion();
  hello.host_facts = hostFacts();
  for (const ManagedSystem& system : systems_) {
    const SystemConfig& cfg = system.config;
    protocol::SystemInfo info;
    info.name = cfg.name;
    info.actuator = system.actuator->kind();
    info.min_replicas = cfg.min_replicas;
    info.max_replicas = cfg.max_replicas;
    info.replicas = system.actuator->currentReplicas();
    info.capacity_per_replica = cfg.capacity_per_replica;
    info.target_utilization = cfg.target_utilization;
    info.warmup_ms = cfg.warmup.count();
    info.priority = cfg.priority;
    info.depends_on = cfg.depends_on;
    hello.systems.push_back(std::move(info));
  }
  return hello;
}

protocol::DirectiveResult Agent::execute(const protocol::Directive& directive) {
  protocol::DirectiveResult result;
  result.system = directive.system;
  Actuator* target = actuator(directive.system);
  if (target == nullptr) {
    result.status = actuationStatusName(ActuationStatus::kRefused);
    result.message = "system " + directive.system + " is not managed by agent " + config_.id;
    return result;
  }
  ActuationResult outcome = target->apply(directive);
  result.status = actuationStatusName(outcome.status);
  result.replicas = outcome.replicas;
  result.message = outcome.message;
  return result;
}

void Agent::forwardHealth() {
  health_results_.clear();
  if (session_->welcomes() != health_welcomes_) {
    // A new session: the controller gets every check's state, queued results
    // included, so nothing older than what it already had is missing.
    health_welcomes_ = session_->welcomes();
    health_->takeResults(health_results_);
    health_results_ = health_->snapshot();
  } else {
    health_->takeResults(health_results_);
  }
  if (health_results_.empty()) return;
  // Bounded messages whatever the number of checks.
  constexpr std::size_t kChecksPerMessage = 500;
  for (std::size_t first = 0; first < health_results_.size(); first += kChecksPerMessage) {
    protocol::Health message;
    const std::size_t last = std::min(health_results_.size(), first + kChecksPerMessage);
    message.checks.assign(std::make_move_iterator(health_results_.begin() + first),
                          std::make_move_iterator(health_results_.begin() + last));
    // Not welcomed (yet): dropped here; the state is sent whole after the welcome.
    (void)session_->sendHealth(std::move(message));
  }
}

void Agent::publishLiveness(int64_t now_ms) {
  const uint64_t pending = spool_->pendingCount();
  const uint64_t acked = session_->ackedSeq();
  // Waiting starts when a batch is pending and restarts at each ack progress,
  // so a long sample_interval between two acked batches is not a stall.
  if (pending == 0) {
    liveness_.unacked_since = 0;
  } else if (liveness_.unacked_since.load() == 0 || acked != liveness_acked_) {
    liveness_.unacked_since = now_ms;
  }
  liveness_acked_ = acked;
  liveness_.pending = pending;
  liveness_.last_contact = session_->lastContactMs();
  liveness_.welcomed = session_->welcomed();
  liveness_.loop_ms = now_ms;
}

Status Agent::startMetricsServer() {
  if (config_.metrics_listen.empty()) return {};
  metrics_.describe("pso_agent_controller_last_contact_age_seconds", "gauge",
                    "Seconds since the last message from the controller (absent before the first)");
  metrics_.describe("pso_agent_controller_welcomed", "gauge",
                    "1 while the controller has welcomed this agent's session");
  metrics_.describe("pso_agent_telemetry_unacked_seconds", "gauge",
                    "Seconds pending telemetry has waited without ack progress (0: none waits)");
  metrics_.describe("pso_agent_healthy", "gauge", "1 while GET /healthz answers 200");
  // Counters a scrape should see at 0 rather than missing before their first event.
  for (const char* name : {"pso_agent_batches_sent_total", "pso_agent_batches_acked_total",
                           "pso_agent_spool_dropped_total", "pso_agent_samples_total"}) {
    metrics_.increment(name, {}, 0.0);
  }
  std::vector<HttpRoute> routes;
  routes.push_back({"/metrics", [this] { return answerMetrics(); }});
  routes.push_back({"/healthz", [this] { return answerHealth(); }});
  Result<std::unique_ptr<MetricsServer>> server = MetricsServer::start(
      MetricsServerOptions{.address = config_.metrics_listen}, std::move(routes), &metrics_);
  if (!server)
    return makeError(server.error().code, "agent.metrics_listen: " + server.error().message);
  metrics_server_ = std::move(server).value();
  spdlog::info("serving /metrics and /healthz on http://{}", config_.metrics_listen);
  return {};
}

// Runs on the listener's thread: reads only atomics and the (locked) registry.
HttpAnswer Agent::answerMetrics() {
  const int64_t now = common::steadyMs();
  if (const int64_t contact = liveness_.last_contact.load(); contact != 0) {
    metrics_.set("pso_agent_controller_last_contact_age_seconds", {},
                 static_cast<double>(now - contact) / 1000.0);
  }
  metrics_.set("pso_agent_controller_welcomed", {}, liveness_.welcomed.load() ? 1.0 : 0.0);
  const int64_t since = liveness_.unacked_since.load();
  metrics_.set("pso_agent_telemetry_unacked_seconds", {},
               since == 0 ? 0.0 : static_cast<double>(now - since) / 1000.0);
  metrics_.set("pso_agent_healthy", {},
               unhealthyReason(liveness_, liveness_rule_, now) ? 0.0 : 1.0);
  return HttpAnswer{200, "text/plain; version=0.0.4; charset=utf-8", metrics_.renderPrometheus()};
}

HttpAnswer Agent::answerHealth() {
  const std::optional<std::string> reason =
      unhealthyReason(liveness_, liveness_rule_, common::steadyMs());
  if (!reason) return HttpAnswer{200, "application/json", "{\"status\":\"ok\"}\n"};
  // The reasons are built from numbers and fixed words: nothing to escape.
  return HttpAnswer{503, "application/json",
                    "{\"status\":\"unhealthy\",\"reason\":\"" + *reason + "\"}\n"};
}

void Agent::pollActuators() {
  for (ManagedSystem& system : systems_) system.actuator->poll();
}

void Agent::stopActuators() {
  for (ManagedSystem& system : systems_) {
    if (system.actuator) system.actuator->stop();
  }
}

}  // namespace pso::agent
