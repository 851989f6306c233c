#pragma once

#include <string>

#include "controller/scenarios/course.h"
#include "controller/scenarios/exporter.h"

namespace pso::controller::scenarios {

/// "course-html": the course of the scenarios (course.h) as one self-contained
/// page: the overview (levels in teaching order with their prerequisites and
/// goals, the quiet cycles' summary, the question mix), then every chosen
/// lesson, best of each kind first, with the questions the mix keeps and the
/// near-duplicates it stands for. No scripts, no external resources.
class CourseHtmlExporter : public ScenarioExporter {
 public:
  std::string format() const override { return "course-html"; }
  std::string contentType() const override { return "text/html; charset=utf-8"; }
  /// Returns the number of scenarios read (not the lessons chosen).
  [[nodiscard]] Result<std::size_t> writeTo(const std::vector<store::ScenarioRecord>& scenarios,
                                            std::ostream& out) const override;
};

/// "course-markdown": the same course as one Markdown document.
class CourseMarkdownExporter : public ScenarioExporter {
 public:
  std::string format() const override { return "course-markdown"; }
  std::string contentType() const override { return "text/markdown; charset=utf-8"; }
  [[nodiscard]] Result<std::size_t> writeTo(const std::vector<store::ScenarioRecord>& scenarios,
                                            std::ostream& out) const override;
};

/// The course's overview as HTML (a page's body): the learning path with
/// prerequisites and goals, the quiet cycles, the question mix; lesson titles
/// link to their sections when `link_lessons`.
std::string renderCourseOverviewHtml(const Course& course, bool link_lessons);
/// The course as one HTML page / one Markdown document.
std::string renderCourseHtml(const Course& course);
std::string renderCourseMarkdown(const Course& course);

}  // namespace pso::controller::scenarios
