#pragma once

// What the per-lesson exports (markdown, html) share: reading each stored
// scenario into its lesson once, the curriculum index's entries, and writing
// a directory of lesson files.

#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "common/result.h"
#include "controller/scenarios/lesson.h"
#include "controller/store/store.h"

namespace pso::controller::scenarios {

/// What a curriculum index lists of one lesson.
struct LessonSummary {
  std::string id;
  std::string stem;  ///< lessonFileStem(id): file name and anchor
  std::string time;
  std::string level;
  std::string title;
  std::vector<std::string> events;
  bool debrief = false;
};

LessonSummary summarize(const Lesson& lesson);

/// Summaries grouped by level in teaching order, lessons in the given order
/// within a level.
std::vector<std::pair<std::string, std::vector<const LessonSummary*>>> curriculum(
    const std::vector<LessonSummary>& lessons);

/// Calls `visit` with the lesson of each stored scenario, in order. A stored
/// document that is not a JSON object is code "invalid" naming the scenario.
[[nodiscard]] Status forEachLesson(const std::vector<store::ScenarioRecord>& scenarios,
                                   const std::function<Status(const Lesson&)>& visit);

/// The summaries of every stored scenario, in order: the first pass of a
/// one-document export, whose index comes before the lessons it lists.
[[nodiscard]] Result<std::vector<LessonSummary>> summarizeAll(
    const std::vector<store::ScenarioRecord>& scenarios);

/// Renders one lesson file.
using LessonRenderer = std::function<std::string(const Lesson& lesson)>;
/// Renders the curriculum index file.
using IndexRenderer = std::function<std::string(const std::vector<LessonSummary>& lessons)>;

/// Writes a per-lesson export: the directory `out_path` (created if missing)
/// gets one `<stem><extension>` file per scenario and `index<extension>`, each
/// written atomically, with one flush for the whole directory at the end.
/// Returns the number of lessons.
[[nodiscard]] Result<std::size_t> writeLessonDirectory(
    const std::vector<store::ScenarioRecord>& scenarios, const std::string& out_path,
    const std::string& extension, const LessonRenderer& render_lesson,
    const IndexRenderer& render_index);

/// A scenario id made safe as a file name and anchor (anything but
/// [A-Za-z0-9._-] becomes '_'; never empty, never starting with '.').
std::string lessonFileStem(const std::string& scenario_id);

}  // namespace pso::controller::scenarios
