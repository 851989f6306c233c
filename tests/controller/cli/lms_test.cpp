// From a trace to an LMS, with the real binaries: psoctl simulate --record,
// scenarios export (jsonl, gift, html), scenarios grade with xAPI to a file and
// to a loopback learning record store. GIFT and xAPI files are checked by real
// third-party validators (gift-pegjs, xapi-validation) run with node.

#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "tests/support/loopback_lrs.h"
#include "tests/support/process.h"

namespace pso::testing {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

constexpr int kSteps = 400;
constexpr int kJumpAt = 300;  // demand triples here: the forecast before it is wrong

// A daily-shaped demand at 60 s steps that triples at kJumpAt for 30 steps.
void writeTrace(const std::string& path) {
  std::ofstream out(path);
  out << "timestamp,value\n";
  for (int i = 0; i < kSteps; ++i) {
    double v = 120 + 60 * std::sin(2 * M_PI * i / 96.0) + (i % 5) * 2;
    if (i >= kJumpAt && i < kJumpAt + 30) v *= 3;
    out << 1700000000 + 60 * i << ',' << v << '\n';
  }
}

CommandOutput psoctl(const std::vector<std::string>& args) {
  std::vector<std::string> argv{PSOCTL_BIN};
  argv.insert(argv.end(), args.begin(), args.end());
  return runCommand(argv, {}, std::chrono::seconds(120));
}

std::vector<json> readJsonl(const std::string& path) {
  std::ifstream in(path);
  std::vector<json> docs;
  std::string line;
  while (std::getline(in, line)) docs.push_back(json::parse(line));
  return docs;
}

/// node and the validators in tests/tools/node (installed by
/// installers/install-deps.sh with `npm ci`).
class NodeValidators {
 public:
  static bool nodePresent() { return std::string(PSO_NODE_BIN).size() > 0; }
  static std::string missingModules() {
    for (const char* module : {"gift-pegjs", "xapi-validation"}) {
      if (!fs::exists(fs::path(PSO_NODE_TOOLS_DIR) / "node_modules" / module)) return module;
    }
    return "";
  }
  static CommandOutput run(const std::string& script, const std::string& file) {
    return runCommand({PSO_NODE_BIN, (fs::path(PSO_NODE_TOOLS_DIR) / script).string(), file}, {},
                      std::chrono::seconds(120));
  }
};

#define REQUIRE_NODE_VALIDATORS()                                                           \
  do {                                                                                      \
    if (!NodeValidators::nodePresent()) {                                                   \
      GTEST_SKIP() << "node is not installed (installers/install-deps.sh installs nodejs)"; \
    }                                                                                       \
    const std::string missing = NodeValidators::missingModules();                           \
    ASSERT_TRUE(missing.empty()) << "the node module " << missing                           \
                                 << " is missing: run npm ci --prefix tests/tools/node "    \
                                    "(installers/install-deps.sh does)";                    \
  } while (0)

/// One recorded database per test binary run: a trace replayed with --record.
class LmsTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new TempDir();
    writeTrace(dir_->file("web.csv"));
    record_ = psoctl({"--json", "simulate", "--trace", dir_->file("web.csv"), "--capacity", "40",
                      "--warmup-steps", "2", "--max", "50", "--out", dir_->file("sim.csv"),
                      "--record", dir_->file("lessons.db")});
  }
  static void TearDownTestSuite() {
    delete dir_;
    dir_ = nullptr;
  }
  void SetUp() override { ASSERT_EQ(record_.exit_code, 0) << record_.err; }

  static std::string db() { return dir_->file("lessons.db"); }
  // The replay's own counts, step by step: desired is column 3 of sim.csv.
  static std::vector<int64_t> replayDesired() {
    std::vector<int64_t> desired;
    std::ifstream in(file("sim.csv"));
    std::string line;
    std::getline(in, line);
    while (std::getline(in, line)) {
      std::istringstream row(line);
      std::string ts, demand, count;
      std::getline(row, ts, ',');
      std::getline(row, demand, ',');
      std::getline(row, count, ',');
      desired.push_back(std::stoll(count));
    }
    return desired;
  }
  static std::string file(const std::string& name) { return dir_->file(name); }

  static TempDir* dir_;
  static CommandOutput record_;
};

TempDir* LmsTest::dir_ = nullptr;
CommandOutput LmsTest::record_;

TEST_F(LmsTest, SimulateRecordsEveryCycleAsAScenario) {
  // With --json, stdout keeps the simulate summary; the record summary is on stderr.
  const json summary = json::parse(record_.out);
  EXPECT_EQ(summary["steps"], kSteps);
  const json recorded = json::parse(record_.err);
  EXPECT_EQ(recorded["recorded"], kSteps);
  EXPECT_EQ(recorded["system"], "web");
  EXPECT_EQ(recorded["outcomes_filled"], kSteps);
  EXPECT_GT(recorded["quiet"].get<int>(), 0);
  EXPECT_GT(recorded["events"].value("scaling_executed", 0), 0);

  // A second trace into the same database gets its own ids.
  auto again = psoctl({"simulate", "--trace", file("web.csv"), "--capacity", "40", "--out",
                       file("sim2.csv"), "--record", file("second.db")});
  ASSERT_EQ(again.exit_code, 0) << again.err;
  EXPECT_NE(again.out.find("recorded 400 scenarios of web"), std::string::npos) << again.out;
  auto bad = psoctl({"simulate", "--trace", file("web.csv"), "--capacity", "40", "--out",
                     file("sim3.csv"), "--record", file("no-such-dir/x.db")});
  EXPECT_EQ(bad.exit_code, 1);
  EXPECT_NE(bad.err.find("--record"), std::string::npos) << bad.err;
}

TEST_F(LmsTest, JsonlHasEveryKeyFilled) {
  auto r = psoctl(
      {"scenarios", "export", "--db", db(), "--format", "jsonl", "--out", file("all.jsonl")});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto docs = readJsonl(file("all.jsonl"));
  ASSERT_EQ(docs.size(), static_cast<std::size_t>(kSteps));
  std::map<std::string, const json*> by_id;
  for (const auto& doc : docs) by_id[doc["id"].get<std::string>()] = &doc;
  const std::vector<int64_t> desired = replayDesired();
  ASSERT_EQ(desired.size(), static_cast<std::size_t>(kSteps));
  std::size_t with_questions = 0;
  std::size_t unchanged = 0;
  for (std::size_t t = 0; t < docs.size(); ++t) {
    const json& doc = docs[t];
    for (const char* key : {"id", "schema_version", "cycle_id", "time", "systems", "unchanged",
                            "situation", "forecasts", "candidates", "directives", "rationale",
                            "reactive_baseline", "events", "level", "outcome", "questions"}) {
      ASSERT_TRUE(doc.contains(key)) << doc["id"] << " lacks " << key;
      ASSERT_FALSE(doc[key].is_null()) << doc["id"] << ": " << key << " is null";
    }
    ASSERT_EQ(doc["cycle_id"], "sim1-" + std::to_string(t));
    if (doc["systems"].empty()) {
      // Unchanged and settled as forecast: named with the earlier scenario
      // that describes it, whose counts are this step's counts.
      ++unchanged;
      ASSERT_TRUE(doc["unchanged"].contains("web")) << doc.dump();
      const std::string since = doc["unchanged"]["web"];
      ASSERT_TRUE(by_id.count(since)) << doc["id"] << " points at " << since;
      const json& earlier = *by_id[since];
      EXPECT_LT(earlier["ts_ms"].get<int64_t>(), doc["ts_ms"].get<int64_t>());
      EXPECT_GE(earlier["ts_ms"].get<int64_t>(), doc["ts_ms"].get<int64_t>() - 3600 * 1000);
      ASSERT_EQ(earlier["systems"], json::array({"web"})) << since;
      EXPECT_EQ(earlier["rationale"]["web"]["desired_replicas"], desired[t]) << doc["id"];
      if (t > 0) {
        EXPECT_EQ(earlier["rationale"]["web"]["current_replicas"], desired[t - 1]) << doc["id"];
      }
      EXPECT_TRUE(doc["questions"].empty()) << doc["id"];
      // Whether the counts fell short of the demand that followed; the last
      // step has no demand after it, so nothing to judge.
      EXPECT_EQ(doc["outcome"]["systems"]["web"].contains("engine_short"), t + 1 < docs.size())
          << doc["id"];
      continue;
    }
    EXPECT_FALSE(doc["unchanged"].contains("web")) << doc["id"];
    EXPECT_EQ(doc["systems"], json::array({"web"}));
    EXPECT_EQ(doc["rationale"]["web"]["desired_replicas"], desired[t]) << doc["id"];
    for (const char* section :
         {"situation", "forecasts", "candidates", "rationale", "reactive_baseline"}) {
      EXPECT_TRUE(doc[section].contains("web")) << doc["id"] << " " << section;
    }
    EXPECT_TRUE(doc["outcome"]["filled"].get<bool>());
    EXPECT_FALSE(doc["rationale"]["web"]["text"].get<std::string>().empty());
    EXPECT_FALSE(doc["reactive_baseline"]["web"]["why"].get<std::string>().empty());
    with_questions += doc["questions"].empty() ? 0 : 1;
  }
  EXPECT_GT(with_questions, 0u);
  // A calm trace keeps its count most of the time: most steps only name it.
  EXPECT_GT(unchanged, docs.size() / 4) << unchanged << " of " << docs.size();
}

TEST_F(LmsTest, TheBusinessCaseOfOneSystemCountsTheStepsThatNameItUnchanged) {
  auto r = psoctl({"--json", "scenarios", "business-case", "--db", db(), "--system", "web",
                   "--period", "week"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const json figures = json::parse(r.out);
  const json& period = figures["periods"].back();
  // Every step covers web, described or named unchanged: the engine's
  // replica-hours are the replay's counts over all of them.
  const std::vector<int64_t> desired = replayDesired();
  ASSERT_EQ(desired.size(), static_cast<std::size_t>(kSteps));
  double hours = 0;
  for (int64_t count : desired) hours += static_cast<double>(count) * 60.0 / 3600.0;
  EXPECT_EQ(period["cycles"], kSteps) << period.dump();
  EXPECT_EQ(period["system_cycles"], kSteps) << period.dump();
  EXPECT_NEAR(period["predictive_replica_hours"].get<double>(), hours, 1e-9) << period.dump();
  EXPECT_EQ(period["system_cycles_left_out"], 0) << period.dump();
  // Each step judged, described or not, but the last few (no demand after them).
  EXPECT_GE(period["with_outcome"].get<int>(), kSteps - 10) << period.dump();
}

TEST_F(LmsTest, TheForecastBeforeTheJumpSaysItWasWrong) {
  // Filters narrow the export: scenarios between one step before the jump
  // and the jump itself.
  const int64_t jump_s = 1700000000 + 60 * kJumpAt;
  auto r = psoctl({"scenarios", "export", "--db", db(), "--format", "jsonl", "--since",
                   std::to_string(jump_s - 60), "--until", std::to_string(jump_s), "--out",
                   file("jump.jsonl")});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto docs = readJsonl(file("jump.jsonl"));
  ASSERT_EQ(docs.size(), 1u);
  const json& web = docs[0]["outcome"]["systems"]["web"];
  EXPECT_FALSE(web["forecast_held"].get<bool>()) << web.dump();
  EXPECT_EQ(web["verdict"].get<std::string>().rfind("forecast too low", 0), 0u) << web["verdict"];
  bool said = false;
  for (const auto& line : docs[0]["outcome"]["went_wrong"]) {
    said |= line.get<std::string>().find("exceeded the forecast upper bound") != std::string::npos;
  }
  EXPECT_TRUE(said) << docs[0]["outcome"].dump();
}

TEST_F(LmsTest, FiltersSelectByEventLevelAndLimit) {
  auto r = psoctl({"--json", "scenarios", "export", "--db", db(), "--format", "jsonl", "--event",
                   "scaling_executed", "--limit", "5", "--out", file("scaled.jsonl")});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto docs = readJsonl(file("scaled.jsonl"));
  ASSERT_EQ(docs.size(), 5u);
  for (const auto& doc : docs) {
    const auto& events = doc["events"];
    EXPECT_NE(std::find(events.begin(), events.end(), "scaling_executed"), events.end());
  }
  auto level = psoctl({"scenarios", "export", "--db", db(), "--format", "jsonl", "--level",
                       "foundation", "--system", "web", "--out", file("foundation.jsonl")});
  ASSERT_EQ(level.exit_code, 0) << level.err;
  for (const auto& doc : readJsonl(file("foundation.jsonl"))) EXPECT_EQ(doc["level"], "foundation");
  auto unknown =
      psoctl({"scenarios", "export", "--db", db(), "--format", "pdf", "--out", file("x.pdf")});
  EXPECT_NE(unknown.exit_code, 0);
}

TEST_F(LmsTest, GiftExportParsesWithGiftPegjs) {
  REQUIRE_NODE_VALIDATORS();
  auto r =
      psoctl({"scenarios", "export", "--db", db(), "--format", "gift", "--out", file("quiz.gift")});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto parsed = NodeValidators::run("validate_gift.js", file("quiz.gift"));
  ASSERT_EQ(parsed.exit_code, 0) << parsed.err;
  const json summary = json::parse(parsed.out);
  EXPECT_GT(summary["types"].value("Numerical", 0), 0) << parsed.out;
  EXPECT_GT(summary["types"].value("MC", 0), 0) << parsed.out;
  EXPECT_GT(summary["types"].value("Short", 0), 0) << parsed.out;
  EXPECT_EQ(summary["numerical_with_range"], summary["types"]["Numerical"]);
  EXPECT_EQ(summary["choice_with_one_correct"], summary["types"]["MC"]);
  ASSERT_GE(summary["categories"].size(), 1u);
  for (const auto& c : summary["categories"]) {
    EXPECT_EQ(c.get<std::string>().rfind("$course$/top/PSO-PRIME/", 0), 0u) << c;
  }
  // Escaped text reads back unescaped: "web: ..." prompts keep their colon.
  bool colon = false;
  for (const auto& stem : summary["stems"]) {
    colon |= stem.get<std::string>().rfind("web: ", 0) == 0;
  }
  EXPECT_TRUE(colon);
}

TEST_F(LmsTest, HtmlLessonsCarryAnInlineSvgChart) {
  auto r = psoctl({"scenarios", "export", "--db", db(), "--format", "html", "--event",
                   "scaling_executed", "--limit", "20", "--out", file("html")});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::size_t lessons = 0;
  for (const auto& entry : fs::directory_iterator(file("html"))) {
    if (entry.path().filename() == "index.html") continue;
    ++lessons;
    const std::string page = readFile(entry.path().string());
    EXPECT_NE(page.find("<svg xmlns=\"http://www.w3.org/2000/svg\""), std::string::npos)
        << entry.path();
    EXPECT_NE(page.find("class=\"band\""), std::string::npos) << entry.path();
  }
  EXPECT_EQ(lessons, 20u);
  EXPECT_NE(readFile(file("html/index.html")).find(".html\">"), std::string::npos);
}

// Answers for one recorded scenario: right for every question but the first.
json answersFor(const json& doc) {
  json answers = json::object();
  bool first = true;
  for (const auto& q : doc["questions"]) {
    const std::string id = q["id"];
    if (first) {
      answers[id] = q["type"] == "numeric" ? json(-1000) : json("wrong answer");
      first = false;
      continue;
    }
    if (q["type"] == "multiple_choice") {
      for (std::size_t i = 0; i < q["choices"].size(); ++i) {
        if (q["choices"][i]["correct"].get<bool>()) {
          answers[id] = std::string(1, static_cast<char>('a' + i));
        }
      }
    } else {
      answers[id] = q["answer"];
    }
  }
  return answers;
}

json scenarioWithQuestions(const std::string& jsonl, std::size_t min_questions) {
  for (const auto& doc : readJsonl(jsonl)) {
    if (doc["questions"].size() >= min_questions) return doc;
  }
  return nullptr;
}

TEST_F(LmsTest, GradeStoresAttemptsAndWritesValidXapi) {
  REQUIRE_NODE_VALIDATORS();
  auto r = psoctl({"scenarios", "export", "--db", db(), "--format", "jsonl", "--event",
                   "scaling_executed", "--out", file("grade-src.jsonl")});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const json doc = scenarioWithQuestions(file("grade-src.jsonl"), 3);
  ASSERT_TRUE(doc.is_object());
  const json answers = answersFor(doc);
  { std::ofstream(file("answers.json")) << answers.dump(2); }

  auto graded = psoctl({"--json", "scenarios", "grade", "--learner", "learner-17", "--answers",
                        file("answers.json"), "--db", db(), "--xapi-out", file("xapi.json")});
  ASSERT_EQ(graded.exit_code, 0) << graded.err;
  const json report = json::parse(graded.out);
  const std::size_t n = doc["questions"].size();
  ASSERT_EQ(report["scenarios"].size(), 1u);
  EXPECT_EQ(report["scenarios"][0]["correct"], n - 1);
  EXPECT_EQ(report["scenarios"][0]["questions"], n);
  EXPECT_EQ(report["competency"][0]["level"], doc["level"]);
  EXPECT_EQ(report["xapi_statements"], n + 1);

  const auto valid = NodeValidators::run("validate_xapi.js", file("xapi.json"));
  ASSERT_EQ(valid.exit_code, 0) << valid.err;
  const json statements = json::parse(readFile(file("xapi.json")));
  ASSERT_EQ(statements.size(), n + 1);
  for (const auto& s : statements) {
    EXPECT_EQ(s["actor"]["account"]["name"], "learner-17");
    EXPECT_FALSE(s["actor"].contains("mbox"));
  }

  // Grading again adds attempts; competency counts each question once.
  auto again = psoctl({"--json", "scenarios", "grade", "--learner", "learner-17", "--answers",
                       file("answers.json"), "--db", db()});
  ASSERT_EQ(again.exit_code, 0) << again.err;
  EXPECT_EQ(json::parse(again.out)["competency"][0]["questions"], n);

  auto email = psoctl({"scenarios", "grade", "--learner", "ana@example.org", "--answers",
                       file("answers.json"), "--db", db()});
  EXPECT_EQ(email.exit_code, 1);
  EXPECT_NE(email.err.find("email"), std::string::npos);
  { std::ofstream(file("bad.json")) << R"({"s-nope-q1": 3})"; }
  auto unknown = psoctl({"scenarios", "grade", "--learner", "learner-17", "--answers",
                         file("bad.json"), "--db", db()});
  EXPECT_EQ(unknown.exit_code, 1);
  EXPECT_NE(unknown.err.find("s-nope"), std::string::npos) << unknown.err;
}

TEST_F(LmsTest, GradePostsStatementsToALoopbackLrs) {
  REQUIRE_NODE_VALIDATORS();
  auto r = psoctl({"scenarios", "export", "--db", db(), "--format", "jsonl", "--event",
                   "scaling_executed", "--out", file("lrs-src.jsonl")});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const json doc = scenarioWithQuestions(file("lrs-src.jsonl"), 2);
  ASSERT_TRUE(doc.is_object());
  { std::ofstream(file("lrs-answers.json")) << answersFor(doc).dump(); }

  LoopbackLrs lrs;
  auto graded = runCommand(
      {PSOCTL_BIN, "scenarios", "grade", "--learner", "learner-9", "--answers",
       file("lrs-answers.json"), "--db", db(), "--lrs", lrs.endpoint(), "--lrs-user", "key"},
      {"PSO_LRS_PASSWORD=secret"}, std::chrono::seconds(60));
  ASSERT_EQ(graded.exit_code, 0) << graded.err;
  EXPECT_NE(graded.out.find("stored by the LRS"), std::string::npos) << graded.out;
  const auto requests = lrs.requests();
  ASSERT_EQ(requests.size(), 1u);
  const auto& req = requests[0];
  EXPECT_EQ(req.method, "POST");
  EXPECT_EQ(req.path, "/xapi/statements");
  EXPECT_EQ(req.header("x-experience-api-version"), "1.0.3");
  EXPECT_EQ(req.header("content-type"), "application/json");
  EXPECT_EQ(req.header("authorization"), "Basic a2V5OnNlY3JldA==");  // key:secret
  const json posted = json::parse(req.body);
  ASSERT_EQ(posted.size(), doc["questions"].size() + 1);
  { std::ofstream(file("posted.json")) << req.body; }
  const auto valid = NodeValidators::run("validate_xapi.js", file("posted.json"));
  EXPECT_EQ(valid.exit_code, 0) << valid.err;

  LoopbackLrs refusing(400);
  auto refused = psoctl({"scenarios", "grade", "--learner", "learner-9", "--answers",
                         file("lrs-answers.json"), "--db", db(), "--lrs", refusing.endpoint()});
  EXPECT_EQ(refused.exit_code, 1);
  EXPECT_NE(refused.err.find("answered 400"), std::string::npos) << refused.err;
  EXPECT_NE(refused.err.find("attempts are stored"), std::string::npos) << refused.err;
}

}  // namespace
}  // namespace pso::testing
