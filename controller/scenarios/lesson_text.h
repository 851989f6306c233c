#pragma once

// The words and table cells of a lesson, shared by the Markdown and HTML
// renderers so both say the same thing; each renderer adds only its markup.
// Plain text: the HTML renderer escapes it.

#include <string>
#include <utility>
#include <vector>

#include "controller/scenarios/lesson.h"

namespace pso::controller::scenarios {

inline constexpr const char* kReactiveIntro =
    "What the reactive HPA rule (scale on the demand observed now) would have done:";
inline constexpr const char* kNoOutcomeYet =
    "Outcome not known yet: the forecast horizon had not passed when this lesson was exported.";

/// Scenario, cycle, time, mode, level and events, as label and value, and
/// the systems unchanged since an earlier scenario described them.
std::vector<std::pair<std::string, std::string>> headerRows(const Lesson& lesson);

std::vector<std::string> situationColumns();
std::vector<std::string> situationCells(const LessonSystem& system);

/// What the forecast section says when no system it describes has a
/// forecast: that none was made, or where the unchanged systems' are.
std::string noForecastText(const Lesson& lesson);
/// "now", "+45 s", "-300 s".
std::string offsetText(double seconds);

/// "Model holt, picked by the auto setting for the lowest rolling backtest
/// error (reported as "auto: holt"), after 120 observations, ..." .
std::string modelSentence(const LessonForecast& forecast);
/// The interval and the warm-up: what the upper end of the interval is and
/// when launched replicas serve.
std::string intervalSentence(const LessonForecast& forecast, double step_s);
/// What the engine sized for: the planned demand and its definition when a
/// predictive rule set the count, else what did.
std::string planSentence(const LessonSystem& system);
/// The predicted bottleneck, or that none is predicted.
std::string bottleneckSentence(const LessonForecast& forecast);

/// "rule predictive-upper-quantile, recommended 5, dispatched".
std::string decisionDetails(const LessonDecision& decision);
std::vector<std::string> candidateColumns();
std::vector<std::string> candidateCells(const LessonCandidate& candidate);

std::vector<std::string> debriefColumns();
std::vector<std::string> debriefCells(const LessonSystem& system);

/// "number", "short answer" or "" (multiple choice shows its options).
std::string questionKind(const LessonQuestion& question);
/// "a)", "b)", ...
std::string choiceLabel(std::size_t index);
/// The answer key of a question as the lessons print it.
std::string answerKeyText(const LessonQuestion& question);

}  // namespace pso::controller::scenarios
