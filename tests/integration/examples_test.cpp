// The configuration files the packages install: /etc/pso/agent.yaml and
// /etc/pso/controller.yaml as shipped (config/), and one example per actuator
// kind and per demand source (config/examples/, installed under
// /usr/share/doc/pso-*/examples). Each must load with the products' own
// loaders; a kind or source added to a registry without an example fails here.

#include <gtest/gtest.h>

#include <filesystem>
#include <set>
#include <string>

#include "agent/actuator.h"
#include "agent/agent_config.h"
#include "agent/demand_source.h"
#include "common/config.h"
#include "common/trace.h"
#include "controller/config/controller_config.h"

namespace pso {
namespace {

namespace fs = std::filesystem;

const fs::path kConfigDir = fs::path(PSO_SOURCE_DIR) / "config";
const fs::path kExamplesDir = kConfigDir / "examples";

Result<agent::AgentConfig> loadAgent(const fs::path& path) {
  return agent::loadAgentConfig(path.string());
}

TEST(ShippedAgentConfig, SamplesTheHostAndManagesNothing) {
  auto loaded = loadAgent(kConfigDir / "agent.yaml");
  ASSERT_TRUE(loaded.ok()) << loaded.error().message;
  EXPECT_TRUE(loaded->systems.empty());
  // No placeholder id: every host that installs the package is its own agent.
  EXPECT_FALSE(loaded->id.empty());
  EXPECT_NE(loaded->id, "edge-01");
  EXPECT_EQ(loaded->controller, "tcp://127.0.0.1:7450");
  EXPECT_EQ(loaded->spool, "/var/lib/pso/agent-spool.db");
  EXPECT_EQ(loaded->proc_root, "/proc");
}

TEST(ShippedControllerConfig, ListensOnLoopbackOnly) {
  auto loaded = controller::loadControllerConfig((kConfigDir / "controller.yaml").string());
  ASSERT_TRUE(loaded.ok()) << loaded.error().message;
  EXPECT_EQ(loaded->bind, "tcp://127.0.0.1:7450");
  EXPECT_EQ(loaded->http, "127.0.0.1:7460");
  EXPECT_EQ(loaded->db, "/var/lib/pso/controller.db");
  // The package makes this file on its first install (postinst).
  EXPECT_EQ(loaded->api_tokens_file, "/etc/pso/api-tokens");
  EXPECT_EQ(loaded->mode, "act");
  EXPECT_TRUE(loaded->pools.empty());
  EXPECT_TRUE(loaded->alerts.empty());
}

TEST(ControllerExamples, EveryExampleLoads) {
  int loaded_files = 0;
  for (const auto& entry : fs::directory_iterator(kExamplesDir)) {
    const std::string name = entry.path().filename().string();
    if (name.rfind("controller-", 0) != 0) continue;
    auto loaded = controller::loadControllerConfig(entry.path().string());
    EXPECT_TRUE(loaded.ok()) << loaded.error().message;
    ++loaded_files;
  }
  EXPECT_GT(loaded_files, 0);
}

TEST(AgentExamples, OneLoadableExamplePerActuatorKind) {
  const std::vector<std::string> kinds = agent::supportedActuators();
  ASSERT_FALSE(kinds.empty());
  for (const std::string& kind : kinds) {
    const fs::path path = kExamplesDir / ("agent-actuator-" + kind + ".yaml");
    ASSERT_TRUE(fs::is_regular_file(path)) << "no example for actuator kind " << kind;
    auto loaded = loadAgent(path);
    ASSERT_TRUE(loaded.ok()) << loaded.error().message;
    ASSERT_EQ(loaded->systems.size(), 1u) << path;
    EXPECT_EQ(loaded->systems[0].actuator.kind, kind) << path;
  }
}

TEST(AgentExamples, OneLoadableExamplePerDemandSource) {
  const std::vector<std::string> sources = agent::supportedDemandSources();
  ASSERT_FALSE(sources.empty());
  for (const std::string& source : sources) {
    const fs::path path = kExamplesDir / ("agent-demand-" + source + ".yaml");
    ASSERT_TRUE(fs::is_regular_file(path)) << "no example for demand source " << source;
    auto loaded = loadAgent(path);
    ASSERT_TRUE(loaded.ok()) << loaded.error().message;
    ASSERT_EQ(loaded->systems.size(), 1u) << path;
    const agent::DemandSourceConfig& demand = loaded->systems[0].demand;
    EXPECT_EQ(demand.source, source) << path;
    if (source == "replay") {
      // The trace ships beside the example and is found from any directory.
      auto trace = common::readTrace(demand.file);
      EXPECT_TRUE(trace.ok()) << trace.error().message;
    }
  }
}

TEST(AgentExamples, EveryExampleFileIsAKindOrSourceExample) {
  std::set<std::string> expected;
  for (const std::string& kind : agent::supportedActuators()) {
    expected.insert("agent-actuator-" + kind + ".yaml");
  }
  for (const std::string& source : agent::supportedDemandSources()) {
    expected.insert("agent-demand-" + source + ".yaml");
  }
  std::set<std::string> found;
  for (const auto& entry : fs::directory_iterator(kExamplesDir)) {
    const std::string name = entry.path().filename().string();
    if (name.rfind("agent-", 0) == 0) found.insert(name);
  }
  EXPECT_EQ(found, expected);
}

}  // namespace
}  // namespace pso
