#pragma once

#include <string>

#include "controller/scenarios/exercise.h"
#include "controller/scenarios/exporter.h"
#include "controller/scenarios/lesson.h"

namespace pso::controller::scenarios {

/// "exercise-html": one tabletop exercise per notable scenario (exercise.h;
/// quiet cycles are left out). Each page reveals the four steps one by one in
/// <details> elements, asks for the learner's count, and keeps the debrief
/// (what the engine and the HPA rule did, the outcome, the lesson's chart)
/// and a table scoring a range of counts collapsed until opened. No scripts
/// and no external resources; every text is escaped (htmlEscape). write()
/// makes a directory: one `<id>.html` per exercise plus `index.html`;
/// writeTo() streams one page with every exercise in a section. Both return
/// the number of exercises.
class ExerciseHtmlExporter : public ScenarioExporter {
 public:
  std::string format() const override { return "exercise-html"; }
  std::string contentType() const override { return "text/html; charset=utf-8"; }
  [[nodiscard]] Result<std::size_t> writeTo(const std::vector<store::ScenarioRecord>& scenarios,
                                            std::ostream& out) const override;
  [[nodiscard]] Result<std::size_t> write(const std::vector<store::ScenarioRecord>& scenarios,
                                          const std::string& out_path) const override;
};

/// The body of one exercise's page; `back` links to the index ("" for none).
std::string htmlExerciseBody(const Lesson& lesson, const Exercise& exercise,
                             const std::string& back);

}  // namespace pso::controller::scenarios
