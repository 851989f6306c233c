#pragma once

// A learner's and a team's progress through the learning levels: mastery per
// level from graded attempts (competencyByLevel), and how it grew day by day,
// computed from the attempts' own timestamps. Pure: attempts in, figures out;
// `psoctl scenarios progress` reads the attempts and prints these.

#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "controller/scenarios/grading.h"
#include "controller/store/records.h"

namespace pso::controller::scenarios {

/// A learner's standing per level at the end of one UTC day on which they
/// answered questions: every attempt up to that day's end counts, the latest
/// attempt of each question deciding it.
struct ProgressPoint {
  std::string date;      ///< YYYY-MM-DD (UTC)
  int64_t until_ms = 0;  ///< the end of that day: attempts before it count
  std::vector<Competency> levels;
};

struct LearnerProgress {
  std::string learner;
  std::vector<Competency> levels;      ///< today's standing, in teaching order
  std::vector<ProgressPoint> history;  ///< one point per day with attempts, oldest first
};

/// The learner's progress: `attempts` are theirs, in any order.
/// A level is mastered when its score (correct at the latest attempt / questions
/// attempted) is at least `threshold`.
LearnerProgress learnerProgress(const std::string& learner,
                                const std::vector<store::AttemptRecord>& attempts,
                                double threshold = kDefaultPassThreshold);

/// A team's standing at one level: its learners who attempted the level.
struct TeamLevel {
  std::string level;
  std::size_t learners = 0;  ///< learners with at least one attempt at this level
  std::size_t mastered = 0;  ///< of them, how many mastered it
  double mean_score = 0.0;   ///< mean of their scores at this level
};

struct TeamPoint {
  std::string date;  ///< YYYY-MM-DD (UTC)
  int64_t until_ms = 0;
  std::vector<TeamLevel> levels;
};

struct TeamProgress {
  std::string team;
  std::vector<std::string> learners;  ///< every member, by id
  std::vector<TeamLevel> levels;      ///< in teaching order
  std::vector<TeamPoint> history;     ///< one point per day any member had attempts
};

/// The team's progress from each member's attempts (members without attempts
/// count as members, not at any level).
TeamProgress teamProgress(const std::string& team,
                          const std::map<std::string, std::vector<store::AttemptRecord>>& attempts,
                          double threshold = kDefaultPassThreshold);

/// The UTC day of epoch milliseconds as YYYY-MM-DD.
std::string utcDate(int64_t epoch_ms);

}  // namespace pso::controller::scenarios
