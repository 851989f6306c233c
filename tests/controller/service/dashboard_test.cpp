// The web dashboard (controller/service/dashboard/, docs/dashboard.md): its
// assets as built into the binary, the headers a real pso-controller serves
// them with, and the pages in headless chromium (driven by
// tests/tools/node/drive_dashboard.js) against a real controller and a real
// agent whose demand ramps up until the engine scales.

#include <gtest/gtest.h>
#include <signal.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <set>
#include <string>

#include "controller/service/dashboard/dashboard_assets.h"
#include "controller/service/dashboard/dashboard_handler.h"
#include "tests/controller/service/service_test_support.h"
#include "tests/support/browser_test.h"
#include "tests/support/controller_process.h"

namespace pso::controller::service::testing {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using pso::testing::ChildProcess;
using pso::testing::CommandOutput;
using pso::testing::ControllerProcess;
using pso::testing::readFile;
using pso::testing::runCommand;
using std::chrono::seconds;

const pso::testing::ControllerBinaries kBinaries{PSO_CONTROLLER_BIN, PSO_PSOCTL_BIN};
constexpr const char* kAgentId = "edge-1";
constexpr const char* kSystem = "web";

uint16_t portOf(const ControllerProcess& controller) {
  return static_cast<uint16_t>(std::stoi(controller.api().substr(controller.api().rfind(':') + 1)));
}

/// The response head of GET `target`: status line and headers, names lowercased.
struct ResponseHead {
  int status = 0;
  std::map<std::string, std::string> headers;
  std::string body;
};

ResponseHead get(uint16_t port, const std::string& target) {
  const std::string raw =
      rawHttp(port, "GET " + target + " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n");
  ResponseHead head;
  const auto end = raw.find("\r\n\r\n");
  if (end == std::string::npos) return head;
  head.body = raw.substr(end + 4);
  std::istringstream lines(raw.substr(0, end));
  std::string line;
  std::getline(lines, line);
  if (line.size() > 12) head.status = std::stoi(line.substr(9, 3));
  while (std::getline(lines, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    const auto colon = line.find(':');
    if (colon == std::string::npos) continue;
    std::string name = line.substr(0, colon);
    for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    head.headers[name] = line.substr(line.find_first_not_of(' ', colon + 1));
  }
  return head;
}

// A demand trace of one-minute steps (the agent replays it at 60x, one step a
// second): 15 quiet steps at 60, a ramp to 420 over 30 steps, then 420. At 100
// per replica and 70% target that is 1 replica, then 6.
void writeRampTrace(const std::string& path) {
  std::ofstream out(path);
  out << "timestamp,value\n";
  for (int i = 0; i < 2000; ++i) {
    const double value = i < 15 ? 60.0 : i < 45 ? 60.0 + 12.0 * (i - 15) : 420.0;
    out << 1700000000 + 60 * i << ',' << value << '\n';
  }
}

/// A real pso-agent managing `web` as a pool of sleep workers; stopped with
/// SIGTERM so it stops its workers.
class RampAgent {
 public:
  RampAgent(const TempDir& dir, const std::string& controller) {
    writeRampTrace(dir.file("ramp.csv"));
    std::ofstream(dir.file("agent.yaml"))
        << "agent:\n"
        << "  id: " << kAgentId << "\n"
        << "  sample_interval: 250ms\n"
        << "  heartbeat_interval: 1s\n"
        << "systems:\n"
        << "  - name: " << kSystem << "\n"
        << "    capacity_per_replica: 100\n"
        << "    target_utilization: 0.7\n"
        << "    min_replicas: 1\n"
        << "    max_replicas: 10\n"
        << "    warmup: 1s\n"
        << "    demand: {source: replay, file: " << dir.file("ramp.csv")
        << ", speed: 60, loop: true}\n"
        << "    actuator:\n"
        << "      kind: process-pool\n"
        << "      command: [\"/bin/sleep\", \"3600\"]\n"
        << "      stop_grace: 1s\n";
    process_ = std::make_unique<ChildProcess>(
        std::vector<std::string>{PSO_AGENT_BIN, "--config", dir.file("agent.yaml"), "--controller",
                                 controller, "--spool", dir.file("agent-spool.db")},
        dir.file("agent.out"), dir.file("agent.log"));
  }
  ~RampAgent() {
    process_->signal(SIGTERM);
    process_->wait(seconds(10));
  }
  RampAgent(const RampAgent&) = delete;
  RampAgent& operator=(const RampAgent&) = delete;

 private:
  std::unique_ptr<ChildProcess> process_;
};

/// Where the browser tests leave their screenshots: a fixed directory in the
/// build tree, emptied of the previous run's pictures.
fs::path screenshotDir() {
  const fs::path dir(PSO_DASHBOARD_SCREENSHOT_DIR);
  fs::create_directories(dir);
  return dir;
}

void expectPng(const fs::path& file) {
  ASSERT_TRUE(fs::exists(file)) << file;
  EXPECT_GT(fs::file_size(file), 1000u) << file;
  EXPECT_EQ(readFile(file.string()).substr(0, 8), "\x89PNG\r\n\x1a\n") << file;
}

CommandOutput driveDashboard(const json& options) {
  return runCommand({PSO_NODE_BIN, (fs::path(PSO_NODE_TOOLS_DIR) / "drive_dashboard.js").string(),
                     options.dump()},
                    {}, seconds(240));
}

TEST(DashboardAssets, EachHasAContentTypeAndNamesNoOtherSite) {
  std::set<std::string> names;
  for (const auto& asset : dashboardAssets()) {
    names.insert(std::string(asset.name));
    EXPECT_TRUE(dashboardContentType(asset.name).has_value()) << asset.name;
    EXPECT_FALSE(asset.body.empty()) << asset.name;
    // Offline means no URL outside this controller: the only absolute URLs
    // are XML namespace names, which nothing fetches.
    const std::string body(asset.body);
    const std::regex url(R"(https?://[^\s"'`)]+)");
    for (auto it = std::sregex_iterator(body.begin(), body.end(), url);
         it != std::sregex_iterator(); ++it) {
      EXPECT_EQ(it->str(), "http://www.w3.org/2000/svg") << asset.name;
    }
  }
  EXPECT_EQ(names, (std::set<std::string>{"index.html", "app.js", "app.css", "favicon.svg"}));
  EXPECT_EQ(dashboardAssetVersion().size(), 16u);
  EXPECT_EQ(dashboardContentType("app.js"), "text/javascript; charset=utf-8");
  EXPECT_EQ(dashboardContentType("x.exe"), std::nullopt);
  EXPECT_EQ(dashboardContentType(".js"), std::nullopt);
}

TEST(Dashboard, PageAndAssetsAreServedWithTypePolicyAndCaching) {
  TempDir dir;
  // Reads need a token here; the page and its assets still load without one.
  ControllerProcess controller(dir, kBinaries, "tcp://127.0.0.1:0",
                               "  api_read_requires_token: true\n");
  ASSERT_TRUE(controller.started());
  const uint16_t port = portOf(controller);

  const ResponseHead page = get(port, "/");
  ASSERT_EQ(page.status, 200) << page.body;
  EXPECT_EQ(page.headers.at("content-type"), "text/html; charset=utf-8");
  EXPECT_EQ(page.headers.at("content-security-policy"), kDashboardContentSecurityPolicy);
  EXPECT_NE(page.headers.at("content-security-policy").find("default-src 'self'"),
            std::string::npos);
  EXPECT_EQ(page.headers.at("cache-control"), "no-cache");
  EXPECT_EQ(page.headers.at("x-content-type-options"), "nosniff");
  // The page names its assets with the current version.
  const std::string version(dashboardAssetVersion());
  EXPECT_NE(page.body.find("/ui/app.js?v=" + version), std::string::npos) << page.body;
  EXPECT_NE(page.body.find("/ui/app.css?v=" + version), std::string::npos) << page.body;
  EXPECT_EQ(page.body.find("@PSO_ASSET_VERSION@"), std::string::npos);

  const std::map<std::string, std::string> types = {{"app.js", "text/javascript; charset=utf-8"},
                                                    {"app.css", "text/css; charset=utf-8"},
                                                    {"favicon.svg", "image/svg+xml"}};
  for (const auto& [name, type] : types) {
    const ResponseHead versioned = get(port, "/ui/" + name + "?v=" + version);
    ASSERT_EQ(versioned.status, 200) << name;
    EXPECT_EQ(versioned.headers.at("content-type"), type) << name;
    EXPECT_EQ(versioned.headers.at("cache-control"), "public, max-age=31536000, immutable");
    EXPECT_EQ(versioned.headers.at("content-security-policy"), kDashboardContentSecurityPolicy);
    for (const auto& asset : dashboardAssets()) {
      if (asset.name == name) {
        EXPECT_EQ(versioned.body, asset.body) << name;
      }
    }
    // Another version (an older page) must not pin these bytes for a year.
    EXPECT_EQ(get(port, "/ui/" + name + "?v=0000").headers.at("cache-control"), "no-cache");
    EXPECT_EQ(get(port, "/ui/" + name).headers.at("cache-control"), "no-cache");
  }

  for (const char* unknown :
       {"/ui/nope.js", "/ui/index.html", "/ui/..%2Fapi.cpp", "/ui/app.js.map"}) {
    EXPECT_EQ(get(port, unknown).status, 404) << unknown;
  }
  EXPECT_EQ(httpRequest(port, "POST", "/").status, 405);
  // The data stays behind the token.
  EXPECT_EQ(httpRequest(port, "GET", "/api/v1/systems").status, 401);
}

TEST(Dashboard, BrowserShowsTheFleetAChartAndTheEnginesScaleDecision) {
  PSO_REQUIRE_BROWSER();
  TempDir dir;
  ControllerProcess controller(dir, kBinaries);
  ASSERT_TRUE(controller.started());
  RampAgent agent(dir, controller.zmqEndpoint());
  const uint16_t port = portOf(controller);
  ASSERT_TRUE(waitFor([&] { return httpRequest(port, "GET", "/api/v1/systems/web").status == 200; },
                      seconds(30)))
      << readFile(dir.file("agent.log"));

  // An operator's reason with markup in it: the page must show it as text.
  const std::string reason = "<img src=x onerror=\"document.body.dataset.pwned=1\"> <b>check</b>";
  const auto posted =
      httpRequest(port, "POST", "/api/v1/directives",
                  json{{"system", kSystem}, {"replicas", 1}, {"reason", reason}}.dump(),
                  ControllerProcess::kToken);
  ASSERT_EQ(posted.status, 201) << posted.body;

  const fs::path out = screenshotDir();
  for (const char* name : {"fleet.png", "fleet-alerts.png", "system.png", "scenarios.png"})
    fs::remove(out / name);
  const CommandOutput run = driveDashboard({{"url", controller.api()},
                                            {"chromium", PSO_CHROMIUM_BIN},
                                            {"out", out.string()},
                                            {"agent", kAgentId},
                                            {"system", kSystem},
                                            {"mode", "fleet"}});
  ASSERT_EQ(run.exit_code, 0) << run.err << run.out << "\n" << readFile(dir.file("controller.log"));
  const json shown = json::parse(run.out);
  EXPECT_EQ(shown["problems"], json::array()) << run.out;
  EXPECT_EQ(shown["foreign_requests"], json::array()) << run.out;

  // Fleet: the agent connected, its system linked to its page.
  const std::string agent_row = shown["agent_row"];
  EXPECT_NE(agent_row.find("connected"), std::string::npos) << agent_row;
  EXPECT_EQ(agent_row.find("disconnected"), std::string::npos) << agent_row;
  EXPECT_NE(shown["system_row"].get<std::string>().find(kAgentId), std::string::npos);
  EXPECT_EQ(shown["system_link"], "#/systems/web");
  const std::string alerts = shown["alerts_text"];
  EXPECT_TRUE(alerts.find("alerts: not available in this controller") != std::string::npos ||
              alerts.find("No firing or pending alerts") != std::string::npos ||
              alerts.find("State") != std::string::npos)
      << alerts;

  // Alerts in the documented shape (answered by the script): firing and
  // pending listed, resolved not, the subject as text.
  EXPECT_EQ(shown["alerts"]["rules"], json::array({"web-unhealthy", "edge-quiet"}))
      << shown["alerts"];
  EXPECT_EQ(shown["alerts"]["elements"], 0);
  EXPECT_EQ(shown["alerts"]["text"].get<std::string>().find("No firing"), std::string::npos);
  EXPECT_NE(shown["alerts"]["text"].get<std::string>().find("<i>edge-1</i>"), std::string::npos)
      << shown["alerts"];

  // The system page: a chart with its text alternative, and decision rows
  // that changed the desired count, each as /api/v1/cycles reports it.
  EXPECT_EQ(shown["chart"]["role"], "img");
  EXPECT_GT(shown["chart"]["demand_path"].get<int>(), 10);
  EXPECT_TRUE(shown["chart"]["capacity_path"].get<bool>());
  EXPECT_NE(shown["chart"]["desc"].get<std::string>().find("scale decision"), std::string::npos)
      << shown["chart"];
  ASSERT_FALSE(shown["decisions"].empty());
  const json cycles = httpRequest(port, "GET", "/api/v1/cycles?limit=10000").json();
  // Desired counts of `web` by cycle, oldest first.
  std::vector<std::pair<std::string, json>> history;
  for (auto it = cycles["cycles"].rbegin(); it != cycles["cycles"].rend(); ++it) {
    for (const auto& d : (*it)["decisions"]) {
      if (d["system"] == kSystem) history.emplace_back((*it)["id"], d);
    }
  }
  for (const auto& row : shown["decisions"]) {
    const std::string id = row["cycle"];
    const auto at = std::find_if(history.begin(), history.end(),
                                 [&](const auto& entry) { return entry.first == id; });
    ASSERT_NE(at, history.end()) << "cycle " << id << " is not in /api/v1/cycles";
    EXPECT_EQ(row["desired"], at->second["desired"]) << row;
    EXPECT_EQ(row["current"], at->second["current"]) << row;
    const json from = at == history.begin() ? at->second["current"] : (at - 1)->second["desired"];
    EXPECT_EQ(row["from"], from) << row;
    EXPECT_NE(row["from"], row["desired"]) << row;
  }
  const auto& markers = shown["chart"]["markers"];
  EXPECT_FALSE(markers.empty());

  // The operator's markup arrived as text and never ran.
  EXPECT_NE(std::find(shown["directives"]["reasons"].begin(), shown["directives"]["reasons"].end(),
                      json(reason)),
            shown["directives"]["reasons"].end())
      << shown["directives"];
  EXPECT_EQ(shown["directives"]["elements"], 0);
  EXPECT_TRUE(shown["directives"]["pwned"].is_null());

  // Scenarios link to their lesson and their document.
  ASSERT_FALSE(shown["scenarios"].empty());
  const auto& links = shown["scenarios"][0]["links"];
  ASSERT_EQ(links.size(), 3u) << shown["scenarios"];
  const std::string lesson = links[0];
  EXPECT_EQ(lesson.rfind("/api/v1/scenarios/export?format=html&since=", 0), 0u) << lesson;
  const auto exported = httpRequest(port, "GET", lesson);
  EXPECT_EQ(exported.status, 200);
  EXPECT_NE(exported.body.find(shown["scenarios"][0]["id"].get<std::string>()), std::string::npos)
      << lesson;
  EXPECT_EQ(httpRequest(port, "GET", links[2]).status, 200) << links[2];

  for (const char* name : {"fleet.png", "fleet-alerts.png", "system.png", "scenarios.png"})
    expectPng(out / name);
}

TEST(Dashboard, BrowserAsksForATokenWhenReadsNeedOne) {
  PSO_REQUIRE_BROWSER();
  TempDir dir;
  ControllerProcess controller(dir, kBinaries, "tcp://127.0.0.1:0",
                               "  api_read_requires_token: true\n");
  ASSERT_TRUE(controller.started());
  RampAgent agent(dir, controller.zmqEndpoint());

  const fs::path out = screenshotDir();
  for (const char* name : {"token.png", "fleet-with-token.png"}) fs::remove(out / name);
  const CommandOutput run = driveDashboard({{"url", controller.api()},
                                            {"chromium", PSO_CHROMIUM_BIN},
                                            {"out", out.string()},
                                            {"agent", kAgentId},
                                            {"system", kSystem},
                                            {"mode", "token"},
                                            {"token", ControllerProcess::kToken}});
  ASSERT_EQ(run.exit_code, 0) << run.err << run.out;
  const json shown = json::parse(run.out);
  EXPECT_EQ(shown["problems"], json::array()) << run.out;
  EXPECT_EQ(shown["foreign_requests"], json::array()) << run.out;
  EXPECT_TRUE(shown["asked_for_token"].get<bool>());
  EXPECT_TRUE(shown["view_hidden"].get<bool>());
  EXPECT_NE(shown["refused_text"].get<std::string>().find("invalid bearer token"),
            std::string::npos)
      << shown["refused_text"];
  EXPECT_TRUE(shown["auth_hidden"].get<bool>());
  EXPECT_EQ(shown["stored"], ControllerProcess::kToken);
  EXPECT_NE(shown["system_row"].get<std::string>().find(kAgentId), std::string::npos);
  for (const char* name : {"token.png", "fleet-with-token.png"}) expectPng(out / name);
}

}  // namespace
}  // namespace pso::controller::service::testing
