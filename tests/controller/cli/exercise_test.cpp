// Tabletop exercises and assignments from recorded scenarios, with the real
// psoctl binary: `psoctl simulate --record` replays the first 400 steps of a
// development trace (tests/fixtures/traces) into a controller database, and a
// system whose name is HTML is replayed through the real DecisionEngine into
// the same database (psoctl names systems after trace files, which cannot
// carry such a name). Then: each exercise's numbers re-derived from the
// document and equal to its lesson's, the refusal of a quiet cycle, the
// terminal flow driven through stdin, the exercise-html export, and
// assignments for weak levels whose keys an independent `psoctl simulate`
// run reproduces.

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "common/trace.h"
#include "controller/engine/decision_engine.h"
#include "controller/scenarios/exercise.h"
#include "controller/scenarios/html_exporter.h"
#include "controller/scenarios/lesson.h"
#include "controller/scenarios/lesson_text.h"
#include "controller/scenarios/scenario.h"
#include "controller/scenarios/scenario_text.h"
#include "controller/store/store.h"
#include "tests/support/process.h"

namespace pso::testing {
namespace {

namespace fs = std::filesystem;
namespace scn = controller::scenarios;
namespace engine = controller::engine;
using nlohmann::json;

constexpr std::size_t kTraceSteps = 400;
constexpr const char* kHtmlSystem = "web<b>\"&'x";

std::string sourceFile(const std::string& relative) {
  return (fs::path(PSO_SOURCE_DIR) / relative).string();
}

CommandOutput psoctl(const std::vector<std::string>& args) {
  std::vector<std::string> argv{PSOCTL_BIN};
  argv.insert(argv.end(), args.begin(), args.end());
  return runCommand(argv, {}, std::chrono::seconds(120));
}

CommandOutput psoctlWithInput(const std::vector<std::string>& args, const std::string& input) {
  std::vector<std::string> argv{PSOCTL_BIN};
  argv.insert(argv.end(), args.begin(), args.end());
  return runCommandWithInput(argv, input, std::chrono::seconds(60));
}

// The first kTraceSteps points of the development trace.
void writeShortTrace(const std::string& path) {
  std::ifstream in(sourceFile("tests/fixtures/traces/elb_request_count_8c0756.csv"));
  std::ofstream out(path);
  std::string line;
  for (std::size_t n = 0; n <= kTraceSteps && std::getline(in, line); ++n) out << line << '\n';
}

// One system named kHtmlSystem, replayed on the trace's values through the
// real DecisionEngine and recorded as the live controller records a cycle.
std::size_t recordHtmlSystem(const std::string& trace_path, const std::string& db_path) {
  const auto trace = common::readTrace(trace_path);
  if (!trace.ok() || trace->points.size() < 60) return 0;
  engine::EngineSettings settings;
  settings.step_s = 300;
  engine::DecisionEngine eng(settings);
  engine::SystemSpec spec;
  spec.name = kHtmlSystem;
  spec.capacity_per_replica = 20;
  spec.max_replicas = 40;
  spec.warmup_s = 600;
  eng.upsertSystem(spec);
  const int64_t start_ms = trace->points.front().ts_s * 1000;
  std::vector<int64_t> desired;
  std::vector<controller::store::ScenarioRecord> records;
  for (std::size_t t = 0; t < 60; ++t) {
    const int64_t now = start_ms + static_cast<int64_t>(t) * 300000;
    engine::SystemObservation obs;
    obs.system = kHtmlSystem;
    obs.demand = trace->points[t].value;
    obs.current_replicas = desired.empty() ? 1 : desired.back();
    obs.ready_replicas = obs.current_replicas;
    for (std::size_t j = 1; j <= 2 && j <= desired.size(); ++j) {
      obs.ready_replicas = std::min(obs.ready_replicas, desired[desired.size() - j]);
    }
    engine::CycleInput input;
    input.now_ms = now;
    input.systems.push_back(obs);
    scn::CycleContext ctx;
    ctx.cycle_id = "html-" + std::to_string(t);
    ctx.ts_ms = now;
    ctx.mode = "replay";
    ctx.step_s = settings.step_s;
    ctx.decisions = eng.decide(input);
    ctx.specs[kHtmlSystem] = spec;
    for (std::size_t i = t >= 24 ? t - 24 : 0; i <= t; ++i) {
      ctx.history[kHtmlSystem].push_back(
          {start_ms + static_cast<int64_t>(i) * 300000, trace->points[i].value});
    }
    for (const auto& d : ctx.decisions.systems) desired.push_back(d.desired_replicas);
    records.push_back(scn::toRecord(scn::buildScenario(ctx)));
  }
  auto store = controller::store::Store::open(db_path);
  if (!store.ok() || !(*store)->insertScenarios(records).ok()) return 0;
  return records.size();
}

std::vector<json> storedDocuments(const std::string& db_path) {
  std::vector<json> out;
  auto store = controller::store::Store::open(db_path);
  EXPECT_TRUE(store.ok());
  if (!store.ok()) return out;
  auto records = (*store)->scenarios(controller::store::ScenarioFilter{});
  EXPECT_TRUE(records.ok());
  if (!records.ok()) return out;
  for (const auto& r : *records) out.push_back(json::parse(r.json));
  return out;
}

bool contains(const std::vector<std::string>& lines, const std::string& line) {
  return std::find(lines.begin(), lines.end(), line) != lines.end();
}

std::size_t count(const std::string& text, const std::string& what) {
  std::size_t n = 0;
  for (auto at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
  return n;
}

// Every element opened is closed, in order: a stack of tag names over the
// page, with the void elements of HTML and self-closed SVG elements apart.
std::string unbalancedTag(const std::string& html) {
  static const std::vector<std::string> kVoid = {"meta", "br", "hr", "img", "input", "link"};
  std::vector<std::string> open;
  for (std::size_t at = html.find('<'); at != std::string::npos; at = html.find('<', at + 1)) {
    const std::size_t end = html.find('>', at);
    if (end == std::string::npos) return "unterminated tag";
    const std::string tag = html.substr(at + 1, end - at - 1);
    if (tag.empty() || tag[0] == '!') continue;
    if (tag.back() == '/') continue;
    const bool closing = tag[0] == '/';
    std::string name = tag.substr(closing ? 1 : 0);
    name = name.substr(0, name.find_first_of(" \n"));
    if (std::find(kVoid.begin(), kVoid.end(), name) != kVoid.end()) continue;
    if (!closing) {
      open.push_back(name);
    } else if (open.empty() || open.back() != name) {
      return "</" + name + "> closes " + (open.empty() ? std::string("nothing") : open.back());
    } else {
      open.pop_back();
    }
  }
  return open.empty() ? "" : "<" + open.back() + "> never closed";
}

std::vector<std::vector<std::string>> readCsv(const std::string& path) {
  std::vector<std::vector<std::string>> rows;
  std::ifstream in(path);
  std::string line;
  while (std::getline(in, line)) {
    std::vector<std::string> cells;
    std::stringstream cells_in(line);
    std::string cell;
    while (std::getline(cells_in, cell, ',')) cells.push_back(cell);
    rows.push_back(cells);
  }
  return rows;
}

class ExerciseTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new TempDir();
    writeShortTrace(file("short.csv"));
    record_ = psoctl({"--json", "simulate", "--trace", file("short.csv"), "--capacity", "20",
                      "--warmup-steps", "2", "--out", file("sim.csv"), "--record", db()});
    if (record_.exit_code == 0) html_recorded_ = recordHtmlSystem(file("short.csv"), db());
    documents_ = new std::vector<json>(storedDocuments(db()));
  }
  static void TearDownTestSuite() {
    delete documents_;
    delete dir_;
    dir_ = nullptr;
  }
  void SetUp() override {
    ASSERT_EQ(record_.exit_code, 0) << record_.err;
    ASSERT_GT(html_recorded_, 0u);
  }

  static std::string db() { return dir_->file("lessons.db"); }
  static std::string file(const std::string& name) { return dir_->file(name); }

  // A notable scenario of the replayed trace that scales and has its outcome.
  static const json& scalingScenario() {
    for (const auto& doc : *documents_) {
      const auto events = doc.value("events", json::array());
      const std::string sys = doc["systems"][0];
      if (sys == kHtmlSystem) continue;
      const json& r = doc["rationale"][sys];
      if (std::find(events.begin(), events.end(), scn::kEventScalingExecuted) != events.end() &&
          r["desired_replicas"] != r["current_replicas"] &&
          doc["outcome"]["systems"][sys].value("samples", 0) > 0 &&
          doc["reactive_baseline"][sys]["replicas"] != r["desired_replicas"]) {
        return doc;
      }
    }
    static const json none;
    return none;
  }

  static TempDir* dir_;
  static CommandOutput record_;
  static std::size_t html_recorded_;
  static std::vector<json>* documents_;
};

TempDir* ExerciseTest::dir_ = nullptr;
CommandOutput ExerciseTest::record_;
std::size_t ExerciseTest::html_recorded_ = 0;
std::vector<json>* ExerciseTest::documents_ = nullptr;

TEST_F(ExerciseTest, NumbersComeFromTheDocumentFactsAndEqualTheLessons) {
  std::size_t checked = 0;
  std::size_t with_outcome = 0;
  for (const auto& doc : *documents_) {
    const scn::Lesson lesson = scn::buildLesson(doc);
    auto built = scn::buildExercise(doc);
    if (!scn::isNotable(lesson)) {
      EXPECT_FALSE(built.ok()) << lesson.id;
      continue;
    }
    ASSERT_TRUE(built.ok()) << lesson.id << ": " << built.error().message;
    const scn::Exercise& ex = *built;
    ++checked;
    ASSERT_EQ(ex.steps.size(), 4u);
    EXPECT_EQ(ex.steps[0].title, "The system");
    EXPECT_EQ(ex.steps[1].title, "Recent demand");
    EXPECT_EQ(ex.steps[2].title, "The forecast");
    EXPECT_EQ(ex.steps[3].title, "Constraints");

    // Re-derived from the document's facts.
    const std::string& sys = ex.system;
    const json& r = doc["rationale"][sys];
    const json& s = doc["situation"][sys];
    EXPECT_EQ(ex.current, r["current_replicas"].get<int64_t>()) << lesson.id;
    EXPECT_EQ(ex.debrief.engine_replicas, r["desired_replicas"].get<int64_t>()) << lesson.id;
    EXPECT_EQ(ex.debrief.engine_rule, r["rule"].get<std::string>());
    ASSERT_TRUE(ex.debrief.hpa_replicas.has_value());
    EXPECT_EQ(*ex.debrief.hpa_replicas, doc["reactive_baseline"][sys]["replicas"].get<int64_t>());
    EXPECT_EQ(ex.min_replicas, s["min_replicas"].get<int64_t>());
    EXPECT_EQ(ex.max_replicas, s["max_replicas"].get<int64_t>());
    const double capacity = s["capacity_per_replica"].get<double>();
    const double target = s["target_utilization"].get<double>();
    EXPECT_EQ(ex.capacity_per_replica, scn::shownNumber(capacity));
    EXPECT_EQ(ex.target_utilization, scn::shownFraction(target));
    const json& o = scn::memberAt(scn::memberAt(scn::memberAt(doc, "outcome"), "systems"), sys);
    if (o.is_object() && o.value("samples", 0) > 0) {
      ++with_outcome;
      ASSERT_TRUE(ex.needed_at_target.has_value()) << lesson.id;
      // The fewest that serve the observed peak at the target, and no fewer.
      const double peak = o["max_demand"].get<double>();
      const auto needed = static_cast<double>(*ex.needed_at_target);
      EXPECT_GE(needed * capacity * target, peak - 0.01) << lesson.id;
      EXPECT_LT((needed - 1) * capacity * target, peak + 0.01) << lesson.id;
      EXPECT_EQ(ex.debrief.outcome->overload, o["overload"].get<bool>());
      const auto score = scn::scoreDecision(ex, *ex.needed_at_target);
      EXPECT_EQ(score.serves_at_target, true);
      if (*ex.needed_at_target > ex.min_replicas) {
        EXPECT_EQ(scn::scoreDecision(ex, *ex.needed_at_target - 1).serves_at_target, false);
      }
    }

    // The same quantities, worded and rounded as the lesson words them.
    const scn::LessonSystem* ls = lesson.system(sys);
    ASSERT_NE(ls, nullptr);
    const auto cells = scn::situationCells(*ls);
    EXPECT_TRUE(contains(ex.steps[0].lines, "Demand now: " + cells[1])) << lesson.id;
    EXPECT_TRUE(contains(ex.steps[0].lines, "Replicas (current / ready): " + cells[2]));
    EXPECT_TRUE(
        contains(ex.steps[0].lines, "Ready capacity: " + scn::formatNumber(ls->ready_capacity)));
    EXPECT_EQ(ex.steps[1].lines.size(), scn::timeline(*ls, scn::kHistoryRowsShown, 0).size() + 2)
        << lesson.id;
    ASSERT_TRUE(ls->forecast.has_value());
    EXPECT_TRUE(contains(ex.steps[2].lines, scn::bottleneckSentence(*ls->forecast)));
    const std::string planned = scn::formatNumber(ls->forecast->planned_demand);
    EXPECT_TRUE(contains(ex.steps[2].lines, "Planned demand: " + planned + ", " +
                                                scn::plannedDemandDefinition(*ls->forecast) + "."))
        << lesson.id;
    EXPECT_EQ(ex.debrief.engine_reason, scn::engineReasonText(*ls));
    EXPECT_EQ(ex.debrief.hpa_reason, scn::reactiveReasonText(*ls));
    EXPECT_TRUE(
        contains(ex.debrief.lines,
                 "The engine: " + scn::scaleText(ls->decision->current, ls->decision->desired) +
                     " (" + scn::decisionDetails(*ls->decision) + ")."));
    if (ls->debrief) {
      EXPECT_TRUE(
          contains(ex.debrief.lines, "Max demand: " + scn::formatNumber(ls->debrief->max_demand)));
      EXPECT_TRUE(
          contains(ex.debrief.lines, "MAE: " + scn::formatNumber(ls->debrief->forecast_mae)));
    }
  }
  EXPECT_GT(checked, 20u);
  EXPECT_GT(with_outcome, 20u);
}

TEST_F(ExerciseTest, AQuietCycleIsRefusedInOneLine) {
  const json* quiet = nullptr;
  for (const auto& doc : *documents_) {
    if (doc.value("quiet", false) && doc["events"].empty()) {
      quiet = &doc;
      break;
    }
  }
  ASSERT_NE(quiet, nullptr);
  auto built = scn::buildExercise(*quiet);
  ASSERT_FALSE(built.ok());
  EXPECT_EQ(built.error().code, "not_notable");

  const std::string id = (*quiet)["id"];
  auto run = psoctl({"scenarios", "exercise", id, "--db", db(), "--answer", "3"});
  EXPECT_EQ(run.exit_code, 1);
  EXPECT_EQ(run.out, "");
  EXPECT_EQ(count(run.err, "\n"), 1u) << run.err;
  EXPECT_NE(run.err.find("psoctl: scenario " + id + " is a quiet cycle"), std::string::npos)
      << run.err;
}

TEST_F(ExerciseTest, TheTerminalRevealsStepsInOrderRepromptsAndDebriefs) {
  const json& doc = scalingScenario();
  ASSERT_TRUE(doc.is_object()) << "the replay should have a scaling scenario with an outcome";
  const std::string id = doc["id"];
  const std::string sys = doc["systems"][0];
  const int64_t current = doc["rationale"][sys]["current_replicas"];
  const int64_t engine_count = doc["rationale"][sys]["desired_replicas"];
  const int64_t hpa_count = doc["reactive_baseline"][sys]["replicas"];

  auto run = psoctlWithInput({"scenarios", "exercise", id, "--db", db()},
                             "\n\n\nabc\n0\n" + std::to_string(engine_count) + "\n");
  ASSERT_EQ(run.exit_code, 0) << run.err;
  const std::string& out = run.out;
  std::size_t at = 0;
  const std::vector<std::string> in_order = {
      "Step 1 of 4: The system",
      "Press Enter for step 2 of 4",
      "Step 2 of 4: Recent demand",
      "Press Enter for step 3 of 4",
      "Step 3 of 4: The forecast",
      "Press Enter for step 4 of 4",
      "Step 4 of 4: Constraints",
      "Your decision for " + sys + ": how many replicas now?",
      "Your decision: replicas? 'abc' is not a whole number of replicas.",
      "Your decision: replicas? 0 is outside the bounds of " + sys,
      "Your decision: replicas? \nDebrief\n",
      "The engine: " + scn::scaleText(current, engine_count),
      "The HPA rule: " + std::to_string(hpa_count) + " replica",
      "What happened, from ",
      "Your score\n",
      "Your decision: " + scn::scaleText(current, engine_count) + ".",
      "The same count as the engine.",
  };
  for (const auto& piece : in_order) {
    const auto found = out.find(piece, at);
    ASSERT_NE(found, std::string::npos) << "missing, or out of order: " << piece << "\n" << out;
    at = found + piece.size();
  }
  EXPECT_EQ(count(out, "Your decision: replicas? "), 3u);

  // End of input before the second step: step 1 only, a message, exit 0.
  auto early = psoctlWithInput({"scenarios", "exercise", id, "--db", db()}, "");
  EXPECT_EQ(early.exit_code, 0) << early.err;
  EXPECT_NE(early.out.find("Step 1 of 4"), std::string::npos);
  EXPECT_EQ(early.out.find("Step 2 of 4"), std::string::npos);
  EXPECT_NE(early.out.find("Input ended before a decision"), std::string::npos);

  // End of input at the decision: no debrief.
  auto at_decision = psoctlWithInput({"scenarios", "exercise", id, "--db", db()}, "\n\n\n7x\n");
  EXPECT_EQ(at_decision.exit_code, 0) << at_decision.err;
  EXPECT_NE(at_decision.out.find("Step 4 of 4"), std::string::npos);
  EXPECT_NE(at_decision.out.find("'7x' is not a whole number"), std::string::npos);
  EXPECT_NE(at_decision.out.find("Input ended before a decision"), std::string::npos);
  EXPECT_EQ(at_decision.out.find("Debrief"), std::string::npos);
}

TEST_F(ExerciseTest, AnswerAndJsonPrintTheWholeModelWithTheScore) {
  const json& doc = scalingScenario();
  ASSERT_TRUE(doc.is_object());
  const std::string id = doc["id"];
  const std::string sys = doc["systems"][0];
  const int64_t hpa_count = doc["reactive_baseline"][sys]["replicas"];
  auto run = psoctl({"-o", "json", "scenarios", "exercise", id, "--db", db(), "--answer",
                     std::to_string(hpa_count)});
  ASSERT_EQ(run.exit_code, 0) << run.err;
  const json ex = json::parse(run.out);
  EXPECT_EQ(ex["scenario_id"], id);
  EXPECT_EQ(ex["system"], sys);
  EXPECT_EQ(ex["steps"].size(), 4u);
  EXPECT_EQ(ex["debrief"]["engine"]["replicas"], doc["rationale"][sys]["desired_replicas"]);
  EXPECT_EQ(ex["debrief"]["hpa"]["replicas"], hpa_count);
  EXPECT_EQ(ex["debrief"]["outcome"]["max_demand"], doc["outcome"]["systems"][sys]["max_demand"]);
  EXPECT_EQ(ex["score"]["replicas"], hpa_count);
  EXPECT_EQ(ex["score"]["vs_engine"],
            hpa_count - doc["rationale"][sys]["desired_replicas"].get<int64_t>());
  EXPECT_EQ(ex["score"]["serves_at_target"], ex["score"]["hpa_serves_at_target"]);

  auto outside = psoctl({"scenarios", "exercise", id, "--db", db(), "--answer", "0"});
  EXPECT_EQ(outside.exit_code, 1);
  EXPECT_NE(outside.err.find("--answer: 0 is outside the bounds"), std::string::npos)
      << outside.err;
}

TEST_F(ExerciseTest, TheHtmlExportIsWellFormedAndEscapesTheSystemName) {
  auto run = psoctl({"scenarios", "export", "--db", db(), "--format", "exercise-html", "--out",
                     file("exercises")});
  ASSERT_EQ(run.exit_code, 0) << run.err;
  std::size_t notable = 0;
  std::string html_page_id;
  for (const auto& doc : *documents_) {
    const scn::Lesson lesson = scn::buildLesson(doc);
    if (!scn::isNotable(lesson)) continue;
    ++notable;
    if (doc["systems"][0] == kHtmlSystem && html_page_id.empty()) html_page_id = doc["id"];
    // Before the debrief, nothing tells the decision or what happened: not
    // the lesson's title ("Scaling web 3 -> 5") nor the events.
    const std::string page = readFile(file("exercises/" + lesson.id + ".html"));
    const std::string before = page.substr(0, page.find("<details class=\"debrief\">"));
    ASSERT_LT(before.size(), page.size()) << lesson.id;
    EXPECT_EQ(before.find(scn::htmlEscape(lesson.title)), std::string::npos) << lesson.id;
    for (const auto& event : lesson.events) {
      EXPECT_EQ(before.find(event), std::string::npos) << lesson.id << ": " << event;
    }
  }
  ASSERT_FALSE(html_page_id.empty()) << "the HTML-named system should have a notable cycle";
  std::size_t pages = 0;
  for (const auto& entry : fs::directory_iterator(file("exercises"))) {
    ++pages;
    const std::string page = readFile(entry.path().string());
    EXPECT_EQ(page.rfind("<!DOCTYPE html>", 0), 0u) << entry.path();
    EXPECT_EQ(unbalancedTag(page), "") << entry.path();
    EXPECT_EQ(page.find("<script"), std::string::npos) << entry.path();
    EXPECT_EQ(page.find("src=\"http"), std::string::npos) << entry.path();
    if (entry.path().filename() == "index.html") continue;
    // Four steps and the debrief, each revealed by opening it.
    EXPECT_EQ(count(page, "<details"), 5u) << entry.path();
    EXPECT_EQ(count(page, "</details>"), 5u) << entry.path();
  }
  EXPECT_EQ(pages, notable + 1);

  const std::string page = readFile(file("exercises/" + html_page_id + ".html"));
  ASSERT_FALSE(page.empty());
  EXPECT_EQ(page.find(kHtmlSystem), std::string::npos);
  EXPECT_EQ(page.find("<b>"), std::string::npos);
  const std::string escaped = scn::htmlEscape(kHtmlSystem);
  EXPECT_EQ(escaped, "web&lt;b&gt;&quot;&amp;&#39;x");
  EXPECT_NE(page.find("System: " + escaped), std::string::npos);
  EXPECT_NE(page.find("Your decision for " + escaped + ": how many replicas now?"),
            std::string::npos);
  EXPECT_LT(page.find("Step 4 of 4"), page.find("Debrief: what the engine"));

  // The one-document form: every exercise in a section, still balanced.
  auto stream =
      psoctl({"scenarios", "export", "--db", db(), "--format", "exercise-html", "--out", "-"});
  ASSERT_EQ(stream.exit_code, 0) << stream.err;
  EXPECT_EQ(unbalancedTag(stream.out), "");
  EXPECT_EQ(count(stream.out, "<section id="), notable);
}

// Attempts as `psoctl scenarios grade` stores them: one per question of the
// given scenarios, all correct or all wrong.
void storeAttempts(const std::string& db_path, const std::string& learner,
                   const std::vector<const json*>& scenarios, bool correct) {
  auto store = controller::store::Store::open(db_path);
  ASSERT_TRUE(store.ok());
  std::vector<controller::store::AttemptRecord> attempts;
  for (const json* doc : scenarios) {
    for (const auto& q : (*doc)["questions"]) {
      controller::store::AttemptRecord a;
      a.learner_id = learner;
      a.scenario_id = (*doc)["id"];
      a.question_id = q["id"];
      a.level = (*doc)["level"];
      a.correct = correct;
      a.score = correct ? 1.0 : 0.0;
      a.ts_ms = 1700000000000;
      attempts.push_back(a);
    }
  }
  ASSERT_FALSE(attempts.empty());
  ASSERT_TRUE((*store)->recordAttempts(learner, attempts, 1700000000000).ok());
}

std::vector<const json*> firstOfLevel(const std::vector<json>& docs, const std::string& level) {
  std::vector<const json*> out;
  for (const auto& doc : docs) {
    if (doc["level"] == level && !doc["questions"].empty() && out.size() < 3) out.push_back(&doc);
  }
  return out;
}

// What an independent `psoctl simulate` run of the assignment's command prints.
struct Replayed {
  int64_t peak_replicas = 0;
  int64_t overload_steps = 0;
};

Replayed replayAssignment(const json& assignment) {
  std::vector<std::string> args{"--json"};
  for (const auto& a : assignment["argv"]) args.push_back(a.get<std::string>());
  auto run = psoctl(args);
  EXPECT_EQ(run.exit_code, 0) << run.err;
  Replayed r;
  const json summary = json::parse(run.out, nullptr, false);
  EXPECT_TRUE(summary.is_object()) << run.out;
  if (summary.is_object()) r.overload_steps = summary.value("overload_steps", -1);
  const std::string out_path = assignment["argv"].back();
  const auto rows = readCsv(out_path);
  EXPECT_GT(rows.size(), 2u);
  EXPECT_EQ(rows.front().at(2), "desired");
  for (std::size_t i = 1; i < rows.size(); ++i) {
    r.peak_replicas = std::max<int64_t>(r.peak_replicas, std::stoll(rows[i].at(2)));
  }
  return r;
}

TEST_F(ExerciseTest, AssignmentsCoverOnlyWeakLevelsAndTheirKeysMatchAnIndependentReplay) {
  // lrn-a: weak at foundation, competent at advanced optimisation.
  storeAttempts(db(), "lrn-a", firstOfLevel(*documents_, scn::kLevelFoundation), false);
  storeAttempts(db(), "lrn-a", firstOfLevel(*documents_, scn::kLevelAdvancedOptimization), true);
  // lrn-b: the other way round.
  storeAttempts(db(), "lrn-b", firstOfLevel(*documents_, scn::kLevelFoundation), true);
  storeAttempts(db(), "lrn-b", firstOfLevel(*documents_, scn::kLevelAdvancedOptimization), false);

  struct Case {
    std::string learner;
    std::string weak;
    std::string competent;
    std::string topic;
  };
  for (const Case& c :
       {Case{"lrn-a", scn::kLevelFoundation, scn::kLevelAdvancedOptimization, "peak_replicas"},
        Case{"lrn-b", scn::kLevelAdvancedOptimization, scn::kLevelFoundation, "overload_steps"}}) {
    const std::string out_dir = file("handouts-" + c.learner);
    auto run = psoctl({"--json", "scenarios", "assignments", "--db", db(), "--learner", c.learner,
                       "--out-dir", out_dir});
    ASSERT_EQ(run.exit_code, 0) << run.err;
    const json report = json::parse(run.out);
    ASSERT_EQ(report["assignments"].size(), 1u) << run.out;
    EXPECT_EQ(report["competent"], json::array({c.competent}));
    const json& shown = report["assignments"][0];
    EXPECT_EQ(shown["level"], c.weak);
    EXPECT_FALSE(shown.contains("key")) << "the printed assignment must not give the key away";

    const json assignment = json::parse(readFile(shown["file"].get<std::string>()));
    EXPECT_EQ(assignment["question"]["topic"], c.topic);
    EXPECT_TRUE(fs::exists(assignment["trace"].get<std::string>()));
    const int64_t key = assignment["key"]["answer"];
    const Replayed replayed = replayAssignment(assignment);
    EXPECT_EQ(key, c.topic == "peak_replicas" ? replayed.peak_replicas : replayed.overload_steps)
        << assignment.dump(2);

    auto right =
        psoctl({"scenarios", "check-assignment", shown["file"], "--answer", std::to_string(key)});
    EXPECT_EQ(right.exit_code, 0) << right.err;
    EXPECT_EQ(right.out.rfind("correct: the replay gives " + std::to_string(key), 0), 0u)
        << right.out;
    auto wrong = psoctl(
        {"scenarios", "check-assignment", shown["file"], "--answer", std::to_string(key + 1)});
    EXPECT_EQ(wrong.exit_code, 0) << wrong.err;
    EXPECT_EQ(wrong.out.rfind("not correct", 0), 0u) << wrong.out;
    auto bad = psoctl({"scenarios", "check-assignment", shown["file"], "--answer", "many"});
    EXPECT_EQ(bad.exit_code, 1);
  }

  // A learner competent everywhere gets none.
  storeAttempts(db(), "lrn-c", firstOfLevel(*documents_, scn::kLevelFoundation), true);
  auto none = psoctl({"--json", "scenarios", "assignments", "--db", db(), "--learner", "lrn-c",
                      "--out-dir", file("handouts-lrn-c")});
  ASSERT_EQ(none.exit_code, 0) << none.err;
  EXPECT_TRUE(json::parse(none.out)["assignments"].empty());
}

}  // namespace
}  // namespace pso::testing
