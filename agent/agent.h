#pragma once

// pso-agent as a whole: configuration in, a running loop that samples, spools,
// talks to the controller and applies directives.

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>
#include <zmq.hpp>

#include "agent/actuator.h"
#include "agent/agent_config.h"
#include "agent/agent_liveness.h"
#include "agent/batch_builder.h"
#include "agent/cgroup_sampler.h"
#include "agent/demand_source.h"
#include "agent/health_monitor.h"
#include "agent/host_sampler.h"
#include "agent/metrics_server.h"
#include "agent/session.h"
#include "agent/spool.h"
#include "common/metrics.h"
#include "common/result.h"

namespace pso::common {
class ServiceNotifier;
}

namespace pso::agent {

/// Version reported in hello.
const char* agentVersion();

/// Owns the agent's parts and runs its loop.
///
/// Every sample_interval it samples the host, then for each system its cgroup
/// (when configured), its demand (metric "demand", plus any series the demand
/// source adds), the running replica count its actuator reports (metric
/// "replicas"; omitted while unknown) and its health score (metric
/// "health_score", 0-100, once every check has a result), and spools the
/// points as one columnar telemetry batch (split by series past
/// batch_max_samples points). Health checks run on the HealthMonitor's thread;
/// their results are sent to the controller as they complete, and the state of
/// every check again after each welcome. Demand sources that may block
/// (commands, Prometheus scrapes) are read on their own worker threads
/// (BackgroundDemandSource), so the loop only takes their latest value.
/// Between timers it sleeps in zmq_poll on the controller socket and wake-up
/// pipes, so it never spins. A spool file that cannot be opened or written
/// leaves the spool in memory (Spool::openOrKeepInMemory()) rather than
/// stopping the agent. requestStop() ends run(): unsent batches stay in the
/// spool for the next start, workers are stopped and the socket is closed.
class Agent {
 public:
  /// Validates the configuration and builds every part: host sampler, demand
  /// sources, actuators, spool and session. Nothing is started yet (a
  /// background demand source starts its worker at its first read). Errors
  /// name the offending system and setting (e.g. "system web: demand source
  /// 'prometheus' is not supported by this build").
  [[nodiscard]] static Result<std::unique_ptr<Agent>> create(AgentConfig config);
  ~Agent();
  Agent(const Agent&) = delete;
  Agent& operator=(const Agent&) = delete;

  /// Starts the actuators (initial workers) and the session, then loops until
  /// requestStop(). An Error when starting fails; everything started is stopped.
  /// @param service when given, told READY=1 once started, WATCHDOG=1 from
  ///        the loop and STOPPING=1 when it ends (systemd Type=notify).
  [[nodiscard]] Status run(common::ServiceNotifier* service = nullptr);

  /// Asks run() to return. Async-signal-safe (a write to a pipe), so a SIGTERM
  /// handler may call it.
  void requestStop();

  /// One sampling step at wall time `wall_ms`: host, demand, replicas into the
  /// current batch, then the batch is spooled.
  void sampleOnce(int64_t wall_ms);

  const AgentConfig& config() const { return config_; }
  common::MetricsRegistry& metrics() { return metrics_; }
  Spool& spool() { return *spool_; }
  Session& session() { return *session_; }
  /// The actuator of a configured system, nullptr for an unknown name.
  Actuator* actuator(const std::string& system);
  HealthMonitor& health() { return *health_; }

 private:
  struct ManagedSystem {
    SystemConfig config;
    std::unique_ptr<DemandSource> demand;
    std::unique_ptr<Actuator> actuator;
    std::unique_ptr<CgroupSampler> cgroup;  ///< nullptr without a configured cgroup
    std::string last_demand_error;          ///< logged once per distinct message
    std::string last_cgroup_error;
  };

  explicit Agent(AgentConfig config);
  void flush();
  protocol::Hello buildHello();
  protocol::DirectiveResult execute(const protocol::Directive& directive);
  void pollActuators();
  void stopActuators();
  /// Sends queued health results, or every check's state after a new welcome.
  void forwardHealth();
  /// After each loop turn: what the listener's thread reads for /healthz.
  void publishLiveness(int64_t now_ms);
  /// Starts the /metrics and /healthz listener when configured.
  [[nodiscard]] Status startMetricsServer();
  HttpAnswer answerMetrics();
  HttpAnswer answerHealth();

  AgentConfig config_;
  common::MetricsRegistry metrics_;
  std::unique_ptr<HostSampler> host_;
  std::vector<ManagedSystem> systems_;
  std::unique_ptr<Spool> spool_;
  zmq::context_t context_;
  std::unique_ptr<Session> session_;
  std::unique_ptr<HealthMonitor> health_;
  std::vector<protocol::HealthCheckResult> health_results_;  ///< reused
  uint64_t health_welcomes_ = 0;  ///< session welcomes already given the full state

  BatchBuilder batch_;
  std::vector<SamplePoint> points_;  ///< reused by every sample
  std::string last_host_error_;
  int stop_pipe_[2] = {-1, -1};

  LoopLiveness liveness_;
  LivenessRule liveness_rule_;
  uint64_t liveness_acked_ = 0;                    ///< the session's acked seq at the previous turn
  std::unique_ptr<MetricsServer> metrics_server_;  ///< nullptr unless metrics_listen is set
};

}  // namespace pso::agent
