#include "tests/support/agent_process.h"

#include <signal.h>

#include <fstream>
#include <vector>

namespace pso::testing {
namespace {

/// Writes a trace of `points` one-minute steps with a constant value.
void writeConstantTrace(const std::string& path, int points, double value) {
  std::ofstream out(path);
  out << "timestamp,value\n";
  for (int i = 0; i < points; ++i) out << 1700000000 + 60 * i << ',' << value << '\n';
}

}  // namespace

AgentProcess::AgentProcess(const TempDir& dir, AgentProcessOptions options)
    : log_path_(dir.file(options.id + ".log")) {
  const std::string trace = dir.file(options.id + "-" + options.system + ".csv");
  writeConstantTrace(trace, 2000, options.demand);
  const std::string config = dir.file(options.id + ".yaml");
  std::ofstream(config) << "agent:\n"
                        << "  id: " << options.id << "\n"
                        << "  sample_interval: " << options.sample_interval << "\n"
                        << "  heartbeat_interval: 1s\n"
                        << options.extra_agent_yaml << "systems:\n"
                        << "  - name: " << options.system << "\n"
                        << "    capacity_per_replica: 100\n"
                        << "    target_utilization: 0.7\n"
                        << "    min_replicas: 1\n"
                        << "    max_replicas: 10\n"
                        << "    warmup: 1s\n"
                        << "    demand: {source: replay, file: " << trace
                        << ", speed: 60, loop: true}\n"
                        << "    actuator:\n"
                        << "      kind: process-pool\n"
                        << "      command: [\"/bin/sleep\", \"3600\"]\n"
                        << "      stop_grace: 1s\n";
  process_ = std::make_unique<ChildProcess>(
      std::vector<std::string>{options.binary, "--config", config, "--controller",
                               options.controller, "--spool", dir.file(options.id + "-spool.db")},
      dir.file(options.id + ".out"), log_path_);
}

AgentProcess::~AgentProcess() {
  process_->signal(SIGTERM);
  process_->wait(std::chrono::seconds(10));
}

std::size_t AgentProcess::workers() const {
  return childPids(process_->pid()).size();
}

std::string AgentProcess::log() const {
  return readFile(log_path_);
}

}  // namespace pso::testing
