#pragma once

// A real pso-controller process for integration tests, on loopback, with its
// config, API token file and database in a temp directory, and psoctl run as
// a process against its HTTP API.

#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "tests/support/process.h"

namespace pso::testing {

/// Where the binaries under test are; tests pass the paths CMake gives them.
struct ControllerBinaries {
  std::string controller;  ///< pso-controller
  std::string psoctl;
};

class ControllerProcess {
 public:
  static constexpr const char* kToken = "integration-test-token";

  /// Writes controller.yaml (1 s cycles and heartbeats, 5 s agent timeout,
  /// plus `extra_yaml` under "controller:") into `dir` and starts the
  /// controller with its ZeroMQ endpoint at `bind` and its API on an
  /// ephemeral loopback port. A failed start is a gtest failure (check
  /// started()).
  ControllerProcess(const TempDir& dir, ControllerBinaries binaries,
                    const std::string& bind = "tcp://127.0.0.1:0",
                    const std::string& extra_yaml = "");

  /// (Re)starts the process, e.g. on the endpoint it had before a kill.
  void start(const std::string& bind);
  bool started() const { return !zmq_endpoint_.empty(); }

  ChildProcess& process() { return *process_; }
  const std::string& zmqEndpoint() const { return zmq_endpoint_; }
  const std::string& api() const { return api_; }
  std::string db() const { return dir_.file("controller.db"); }

  /// psoctl with the API address and token, plus `args` (and --json).
  CommandOutput psoctl(const std::vector<std::string>& args, bool json_output = false) const;
  /// psoctl's parsed --json output; a failed command or unparsable output is
  /// a gtest failure (and a discarded value).
  nlohmann::json psoctlJson(const std::vector<std::string>& args) const;
  /// psoctl's parsed --json output, or an empty object when the command
  /// failed: for polling while the controller is still learning the fleet.
  nlohmann::json tryPsoctlJson(const std::vector<std::string>& args) const;

 private:
  const TempDir& dir_;
  ControllerBinaries binaries_;
  std::unique_ptr<ChildProcess> process_;
  std::string zmq_endpoint_;
  std::string api_;
};

}  // namespace pso::testing
