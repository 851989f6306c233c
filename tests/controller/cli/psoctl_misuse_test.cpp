// psoctl as operators meet it, run as the real binary against a real
// Controller on loopback (its API answers by a fixed clock, or the wall clock
// where operator directives must not expire; cycles run when a
// test calls runCycleOnce): misuse refused in one line (and by the API, for
// curl users), kubectl-style output options, version, completion, one
// system, releasing a hold, and explaining a decision's numbers.

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <limits>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "common/clock.h"
#include "controller/engine/wording.h"
#include "controller/service/controller.h"
#include "tests/controller/service/service_test_support.h"
#include "tests/support/process.h"

namespace pso::controller::service::testing {
namespace {

using nlohmann::json;
using pso::testing::CommandOutput;
using pso::testing::linesOf;
using pso::testing::runCommand;

// 2026-01-01T12:30:00Z: the instant the API answers by.
constexpr int64_t kNow = 1'767'225'600'000 + 12 * 3'600'000 + 30 * 60'000;

CommandOutput psoctlOffline(const std::vector<std::string>& args) {
  std::vector<std::string> argv{PSOCTL_BIN};
  argv.insert(argv.end(), args.begin(), args.end());
  return runCommand(argv);
}

/// Columns a line takes: UTF-8 code points (the ellipsis is one).
std::size_t columns(const std::string& line) {
  return static_cast<std::size_t>(std::count_if(line.begin(), line.end(), [](char c) {
    return (static_cast<unsigned char>(c) & 0xC0) != 0x80;
  }));
}

/// A refusal as operators must see it: a non-zero exit and one line on stderr
/// that says `mentions`.
void expectRefused(const CommandOutput& r, const std::string& mentions) {
  EXPECT_NE(r.exit_code, 0) << r.out;
  EXPECT_NE(r.err.find(mentions), std::string::npos) << r.err;
  EXPECT_EQ(linesOf(r.err).size(), 1u) << r.err;
  EXPECT_LT(r.err.size(), 400u) << r.err;
}

class PsoctlTest : public ServiceTest {
 protected:
  void SetUp() override { ASSERT_NO_FATAL_FAILURE(start(fixedClock(kNow))); }

  /// (Re)starts the controller answering by `clock`.
  void start(WallClock clock) {
    HarnessOptions options;
    options.clock = std::move(clock);
    ASSERT_NO_FATAL_FAILURE(startController(options));
    // The agents stamp samples by the API's fixed clock, not the wall clock.
    store::IngestLimits limits;
    limits.max_age_ms = std::numeric_limits<int64_t>::max();
    limits.max_ahead_ms = std::numeric_limits<int64_t>::max();
    controller().store().setIngestLimits(limits);
  }

  std::string api() const { return "http://127.0.0.1:" + std::to_string(controller_->httpPort()); }

  CommandOutput psoctl(std::vector<std::string> args) {
    args.insert(args.begin(), {PSOCTL_BIN, "--api", api(), "--token", kToken});
    return runCommand(args);
  }
};

TEST(PsoctlMisuse, ScenariosFromAMissingDatabaseFailWithoutCreatingIt) {
  TempDir dir;
  const std::string missing = dir.file("nope.db");
  expectRefused(psoctlOffline({"scenarios", "list", "--db", missing}), "no database at " + missing);
  expectRefused(psoctlOffline({"scenarios", "show", "s-1", "--db", missing}),
                "no database at " + missing);
  expectRefused(psoctlOffline({"scenarios", "export", "--format", "jsonl", "--out",
                               dir.file("out.jsonl"), "--db", missing}),
                "no database at " + missing);
  expectRefused(psoctlOffline({"scenarios", "exercise", "s-1", "--db", missing}),
                "no database at " + missing);
  expectRefused(psoctlOffline({"scenarios", "assignments", "--learner", "l-1", "--db", missing,
                               "--out-dir", dir.file("handouts")}),
                "no database at " + missing);
  EXPECT_FALSE(std::filesystem::exists(missing));
  EXPECT_FALSE(std::filesystem::exists(dir.file("out.jsonl")));
}

TEST(PsoctlMisuse, NumericOptionsOutOfRangeAreRefusedInWords) {
  TempDir dir;
  {
    std::ofstream trace(dir.file("t.csv"));
    trace << "timestamp,value\n1600000000,10\n1600000300,20\n1600000600,30\n";
  }
  auto simulate = [&](std::vector<std::string> extra) {
    std::vector<std::string> args{"simulate", "--trace", dir.file("t.csv"), "--out", "-"};
    args.insert(args.end(), extra.begin(), extra.end());
    return psoctlOffline(args);
  };
  expectRefused(simulate({"--capacity", "0"}), "--capacity must be greater than 0, got 0");
  expectRefused(simulate({"--capacity", "-5"}), "--capacity must be greater than 0, got -5");
  expectRefused(simulate({"--capacity", "nan"}), "--capacity must be a finite number, got nan");
  expectRefused(simulate({"--capacity", "inf"}), "--capacity must be a finite number, got inf");
  expectRefused(simulate({"--capacity", "10", "--target-util", "0"}),
                "--target-util must be greater than 0 and at most 1, got 0");
  expectRefused(simulate({"--capacity", "10", "--target-util", "1.5"}),
                "--target-util must be greater than 0 and at most 1, got 1.5");
  expectRefused(simulate({"--capacity", "10", "--warmup-steps", "-1"}),
                "--warmup-steps must be from 1 to 10000, got -1");
  expectRefused(simulate({"--capacity", "10", "--min", "5", "--max", "3"}),
                "--min (5) must not be greater than --max (3)");
  expectRefused(simulate({"--capacity", "10", "--risk", "0.7"}),
                "--risk must be from 0.001 to 0.499, got 0.7");
  expectRefused(psoctlOffline({"forecast", "--trace", dir.file("t.csv"), "--horizon", "2",
                               "--coverage", "2", "--out", "-"}),
                "--coverage must be from 0.5 to 0.999, got 2");
  expectRefused(psoctlOffline({"forecast", "--trace", dir.file("t.csv"), "--horizon", "2",
                               "--every", "0", "--out", "-"}),
                "--every must be from 1 to 1000000, got 0");
  expectRefused(psoctlOffline({"scenarios", "grade", "--learner", "l-1", "--answers", "a.json",
                               "--db", dir.file("none.db"), "--pass", "2"}),
                "--pass must be from 0 to 1, got 2");
  // Limits are checked before any request is made.
  expectRefused(psoctlOffline({"--api", "http://127.0.0.1:1", "samples", "web", "--limit", "-3"}),
                "--limit must be at least 1, got -3");
  expectRefused(psoctlOffline({"--api", "http://127.0.0.1:1", "cycles", "--limit", "0"}),
                "--limit must be at least 1, got 0");
  // CLI11's own refusals are one line too.
  expectRefused(psoctlOffline({"-o", "yaml", "status"}), "yaml");
  expectRefused(psoctlOffline({"simulate", "--trace", dir.file("t.csv")}), "--capacity");
}

TEST(PsoctlMisuse, OutputToADashGoesToStdoutForEveryOutputFile) {
  TempDir dir;
  {
    std::ofstream trace(dir.file("t.csv"));
    trace << "timestamp,value\n";
    for (int i = 0; i < 40; ++i) trace << 1600000000 + 300 * i << ',' << 100 + i % 5 << '\n';
  }
  const auto forecast =
      psoctlOffline({"forecast", "--trace", dir.file("t.csv"), "--horizon", "2", "--out", "-"});
  ASSERT_EQ(forecast.exit_code, 0) << forecast.err;
  EXPECT_EQ(forecast.out.rfind("origin,step,timestamp,point,lo,hi\n", 0), 0u) << forecast.out;
  const auto simulate =
      psoctlOffline({"simulate", "--trace", dir.file("t.csv"), "--capacity", "40", "--out", "-"});
  ASSERT_EQ(simulate.exit_code, 0) << simulate.err;
  EXPECT_EQ(simulate.out.rfind("timestamp,demand,desired,ready,planned\n", 0), 0u);
  // keygen's --out is a prefix of two files, so "-" cannot mean stdout.
  expectRefused(psoctlOffline({"keygen", "--out", "-"}), "not a prefix");
}

TEST(PsoctlHelp, EveryCommandHasAnExampleAndTheOverviewFitsATerminal) {
  const std::vector<std::vector<std::string>> commands = {{"status"},
                                                          {"agents"},
                                                          {"systems"},
                                                          {"samples"},
                                                          {"cycles"},
                                                          {"alerts"},
                                                          {"notifications"},
                                                          {"runbook"},
                                                          {"runbook", "run"},
                                                          {"explain"},
                                                          {"directive"},
                                                          {"directive", "scale"},
                                                          {"directive", "release"},
                                                          {"directives"},
                                                          {"scenarios"},
                                                          {"scenarios", "list"},
                                                          {"scenarios", "show"},
                                                          {"scenarios", "export"},
                                                          {"scenarios", "grade"},
                                                          {"scenarios", "exercise"},
                                                          {"scenarios", "assignments"},
                                                          {"scenarios", "check-assignment"},
                                                          {"scenarios", "progress"},
                                                          {"scenarios", "badge"},
                                                          {"scenarios", "verify-badge"},
                                                          {"scenarios", "business-case"},
                                                          {"forecast"},
                                                          {"keygen"},
                                                          {"badge-keygen"},
                                                          {"simulate"},
                                                          {"import"},
                                                          {"version"},
                                                          {"completion"}};
  for (auto args : commands) {
    args.push_back("--help");
    const auto r = psoctlOffline(args);
    EXPECT_EQ(r.exit_code, 0) << args.front();
    const std::size_t examples = r.out.find("Examples:\n  ");
    ASSERT_NE(examples, std::string::npos) << args.front() << ": " << r.out;
    EXPECT_NE(r.out.find("psoctl ", examples), std::string::npos) << args.front() << ": " << r.out;
  }
  const auto overview = psoctlOffline({"--help"});
  ASSERT_EQ(overview.exit_code, 0);
  for (const auto& line : linesOf(overview.out)) EXPECT_LE(columns(line), 120u) << line;
}

TEST(PsoctlCompletion, BashScriptIsValidAndOffersCommandsOptionsAndValues) {
  TempDir dir;
  const auto r = psoctlOffline({"completion", "bash"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  { std::ofstream(dir.file("psoctl.bash")) << r.out; }
  const auto syntax = runCommand({"/bin/bash", "-n", dir.file("psoctl.bash")});
  EXPECT_EQ(syntax.exit_code, 0) << syntax.err;

  auto offered = [&](const std::string& words, int cword) {
    const std::string script = "source " + dir.file("psoctl.bash") + "; COMP_WORDS=(" + words +
                               "); COMP_CWORD=" + std::to_string(cword) +
                               "; _psoctl; echo \"${COMPREPLY[*]}\"";
    const auto out = runCommand({"/bin/bash", "-c", script});
    EXPECT_EQ(out.exit_code, 0) << out.err;
    std::vector<std::string> words_offered;
    std::istringstream in(out.out);
    for (std::string word; in >> word;) words_offered.push_back(word);
    return words_offered;
  };
  auto has = [](const std::vector<std::string>& words, const std::string& word) {
    return std::find(words.begin(), words.end(), word) != words.end();
  };
  const auto top = offered("psoctl ''", 1);
  for (const char* command : {"status", "systems", "explain", "directive", "scenarios", "version",
                              "completion", "--api", "-o", "--no-headers"}) {
    EXPECT_TRUE(has(top, command)) << command;
  }
  EXPECT_EQ(offered("psoctl sc", 1), std::vector<std::string>{"scenarios"});
  const auto scenarios = offered("psoctl --api http://x:1 scenarios ''", 4);
  for (const char* sub : {"list", "show", "export", "grade", "exercise", "assignments",
                          "check-assignment", "progress", "badge", "verify-badge", "business-case"})
    EXPECT_TRUE(has(scenarios, sub)) << sub;
  const auto release = offered("psoctl directive release web --r", 4);
  EXPECT_EQ(release, std::vector<std::string>{"--reason"});
  EXPECT_EQ(offered("psoctl -o ''", 2), (std::vector<std::string>{"json", "wide", "name"}));
  // Values come from the options' own lists, wherever the option is.
  EXPECT_EQ(offered("psoctl scenarios list --level f", 4), std::vector<std::string>{"foundation"});
  EXPECT_EQ(offered("psoctl simulate --policy r", 3), std::vector<std::string>{"reactive"});
  EXPECT_EQ(offered("psoctl alerts --state f", 3), std::vector<std::string>{"firing"});
  EXPECT_TRUE(has(offered("psoctl scenarios export --format ''", 4), "gift"));
}

TEST(PsoctlVersion, PrintsTheClientsVersionEvenWithoutAController) {
  const auto r = psoctlOffline({"--api", "http://127.0.0.1:1", "version"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, std::string("client: psoctl ") + controllerVersion() + "\n");
  EXPECT_NE(r.err.find("controller unreachable"), std::string::npos) << r.err;
  EXPECT_EQ(linesOf(r.err).size(), 1u) << r.err;
}

TEST_F(PsoctlTest, VersionNamesTheControllersVersion) {
  const auto r = psoctl({"version"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find(std::string("client: psoctl ") + controllerVersion()), std::string::npos);
  EXPECT_NE(r.out.find(std::string("controller: ") + controllerVersion() + " (test-controller"),
            std::string::npos)
      << r.out;
  EXPECT_EQ(r.err, "");
  const json doc = json::parse(psoctl({"-o", "json", "version"}).out);
  EXPECT_EQ(doc["controller"]["version"], controllerVersion());
}

TEST_F(PsoctlTest, UnknownEventLevelMetricAndModelAreRefusedByPsoctlAndTheApi) {
  auto agent = connectWebAgent("agent-1", {10, 20, 30}, 2);
  ASSERT_TRUE(agent);
  ASSERT_TRUE(controller().runCycleOnce(kNow).ok());

  auto r = psoctl({"scenarios", "list", "--event", "scaled"});
  expectRefused(r, "--event: unknown 'scaled'; accepted: scaling_executed, bottleneck_prevented");
  expectRefused(
      psoctl({"scenarios", "export", "--format", "jsonl", "--out", "-", "--level", "expert"}),
      "--level: unknown 'expert'; accepted: foundation, advanced_optimization");
  expectRefused(psoctl({"scenarios", "list", "--db", dir_.file("controller.db"), "--level", "x"}),
                "--level: unknown 'x'");
  for (const char* path :
       {"/api/v1/scenarios?event=scaled", "/api/v1/scenarios/export?event=scaled"}) {
    const HttpReply reply = get(path);
    EXPECT_EQ(reply.status, 400) << path;
    EXPECT_NE(reply.json()["error"].get<std::string>().find(
                  "event: unknown 'scaled'; accepted: scaling_executed"),
              std::string::npos)
        << reply.body;
  }
  EXPECT_EQ(get("/api/v1/scenarios?level=expert").status, 400);
  EXPECT_EQ(get("/api/v1/scenarios?event=scaling_executed").status, 200);

  // A metric must be stored for the system (or the agent); demand always answers.
  expectRefused(psoctl({"samples", "web", "--metric", "latency"}),
                "unknown metric 'latency' for system web; stored metrics: demand, replicas");
  expectRefused(psoctl({"samples", "--agent", "agent-1", "--metric", "cpu.usage"}),
                "unknown metric 'cpu.usage' for agent agent-1");
  const HttpReply metric = get("/api/v1/systems/web/samples?metric=latency");
  EXPECT_EQ(metric.status, 404);
  EXPECT_EQ(metric.json()["error"],
            "unknown metric 'latency' for system web; stored metrics: demand, replicas");
  EXPECT_EQ(get("/api/v1/systems/web/samples?metric=replicas").status, 200);

  // The model is checked before any data is read: no hour is rolled up here.
  expectRefused(psoctl({"forecast", "web", "--horizon", "168h", "--model", "prophet"}),
                "model: unknown 'prophet'; accepted: auto-select, ");
  const HttpReply model = get("/api/v1/systems/web/forecast?horizon=168h&model=prophet");
  EXPECT_EQ(model.status, 400);
  EXPECT_NE(model.json()["error"].get<std::string>().find("holt-winters"), std::string::npos)
      << model.body;
}

TEST_F(PsoctlTest, SamplesLimitKeepsTheNewestInTimeOrder) {
  auto agent = connectWebAgent("agent-1", {1, 2, 3, 4, 5}, 2);
  ASSERT_TRUE(agent);
  const auto r = psoctl({"-o", "json", "samples", "web", "--limit", "3"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const json samples = json::parse(r.out)["samples"];
  ASSERT_EQ(samples.size(), 3u) << r.out;
  EXPECT_EQ(samples[0][1], 3.0);
  EXPECT_EQ(samples[1][1], 4.0);
  EXPECT_EQ(samples[2][1], 5.0);
  EXPECT_EQ(samples[2][0], kNow);
  // In a range, the newest of the range.
  const json ranged = get("/api/v1/systems/web/samples?until=" + std::to_string(kNow) + "&limit=2")
                          .json()["samples"];
  ASSERT_EQ(ranged.size(), 2u);
  EXPECT_EQ(ranged[0][1], 3.0);
  EXPECT_EQ(ranged[1][1], 4.0);
  const auto table = psoctl({"--no-headers", "samples", "web", "--limit", "2"});
  ASSERT_EQ(table.exit_code, 0) << table.err;
  const auto lines = linesOf(table.out);
  ASSERT_EQ(lines.size(), 2u) << table.out;
  EXPECT_NE(lines[0].find(common::formatTimestamp(kNow - 1000)), std::string::npos) << table.out;
  EXPECT_NE(lines[1].find(common::formatTimestamp(kNow)), std::string::npos) << table.out;
  expectRefused(psoctl({"-o", "name", "samples", "web"}), "-o name does not apply to samples");
}

TEST_F(PsoctlTest, ScenariosExportToADashWritesTheExportToStdout) {
  auto agent = connectWebAgent("agent-1", {70, 70, 70}, 2);
  ASSERT_TRUE(agent);
  auto cycle = controller().runCycleOnce(kNow);
  ASSERT_TRUE(cycle.ok()) << cycle.error().message;
  for (const std::vector<std::string>& source :
       {std::vector<std::string>{}, std::vector<std::string>{"--db", dir_.file("controller.db")}}) {
    std::vector<std::string> args{"scenarios", "export", "--format", "jsonl", "--out", "-"};
    args.insert(args.end(), source.begin(), source.end());
    const auto r = psoctl(args);
    ASSERT_EQ(r.exit_code, 0) << r.err;
    const auto lines = linesOf(r.out);
    ASSERT_EQ(lines.size(), 1u) << r.out;
    EXPECT_EQ(json::parse(lines[0])["id"], cycle->scenario_id);
    EXPECT_EQ(r.err, "exported 1 scenarios as jsonl to stdout\n");
    EXPECT_FALSE(std::filesystem::exists("-"));
  }
  // The per-lesson formats stream one document.
  const auto markdown = psoctl({"scenarios", "export", "--format", "markdown", "--out", "-"});
  ASSERT_EQ(markdown.exit_code, 0) << markdown.err;
  EXPECT_NE(markdown.out.find(cycle->scenario_id), std::string::npos);
}

TEST_F(PsoctlTest, AnExerciseIsReadFromTheControllerOverHttp) {
  // Demand far above what 2 replicas serve: the cycle scales and is notable.
  auto agent = connectWebAgent("agent-1", {900, 900, 900}, 2);
  ASSERT_TRUE(agent);
  auto cycle = controller().runCycleOnce(kNow);
  ASSERT_TRUE(cycle.ok()) << cycle.error().message;
  const json doc = get("/api/v1/scenarios/" + cycle->scenario_id).json();
  ASSERT_NE(doc["events"].dump().find("scaling_executed"), std::string::npos) << doc.dump();
  const std::string sys = doc["systems"][0];
  const int64_t desired = doc["rationale"][sys]["desired_replicas"];
  const auto r = psoctl({"-o", "json", "scenarios", "exercise", cycle->scenario_id, "--answer",
                         std::to_string(desired)});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const json ex = json::parse(r.out);
  EXPECT_EQ(ex["scenario_id"], cycle->scenario_id);
  EXPECT_EQ(ex["debrief"]["engine"]["replicas"], desired);
  EXPECT_EQ(ex["score"]["vs_engine"], 0);
  // Not recorded yet: the outcome is unknown and the score says so.
  EXPECT_TRUE(ex["debrief"]["outcome"].is_null());
  EXPECT_TRUE(ex["score"]["serves_at_target"].is_null());
  expectRefused(psoctl({"scenarios", "exercise", "no-such-scenario", "--answer", "1"}),
                "no-such-scenario");
}

TEST_F(PsoctlTest, GradeWithXapiOutADashPrintsTheStatementsAndReportsOnStderr) {
  auto agent = connectWebAgent("agent-1", {70, 70, 70}, 2);
  ASSERT_TRUE(agent);
  auto cycle = controller().runCycleOnce(kNow);
  ASSERT_TRUE(cycle.ok()) << cycle.error().message;
  const auto exported = psoctl({"scenarios", "export", "--format", "jsonl", "--out", "-"});
  ASSERT_EQ(exported.exit_code, 0) << exported.err;
  const json doc = json::parse(linesOf(exported.out).at(0));
  ASSERT_FALSE(doc["questions"].empty());
  json answers = json::object();
  for (const auto& q : doc["questions"]) {
    answers[q["id"].get<std::string>()] =
        q["type"] == "multiple_choice" ? json("a") : q.value("answer", json(0));
  }
  TempDir work;
  { std::ofstream(work.file("answers.json")) << answers.dump(); }
  const auto graded =
      psoctl({"scenarios", "grade", "--learner", "learner-3", "--answers",
              work.file("answers.json"), "--db", dir_.file("controller.db"), "--xapi-out", "-"});
  ASSERT_EQ(graded.exit_code, 0) << graded.err;
  const json statements = json::parse(graded.out);
  ASSERT_TRUE(statements.is_array()) << graded.out;
  EXPECT_FALSE(statements.empty());
  EXPECT_EQ(statements[0]["actor"]["account"]["name"], "learner-3");
  EXPECT_NE(graded.err.find("learner learner-3: "), std::string::npos) << graded.err;
}

TEST_F(PsoctlTest, OutputOptionsLikeKubectl) {
  auto agent = connectWebAgent("agent-1", {70, 70, 70}, 2);
  ASSERT_TRUE(agent);
  ASSERT_TRUE(controller().runCycleOnce(kNow).ok());
  const std::string long_reason =
      "capacity drill for the quarterly game day: " + std::string(240, 'x') + " END";
  const auto scaled = psoctl(
      {"-o", "name", "directive", "scale", "web", "--replicas", "4", "--reason", long_reason});
  ASSERT_EQ(scaled.exit_code, 0) << scaled.err;
  const std::string id = linesOf(scaled.out).at(0);
  EXPECT_EQ(id.rfind("op-", 0), 0u) << scaled.out;
  EXPECT_EQ(linesOf(scaled.out).size(), 1u);

  // The default table fits 120 columns: the reason is cut with an ellipsis.
  const auto table = psoctl({"directives"});
  ASSERT_EQ(table.exit_code, 0) << table.err;
  for (const auto& line : linesOf(table.out)) EXPECT_LE(columns(line), 120u) << line;
  EXPECT_EQ(table.out.find("END"), std::string::npos);
  EXPECT_NE(table.out.find("capacity"), std::string::npos) << table.out;
  EXPECT_NE(table.out.find("\u2026"), std::string::npos) << table.out;
  EXPECT_EQ(table.out.rfind("DIRECTIVE", 0), 0u);
  // -o wide prints every character.
  const auto wide = psoctl({"-o", "wide", "directives"});
  ASSERT_EQ(wide.exit_code, 0) << wide.err;
  EXPECT_NE(wide.out.find(long_reason), std::string::npos) << wide.out;
  // --no-headers drops the header row only.
  const auto bare = psoctl({"--no-headers", "directives"});
  ASSERT_EQ(linesOf(bare.out).size(), linesOf(table.out).size() - 1);
  EXPECT_EQ(bare.out.rfind(id, 0), 0u) << bare.out;
  // -o name: one id per line; -o json is --json.
  // (The engine's directive of the cycle is listed after the operator's.)
  EXPECT_EQ(psoctl({"-o", "name", "directives"}).out.rfind(id + "\nd-", 0), 0u);
  EXPECT_EQ(psoctl({"-o", "name", "systems"}).out, "web\n");
  EXPECT_EQ(psoctl({"-o", "name", "agents"}).out, "agent-1\n");
  EXPECT_EQ(psoctl({"-o", "json", "directives"}).out, psoctl({"--json", "directives"}).out);
  EXPECT_EQ(psoctl({"-o", "json", "systems"}).out, psoctl({"--json", "systems"}).out);
  expectRefused(psoctl({"--json", "-o", "wide", "systems"}), "disagree");
  for (const std::vector<std::string>& args :
       {std::vector<std::string>{"systems"}, {"agents"}, {"scenarios", "list"}, {"status"}}) {
    const auto listed_table = psoctl(args);
    ASSERT_EQ(listed_table.exit_code, 0) << listed_table.err;
    for (const auto& line : linesOf(listed_table.out)) {
      EXPECT_LE(columns(line), 120u) << args[0] << ": " << line;
    }
  }
  // The cycles table fits too; wide adds the dispatch and the rationale, whole.
  const auto cycles = psoctl({"cycles"});
  ASSERT_EQ(cycles.exit_code, 0) << cycles.err;
  for (const auto& line : linesOf(cycles.out)) EXPECT_LE(columns(line), 120u) << line;
  const json listed = json::parse(psoctl({"--json", "cycles"}).out);
  const std::string rationale = listed["cycles"][0]["decisions"][0]["rationale"];
  EXPECT_NE(psoctl({"-o", "wide", "cycles"}).out.find(rationale), std::string::npos);
}

TEST_F(PsoctlTest, SystemsNameShowsOneSystem) {
  auto agent = connectWebAgent("agent-1", {70, 70, 70}, 2);
  ASSERT_TRUE(agent);
  ASSERT_TRUE(controller().runCycleOnce(kNow).ok());
  const auto r = psoctl({"systems", "web"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("system                web"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("capacity per replica  10"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("bounds                1-20"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("depends on            db"), std::string::npos) << r.out;
  EXPECT_EQ(json::parse(psoctl({"-o", "json", "systems", "web"}).out),
            get("/api/v1/systems/web").json());
  expectRefused(psoctl({"systems", "nope"}), "unknown system 'nope'");
}

TEST_F(PsoctlTest, ReleaseEndsTheHoldAndTheNextCycleDecidesWithoutIt) {
  // Operator directives expire by the wall clock: the API answers by it here.
  ASSERT_NO_FATAL_FAILURE(start(common::wallMs));
  auto agent = connectWebAgent("agent-1", {70, 70, 70}, 2);
  ASSERT_TRUE(agent);
  expectRefused(psoctl({"directive", "release", "web"}), "no hold in force on web");
  const HttpReply none = post("/api/v1/directives", R"({"system":"web","action":"release"})");
  EXPECT_EQ(none.status, 422);
  EXPECT_EQ(none.json()["error"], "no hold in force on web");
  EXPECT_EQ(
      post("/api/v1/directives", R"({"system":"web","action":"release","replicas":3})").status,
      400);

  const auto held = psoctl(
      {"directive", "scale", "web", "--replicas", "3", "--hold", "1h", "--reason", "game day"});
  ASSERT_EQ(held.exit_code, 0) << held.err;
  auto with_hold = controller().runCycleOnce(now() + 1000);
  ASSERT_TRUE(with_hold.ok()) << with_hold.error().message;
  ASSERT_EQ(with_hold->decisions.systems.size(), 1u);
  EXPECT_EQ(with_hold->decisions.systems[0].rule, "hold");
  EXPECT_EQ(with_hold->decisions.systems[0].desired_replicas, 3);

  const auto released = psoctl({"directive", "release", "web", "--reason", "game day over"});
  ASSERT_EQ(released.exit_code, 0) << released.err;
  EXPECT_NE(released.out.find("released the hold on web"), std::string::npos) << released.out;
  EXPECT_TRUE(get("/api/v1/systems/web").json()["hold"].is_null());
  auto after = controller().runCycleOnce(now() + 2000);
  ASSERT_TRUE(after.ok()) << after.error().message;
  ASSERT_EQ(after->decisions.systems.size(), 1u);
  EXPECT_NE(after->decisions.systems[0].rule, "hold");
  for (const auto& effect : after->decisions.systems[0].facts.guardrails) {
    EXPECT_NE(effect.kind, engine::GuardrailKind::kOperatorHold);
  }
  const json directives = get("/api/v1/directives?system=web").json()["directives"];
  ASSERT_GE(directives.size(), 2u);
  EXPECT_EQ(directives[0]["action"], "release");
  EXPECT_EQ(directives[0]["reason"], "game day over");
  expectRefused(psoctl({"directive", "release", "web"}), "no hold in force on web");

  // A hold made after the release is in force again.
  ASSERT_EQ(
      psoctl({"directive", "scale", "web", "--replicas", "4", "--hold", "1h", "--reason", "again"})
          .exit_code,
      0);
  EXPECT_EQ(get("/api/v1/systems/web").json()["hold"]["replicas"], 4);
}

TEST_F(PsoctlTest, ExplainNamesEveryGuardrailThatChangedTheDecisionWithItsNumbers) {
  // Operator directives expire by the wall clock: the API answers by it here.
  ASSERT_NO_FATAL_FAILURE(start(common::wallMs));
  auto agent = connectWebAgent("agent-1", {70, 70, 70}, 2);
  ASSERT_TRUE(agent);
  // Demand 70 at 10 per replica and 70% wants 10 replicas; the hold keeps 3.
  ASSERT_EQ(
      psoctl({"directive", "scale", "web", "--replicas", "3", "--hold", "1h", "--reason", "freeze"})
          .exit_code,
      0);
  auto cycle = controller().runCycleOnce(now() + 1000);
  ASSERT_TRUE(cycle.ok()) << cycle.error().message;
  ASSERT_EQ(cycle->decisions.systems.size(), 1u);
  const auto& decision = cycle->decisions.systems[0];
  ASSERT_FALSE(decision.facts.guardrails.empty());
  EXPECT_NE(decision.recommended_replicas, decision.desired_replicas);

  // The cycles API carries the typed effects beside the sentences.
  const json summary = get("/api/v1/cycles?limit=1").json()["cycles"][0]["decisions"][0];
  ASSERT_EQ(summary["guardrail_effects"].size(), decision.facts.guardrails.size());
  for (std::size_t i = 0; i < decision.facts.guardrails.size(); ++i) {
    const auto& effect = decision.facts.guardrails[i];
    EXPECT_EQ(summary["guardrail_effects"][i],
              json({{"kind", std::string(engine::guardrailCode(effect.kind))},
                    {"from", effect.from},
                    {"to", effect.to}}));
  }

  const auto r = psoctl({"explain", "web"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("cycle            " + cycle->cycle.id + " at "), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("demand observed  70"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("recommended      " + std::to_string(decision.recommended_replicas) +
                       " replicas before guardrails"),
            std::string::npos)
      << r.out;
  std::size_t previous = 0;
  for (const auto& effect : decision.facts.guardrails) {
    // Every guardrail, with its numbers, in the order applied.
    const std::string line = std::string(engine::guardrailCode(effect.kind)) + ": " +
                             std::to_string(effect.from) + " -> " + std::to_string(effect.to);
    const std::size_t at = r.out.find(line);
    EXPECT_NE(at, std::string::npos) << line << "\n" << r.out;
    EXPECT_GE(at, previous);
    previous = at;
  }
  EXPECT_NE(r.out.find("guardrails       operator_hold: "), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("HPA rule         " + std::to_string(decision.reactive_replicas)),
            std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("desired          3 replicas"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find(decision.rationale), std::string::npos) << r.out;
  if (!decision.forecast.model.empty()) {
    EXPECT_NE(r.out.find("model " + decision.forecast.model), std::string::npos) << r.out;
  }
  const json doc = json::parse(psoctl({"-o", "json", "explain", "web"}).out);
  EXPECT_EQ(doc["cycle"], cycle->cycle.id);
  EXPECT_EQ(doc["decision"], summary);
  expectRefused(psoctl({"explain", "nope"}), "unknown system 'nope'");
}

TEST_F(PsoctlTest, ExplainShowsAStepLimitOfTheEnginesConfiguration) {
  // A controller whose engine adds at most one replica per decision (the
  // configuration's engine.max_step_up), on the wall clock.
  controller_.reset();
  ControllerConfig config;
  config.id = "step-limited";
  config.bind = "tcp://127.0.0.1:0";
  config.http = "127.0.0.1:0";
  config.db = dir_.file("step-limited.db");
  config.cycle_interval = std::chrono::hours(1);
  config.engine.max_step_up = 1;
  config.api_tokens_file = dir_.file("step-limited-tokens");
  std::ofstream(config.api_tokens_file) << kToken << '\n';
  clock_ = common::wallMs;
  controller_ = std::make_unique<Controller>(config, clock_);
  ASSERT_TRUE(controller_->start().ok());

  auto agent = connectWebAgent("agent-1", {70, 70, 70}, 2);
  ASSERT_TRUE(agent);
  auto cycle = controller().runCycleOnce(now() + 1000);
  ASSERT_TRUE(cycle.ok()) << cycle.error().message;
  ASSERT_EQ(cycle->decisions.systems.size(), 1u);
  const auto& decision = cycle->decisions.systems[0];
  ASSERT_EQ(decision.facts.guardrails.size(), 1u);
  EXPECT_EQ(decision.facts.guardrails[0].kind, engine::GuardrailKind::kStepLimitUp);
  EXPECT_EQ(decision.desired_replicas, 3);

  const auto r = psoctl({"explain", "web"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("guardrails       step_limit_up: " +
                       std::to_string(decision.recommended_replicas) + " -> 3\n"),
            std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("desired          3 replicas (current 2"), std::string::npos) << r.out;
}

}  // namespace
}  // namespace pso::controller::service::testing
