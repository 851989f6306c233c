#include "controller/cli/grade.h"
#include "controller/cli/store_argument.h"

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>

#include "common/clock.h"
#include "common/trace.h"
#include "controller/cli/failure.h"
#include "controller/cli/lrs_client.h"
#include "controller/cli/option_checks.h"
#include "controller/cli/table.h"
#include "controller/scenarios/atomic_file.h"
#include "controller/scenarios/grading.h"
#include "controller/scenarios/xapi.h"
#include "controller/store/store.h"

namespace pso::cli {
namespace {

namespace scenarios = controller::scenarios;
namespace store = controller::store;
using nlohmann::json;

Result<json> readAnswers(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return makeError("io", "--answers: cannot read " + path);
  std::stringstream buffer;
  buffer << in.rdbuf();
  json answers = json::parse(buffer.str(), nullptr, false);
  if (answers.is_discarded()) return makeError("invalid", "--answers " + path + ": not valid JSON");
  if (!answers.is_object()) {
    return makeError("invalid", "--answers " + path +
                                    ": expected a JSON object mapping question ids to answers");
  }
  return answers;
}

std::string shortText(const std::string& text, std::size_t max_chars = 60) {
  if (text.size() <= max_chars) return text;
  return text.substr(0, max_chars - 3) + "...";
}

std::string responseCell(const json& response) {
  if (response.is_null()) return "-";
  return shortText(response.is_string() ? response.get<std::string>() : response.dump(), 24);
}

json reportJson(const GradeArgs& args, const std::string& team,
                const scenarios::GradeReport& report,
                const std::vector<scenarios::Competency>& competency, std::size_t statements,
                std::size_t lrs_stored) {
  json questions = json::array();
  for (const auto& g : report.questions) {
    questions.push_back({{"question", g.question_id},
                         {"scenario", g.scenario_id},
                         {"type", g.type},
                         {"topic", g.topic},
                         {"level", g.level},
                         {"response", g.response},
                         {"answered", g.answered},
                         {"correct", g.correct},
                         {"score", g.score},
                         {"feedback", g.feedback}});
  }
  json graded = json::array();
  for (const auto& s : report.scenarios) {
    graded.push_back({{"scenario", s.scenario_id},
                      {"level", s.level},
                      {"title", s.title},
                      {"questions", s.questions},
                      {"answered", s.answered},
                      {"correct", s.correct},
                      {"score", s.score},
                      {"passed", s.passed}});
  }
  json levels = json::array();
  for (const auto& c : competency) {
    levels.push_back({{"level", c.level},
                      {"questions", c.questions},
                      {"correct", c.correct},
                      {"score", c.score},
                      {"competent", c.competent}});
  }
  return {{"learner", args.learner}, {"team", team},         {"questions", questions},
          {"scenarios", graded},     {"competency", levels}, {"xapi_statements", statements},
          {"lrs_stored", lrs_stored}};
}

}  // namespace

void addGradeOptions(CLI::App* cmd, GradeArgs& args) {
  cmd->add_option("--learner", args.learner, "The learner's LMS account id (not an email)")
      ->required();
  cmd->add_option("--answers", args.answers,
                  "JSON file mapping question ids to answers: numbers, choice letters (a, b, "
                  "...) or choice texts, words")
      ->required();
  cmd->add_option("--db", args.db, "Controller database holding the scenarios; attempts go here")
      ->required();
  cmd->add_option("--pass", args.pass, "Share of a scenario's questions needed to pass it (0 to 1)")
      ->capture_default_str();
  cmd->add_option("--xapi-out", args.xapi_out,
                  "Write the xAPI statements (JSON array) here; - for stdout");
  cmd->add_option("--lrs", args.lrs, "Post the xAPI statements to this LRS endpoint");
  cmd->add_option("--lrs-user", args.lrs_user, "LRS basic-auth user (key)");
  cmd->add_option("--lrs-password", args.lrs_password,
                  "LRS basic-auth password (secret; env PSO_LRS_PASSWORD)");
  cmd->add_option("--homepage", args.homepage, "homePage of the learner's account (the LMS)")
      ->capture_default_str();
  cmd->add_option("--activity-base", args.activity_base, "Prefix of xAPI activity ids")
      ->capture_default_str();
  cmd->add_option("--team", args.team,
                  "Put the learner in this team (one team at a time) for team progress");
  cmd->add_option("--at", args.at,
                  "When the answers were given (ISO 8601 or epoch seconds; default now): "
                  "progress over time counts attempts by this time");
}

int runGradeCommand(const GradeArgs& args, bool json_output) {
  if (auto pass = checkBetween("--pass", args.pass, 0, 1); !pass) {
    return fail(pass.error().message);
  }
  if (auto st = scenarios::validateLearnerId(args.learner); !st.ok()) {
    return fail("--learner: " + st.error().message);
  }
  int64_t now_ms = common::wallMs();
  if (!args.at.empty()) {
    auto seconds = common::parseTimestamp(args.at);
    if (!seconds) return fail("--at: '" + args.at + "' is not a timestamp");
    now_ms = *seconds * 1000;
  }
  auto answers = readAnswers(args.answers);
  if (!answers) return fail(answers.error().message);
  auto opened = openExistingStore(args.db);
  if (!opened) return fail(opened.error().message);
  store::Store& db = **opened;

  // The documents of every scenario the answers refer to.
  std::map<std::string, json> documents;
  for (const auto& [question_id, response] : answers->items()) {
    const std::string scenario_id = scenarios::scenarioIdOfQuestion(question_id);
    if (scenario_id.empty() || documents.count(scenario_id)) continue;
    auto record = db.scenario(scenario_id);
    if (!record) return fail("--db " + args.db + ": " + record.error().message);
    if (!record->has_value()) continue;  // gradeAnswers names the unknown scenario
    json doc = json::parse((*record)->json, nullptr, false);
    if (!doc.is_object()) return fail("scenario '" + scenario_id + "' is stored as invalid JSON");
    documents.emplace(scenario_id, std::move(doc));
  }
  auto report = scenarios::gradeAnswers(documents, *answers, args.pass);
  if (!report) return fail("--answers " + args.answers + ": " + report.error().message);

  std::vector<store::AttemptRecord> attempts;
  for (const auto& g : report->questions) {
    store::AttemptRecord a;
    a.learner_id = args.learner;
    a.scenario_id = g.scenario_id;
    a.question_id = g.question_id;
    a.level = g.level;
    a.response = g.response.dump();
    a.correct = g.correct;
    a.score = g.score;
    a.ts_ms = now_ms;
    attempts.push_back(std::move(a));
  }
  if (auto stored = db.recordAttempts(args.learner, attempts, now_ms); !stored) {
    return fail("storing the attempts: " + stored.error().message);
  }
  if (!args.team.empty()) {
    if (auto st = db.setLearnerTeam(args.learner, args.team); !st.ok()) {
      return fail("--team: " + st.error().message);
    }
  }
  // The learner's team as stored (this --team, or one given before).
  auto learner = db.learner(args.learner);
  if (!learner) return fail("reading the learner: " + learner.error().message);
  const std::string team = learner->has_value() ? (*learner)->team : "";
  auto history = db.attempts(args.learner);
  if (!history) return fail("reading the learner's attempts: " + history.error().message);
  const auto competency = scenarios::competencyByLevel(*history, args.pass);

  scenarios::XapiContext xapi;
  xapi.learner = args.learner;
  xapi.account_homepage = args.homepage;
  xapi.activity_base = args.activity_base;
  xapi.timestamp_ms = now_ms;
  const json statements = scenarios::buildStatements(*report, documents, xapi);
  // "-" puts the statements on stdout; the report then goes to stderr.
  const bool statements_to_stdout = args.xapi_out == "-";
  if (statements_to_stdout) {
    std::cout << statements.dump(2) << '\n';
  } else if (!args.xapi_out.empty()) {
    if (auto st = scenarios::writeFileAtomic(args.xapi_out, statements.dump(2) + "\n"); !st.ok()) {
      return fail("--xapi-out: " + st.error().message);
    }
  }
  std::size_t lrs_stored = 0;
  if (!args.lrs.empty()) {
    LrsOptions lrs;
    lrs.endpoint = args.lrs;
    lrs.user = args.lrs_user;
    lrs.password = args.lrs_password;
    if (lrs.password.empty()) {
      const char* env = std::getenv("PSO_LRS_PASSWORD");
      if (env != nullptr) lrs.password = env;
    }
    auto posted = postStatements(lrs, statements);
    if (!posted) {
      return fail("--lrs: " + posted.error().message + " (the attempts are stored in " + args.db +
                  ")");
    }
    lrs_stored = posted->size();
  }

  // With --xapi-out - the statements own stdout; the report goes to stderr.
  std::ostream& shown = statements_to_stdout ? std::cerr : std::cout;
  if (json_output) {
    shown << reportJson(args, team, *report, competency, statements.size(), lrs_stored).dump(2)
          << '\n';
    return 0;
  }
  Table questions({"QUESTION", "TYPE", "ANSWER", "RESULT", "FEEDBACK"});
  for (const auto& g : report->questions) {
    questions.addRow({g.question_id, g.type, responseCell(g.response),
                      !g.answered ? "unanswered" : (g.correct ? "correct" : "wrong"),
                      shortText(g.feedback, 70)});
  }
  questions.print(shown);
  shown << '\n';
  Table graded({"SCENARIO", "LEVEL", "CORRECT", "SCORE", "RESULT"});
  for (const auto& s : report->scenarios) {
    graded.addRow({s.scenario_id, s.level,
                   std::to_string(s.correct) + "/" + std::to_string(s.questions),
                   formatNumber(s.score * 100.0) + "%", s.passed ? "passed" : "failed"});
  }
  graded.print(shown);
  shown << '\n';
  Table levels({"LEVEL", "QUESTIONS", "CORRECT", "SCORE", "COMPETENT"});
  for (const auto& c : competency) {
    levels.addRow({c.level, std::to_string(c.questions), std::to_string(c.correct),
                   formatNumber(c.score * 100.0) + "%", c.competent ? "yes" : "not yet"});
  }
  levels.print(shown);
  shown << "learner " << args.learner << (team.empty() ? "" : " (team " + team + ")") << ": "
        << attempts.size() << " attempts stored in " << args.db << ", " << statements.size()
        << " xAPI statements" << (args.xapi_out.empty() ? "" : " written to " + args.xapi_out)
        << (args.lrs.empty() ? "" : ", " + std::to_string(lrs_stored) + " stored by the LRS")
        << '\n';
  return 0;
}

}  // namespace pso::cli
