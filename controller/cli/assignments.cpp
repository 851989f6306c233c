#include "controller/cli/assignments.h"
#include "controller/cli/store_argument.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <sstream>
#include <string_view>
#include <vector>

#include "controller/cli/assignment_file.h"
#include "controller/cli/failure.h"
#include "controller/cli/offline.h"
#include "controller/cli/option_checks.h"
#include "controller/scenarios/atomic_file.h"
#include "controller/scenarios/exercise.h"
#include "controller/scenarios/exporter.h"
#include "controller/scenarios/grading.h"
#include "controller/scenarios/lesson.h"
#include "controller/scenarios/lesson_directory.h"
#include "controller/scenarios/scenario.h"
#include "controller/scenarios/scenario_text.h"
#include "controller/scenarios/xapi.h"
#include "controller/store/store.h"

namespace pso::cli {
namespace {

namespace fs = std::filesystem;
namespace scn = controller::scenarios;
namespace store = controller::store;
using nlohmann::json;

constexpr const char* kTopicPeakReplicas = "peak_replicas";
constexpr const char* kTopicOverloadSteps = "overload_steps";
// How far the target utilisation moves: far enough to change the count.
constexpr double kTargetShift = 0.2;
// Extra warm-up steps: launched replicas serve this much later.
constexpr int64_t kExtraWarmupSteps = 2;

/// The shortest text that reads back as the same double: the command line
/// and the in-process run carry one value.
std::string exactText(double value) {
  char buffer[64];
  const auto [end, ec] = std::to_chars(buffer, buffer + sizeof buffer, value);
  return ec == std::errc() ? std::string(buffer, end) : std::to_string(value);
}

std::string shellWord(const std::string& word) {
  const bool plain = !word.empty() && std::all_of(word.begin(), word.end(), [](char ch) {
    return std::isalnum(static_cast<unsigned char>(ch)) != 0 ||
           std::string_view("-_./=:+,").find(ch) != std::string_view::npos;
  });
  if (plain) return word;
  std::string out = "'";
  for (char ch : word) out += ch == '\'' ? std::string("'\\''") : std::string(1, ch);
  return out + "'";
}

/// The recorded demand of one system of a scenario, oldest first, as
/// (epoch seconds, value): the window the engine saw, ending at the cycle.
std::vector<std::pair<int64_t, double>> recordedDemand(const json& doc, const std::string& system) {
  const json& situation = scn::memberAt(scn::memberAt(doc, "situation"), system);
  std::map<int64_t, double> by_time;
  for (const auto& pair : scn::memberAt(situation, "history")) {
    if (!pair.is_array() || pair.size() < 2) continue;
    const double t = scn::asNumber(pair[0]);
    const double v = scn::asNumber(pair[1]);
    if (std::isfinite(t) && std::isfinite(v)) by_time[static_cast<int64_t>(t) / 1000] = v;
  }
  const double now = scn::numberAt(situation, "demand");
  if (std::isfinite(now)) by_time.emplace(scn::integerAt(doc, "ts_ms") / 1000, now);
  return {by_time.begin(), by_time.end()};
}

/// The system a scenario is about: its exercise's when it has one.
std::string subjectSystem(const scn::Lesson& lesson) {
  if (auto ex = scn::buildExercise(lesson)) return ex->system;
  return lesson.systems.empty() ? std::string() : lesson.systems.front().name;
}

struct Candidate {
  json document;
  std::string system;
  std::vector<std::pair<int64_t, double>> demand;
};

/// The scenario of a level to replay: a notable one before a quiet one, then
/// the longest recorded history, then the earliest. Nullopt when no scenario
/// of the level has two demand values.
Result<std::optional<Candidate>> pickScenario(store::Store& db, const std::string& level) {
  store::ScenarioFilter filter;
  filter.level = level;
  auto records = db.scenarios(filter);
  if (!records) return records.error();
  std::optional<Candidate> best;
  bool best_notable = false;
  for (const auto& record : *records) {
    auto doc = scn::parseScenarioDocument(record);
    if (!doc) continue;
    const scn::Lesson lesson = scn::buildLesson(*doc);
    const bool notable = scn::isNotable(lesson);
    if (best && best_notable && !notable) continue;
    Candidate c{*doc, subjectSystem(lesson), {}};
    if (c.system.empty()) continue;
    c.demand = recordedDemand(*doc, c.system);
    if (c.demand.size() < 2) continue;
    const bool better =
        !best || (notable && !best_notable) || c.demand.size() > best->demand.size();
    if (better) {
      best = std::move(c);
      best_notable = notable;
    }
  }
  return best;
}

std::string traceCsv(const std::vector<std::pair<int64_t, double>>& demand) {
  std::ostringstream out;
  out << "timestamp,value\n";
  for (const auto& [t, v] : demand) out << t << ',' << exactText(v) << '\n';
  return out.str();
}

struct Replay {
  std::vector<std::string> argv;  ///< psoctl's arguments after "psoctl"
  SimulateArgs args;              ///< the same, parsed back from argv's text
};

/// The replay's command line and the arguments it parses to.
Replay replayOf(const std::string& trace, const std::string& out, double capacity, double target,
                int64_t warmup_steps, int64_t min, int64_t max) {
  Replay r;
  const std::string capacity_text = exactText(capacity);
  const std::string target_text = exactText(target);
  r.argv = {"simulate",
            "--trace",
            trace,
            "--capacity",
            capacity_text,
            "--target-util",
            target_text,
            "--warmup-steps",
            std::to_string(warmup_steps),
            "--min",
            std::to_string(min),
            "--max",
            std::to_string(max),
            "--policy",
            "predictive",
            "--out",
            out};
  r.args.trace = trace;
  r.args.out = out;
  r.args.capacity = std::stod(capacity_text);
  r.args.target_util = std::stod(target_text);
  r.args.warmup_steps = warmup_steps;
  r.args.min_replicas = min;
  r.args.max_replicas = max;
  r.args.policy = "predictive";
  return r;
}

std::string commandLine(const std::vector<std::string>& argv) {
  std::string out = "psoctl";
  for (const auto& a : argv) out += " " + shellWord(a);
  return out;
}

struct Outcome {
  int64_t peak_replicas = 0;
  int64_t overload_steps = 0;
};

Result<Outcome> replayOutcome(const SimulateArgs& args) {
  auto run = simulateTrace(args);
  if (!run) return run.error();
  return Outcome{peakReplicas(run->result), run->result.summary.overload_steps};
}

/// One assignment for a weak level, its trace written into `dir`.
Result<json> buildAssignment(const std::string& learner, const scn::Competency& competency,
                             double threshold, const Candidate& c, const fs::path& dir) {
  const std::string stem = scn::lessonFileStem(learner + "-" + competency.level);
  const fs::path trace = fs::absolute(dir / (stem + ".csv"));
  const fs::path replay_out = fs::absolute(dir / (stem + "-replay.csv"));
  if (auto st = scn::writeFileAtomic(trace.string(), traceCsv(c.demand)); !st.ok()) {
    return st.error();
  }
  const json& situation = scn::memberAt(scn::memberAt(c.document, "situation"), c.system);
  const double step_s = scn::numberAt(c.document, "step_s", 15.0);
  const double capacity = scn::numberAt(situation, "capacity_per_replica");
  const double target = scn::numberAt(situation, "target_utilization", 0.7);
  const double warmup_s = scn::numberAt(situation, "warmup_s", step_s);
  const int64_t warmup_steps =
      std::max<int64_t>(1, static_cast<int64_t>(std::llround(warmup_s / std::max(step_s, 1.0))));
  const int64_t min = std::max<int64_t>(0, scn::integerAt(situation, "min_replicas", 1));
  const int64_t max = std::clamp<int64_t>(scn::integerAt(situation, "max_replicas", 1000000),
                                          std::max<int64_t>(min, 1), 1000000);
  if (!(capacity > 0)) {
    return makeError("invalid", "scenario " + scn::textAt(c.document, "id") +
                                    " records no capacity per replica for " + c.system);
  }

  // Fewer or more replicas per unit of demand for the levels about sizing;
  // later-serving replicas for the levels about timing and coordination.
  const bool change_target =
      competency.level == scn::kLevelFoundation || competency.level == scn::kLevelSystemIntegration;
  double changed_target = target;
  int64_t changed_warmup = warmup_steps;
  json setting;
  std::string topic;
  std::string prompt;
  if (change_target) {
    changed_target = target >= 0.5 ? target - kTargetShift : std::min(1.0, target + kTargetShift);
    changed_target = std::round(changed_target * 100.0) / 100.0;
    setting = {{"option", "--target-util"}, {"recorded", target}, {"changed", changed_target}};
    topic = kTopicPeakReplicas;
    prompt = "With the target utilisation at " + scn::formatPercent(changed_target) +
             " instead of " + scn::formatPercent(target) +
             ", what is the highest replica count the engine decides over this replay?";
  } else {
    changed_warmup = warmup_steps + kExtraWarmupSteps;
    setting = {
        {"option", "--warmup-steps"}, {"recorded", warmup_steps}, {"changed", changed_warmup}};
    topic = kTopicOverloadSteps;
    prompt = "With a warm-up of " + std::to_string(changed_warmup) + " steps instead of " +
             std::to_string(warmup_steps) +
             ", how many steps of this replay are overloaded (demand above the ready capacity)?";
  }
  const Replay baseline_replay =
      replayOf(trace.string(), replay_out.string(), capacity, target, warmup_steps, min, max);
  const Replay changed = replayOf(trace.string(), replay_out.string(), capacity, changed_target,
                                  changed_warmup, min, max);
  auto baseline = replayOutcome(baseline_replay.args);
  if (!baseline) return baseline.error();
  auto outcome = replayOutcome(changed.args);
  if (!outcome) return outcome.error();
  const int64_t key =
      topic == kTopicPeakReplicas ? outcome->peak_replicas : outcome->overload_steps;

  return json{
      {"learner", learner},
      {"level", competency.level},
      {"competency",
       {{"questions", competency.questions},
        {"correct", competency.correct},
        {"score", competency.score},
        {"threshold", threshold}}},
      {"scenario_id", scn::textAt(c.document, "id")},
      {"system", c.system},
      {"trace", trace.string()},
      {"trace_points", c.demand.size()},
      {"setting", setting},
      {"baseline",
       {{"command", commandLine(baseline_replay.argv)},
        {"peak_replicas", baseline->peak_replicas},
        {"overload_steps", baseline->overload_steps}}},
      {"argv", changed.argv},
      {"command", commandLine(changed.argv)},
      {"question", {{"id", stem}, {"topic", topic}, {"prompt", prompt}, {"type", "numeric"}}},
      {"key", {{"answer", key}, {"tolerance", 0}}}};
}

std::string assignmentText(const json& a, const std::string& file) {
  std::ostringstream out;
  const json& c = a["competency"];
  out << scn::levelTitle(a.value("level", "")) << ": " << c.value("correct", 0) << " of "
      << c.value("questions", 0) << " correct (" << scn::formatPercent(c.value("score", 0.0))
      << ", below " << scn::formatPercent(c.value("threshold", 0.0)) << ")\n"
      << "  scenario " << a.value("scenario_id", "") << ", system " << a.value("system", "") << ", "
      << a.value("trace_points", 0) << " steps of recorded demand\n"
      << "  with the recorded settings: " << a["baseline"].value("command", "") << "\n"
      << "    peaks at " << a["baseline"].value("peak_replicas", 0) << " replicas, "
      << a["baseline"].value("overload_steps", 0) << " overloaded steps\n"
      << "  predict: " << a["question"].value("prompt", "") << "\n"
      << "  then run: " << a.value("command", "") << "\n"
      << "  assignment: " << file << "\n";
  return out.str();
}

Result<std::string> readText(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return makeError("not_found", "no assignment file at " + path);
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

}  // namespace

void addAssignmentOptions(CLI::App* cmd, AssignmentArgs& args) {
  cmd->add_option("--db", args.db, "Controller database with the scenarios and the attempts")
      ->required();
  cmd->add_option("--learner", args.learner, "The learner's LMS account id")->required();
  cmd->add_option("--threshold", args.threshold,
                  "A level scored below this share of correct answers is weak (0 to 1)")
      ->capture_default_str();
  cmd->add_option("--out-dir", args.out_dir, "Directory for the assignments and their traces")
      ->capture_default_str();
}

void addCheckAssignmentOptions(CLI::App* cmd, CheckAssignmentArgs& args) {
  cmd->add_option("file", args.file, "Assignment JSON written by `scenarios assignments`")
      ->required();
  cmd->add_option("--answer", args.answer, "The learner's prediction")->required();
}

int runAssignmentsCommand(const AssignmentArgs& args, bool json_output) {
  if (auto st = checkBetween("--threshold", args.threshold, 0, 1); !st) {
    return fail(st.error().message);
  }
  if (auto st = scn::validateLearnerId(args.learner); !st.ok()) {
    return fail("--learner: " + st.error().message);
  }
  auto opened = openExistingStore(args.db);
  if (!opened) return fail(opened.error().message);
  store::Store& db = **opened;
  auto attempts = db.attempts(args.learner);
  if (!attempts) return fail("reading the learner's attempts: " + attempts.error().message);
  if (attempts->empty()) {
    return fail("learner " + args.learner + " has no graded attempts in " + args.db +
                " (psoctl scenarios grade stores them)");
  }
  const auto competency = scn::competencyByLevel(*attempts, args.threshold);
  if (auto st = scn::ensureDirectory(args.out_dir); !st.ok()) {
    return fail("--out-dir: " + st.error().message);
  }

  json written = json::array();
  json competent = json::array();
  json unavailable = json::array();
  std::string text;
  for (const auto& c : competency) {
    if (c.competent) {
      competent.push_back(c.level);
      continue;
    }
    auto picked = pickScenario(db, c.level);
    if (!picked) return fail(picked.error().message);
    if (!*picked) {
      unavailable.push_back(c.level);
      text += scn::levelTitle(c.level) +
              ": weak, but no stored scenario of this level has a "
              "recorded demand history to replay\n";
      continue;
    }
    auto assignment =
        buildAssignment(args.learner, c, args.threshold, **picked, fs::path(args.out_dir));
    if (!assignment) return fail(assignment.error().message);
    const std::string file =
        (fs::path(args.out_dir) / (scn::lessonFileStem(args.learner + "-" + c.level) + ".json"))
            .string();
    if (auto st = scn::writeFileAtomic(file, assignment->dump(2) + "\n"); !st.ok()) {
      return fail(st.error().message);
    }
    text += assignmentText(*assignment, file);
    json shown = *assignment;
    shown.erase("key");
    shown["file"] = file;
    written.push_back(std::move(shown));
  }
  if (json_output) {
    std::cout << json{{"learner", args.learner},
                      {"threshold", args.threshold},
                      {"assignments", written},
                      {"competent", competent},
                      {"without_scenario", unavailable}}
                     .dump(2)
              << '\n';
    return 0;
  }
  std::cout << "learner " << args.learner << ": " << written.size() << " assignment"
            << (written.size() == 1 ? "" : "s") << " for levels below "
            << scn::formatPercent(args.threshold) << "\n";
  std::cout << text;
  for (const auto& level : competent) {
    std::cout << scn::levelTitle(level.get<std::string>()) << ": competent, no assignment\n";
  }
  return 0;
}

int runCheckAssignmentCommand(const CheckAssignmentArgs& args, bool json_output) {
  auto text = readText(args.file);
  if (!text) return fail(text.error().message);
  auto assignment = parseAssignmentKey(*text, args.file);
  if (!assignment) return fail(assignment.error().message);
  const auto answer = parsePrediction(args.answer);
  if (!answer) return fail("--answer: expected a whole number, got '" + args.answer + "'");
  const int64_t key = assignment->answer;
  const bool correct = *answer == key;
  if (json_output) {
    std::cout << json{{"file", args.file},
                      {"question", assignment->question},
                      {"answer", *answer},
                      {"key", key},
                      {"correct", correct}}
                     .dump(2)
              << '\n';
    return 0;
  }
  if (correct) {
    std::cout << "correct: the replay gives " << key << "\n";
  } else {
    std::cout << "not correct: you predicted " << *answer << ", the replay gives " << key
              << " (run: " << assignment->command << ")\n";
  }
  return 0;
}

}  // namespace pso::cli
