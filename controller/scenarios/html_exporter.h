#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "controller/scenarios/exporter.h"
#include "controller/scenarios/lesson.h"

namespace pso::controller::scenarios {

/// "html": self-contained lessons (situation, an inline SVG chart per system
/// of the history, the forecast and its interval band, capacity from now
/// before and after the decision; a forecast table; the decision and what set
/// the count, the reactive baseline, the debrief: what went well, what went
/// wrong, where it got lucky; questions with a collapsed answer key). No
/// scripts and no external resources, so a lesson opens offline and can be
/// uploaded to an LMS as a page. write() makes a directory: one `<id>.html`
/// per scenario plus `index.html`, the curriculum (lessons grouped by learning
/// level in teaching order), files written atomically. writeTo() streams one
/// page: the curriculum, then every lesson in a section it links to.
class HtmlExporter : public ScenarioExporter {
 public:
  std::string format() const override { return "html"; }
  std::string contentType() const override { return "text/html; charset=utf-8"; }
  [[nodiscard]] Result<std::size_t> writeTo(const std::vector<store::ScenarioRecord>& scenarios,
                                            std::ostream& out) const override;
  [[nodiscard]] Result<std::size_t> write(const std::vector<store::ScenarioRecord>& scenarios,
                                          const std::string& out_path) const override;
};

/// The lesson as an HTML page.
std::string renderHtmlLesson(const Lesson& lesson);
/// The lesson of one scenario document as an HTML page.
std::string renderHtmlLesson(const nlohmann::json& scenario);

/// A whole page around `body`: the lessons' style sheet, no scripts.
std::string htmlPage(const std::string& title, const std::string& body);
/// The lesson as a page's body: `back` is the link to the curriculum;
/// without questions it ends at the debrief (a cmi5 unit asks them itself).
std::string htmlLessonBody(const Lesson& lesson, const std::string& back,
                           bool with_questions = true);

/// The SVG chart of one system of a lesson ("" when there is nothing to draw).
std::string renderSvgChart(const LessonSystem& system);

/// Text made safe for HTML element content and attribute values.
std::string htmlEscape(std::string_view text);

}  // namespace pso::controller::scenarios
