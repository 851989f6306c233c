#pragma once

// The questions of a lesson, each keyed on numbers the lesson itself shows
// (shownNumber()), with multiple-choice options that state checkable claims
// (ChoiceClaim) of which exactly one is true.

#include <vector>

#include "controller/scenarios/lesson.h"

namespace pso::controller::scenarios {

/// The questions of a freshly built lesson (schema 2). Per acting system (at
/// most three; without one, the first decided system; in a quiet cycle only
/// the first system's first question):
/// - replicas_needed (numeric, exact): the demand the rule sized for, at the
///   shown capacity and target, rounded up within the bounds; asked only when
///   the rule sizes for a demand, no coordination changed it, and the shown
///   numbers reproduce the engine's recommendation;
/// - demand_at_horizon (numeric, 10%): the highest upper end of the interval
///   over the planned steps, when the forecast table shows them all;
/// - action (multiple choice, acting systems): the count decided; every other
///   option names a different count;
/// - reactive_late (multiple choice): on a forecast-planned scale-up above the
///   HPA rule's count, why the rule stays below: it sizes for the demand now
///   (and the planned demand needs more than its count serves at the target)
///   or its scale-up limit held it; the other options are false statements.
/// Then forecast_model (short answer) for the first such system: the model
/// the lesson names, accepting its family and the engine's full label; and
/// bottleneck_system (multiple choice) when several systems are forecast and
/// one is expected to run out of capacity strictly first.
std::vector<LessonQuestion> writeQuestions(const Lesson& lesson);

}  // namespace pso::controller::scenarios
