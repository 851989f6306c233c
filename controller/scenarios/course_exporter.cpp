#include "controller/scenarios/course_exporter.h"

#include <sstream>

#include "controller/scenarios/html_exporter.h"
#include "controller/scenarios/lesson_directory.h"
#include "controller/scenarios/markdown_exporter.h"
#include "controller/scenarios/scenario_text.h"

namespace pso::controller::scenarios {
namespace {

// At most this many merged ids are listed under a lesson; the rest are counted.
constexpr std::size_t kMergedListed = 8;

std::string overviewSentence(const Course& course) {
  std::ostringstream out;
  out << course.lessonCount() << " lessons chosen from " << course.scenarios << " scenarios in "
      << course.levels.size() << (course.levels.size() == 1 ? " level" : " levels") << ", with "
      << course.questionCount() << " questions. " << course.merged
      << " cycles that repeat a lesson are merged into it";
  if (course.not_selected > 0) {
    out << "; " << course.not_selected << " further distinct lessons are beyond the per-level "
        << "limit";
  }
  out << ". A lesson is passed with " << formatPercent(course.mastery_score)
      << " of its questions right.";
  return out.str();
}

std::string mergedSentence(const CourseLesson& l) {
  if (l.merged.empty()) return "";
  std::vector<std::string> listed(
      l.merged.begin(),
      l.merged.begin() + static_cast<std::ptrdiff_t>(std::min(kMergedListed, l.merged.size())));
  std::string text = "This lesson stands for " + std::to_string(l.merged.size()) +
                     (l.merged.size() == 1 ? " similar cycle: " : " similar cycles: ") +
                     join(listed, ", ");
  if (l.merged.size() > listed.size()) {
    text += " and " + std::to_string(l.merged.size() - listed.size()) + " more";
  }
  return text + ".";
}

std::string shareText(std::size_t part, std::size_t total) {
  return total == 0 ? "n/a" : formatPercent(static_cast<double>(part) / static_cast<double>(total));
}

}  // namespace

std::string renderCourseOverviewHtml(const Course& course, bool link_lessons) {
  std::ostringstream out;
  out << "<h1 id=\"path\">" << htmlEscape(course.title) << "</h1>\n<p>"
      << htmlEscape(overviewSentence(course)) << "</p>\n<h2>Learning path</h2>\n<ol>\n";
  for (const auto& level : course.levels) {
    out << "<li>";
    if (link_lessons) out << "<a href=\"#level-" << htmlEscape(level.level) << "\">";
    out << "<strong>" << htmlEscape(level.title) << "</strong>" << (link_lessons ? "</a>" : "")
        << " (" << level.lessons.size() << " lessons): " << htmlEscape(levelGoal(level.level));
    if (!level.prerequisites.empty()) {
      std::vector<std::string> titles;
      for (const auto& p : level.prerequisites) titles.push_back(levelTitle(p));
      out << " <em>Requires: " << htmlEscape(join(titles, ", ")) << ".</em>";
    }
    out << "\n<ol>\n";
    for (const auto& l : level.lessons) {
      out << "<li>";
      if (link_lessons) out << "<a href=\"#" << htmlEscape(lessonFileStem(l.lesson.id)) << "\">";
      out << htmlEscape(l.lesson.title) << (link_lessons ? "</a>" : "") << " <span class=\"tag\">"
          << htmlEscape(kindTitle(l.kind)) << "</span>";
      if (!l.merged.empty()) out << " (and " << l.merged.size() << " similar)";
      out << "</li>\n";
    }
    out << "</ol></li>\n";
  }
  out << "</ol>\n<h2>Quiet cycles</h2>\n<p>" << htmlEscape(quietSentence(course.quiet))
      << "</p>\n<h2>Question mix</h2>\n<table>\n<tr><th>topic</th><th>questions</th><th>share</th>"
         "</tr>\n";
  for (const auto& [topic, n] : course.questions_by_kind) {
    out << "<tr><td>" << htmlEscape(topic) << "</td><td>" << n << "</td><td>"
        << shareText(n, course.questionCount()) << "</td></tr>\n";
  }
  out << "</table>\n";
  return out.str();
}

std::string renderCourseHtml(const Course& course) {
  std::ostringstream out;
  out << renderCourseOverviewHtml(course, true);
  for (const auto& level : course.levels) {
    out << "<section id=\"level-" << htmlEscape(level.level) << "\">\n<h1>"
        << htmlEscape(level.title) << "</h1>\n<p>" << htmlEscape(levelGoal(level.level))
        << "</p>\n";
    for (const auto& l : level.lessons) {
      out << "<section id=\"" << htmlEscape(lessonFileStem(l.lesson.id)) << "\">\n"
          << "<p><span class=\"tag\">" << htmlEscape(kindTitle(l.kind)) << "</span></p>\n"
          << htmlLessonBody(l.lesson, "#path");
      const std::string merged = mergedSentence(l);
      if (!merged.empty()) out << "<p><em>" << htmlEscape(merged) << "</em></p>\n";
      out << "</section>\n";
    }
    out << "</section>\n";
  }
  return htmlPage(course.title, out.str());
}

std::string renderCourseMarkdown(const Course& course) {
  std::ostringstream out;
  out << "# " << course.title << "\n\n" << overviewSentence(course) << "\n\n## Learning path\n\n";
  std::size_t n = 0;
  for (const auto& level : course.levels) {
    out << ++n << ". **" << level.title << "** (" << level.lessons.size()
        << " lessons): " << levelGoal(level.level);
    if (!level.prerequisites.empty()) {
      std::vector<std::string> titles;
      for (const auto& p : level.prerequisites) titles.push_back(levelTitle(p));
      out << " *Requires: " << join(titles, ", ") << ".*";
    }
    out << "\n";
    for (const auto& l : level.lessons) {
      out << "   - [" << l.lesson.title << "](#" << lessonFileStem(l.lesson.id) << ") ("
          << kindTitle(l.kind)
          << (l.merged.empty() ? "" : ", and " + std::to_string(l.merged.size()) + " similar")
          << ")\n";
    }
  }
  out << "\n## Quiet cycles\n\n"
      << quietSentence(course.quiet)
      << "\n\n## Question mix\n\n| topic | questions | share |\n| --- | --- | --- |\n";
  for (const auto& [topic, count] : course.questions_by_kind) {
    out << "| " << topic << " | " << count << " | " << shareText(count, course.questionCount())
        << " |\n";
  }
  for (const auto& level : course.levels) {
    out << "\n---\n\n# " << level.title << "\n\n" << levelGoal(level.level) << "\n";
    for (const auto& l : level.lessons) {
      out << "\n---\n\n<a id=\"" << lessonFileStem(l.lesson.id) << "\"></a>\n\n*"
          << kindTitle(l.kind) << "*\n\n"
          << renderMarkdownLesson(l.lesson);
      const std::string merged = mergedSentence(l);
      if (!merged.empty()) out << "\n*" << merged << "*\n";
    }
  }
  return out.str();
}

Result<std::size_t> CourseHtmlExporter::writeTo(const std::vector<store::ScenarioRecord>& scenarios,
                                                std::ostream& out) const {
  auto course = buildCourse(scenarios);
  if (!course) return course.error();
  out << renderCourseHtml(*course);
  return scenarios.size();
}

Result<std::size_t> CourseMarkdownExporter::writeTo(
    const std::vector<store::ScenarioRecord>& scenarios, std::ostream& out) const {
  auto course = buildCourse(scenarios);
  if (!course) return course.error();
  out << renderCourseMarkdown(*course);
  return scenarios.size();
}

}  // namespace pso::controller::scenarios
