#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "controller/scenarios/exporter.h"
#include "controller/scenarios/lesson.h"
#include "controller/scenarios/lesson_directory.h"

namespace pso::controller::scenarios {

/// "markdown": lessons (situation, forecast with its interval, a history +
/// forecast table and chart, decision and what set the count, reactive
/// baseline, debrief once the outcome is filled, questions with a collapsed
/// answer key). write() makes a directory with one `<id>.md` per scenario and
/// `index.md` listing the lessons by level, every file written atomically;
/// writeTo() streams one document: the index, then every lesson under an
/// anchor the index links to.
class MarkdownExporter : public ScenarioExporter {
 public:
  std::string format() const override { return "markdown"; }
  std::string contentType() const override { return "text/markdown; charset=utf-8"; }
  [[nodiscard]] Result<std::size_t> writeTo(const std::vector<store::ScenarioRecord>& scenarios,
                                            std::ostream& out) const override;
  [[nodiscard]] Result<std::size_t> write(const std::vector<store::ScenarioRecord>& scenarios,
                                          const std::string& out_path) const override;
};

/// The lesson as Markdown.
std::string renderMarkdownLesson(const Lesson& lesson);
/// The lesson of one scenario document as Markdown.
std::string renderMarkdownLesson(const nlohmann::json& scenario);

}  // namespace pso::controller::scenarios
