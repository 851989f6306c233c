#include "controller/scenarios/progress.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace pso::controller::scenarios {
namespace {

// 2026-12-01T00:00:00Z; days of the tests are counted from it.
constexpr int64_t kDay1 = 1'796'083'200'000LL;
constexpr int64_t kMsPerDay = 86'400'000;
constexpr int64_t kHourMs = 3'600'000;

store::AttemptRecord attempt(const std::string& learner, const std::string& question,
                             const std::string& level, bool correct, int64_t ts_ms) {
  static int64_t next_id = 1;
  store::AttemptRecord a;
  a.id = next_id++;
  a.learner_id = learner;
  a.scenario_id = question.substr(0, question.rfind("-q"));
  a.question_id = question;
  a.level = level;
  a.correct = correct;
  a.score = correct ? 1.0 : 0.0;
  a.ts_ms = ts_ms;
  return a;
}

// Day 1 (10:00): foundation q1 wrong, q2 right, q3 right -> 2/3.
// Day 1 (23:00): advanced q1 wrong -> 0/1.
// Day 3 (09:00): foundation q1 right -> 3/3; advanced q1 right, q2 wrong -> 1/2.
std::vector<store::AttemptRecord> learnerOneAttempts() {
  const int64_t day1 = kDay1 + 10 * kHourMs;
  const int64_t day1_late = kDay1 + 23 * kHourMs;
  const int64_t day3 = kDay1 + 2 * kMsPerDay + 9 * kHourMs;
  return {attempt("lrn-1", "s-1-q1", "foundation", false, day1),
          attempt("lrn-1", "s-1-q2", "foundation", true, day1),
          attempt("lrn-1", "s-2-q1", "foundation", true, day1),
          attempt("lrn-1", "s-9-q1", "advanced_optimization", false, day1_late),
          attempt("lrn-1", "s-1-q1", "foundation", true, day3),
          attempt("lrn-1", "s-9-q1", "advanced_optimization", true, day3),
          attempt("lrn-1", "s-9-q2", "advanced_optimization", false, day3)};
}

TEST(LearnerProgress, LevelsAndDailyHistoryFromTheAttemptsTimes) {
  const auto p = learnerProgress("lrn-1", learnerOneAttempts(), 0.7);
  EXPECT_EQ(p.learner, "lrn-1");
  ASSERT_EQ(p.levels.size(), 2u);
  EXPECT_EQ(p.levels[0].level, "foundation");
  EXPECT_EQ(p.levels[0].questions, 3u);
  EXPECT_EQ(p.levels[0].correct, 3u);
  EXPECT_DOUBLE_EQ(p.levels[0].score, 1.0);
  EXPECT_TRUE(p.levels[0].competent);
  EXPECT_EQ(p.levels[1].level, "advanced_optimization");
  EXPECT_EQ(p.levels[1].questions, 2u);
  EXPECT_EQ(p.levels[1].correct, 1u);
  EXPECT_DOUBLE_EQ(p.levels[1].score, 0.5);
  EXPECT_FALSE(p.levels[1].competent);

  // Two days with attempts (day 2 had none): one point each.
  ASSERT_EQ(p.history.size(), 2u);
  EXPECT_EQ(p.history[0].date, "2026-12-01");
  EXPECT_EQ(p.history[0].until_ms, kDay1 + kMsPerDay);
  ASSERT_EQ(p.history[0].levels.size(), 2u);
  EXPECT_EQ(p.history[0].levels[0].correct, 2u);
  EXPECT_DOUBLE_EQ(p.history[0].levels[0].score, 2.0 / 3.0);
  EXPECT_FALSE(p.history[0].levels[0].competent);
  EXPECT_DOUBLE_EQ(p.history[0].levels[1].score, 0.0);
  EXPECT_EQ(p.history[1].date, "2026-12-03");
  EXPECT_DOUBLE_EQ(p.history[1].levels[0].score, 1.0);
  EXPECT_TRUE(p.history[1].levels[0].competent);

  // A lower threshold masters foundation already on day 1 (2/3 >= 0.6).
  const auto lenient = learnerProgress("lrn-1", learnerOneAttempts(), 0.6);
  EXPECT_TRUE(lenient.history[0].levels[0].competent);
  EXPECT_TRUE(learnerProgress("lrn-0", {}, 0.7).history.empty());
}

TEST(TeamProgress, CountsMasteryAndMeansScoresOfTheMembersWhoTriedALevel) {
  std::map<std::string, std::vector<store::AttemptRecord>> attempts;
  attempts["lrn-1"] = learnerOneAttempts();
  // lrn-2, day 2: foundation 1 of 2 right; day 3: the other right too -> 2/2.
  attempts["lrn-2"] = {
      attempt("lrn-2", "s-1-q1", "foundation", true, kDay1 + kMsPerDay + kHourMs),
      attempt("lrn-2", "s-1-q2", "foundation", false, kDay1 + kMsPerDay + kHourMs),
      attempt("lrn-2", "s-1-q2", "foundation", true, kDay1 + 2 * kMsPerDay + 20 * kHourMs)};
  attempts["lrn-3"] = {};  // a member who has not started

  const auto t = teamProgress("ops", attempts, 0.7);
  EXPECT_EQ(t.team, "ops");
  EXPECT_EQ(t.learners, (std::vector<std::string>{"lrn-1", "lrn-2", "lrn-3"}));
  ASSERT_EQ(t.levels.size(), 2u);
  EXPECT_EQ(t.levels[0].level, "foundation");
  EXPECT_EQ(t.levels[0].learners, 2u);
  EXPECT_EQ(t.levels[0].mastered, 2u);
  EXPECT_DOUBLE_EQ(t.levels[0].mean_score, 1.0);
  EXPECT_EQ(t.levels[1].level, "advanced_optimization");
  EXPECT_EQ(t.levels[1].learners, 1u);
  EXPECT_EQ(t.levels[1].mastered, 0u);
  EXPECT_DOUBLE_EQ(t.levels[1].mean_score, 0.5);

  // Days 1, 2 and 3 each had attempts by someone.
  ASSERT_EQ(t.history.size(), 3u);
  EXPECT_EQ(t.history[0].date, "2026-12-01");
  EXPECT_EQ(t.history[0].levels[0].learners, 1u);  // only lrn-1 had started
  EXPECT_DOUBLE_EQ(t.history[0].levels[0].mean_score, 2.0 / 3.0);
  EXPECT_EQ(t.history[1].date, "2026-12-02");
  EXPECT_EQ(t.history[1].levels[0].learners, 2u);
  EXPECT_EQ(t.history[1].levels[0].mastered, 0u);
  EXPECT_DOUBLE_EQ(t.history[1].levels[0].mean_score, (2.0 / 3.0 + 0.5) / 2.0);
  EXPECT_EQ(t.history[2].levels[0].mastered, 2u);
}

}  // namespace
}  // namespace pso::controller::scenarios
