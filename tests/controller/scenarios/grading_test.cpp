#include "controller/scenarios/grading.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <set>

#include "controller/scenarios/scenario.h"
#include "controller/scenarios/xapi.h"

namespace pso::controller::scenarios {
namespace {

using nlohmann::json;

// A scenario with one question of each kind, as buildScenario writes them.
json scenarioDoc(const std::string& id, const std::string& level) {
  return {
      {"id", id},
      {"level", level},
      {"systems", {"web"}},
      {"quiet", false},
      {"cycle_id", "c-1"},
      {"rationale", json::object()},
      {"questions",
       {{{"id", id + "-q1"},
         {"type", "numeric"},
         {"topic", "demand_at_horizon"},
         {"prompt", "Highest upper bound?"},
         {"answer", 420.0},
         {"tolerance", 42.0},
         {"feedback", "The forecast peaks at 420."}},
        {{"id", id + "-q2"},
         {"type", "multiple_choice"},
         {"topic", "action"},
         {"prompt", "Which action?"},
         {"answer", "Scale from 3 to 5 replicas"},
         {"feedback", "Plan for the upper bound."},
         {"choices",
          {{{"text", "Keep 3 replicas"}, {"correct", false}, {"feedback", "Reactive."}},
           {{"text", "Scale from 3 to 5 replicas"}, {"correct", true}, {"feedback", "Planned."}}}}},
        {{"id", id + "-q3"},
         {"type", "short_answer"},
         {"topic", "forecast_model"},
         {"prompt", "Which model?"},
         {"answer", "holt"},
         {"feedback", "Holt, by backtest."}}}}};
}

TEST(GradeQuestion, NumericWithinTolerance) {
  const json q = scenarioDoc("s-1", kLevelFoundation)["questions"][0];
  EXPECT_TRUE(gradeQuestion(q, 420).correct);
  EXPECT_TRUE(gradeQuestion(q, 378.0).correct);
  EXPECT_TRUE(gradeQuestion(q, " 461.9 ").correct);
  EXPECT_FALSE(gradeQuestion(q, 377.5).correct);
  const auto wrong = gradeQuestion(q, 500);
  EXPECT_FALSE(wrong.correct);
  EXPECT_NE(wrong.feedback.find("420 (+/- 42)"), std::string::npos) << wrong.feedback;
  const auto words = gradeQuestion(q, "about four hundred");
  EXPECT_FALSE(words.correct);
  EXPECT_NE(words.feedback.find("Expected a number"), std::string::npos);
}

TEST(GradeQuestion, MultipleChoiceByLetterOrText) {
  const json q = scenarioDoc("s-1", kLevelFoundation)["questions"][1];
  const auto by_letter = gradeQuestion(q, "b");
  EXPECT_TRUE(by_letter.correct);
  EXPECT_EQ(by_letter.chosen_index, 1);
  EXPECT_EQ(by_letter.score, 1.0);
  EXPECT_TRUE(gradeQuestion(q, "  scale from 3 to 5 REPLICAS ").correct);
  const auto reactive = gradeQuestion(q, "a");
  EXPECT_FALSE(reactive.correct);
  EXPECT_NE(reactive.feedback.find("Reactive."), std::string::npos);
  EXPECT_NE(reactive.feedback.find("Scale from 3 to 5 replicas"), std::string::npos);
  EXPECT_EQ(gradeQuestion(q, "z").chosen_index, -1);
  EXPECT_FALSE(gradeQuestion(q, 1).correct);
}

TEST(GradeQuestion, ShortAnswerIgnoresCaseAndUnansweredIsWrong) {
  const json q = scenarioDoc("s-1", kLevelFoundation)["questions"][2];
  EXPECT_TRUE(gradeQuestion(q, " Holt").correct);
  EXPECT_FALSE(gradeQuestion(q, "holt-winters").correct);
  const auto blank = gradeQuestion(q, nullptr);
  EXPECT_FALSE(blank.answered);
  EXPECT_FALSE(blank.correct);
  EXPECT_EQ(blank.score, 0.0);
}

TEST(ScenarioIdOfQuestion, StripsTheQuestionSuffix) {
  EXPECT_EQ(scenarioIdOfQuestion("s-c-7-q2"), "s-c-7");
  EXPECT_EQ(scenarioIdOfQuestion("s-sim3-120-q11"), "s-sim3-120");
  EXPECT_EQ(scenarioIdOfQuestion("s-c-7"), "");
  EXPECT_EQ(scenarioIdOfQuestion("s-c-7-qx"), "");
}

TEST(GradeAnswers, ScoresEveryQuestionOfAnAttemptedScenario) {
  std::map<std::string, json> docs = {{"s-1", scenarioDoc("s-1", kLevelFoundation)},
                                      {"s-2", scenarioDoc("s-2", kLevelAdvancedOptimization)}};
  const json answers = {{"s-1-q1", 400}, {"s-1-q2", "b"}, {"s-1-q3", "arima"}, {"s-2-q1", 10}};
  auto report = gradeAnswers(docs, answers, 0.6);
  ASSERT_TRUE(report.ok()) << report.error().message;
  ASSERT_EQ(report->scenarios.size(), 2u);
  EXPECT_EQ(report->questions.size(), 6u);
  const auto& s1 = report->scenarios[0];
  EXPECT_EQ(s1.scenario_id, "s-1");
  EXPECT_EQ(s1.correct, 2u);
  EXPECT_EQ(s1.questions, 3u);
  EXPECT_TRUE(s1.passed);
  const auto& s2 = report->scenarios[1];
  EXPECT_EQ(s2.answered, 1u);
  EXPECT_EQ(s2.correct, 0u);
  EXPECT_FALSE(s2.passed);
  EXPECT_EQ(report->questions.back().level, kLevelAdvancedOptimization);

  auto unknown_question = gradeAnswers(docs, json{{"s-1-q9", 1}});
  ASSERT_FALSE(unknown_question.ok());
  EXPECT_NE(unknown_question.error().message.find("s-1-q9"), std::string::npos);
  auto unknown_scenario = gradeAnswers(docs, json{{"s-5-q1", 1}});
  ASSERT_FALSE(unknown_scenario.ok());
  EXPECT_NE(unknown_scenario.error().message.find("unknown scenario 's-5'"), std::string::npos);
  EXPECT_FALSE(gradeAnswers(docs, json::array()).ok());
}

TEST(Competency, LatestAttemptPerQuestionCountsInTeachingOrder) {
  auto attempt = [](const std::string& q, const std::string& level, bool correct, int64_t ts) {
    store::AttemptRecord a;
    a.learner_id = "learner-1";
    a.question_id = q;
    a.level = level;
    a.correct = correct;
    a.ts_ms = ts;
    return a;
  };
  const std::vector<store::AttemptRecord> attempts = {
      attempt("s-2-q1", kLevelAdvancedOptimization, false, 1),
      attempt("s-1-q1", kLevelFoundation, false, 1), attempt("s-1-q2", kLevelFoundation, true, 1),
      attempt("s-1-q1", kLevelFoundation, true, 2),  // retried and now right
  };
  const auto levels = competencyByLevel(attempts, 0.7);
  ASSERT_EQ(levels.size(), 2u);
  EXPECT_EQ(levels[0].level, kLevelFoundation);
  EXPECT_EQ(levels[0].questions, 2u);
  EXPECT_EQ(levels[0].correct, 2u);
  EXPECT_TRUE(levels[0].competent);
  EXPECT_EQ(levels[1].level, kLevelAdvancedOptimization);
  EXPECT_FALSE(levels[1].competent);
}

TEST(Xapi, StatementsUseAnAccountAndInteractionDefinitions) {
  std::map<std::string, json> docs = {{"s-1", scenarioDoc("s-1", kLevelFoundation)}};
  auto report = gradeAnswers(docs, json{{"s-1-q1", 420}, {"s-1-q2", "a"}});
  ASSERT_TRUE(report.ok());
  XapiContext ctx;
  ctx.learner = "learner-1";
  ctx.account_homepage = "https://lms.example.org";
  ctx.activity_base = "https://pso.example.org/xapi/";
  ctx.timestamp_ms = 1700000000000;
  const json statements = buildStatements(*report, docs, ctx);
  // Two answered questions (q3 was left out), then the scenario's result.
  ASSERT_EQ(statements.size(), 3u);
  std::set<std::string> ids;
  for (const auto& s : statements) {
    ids.insert(s["id"].get<std::string>());
    EXPECT_EQ(s["id"].get<std::string>().size(), 36u);
    EXPECT_EQ(s["actor"]["account"]["name"], "learner-1");
    EXPECT_EQ(s["actor"]["account"]["homePage"], "https://lms.example.org");
    EXPECT_FALSE(s["actor"].contains("mbox"));
    EXPECT_EQ(s["timestamp"], "2023-11-14T22:13:20.000Z");
    EXPECT_EQ(s["version"], kXapiVersion);
  }
  EXPECT_EQ(ids.size(), 3u);
  const json& numeric = statements[0];
  EXPECT_EQ(numeric["verb"]["id"], kVerbAnswered);
  EXPECT_EQ(numeric["object"]["id"], "https://pso.example.org/xapi/scenarios/s-1/questions/s-1-q1");
  EXPECT_EQ(numeric["object"]["definition"]["interactionType"], "numeric");
  EXPECT_EQ(numeric["object"]["definition"]["correctResponsesPattern"][0], "378[:]462");
  EXPECT_TRUE(numeric["result"]["success"].get<bool>());
  EXPECT_EQ(numeric["result"]["response"], "420");
  const json& choice = statements[1];
  EXPECT_EQ(choice["object"]["definition"]["interactionType"], "choice");
  EXPECT_EQ(choice["object"]["definition"]["correctResponsesPattern"][0], "b");
  EXPECT_EQ(choice["result"]["response"], "a");
  EXPECT_FALSE(choice["result"]["success"].get<bool>());
  EXPECT_EQ(choice["context"]["contextActivities"]["parent"][0]["id"],
            "https://pso.example.org/xapi/scenarios/s-1");
  const json& result = statements[2];
  EXPECT_EQ(result["verb"]["id"], kVerbFailed);
  EXPECT_EQ(result["result"]["score"]["raw"], 1);
  EXPECT_EQ(result["result"]["score"]["max"], 3);
}

TEST(Xapi, LearnerIdsAreAccountsNotEmails) {
  EXPECT_TRUE(validateLearnerId("learner-42").ok());
  EXPECT_FALSE(validateLearnerId("").ok());
  auto email = validateLearnerId("ana@example.org");
  ASSERT_FALSE(email.ok());
  EXPECT_NE(email.error().message.find("email"), std::string::npos);
  EXPECT_FALSE(validateLearnerId("tab\there").ok());
  EXPECT_NE(newStatementId(), newStatementId());
  EXPECT_EQ(newStatementId()[14], '4');
}

}  // namespace
}  // namespace pso::controller::scenarios
