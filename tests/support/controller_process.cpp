#include "tests/support/controller_process.h"

#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <regex>

namespace pso::testing {

using nlohmann::json;

ControllerProcess::ControllerProcess(const TempDir& dir, ControllerBinaries binaries,
                                     const std::string& bind, const std::string& extra_yaml)
    : dir_(dir), binaries_(std::move(binaries)) {
  std::ofstream(dir.file("api-tokens")) << "# operators\n" << kToken << "\n";
  std::ofstream(dir.file("controller.yaml"))
      << "controller:\n"
      << "  id: it-controller\n"
      << "  cycle_interval: 1s\n"
      << "  api_tokens_file: " << dir.file("api-tokens") << "\n"
      << "  heartbeat_interval: 1s\n"
      << "  agent_timeout: 5s\n"
      << "  directive_deadline: 10s\n"
      << "  engine:\n"
      << "    scale_down_stabilization: 5s\n"
      << extra_yaml;
  start(bind);
}

void ControllerProcess::start(const std::string& bind) {
  zmq_endpoint_.clear();
  api_.clear();
  std::remove(dir_.file("controller.out").c_str());
  process_ = std::make_unique<ChildProcess>(
      std::vector<std::string>{binaries_.controller, "--config", dir_.file("controller.yaml"),
                               "--db", db(), "--bind", bind, "--http", "127.0.0.1:0"},
      dir_.file("controller.out"), dir_.file("controller.log"));
  // The controller prints its bound addresses once it serves both.
  const std::regex line(R"(pso-controller listening zmq=(\S+) http=(\S+))");
  std::smatch m;
  std::string out;
  const bool listening = waitFor(
      [&] {
        out = readFile(dir_.file("controller.out"));
        return std::regex_search(out, m, line);
      },
      std::chrono::seconds(20));
  if (!listening) {
    ADD_FAILURE() << "controller did not start: " << readFile(dir_.file("controller.log"));
    return;
  }
  zmq_endpoint_ = m[1];
  api_ = "http://" + m[2].str();
}

CommandOutput ControllerProcess::psoctl(const std::vector<std::string>& args,
                                        bool json_output) const {
  std::vector<std::string> argv{binaries_.psoctl, "--api", api_, "--token", kToken};
  if (json_output) argv.emplace_back("--json");
  argv.insert(argv.end(), args.begin(), args.end());
  return runCommand(argv);
}

json ControllerProcess::psoctlJson(const std::vector<std::string>& args) const {
  CommandOutput out = psoctl(args, true);
  EXPECT_EQ(out.exit_code, 0) << out.err;
  json doc = json::parse(out.out, nullptr, false);
  EXPECT_FALSE(doc.is_discarded()) << out.out;
  return doc;
}

json ControllerProcess::tryPsoctlJson(const std::vector<std::string>& args) const {
  CommandOutput out = psoctl(args, true);
  if (out.exit_code != 0) return json::object();
  json doc = json::parse(out.out, nullptr, false);
  return doc.is_discarded() ? json::object() : doc;
}

}  // namespace pso::testing
