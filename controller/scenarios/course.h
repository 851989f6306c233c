#pragma once

// A course assembled from recorded scenarios (docs/architecture.md section 5,
// issue 15 item 2): lessons are chosen, not dumped.
//
// - Quiet cycles (nothing changed) are not lessons: the course summarises
//   them in one paragraph (how many, when, which systems, the demand range).
// - Near-duplicates are merged: lessons whose typed facts match (level,
//   events, and per system the direction and size of the change, the rule,
//   the guardrails and coordination that changed the count, the HPA rule's
//   reason and whether it differs, the predicted bottleneck, the outcome) are
//   one lesson, the best of them, which names the others.
// - Lessons are grouped per learning level in teaching order; each level
//   requires the one before it in the course.
// - Within a level, the best lesson of each kind comes first (kinds taken in
//   turn, a kind's lessons by score), at most `max_lessons_per_level`.
// - The question mix is varied: no question topic above
//   `max_question_kind_share` of the course's questions; where a topic has
//   more, the questions of the best-scored lessons are kept.
//
// Everything is decided from the lessons' typed facts (lesson.h), never
// from their sentences.

#include <cstddef>
#include <map>
#include <string>
#include <vector>

#include "common/result.h"
#include "controller/scenarios/lesson.h"
#include "controller/store/store.h"

namespace pso::controller::scenarios {

struct CourseOptions {
  std::string title = "PSO-PRIME: predictive orchestration from the fleet's own record";
  /// Lessons kept per level, after merging near-duplicates.
  std::size_t max_lessons_per_level = 10;
  /// No question topic above this share of the course's questions.
  double max_question_kind_share = 0.3;
  /// Share of a lesson's questions to answer correctly to pass it (the cmi5
  /// package's masteryScore; grading's default pass mark).
  double mastery_score = 0.7;
};

/// The quiet cycles of the scenarios read, in one paragraph's numbers.
struct QuietSummary {
  std::size_t cycles = 0;
  std::string from;  ///< time of the first quiet cycle
  std::string to;    ///< time of the last
  std::vector<std::string> systems;
  double min_demand = kUnknown;
  double max_demand = kUnknown;
  /// Replica counts held through them, per system ("web: 2-4").
  std::map<std::string, std::pair<int64_t, int64_t>> replicas;
};

struct CourseLesson {
  /// The lesson; its questions are those the course's mix keeps.
  Lesson lesson;
  /// What the lesson teaches, from its facts: pool_share, dependency,
  /// operator_hold, bottleneck_prevented, guardrail, scale_up, scale_down,
  /// steady. kindTitle() names it for people.
  std::string kind;
  double score = 0.0;
  /// Ids of the near-duplicates this lesson stands for (oldest first).
  std::vector<std::string> merged;
  /// Questions the mix left out of this lesson.
  std::size_t questions_dropped = 0;
};

struct CourseLevel {
  std::string level;  ///< foundation, advanced_optimization, ...
  std::string title;
  /// Levels to master first: the previous level of the course (empty for the first).
  std::vector<std::string> prerequisites;
  std::vector<CourseLesson> lessons;
};

struct Course {
  std::string title;
  double mastery_score = 0.7;
  std::vector<CourseLevel> levels;  ///< teaching order; levels without lessons left out
  QuietSummary quiet;
  std::size_t scenarios = 0;     ///< scenarios read
  std::size_t merged = 0;        ///< near-duplicates folded into another lesson
  std::size_t not_selected = 0;  ///< distinct lessons beyond max_lessons_per_level
  /// Questions kept per topic, and whether every topic is within the share
  /// (false only when fewer topics exist than the share allows, e.g. three
  /// topics under a 30% cap: then each topic keeps as many as the smallest
  /// cap reached before none fitted, as even a mix as the topics allow).
  std::map<std::string, std::size_t> questions_by_kind;
  bool question_mix_within_share = true;

  std::size_t lessonCount() const;
  std::size_t questionCount() const;
};

/// Builds the course of the stored scenarios. Fails (code "invalid", naming
/// the scenario) only when a stored document is not a JSON object.
[[nodiscard]] Result<Course> buildCourse(const std::vector<store::ScenarioRecord>& scenarios,
                                         const CourseOptions& options = {});

/// A lesson kind for people ("pool_share" -> "Sharing a pool").
std::string kindTitle(const std::string& kind);
/// What a level teaches, one sentence.
std::string levelGoal(const std::string& level);
/// The quiet summary as one sentence.
std::string quietSentence(const QuietSummary& quiet);

}  // namespace pso::controller::scenarios
