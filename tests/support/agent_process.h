#pragma once

// A real pso-agent process for integration tests: one process-pool system of
// `sleep` workers whose demand replays a constant trace, its config, trace,
// spool and logs in a temp directory.

#include <memory>
#include <string>

#include "tests/support/process.h"

namespace pso::testing {

struct AgentProcessOptions {
  std::string binary;  ///< pso-agent
  std::string id;
  std::string system;
  std::string controller;  ///< the controller's ZeroMQ endpoint
  double demand = 100;
  std::string sample_interval = "250ms";
  /// Lines added under "agent:" (each indented by two spaces), e.g. a curve section.
  std::string extra_agent_yaml;
};

class AgentProcess {
 public:
  AgentProcess(const TempDir& dir, AgentProcessOptions options);
  /// Stops with SIGTERM so the agent stops its workers; SIGKILL after 10 s.
  ~AgentProcess();
  AgentProcess(const AgentProcess&) = delete;
  AgentProcess& operator=(const AgentProcess&) = delete;

  ChildProcess& process() { return *process_; }
  std::size_t workers() const;
  /// What the agent logged so far.
  std::string log() const;

 private:
  std::string log_path_;
  std::unique_ptr<ChildProcess> process_;
};

}  // namespace pso::testing
