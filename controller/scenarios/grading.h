#pragma once

// Grading learners' answers against the answer keys of scenario questions,
// and competency per learning level from stored attempts. Pure: documents and
// answers in, grades out; psoctl stores the attempts and sends xAPI.

#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "common/result.h"
#include "controller/store/store.h"

namespace pso::controller::scenarios {

/// Share of a scenario's questions answered correctly to pass it, and of a
/// level's questions to be competent at it.
inline constexpr double kDefaultPassThreshold = 0.7;

/// One question graded.
struct QuestionGrade {
  std::string scenario_id;
  std::string question_id;
  std::string type;         ///< numeric | multiple_choice | short_answer
  std::string topic;        ///< e.g. replicas_needed, action
  std::string level;        ///< the scenario's learning level
  nlohmann::json response;  ///< as given; null when the learner left it out
  bool answered = false;
  bool correct = false;
  double score = 0.0;  ///< 1 when correct, else 0
  /// For multiple choice, the index of the chosen choice (-1 when none matched).
  int chosen_index = -1;
  std::string feedback;  ///< what the learner should read next
};

/// A scenario graded: every question of it counts, unanswered ones as wrong.
struct ScenarioGrade {
  std::string scenario_id;
  std::string level;
  std::string title;
  std::size_t questions = 0;
  std::size_t answered = 0;
  std::size_t correct = 0;
  double score = 0.0;  ///< correct / questions
  bool passed = false;
};

struct GradeReport {
  std::vector<QuestionGrade> questions;  ///< in scenario, then question order
  std::vector<ScenarioGrade> scenarios;
};

/// Grades one response against one question document. Numeric: a number (or a
/// numeric string) within the tolerance of the answer. Multiple choice: a
/// choice letter ("a" is the first choice, as the lessons label them) or the
/// exact text of a choice (case and surrounding spaces ignored). Short answer:
/// the answer or any of the question's "accept" list, case and surrounding
/// spaces ignored. A null response is
/// unanswered (wrong); a response of the wrong kind is wrong, with feedback
/// saying what was expected.
QuestionGrade gradeQuestion(const nlohmann::json& question, const nlohmann::json& response);

/// The scenario a question id belongs to ("s-c-7-q2" -> "s-c-7"), or "" when
/// the id has no "-q<n>" suffix.
std::string scenarioIdOfQuestion(const std::string& question_id);

/// Grades a learner's answers: `answers` maps question ids to responses (a JSON
/// object). `scenarios` are the documents of every scenario the answers refer
/// to, by id. Every question of an answered scenario is graded. An answer to a
/// question that is not in its scenario, or to an unknown scenario, is code
/// "invalid" naming the question; so is an `answers` that is not an object.
[[nodiscard]] Result<GradeReport> gradeAnswers(
    const std::map<std::string, nlohmann::json>& scenarios, const nlohmann::json& answers,
    double pass_threshold = kDefaultPassThreshold);

/// A learner's standing at one learning level.
struct Competency {
  std::string level;
  std::size_t questions = 0;  ///< distinct questions attempted at this level
  std::size_t correct = 0;    ///< of them, correct at the latest attempt
  double score = 0.0;
  bool competent = false;  ///< score >= threshold
};

/// Competency per level in teaching order, from stored attempts: the latest
/// attempt of each question counts (so a learner improves by retrying).
std::vector<Competency> competencyByLevel(const std::vector<store::AttemptRecord>& attempts,
                                          double threshold = kDefaultPassThreshold);

}  // namespace pso::controller::scenarios
