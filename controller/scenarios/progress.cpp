#include "controller/scenarios/progress.h"

#include <limits>
#include <set>

#include "common/clock.h"
#include "controller/scenarios/scenario_text.h"

namespace pso::controller::scenarios {
namespace {

constexpr int64_t kDayMs = 86'400'000;

// The first instant after the UTC day that holds ts_ms (floor division, so
// times before 1970 land on their own day too).
int64_t endOfDay(int64_t ts_ms) {
  int64_t day = ts_ms / kDayMs;
  if (ts_ms % kDayMs < 0) --day;
  return (day + 1) * kDayMs;
}

std::vector<store::AttemptRecord> attemptsBefore(const std::vector<store::AttemptRecord>& attempts,
                                                 int64_t until_ms) {
  std::vector<store::AttemptRecord> out;
  for (const auto& a : attempts) {
    if (a.ts_ms < until_ms) out.push_back(a);
  }
  return out;
}

std::set<int64_t> dayEnds(const std::vector<store::AttemptRecord>& attempts) {
  std::set<int64_t> ends;
  for (const auto& a : attempts) ends.insert(endOfDay(a.ts_ms));
  return ends;
}

std::vector<TeamLevel> teamLevels(
    const std::map<std::string, std::vector<store::AttemptRecord>>& attempts, int64_t until_ms,
    double threshold) {
  std::map<std::string, TeamLevel> by_level;
  std::map<std::string, double> score_sums;
  for (const auto& [learner, theirs] : attempts) {
    for (const auto& c : competencyByLevel(attemptsBefore(theirs, until_ms), threshold)) {
      TeamLevel& t = by_level[c.level];
      t.level = c.level;
      ++t.learners;
      t.mastered += c.competent ? 1 : 0;
      score_sums[c.level] += c.score;
    }
  }
  std::vector<TeamLevel> out;
  for (const auto& level : curriculumOrder(by_level)) {
    TeamLevel t = by_level[level];
    t.mean_score = t.learners ? score_sums[level] / static_cast<double>(t.learners) : 0.0;
    out.push_back(std::move(t));
  }
  return out;
}

}  // namespace

std::string utcDate(int64_t epoch_ms) {
  return common::formatTimestamp(epoch_ms).substr(0, 10);
}

LearnerProgress learnerProgress(const std::string& learner,
                                const std::vector<store::AttemptRecord>& attempts,
                                double threshold) {
  LearnerProgress p;
  p.learner = learner;
  p.levels = competencyByLevel(attempts, threshold);
  for (int64_t until : dayEnds(attempts)) {
    p.history.push_back(ProgressPoint{
        utcDate(until - 1), until, competencyByLevel(attemptsBefore(attempts, until), threshold)});
  }
  return p;
}

TeamProgress teamProgress(const std::string& team,
                          const std::map<std::string, std::vector<store::AttemptRecord>>& attempts,
                          double threshold) {
  TeamProgress p;
  p.team = team;
  std::set<int64_t> ends;
  for (const auto& [learner, theirs] : attempts) {
    p.learners.push_back(learner);
    const auto days = dayEnds(theirs);
    ends.insert(days.begin(), days.end());
  }
  p.levels = teamLevels(attempts, std::numeric_limits<int64_t>::max(), threshold);
  for (int64_t until : ends) {
    p.history.push_back(
        TeamPoint{utcDate(until - 1), until, teamLevels(attempts, until, threshold)});
  }
  return p;
}

}  // namespace pso::controller::scenarios
