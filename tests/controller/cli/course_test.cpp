// A course and its cmi5 package from recorded scenarios, with the real
// binaries: psoctl simulate --record replays a development trace
// (tests/fixtures/traces: an AWS load balancer's request count, one system,
// 14 days at 5-minute steps), and the repository's demo traces of
// web, api and batch (plus db) are replayed as one fleet with dependencies
// and a shared pool through the real DecisionEngine into the same database
// (psoctl simulate replays one system; levels above advanced_optimization
// need several). Then `psoctl scenarios export --format course-markdown |
// course-html | cmi5`: the course covers every level with no quiet lesson
// and no question topic above 30%; cmi5.xml validates against the cmi5
// CourseStructure.xsd (tests/fixtures/cmi5) with xmllint; an AU launched in
// headless chromium against a loopback LMS/LRS sends its statements in cmi5
// order with the LMS's registration.

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <regex>
#include <set>
#include <string>
#include <vector>

#include "common/text.h"
#include "common/trace.h"
#include "controller/engine/decision_engine.h"
#include "controller/scenarios/course.h"
#include "controller/scenarios/scenario.h"
#include "controller/store/store.h"
#include "tests/support/browser_test.h"
#include "tests/support/loopback_lrs.h"
#include "tests/support/process.h"

namespace pso::testing {
namespace {

namespace fs = std::filesystem;
namespace scn = controller::scenarios;
namespace engine = controller::engine;
using nlohmann::json;

constexpr std::size_t kHistoryKept = 48;

std::string sourceFile(const std::string& relative) {
  return (fs::path(PSO_SOURCE_DIR) / relative).string();
}

CommandOutput psoctl(const std::vector<std::string>& args) {
  std::vector<std::string> argv{PSOCTL_BIN};
  argv.insert(argv.end(), args.begin(), args.end());
  return runCommand(argv, {}, std::chrono::seconds(120));
}

std::vector<double> traceValues(const std::string& path) {
  auto trace = common::readTrace(path);
  EXPECT_TRUE(trace.ok()) << path;
  std::vector<double> out;
  if (trace.ok()) {
    for (const auto& p : trace->points) out.push_back(p.value);
  }
  return out;
}

// The demo fleet: web calls api calls db; api (priority 2) and batch share a
// pool of 20 replicas. db sees web's trace at 60%. Every cycle is recorded as
// the live controller records it (scenarios::buildScenario) into `db_path`.
std::size_t recordFleet(const std::string& db_path) {
  engine::EngineSettings settings;
  settings.step_s = 300;
  settings.policy = "predictive";
  engine::DecisionEngine eng(settings);
  std::map<std::string, engine::SystemSpec> specs;
  auto add = [&](const std::string& name, double capacity, int64_t max,
                 std::vector<std::string> deps) {
    engine::SystemSpec s;
    s.name = name;
    s.capacity_per_replica = capacity;
    s.max_replicas = max;
    s.warmup_s = 600;
    s.depends_on = std::move(deps);
    specs[name] = s;
  };
  add("web", 40, 40, {"api"});
  add("api", 40, 20, {"db"});
  add("db", 60, 20, {});
  add("batch", 30, 20, {});
  specs["api"].priority = 2;
  for (const auto& [name, spec] : specs) eng.upsertSystem(spec);
  eng.setPools({{"site-a", 20, {"api", "batch"}}});

  std::map<std::string, std::vector<double>> traces;
  traces["web"] = traceValues(sourceFile("config/demo/web.csv"));
  traces["api"] = traceValues(sourceFile("config/demo/api.csv"));
  traces["batch"] = traceValues(sourceFile("config/demo/batch.csv"));
  for (double v : traces["web"]) traces["db"].push_back(0.6 * v);
  const auto start = common::readTrace(sourceFile("config/demo/web.csv"));
  if (!start.ok() || start->points.empty()) return 0;
  const int64_t start_ms = start->points.front().ts_s * 1000;
  std::size_t steps = traces["web"].size();
  for (const auto& [name, trace] : traces) steps = std::min(steps, trace.size());

  std::map<std::string, std::vector<int64_t>> desired;
  std::vector<controller::store::ScenarioRecord> records;
  for (std::size_t t = 0; t < steps; ++t) {
    const int64_t now = start_ms + static_cast<int64_t>(t) * 300000;
    engine::CycleInput input;
    input.now_ms = now;
    for (const auto& [name, spec] : specs) {
      engine::SystemObservation obs;
      obs.system = name;
      obs.demand = traces[name][t];
      const auto& past = desired[name];
      obs.current_replicas = past.empty() ? 1 : past.back();
      // Launched replicas serve after the warm-up: two steps.
      int64_t ready = obs.current_replicas;
      for (std::size_t j = 1; j <= 2 && j <= past.size(); ++j) {
        ready = std::min(ready, past[past.size() - j]);
      }
      obs.ready_replicas = ready;
      input.systems.push_back(obs);
    }
    scn::CycleContext ctx;
    ctx.cycle_id = "fleet-" + std::to_string(t);
    ctx.ts_ms = now;
    ctx.mode = "replay";
    ctx.step_s = settings.step_s;
    ctx.decisions = eng.decide(input);
    ctx.specs = specs;
    for (const auto& [name, trace] : traces) {
      auto& h = ctx.history[name];
      for (std::size_t i = t + 1 > kHistoryKept ? t + 1 - kHistoryKept : 0; i <= t; ++i) {
        h.push_back({start_ms + static_cast<int64_t>(i) * 300000, trace[i]});
      }
    }
    for (const auto& d : ctx.decisions.systems) desired[d.system].push_back(d.desired_replicas);
    records.push_back(scn::toRecord(scn::buildScenario(ctx)));
  }
  auto store = controller::store::Store::open(db_path);
  if (!store.ok()) return 0;
  if (!(*store)->insertScenarios(records).ok()) return 0;
  return records.size();
}

std::vector<controller::store::ScenarioRecord> storedScenarios(const std::string& db_path) {
  auto store = controller::store::Store::open(db_path);
  EXPECT_TRUE(store.ok());
  if (!store.ok()) return {};
  auto records = (*store)->scenarios(controller::store::ScenarioFilter{});
  EXPECT_TRUE(records.ok());
  return records.ok() ? *records : std::vector<controller::store::ScenarioRecord>{};
}

class CourseTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new TempDir();
    record_ =
        psoctl({"--json", "simulate", "--trace",
                sourceFile("tests/fixtures/traces/elb_request_count_8c0756.csv"), "--capacity",
                "20", "--warmup-steps", "2", "--out", dir_->file("sim.csv"), "--record", db()});
    if (record_.exit_code == 0) fleet_ = recordFleet(db());
  }
  static void TearDownTestSuite() {
    delete dir_;
    dir_ = nullptr;
  }
  void SetUp() override {
    ASSERT_EQ(record_.exit_code, 0) << record_.err;
    ASSERT_GT(fleet_, 0u) << "the fleet replay recorded nothing";
  }

  static std::string db() { return dir_->file("lessons.db"); }
  static std::string file(const std::string& name) { return dir_->file(name); }

  static TempDir* dir_;
  static CommandOutput record_;
  static std::size_t fleet_;
};

TempDir* CourseTest::dir_ = nullptr;
CommandOutput CourseTest::record_;
std::size_t CourseTest::fleet_ = 0;

TEST_F(CourseTest, ARecordedReplayMakesACourseAtEveryLevelWithAVariedQuiz) {
  const auto records = storedScenarios(db());
  std::size_t quiet_recorded = 0;
  for (const auto& r : records) {
    quiet_recorded += json::parse(r.json).value("quiet", false) ? 1 : 0;
  }
  ASSERT_GT(quiet_recorded, records.size() / 4) << "the recording should have many quiet cycles";

  auto built = scn::buildCourse(records);
  ASSERT_TRUE(built.ok()) << built.error().message;
  const scn::Course& course = *built;

  std::vector<std::string> levels;
  for (const auto& level : course.levels) levels.push_back(level.level);
  EXPECT_EQ(levels, scn::scenarioLevels());

  // Quiet cycles are summarised, not taught one by one.
  std::size_t lessons = 0, quiet_lessons = 0;
  for (const auto& level : course.levels) {
    for (const auto& l : level.lessons) {
      ++lessons;
      quiet_lessons += l.lesson.quiet ? 1 : 0;
      EXPECT_EQ(l.lesson.level, level.level) << l.lesson.id;
    }
  }
  ASSERT_GT(lessons, 0u);
  EXPECT_LE(static_cast<double>(quiet_lessons), 0.1 * static_cast<double>(lessons));
  EXPECT_EQ(course.quiet.cycles, quiet_recorded);
  // Every scenario read is a lesson, merged into one, beyond the limit, or quiet.
  EXPECT_EQ(lessons + course.merged + course.not_selected + course.quiet.cycles, records.size());
  EXPECT_GT(course.merged, 0u);

  // No question topic above 30% of the course's questions, counted here.
  std::map<std::string, std::size_t> topics;
  std::size_t questions = 0;
  for (const auto& level : course.levels) {
    for (const auto& l : level.lessons) {
      for (const auto& q : l.lesson.questions) {
        ++topics[q.topic];
        ++questions;
      }
    }
  }
  ASSERT_GE(questions, 20u);
  EXPECT_GE(topics.size(), 4u);
  for (const auto& [topic, n] : topics) {
    EXPECT_LE(static_cast<double>(n), 0.3 * static_cast<double>(questions) + 1e-9)
        << topic << ": " << n << " of " << questions;
  }
  EXPECT_EQ(topics, course.questions_by_kind);
  EXPECT_TRUE(course.question_mix_within_share);

  // Prerequisites chain the levels; within a level the best lesson comes
  // first, and no two lessons are near-duplicates of the same kind and score
  // order is kept within a kind.
  for (std::size_t i = 0; i < course.levels.size(); ++i) {
    const auto& level = course.levels[i];
    if (i == 0) {
      EXPECT_TRUE(level.prerequisites.empty());
    } else {
      EXPECT_EQ(level.prerequisites, std::vector<std::string>{course.levels[i - 1].level});
    }
    ASSERT_FALSE(level.lessons.empty()) << level.level;
    double best = 0;
    std::map<std::string, double> last_of_kind;
    for (const auto& l : level.lessons) {
      best = std::max(best, l.score);
      auto it = last_of_kind.find(l.kind);
      if (it != last_of_kind.end()) {
        EXPECT_LE(l.score, it->second) << l.lesson.id;
      }
      last_of_kind[l.kind] = l.score;
    }
    EXPECT_EQ(level.lessons.front().score, best) << level.level;
  }
  std::cout << "course: " << lessons << " lessons from " << records.size() << " scenarios ("
            << quiet_recorded << " quiet, " << course.merged << " merged, " << course.not_selected
            << " beyond the limit); per level:";
  for (const auto& level : course.levels) {
    std::cout << ' ' << level.level << '=' << level.lessons.size();
  }
  std::size_t top = 0;
  for (const auto& [topic, n] : topics) top = std::max(top, n);
  std::cout << "; " << questions << " questions, largest topic share "
            << 100.0 * static_cast<double>(top) / static_cast<double>(questions) << "%\n";
}

TEST_F(CourseTest, PsoctlExportsTheCourseAsMarkdownAndHtml) {
  auto md = psoctl({"scenarios", "export", "--db", db(), "--format", "course-markdown", "--out",
                    file("course.md")});
  ASSERT_EQ(md.exit_code, 0) << md.err;
  const std::string text = readFile(file("course.md"));
  std::size_t at = 0;
  for (const char* heading : {"\n# Foundation\n", "\n# Advanced optimization\n",
                              "\n# System integration\n", "\n# Enterprise coordination\n"}) {
    const auto found = text.find(heading, at);
    ASSERT_NE(found, std::string::npos) << heading;
    at = found;
  }
  EXPECT_NE(text.find("*Requires: System integration.*"), std::string::npos);
  EXPECT_NE(text.find("quiet cycles"), std::string::npos);

  auto html = psoctl({"scenarios", "export", "--db", db(), "--format", "course-html", "--out",
                      file("course.html")});
  ASSERT_EQ(html.exit_code, 0) << html.err;
  const std::string page = readFile(file("course.html"));
  for (const auto& level : scn::scenarioLevels()) {
    EXPECT_NE(page.find("<section id=\"level-" + level + "\">"), std::string::npos) << level;
  }
  EXPECT_EQ(page.find("<script"), std::string::npos);
}

// The files of a zip, read by Python's zipfile (an independent reader that
// checks every entry's CRC), extracted into `dir`.
void extractZip(const std::string& zip, const std::string& dir) {
  const auto r = runCommand({PSO_PYTHON_BIN, "-c",
                             "import sys, zipfile\n"
                             "z = zipfile.ZipFile(sys.argv[1])\n"
                             "bad = z.testzip()\n"
                             "assert bad is None, bad\n"
                             "z.extractall(sys.argv[2])\n"
                             "print(len(z.namelist()))\n",
                             zip, dir},
                            {}, std::chrono::seconds(60));
  ASSERT_EQ(r.exit_code, 0) << r.err;
}

CommandOutput xmllint(const std::string& xml) {
  return runCommand({PSO_XMLLINT_BIN, "--noout", "--schema",
                     sourceFile("tests/fixtures/cmi5/CourseStructure.xsd"), xml},
                    {}, std::chrono::seconds(60));
}

TEST_F(CourseTest, Cmi5PackageValidatesAgainstTheCourseStructureSchema) {
  ASSERT_TRUE(pso::testing::toolPresent(PSO_XMLLINT_BIN))
      << "xmllint is missing (installers/install-deps.sh "
         "installs libxml2-utils)";
  ASSERT_TRUE(pso::testing::toolPresent(PSO_PYTHON_BIN)) << "python3 is missing";
  auto r = psoctl(
      {"scenarios", "export", "--db", db(), "--format", "cmi5", "--out", file("course.zip")});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  ASSERT_NO_FATAL_FAILURE(extractZip(file("course.zip"), file("pkg")));
  const auto valid = xmllint(file("pkg/cmi5.xml"));
  EXPECT_EQ(valid.exit_code, 0) << valid.err;
  EXPECT_NE(valid.err.find("validates"), std::string::npos) << valid.err;

  // One block per level in teaching order; every AU's url is in the package.
  const std::string xml = readFile(file("pkg/cmi5.xml"));
  std::vector<std::string> blocks;
  const std::regex block_re("<block id=\"[^\"]*/levels/([a-z_]+)\">");
  for (std::sregex_iterator it(xml.begin(), xml.end(), block_re), end; it != end; ++it) {
    blocks.push_back((*it)[1]);
  }
  EXPECT_EQ(blocks, scn::scenarioLevels());
  const std::regex url_re("<url>([^<]+)</url>");
  std::size_t aus = 0;
  for (std::sregex_iterator it(xml.begin(), xml.end(), url_re), end; it != end; ++it) {
    ++aus;
    EXPECT_TRUE(fs::exists(file("pkg/" + (*it)[1].str()))) << (*it)[1];
  }
  EXPECT_GT(aus, 4u);
  EXPECT_TRUE(fs::exists(file("pkg/au/cmi5-au.js")));

  // The check can fail: the same document without an AU's url does not validate.
  const std::string broken =
      std::regex_replace(xml, url_re, "", std::regex_constants::format_first_only);
  { std::ofstream(file("broken-cmi5.xml")) << broken; }
  const auto refused = xmllint(file("broken-cmi5.xml"));
  EXPECT_NE(refused.exit_code, 0) << refused.err;
}

// The LMS side of a cmi5 launch on loopback: the package's files under
// /content/, the fetch URL (one token, once), the LMS.LaunchData state
// document, and an LRS that stores statements.
class LoopbackLms {
 public:
  LoopbackLms(std::string content_dir, std::string registration, std::string launch_mode = "Normal")
      : content_dir_(std::move(content_dir)),
        registration_(std::move(registration)),
        launch_mode_(std::move(launch_mode)),
        server_([this](const LoopbackLrs::Request& r) { return answer(r); }) {}

  std::string launchUrl(const std::string& au_path, const std::string& activity_id,
                        const json& actor) const {
    return server_.base() + "/content/" + au_path +
           "?endpoint=" + common::percentEncode(server_.endpoint()) +
           "&fetch=" + common::percentEncode(server_.base() + "/fetch?session=s1") +
           "&registration=" + common::percentEncode(registration_) +
           "&activityId=" + common::percentEncode(activity_id) +
           "&actor=" + common::percentEncode(actor.dump());
  }
  std::vector<LoopbackLrs::Request> requests() { return server_.requests(); }
  static constexpr const char* kToken = "cG9ydGFsOnNlY3JldA==";
  static constexpr const char* kSession = "session-7f3a";
  static constexpr const char* kPublisher = "https://lms.example.org/courses/77/aus/publisher";
  /// Not the package's 0.7: the AU must take the LMS's value.
  static constexpr double kMasteryScore = 0.6;

 private:
  LoopbackLrs::Answer answer(const LoopbackLrs::Request& r) {
    if (r.method == "GET" && r.route.rfind("/content/", 0) == 0) {
      const std::string relative = r.route.substr(9);
      if (relative.find("..") != std::string::npos || !fs::exists(content_dir_ + "/" + relative)) {
        return {404, "{}"};
      }
      const bool html = relative.size() > 5 && relative.substr(relative.size() - 5) == ".html";
      return {200, readFile(content_dir_ + "/" + relative),
              html ? "text/html; charset=utf-8" : "application/javascript"};
    }
    if (r.method == "POST" && r.route == "/fetch") {
      if (fetched_++ > 0) {
        return {200, R"({"error-code":"1","error-text":"already fetched"})"};
      }
      return {200, json{{"auth-token", kToken}}.dump()};
    }
    if (r.header("authorization") != std::string("Basic ") + kToken) return {401, "{}"};
    if (r.method == "GET" && r.route == "/xapi/activities/state") {
      if (r.query.count("stateId") == 0 || r.query.at("stateId") != "LMS.LaunchData") {
        return {404, "{}"};
      }
      return {200,
              json{{"contextTemplate",
                    {{"contextActivities", {{"grouping", {{{"id", kPublisher}}}}}},
                     {"extensions",
                      {{"https://w3id.org/xapi/cmi5/context/extensions/sessionid", kSession}}}}},
                   {"launchMode", launch_mode_},
                   {"moveOn", "CompletedAndPassed"},
                   {"masteryScore", kMasteryScore}}
                  .dump()};
    }
    if ((r.method == "POST" || r.method == "PUT") && r.route == "/xapi/statements") {
      return LoopbackLrs::statementIds(r);
    }
    return {404, "{}"};
  }

  std::string content_dir_;
  std::string registration_;
  std::string launch_mode_;
  int fetched_ = 0;
  LoopbackLrs server_;
};

const json kActor = {{"objectType", "Agent"},
                     {"account", {{"homePage", "https://lms.example.org"}, {"name", "learner-5"}}}};

CommandOutput launchInBrowser(const std::string& url, const std::string& answers) {
  return runCommand({PSO_NODE_BIN, (fs::path(PSO_NODE_TOOLS_DIR) / "run_cmi5_au.js").string(), url,
                     answers, PSO_CHROMIUM_BIN},
                    {}, std::chrono::seconds(120));
}

std::vector<std::string> statementVerbs(const std::vector<LoopbackLrs::Request>& requests) {
  std::vector<std::string> verbs;
  for (const auto& req : requests) {
    if (req.route != "/xapi/statements") continue;
    const std::string id = json::parse(req.body)["verb"]["id"];
    verbs.push_back(id.substr(id.rfind('/') + 1));
  }
  return verbs;
}

TEST_F(CourseTest, Cmi5UnitLaunchedInABrowserReportsInCmi5Order) {
  PSO_REQUIRE_BROWSER();
  auto r = psoctl({"scenarios", "export", "--db", db(), "--format", "cmi5", "--level",
                   "system_integration", "--out", file("si.zip")});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  ASSERT_NO_FATAL_FAILURE(extractZip(file("si.zip"), file("si")));
  // The first lesson AU of the package, as cmi5.xml lists it.
  const std::string xml = readFile(file("si/cmi5.xml"));
  std::smatch au;
  ASSERT_TRUE(std::regex_search(
      xml, au,
      std::regex("<au id=\"([^\"]+/aus/s-[^\"]+)\" moveOn=\"CompletedAndPassed\"[^>]*>[\\s\\S]*?"
                 "<url>([^<]+)</url>")));
  const std::string activity_id = au[1];
  const std::string au_path = au[2];
  const json& actor = kActor;

  for (const std::string mode : {"right", "wrong"}) {
    SCOPED_TRACE(mode);
    const std::string registration = mode == "right" ? "6f1d2c3b-4a59-4e6f-8a7b-9c0d1e2f3a4b"
                                                     : "0a1b2c3d-4e5f-4a6b-8c7d-8e9f0a1b2c3d";
    LoopbackLms lms(file("si"), registration);
    const auto run = launchInBrowser(lms.launchUrl(au_path, activity_id, actor), mode);
    ASSERT_EQ(run.exit_code, 0) << run.out << run.err;
    const json summary = json::parse(run.out);
    const std::size_t questions = summary["questions"];
    ASSERT_GT(questions, 0u);

    // The token first, then LaunchData, then statements only.
    const auto requests = lms.requests();
    std::vector<std::string> lms_calls;
    std::vector<json> statements;
    for (const auto& req : requests) {
      if (req.route == "/fetch") lms_calls.push_back("fetch");
      if (req.route == "/xapi/activities/state") {
        lms_calls.push_back("state");
        EXPECT_EQ(req.query.at("registration"), registration);
        EXPECT_EQ(req.query.at("activityId"), activity_id);
        EXPECT_EQ(json::parse(req.query.at("agent")), actor);
      }
      if (req.route == "/xapi/statements") {
        lms_calls.push_back("statement");
        EXPECT_EQ(req.header("authorization"), std::string("Basic ") + LoopbackLms::kToken);
        EXPECT_EQ(req.header("x-experience-api-version"), "1.0.3");
        statements.push_back(json::parse(req.body));
      }
    }
    ASSERT_GE(lms_calls.size(), 3u);
    EXPECT_EQ(lms_calls[0], "fetch");
    EXPECT_EQ(lms_calls[1], "state");
    EXPECT_EQ(std::count(lms_calls.begin(), lms_calls.end(), "fetch"), 1);

    std::vector<std::string> verbs;
    for (const auto& s : statements) {
      const std::string id = s["verb"]["id"];
      verbs.push_back(id.substr(id.rfind('/') + 1));
      EXPECT_EQ(s["context"]["registration"], registration);
      EXPECT_EQ(s["actor"], actor);
      EXPECT_EQ(
          s["context"]["extensions"]["https://w3id.org/xapi/cmi5/context/extensions/sessionid"],
          LoopbackLms::kSession);
      EXPECT_EQ(s["context"]["contextActivities"]["grouping"][0]["id"], LoopbackLms::kPublisher);
    }
    std::vector<std::string> expected{"initialized"};
    expected.insert(expected.end(), questions, "answered");
    expected.insert(expected.end(),
                    {mode == "right" ? "passed" : "failed", "completed", "terminated"});
    EXPECT_EQ(verbs, expected);

    // cmi5 defined statements: the AU as object and the cmi5 category;
    // passed/failed/completed also moveon; answered statements are not cmi5
    // defined and carry the AU as parent.
    const std::string cmi5 = "https://w3id.org/xapi/cmi5/context/categories/cmi5";
    const std::string moveon = "https://w3id.org/xapi/cmi5/context/categories/moveon";
    for (std::size_t i = 0; i < statements.size(); ++i) {
      const json& s = statements[i];
      std::set<std::string> categories;
      for (const auto& c : s["context"]["contextActivities"].value("category", json::array())) {
        categories.insert(c["id"].get<std::string>());
      }
      if (verbs[i] == "answered") {
        EXPECT_EQ(categories.count(cmi5), 0u);
        EXPECT_EQ(s["context"]["contextActivities"]["parent"][0]["id"], activity_id);
        EXPECT_EQ(s["object"]["definition"]["type"],
                  "http://adlnet.gov/expapi/activities/cmi.interaction");
        EXPECT_EQ(s["result"]["success"], mode == "right");
        continue;
      }
      EXPECT_EQ(s["object"]["id"], activity_id);
      EXPECT_EQ(categories.count(cmi5), 1u) << verbs[i];
      const bool moves_on = verbs[i] == "passed" || verbs[i] == "failed" || verbs[i] == "completed";
      EXPECT_EQ(categories.count(moveon), moves_on ? 1u : 0u) << verbs[i];
    }
    const json& judged = statements[questions + 1];
    EXPECT_EQ(judged["result"]["score"]["scaled"], mode == "right" ? 1.0 : 0.0);
    EXPECT_EQ(judged["result"]["success"], mode == "right");
    EXPECT_EQ(judged["context"]["extensions"]
                    ["https://w3id.org/xapi/cmi5/context/extensions/masteryscore"],
              LoopbackLms::kMasteryScore);
    EXPECT_EQ(statements[questions + 2]["result"]["completion"], true);

    // And every statement is valid xAPI for a third-party validator.
    { std::ofstream(file("au-" + mode + ".json")) << json(statements).dump(); }
    if (fs::exists(fs::path(PSO_NODE_TOOLS_DIR) / "node_modules" / "xapi-validation")) {
      const auto valid =
          runCommand({PSO_NODE_BIN, (fs::path(PSO_NODE_TOOLS_DIR) / "validate_xapi.js").string(),
                      file("au-" + mode + ".json")},
                     {}, std::chrono::seconds(60));
      EXPECT_EQ(valid.exit_code, 0) << valid.err;
    }
  }
}

TEST_F(CourseTest, Cmi5UnitInBrowseModeRecordsNoResult) {
  PSO_REQUIRE_BROWSER();
  auto r = psoctl({"scenarios", "export", "--db", db(), "--format", "cmi5", "--level",
                   "enterprise_coordination", "--out", file("ec.zip")});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  ASSERT_NO_FATAL_FAILURE(extractZip(file("ec.zip"), file("ec")));
  const std::string xml = readFile(file("ec/cmi5.xml"));
  std::smatch au;
  ASSERT_TRUE(std::regex_search(
      xml, au,
      std::regex("<au id=\"([^\"]+/aus/s-[^\"]+)\" moveOn=\"CompletedAndPassed\"[^>]*>[\\s\\S]*?"
                 "<url>([^<]+)</url>")));
  LoopbackLms lms(file("ec"), "5b0e8a52-7d3c-4f1e-9a6b-2c4d6e8f0a1c", "Browse");
  const auto run = launchInBrowser(lms.launchUrl(au[2], au[1], kActor), "right");
  ASSERT_EQ(run.exit_code, 0) << run.out << run.err;
  EXPECT_EQ(statementVerbs(lms.requests()),
            (std::vector<std::string>{"initialized", "terminated"}));
}

// The overview AU asks nothing: it completes and is never judged, even when
// the LMS's LaunchData carries a mastery score.
TEST_F(CourseTest, Cmi5OverviewUnitCompletesWithoutAJudgement) {
  PSO_REQUIRE_BROWSER();
  auto r = psoctl({"scenarios", "export", "--db", db(), "--format", "cmi5", "--level", "foundation",
                   "--out", file("fo.zip")});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  ASSERT_NO_FATAL_FAILURE(extractZip(file("fo.zip"), file("fo")));
  const std::string xml = readFile(file("fo/cmi5.xml"));
  std::smatch au;
  ASSERT_TRUE(std::regex_search(xml, au,
                                std::regex("<au id=\"([^\"]+/aus/course-overview)\" "
                                           "moveOn=\"NotApplicable\"[^>]*>[\\s\\S]*?"
                                           "<url>([^<]+)</url>")));
  LoopbackLms lms(file("fo"), "9d8c7b6a-5f4e-4d3c-8b2a-1f0e9d8c7b6a");
  const auto run = launchInBrowser(lms.launchUrl(au[2], au[1], kActor), "right");
  ASSERT_EQ(run.exit_code, 0) << run.out << run.err;
  EXPECT_EQ(statementVerbs(lms.requests()),
            (std::vector<std::string>{"initialized", "completed", "terminated"}));
}

}  // namespace
}  // namespace pso::testing
