#pragma once

// A tabletop exercise ("Wheel of Misfortune") from one notable scenario: the
// situation as the engine saw it, revealed in four steps, a decision the
// learner makes (how many replicas now), then the debrief of what the engine
// and the HPA rule did and what happened, and a score of the learner's count
// against both. Built from the lesson model (lesson.h), so every number is
// the lesson's number for the same quantity, worded and rounded by the same
// helpers (lesson_text.h, scenario_text.h). Pure: a document in, a model out;
// psoctl and the exercise-html exporter render it.

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "common/result.h"
#include "controller/scenarios/lesson.h"

namespace pso::controller::scenarios {

/// One step of what the learner is shown before deciding, in order:
/// the system, recent demand, the forecast, the constraints.
struct ExerciseStep {
  std::string title;
  std::vector<std::string> lines;  ///< plain text, one fact per line
};

/// What the engine and the HPA rule decided and what happened, from the facts.
struct ExerciseDebrief {
  int64_t engine_replicas = 0;
  std::string engine_rule;    ///< the rule code as stored
  std::string engine_action;  ///< scaleText(current, desired)
  std::string engine_reason;  ///< engineReasonText(): subject "the engine"
  std::optional<int64_t> hpa_replicas;
  std::string hpa_reason;  ///< reactiveReasonText()
  /// The outcome, once the horizon has passed (SystemDebrief of the system).
  std::optional<SystemDebrief> outcome;
  std::string verdict;  ///< the outcome's verdict for the whole cycle
  /// The lines the debrief prints: engine, HPA rule, outcome.
  std::vector<std::string> lines;
};

/// A tabletop exercise for the acting system of a notable scenario.
struct Exercise {
  std::string scenario_id;
  /// "api at 2026-01-05T10:00:00.000Z": unlike the lesson's title, it does
  /// not tell the decision.
  std::string title;
  std::string time;
  std::string level;
  std::vector<std::string> events;
  std::string system;  ///< the system the learner decides for
  std::vector<ExerciseStep> steps;
  std::string prompt;  ///< "Your decision for web: how many replicas now? ..."

  // The facts a learner's count is scored with, as the lesson shows them
  // (shownNumber / shownFraction), so a trainer can re-derive the score.
  int64_t current = 0;
  int64_t min_replicas = 0;
  int64_t max_replicas = 0;
  double capacity_per_replica = kUnknown;
  double target_utilization = kUnknown;
  double step_s = 15.0;
  /// The fewest replicas that would have served the highest demand observed
  /// over the horizon at the target utilisation: ceil(peak / (capacity x
  /// target)); unset until the outcome is recorded.
  std::optional<int64_t> needed_at_target;

  ExerciseDebrief debrief;
};

/// A learner's replica count scored against the outcome, the engine and the
/// HPA rule.
struct ExerciseScore {
  int64_t replicas = 0;
  std::string action;  ///< scaleText(current, replicas)
  /// replicas x capacity x target >= the observed peak; unset without an outcome.
  std::optional<bool> serves_at_target;
  /// replicas x capacity >= the observed peak (no overload at 100%).
  std::optional<bool> serves_peak;
  std::optional<bool> engine_serves_at_target;
  std::optional<bool> hpa_serves_at_target;
  int64_t vs_engine = 0;  ///< replicas - the engine's count
  /// vs_engine x the observed window (samples x step) in replica-hours; NaN
  /// without an outcome.
  double replica_hours_vs_engine = kUnknown;
  std::vector<std::string> lines;  ///< the score in words
};

/// Whether a scenario warrants an exercise: it has a trigger event
/// (scaling_executed, bottleneck_prevented, coordination_optimized,
/// workflow_enhanced) and a decision for at least one system.
bool isNotable(const Lesson& lesson);

/// The exercise of a lesson. Code "not_notable" with a one-line reason when
/// the scenario has no trigger event (a quiet cycle) or no decision. The
/// system decided for is the first one whose count changes or that has a
/// directive in the cycle, else the first with a decision.
[[nodiscard]] Result<Exercise> buildExercise(const Lesson& lesson);
/// The exercise of a scenario document (buildLesson() then the above).
[[nodiscard]] Result<Exercise> buildExercise(const nlohmann::json& scenario);

/// A replica count is a valid answer when it is within the system's bounds.
[[nodiscard]] Status checkAnswer(const Exercise& exercise, int64_t replicas);

/// Scores a learner's count (within the bounds: checkAnswer()).
ExerciseScore scoreDecision(const Exercise& exercise, int64_t replicas);

/// The whole exercise as JSON (psoctl -o json): steps, prompt, debrief,
/// scoring facts; with `score` when one is given.
nlohmann::json exerciseJson(const Exercise& exercise,
                            const std::optional<ExerciseScore>& score = std::nullopt);

}  // namespace pso::controller::scenarios
