#include "controller/scenarios/cmi5_package.h"

#include <algorithm>
#include <cstdio>
#include <sstream>

#include "controller/scenarios/course_exporter.h"
#include "controller/scenarios/html_exporter.h"
#include "controller/scenarios/lesson_directory.h"
#include "controller/scenarios/lesson_text.h"
#include "controller/scenarios/scenario_text.h"
#include "controller/scenarios/xapi.h"
#include "controller/scenarios/zip_writer.h"

namespace pso::controller::scenarios {
namespace {

using nlohmann::json;

constexpr const char* kCmi5Namespace = "https://w3id.org/xapi/profiles/cmi5/v1/CourseStructure.xsd";
// Our extension elements (cmi5 allows elements of other namespaces).
constexpr const char* kPsoNamespace = "https://pso-prime.example.org/xmlns/cmi5";

// The course id names its lessons, so a course of other lessons is another
// course to the LMS, and the same one exported again is the same.
std::string courseId(const Course& course, const Cmi5Options& options) {
  std::string key = course.title;
  for (const auto& level : course.levels) {
    for (const auto& l : level.lessons) key += "\n" + l.lesson.id;
  }
  char hex[16];
  std::snprintf(hex, sizeof hex, "%08x", crc32(key));
  return activityBase(options.activity_base) + "/courses/pso-" + hex;
}

std::string blockId(const std::string& course_id, const std::string& level) {
  return course_id + "/levels/" + xapiIriSegment(level);
}
std::string objectiveId(const std::string& course_id, const std::string& level) {
  return course_id + "/objectives/" + xapiIriSegment(level);
}
std::string auId(const std::string& course_id, const Lesson& lesson) {
  return course_id + "/aus/" + xapiIriSegment(lesson.id);
}
constexpr const char* kOverviewPath = "au/course-overview.html";

std::string auPath(const Lesson& lesson) {
  return "au/" + lessonFileStem(lesson.id) + ".html";
}

void text(std::ostringstream& out, const char* element, const std::string& value,
          const std::string& indent) {
  out << indent << '<' << element << "><langstring lang=\"" << kXapiLanguage << "\">"
      << htmlEscape(value) << "</langstring></" << element << ">\n";
}

std::string mastery(double score) {
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%.2f", std::clamp(score, 0.0, 1.0));
  return buffer;
}

// JSON inside a <script> element: no "<" at all, so neither "</script>" nor
// "<!--" can end or change it ("<" only occurs inside JSON strings).
std::string scriptJson(const json& value) {
  std::string out;
  for (char ch : value.dump()) {
    if (ch == '<') {
      out += "\\u003c";
    } else {
      out += ch;
    }
  }
  return out;
}

// What the runtime needs of each question: the stored question (type, key,
// tolerance, accepted answers, choices, feedback) and its xAPI activity
// (the id and interaction definition `psoctl scenarios grade` uses).
json auData(const CourseLesson& l, const Cmi5Options& options, double mastery_score) {
  json doc = {{"id", l.lesson.id}, {"level", l.lesson.level}, {"questions", json::array()}};
  for (const auto& q : l.lesson.questions) doc["questions"].push_back(questionJson(q));
  XapiContext ctx;
  ctx.activity_base = options.activity_base;
  const json activities = buildActivities(doc, ctx);
  json questions = json::array();
  for (std::size_t i = 0; i < doc["questions"].size(); ++i) {
    questions.push_back({{"question", doc["questions"][i]}, {"activity", activities[i + 1]}});
  }
  return {{"lesson", l.lesson.id},
          {"title", l.lesson.title},
          {"masteryScore", l.lesson.questions.empty() ? json(nullptr) : json(mastery_score)},
          {"questions", std::move(questions)}};
}

void renderQuizForm(std::ostringstream& out, const Lesson& lesson) {
  out << "<section id=\"pso-quiz\">\n<h2>Questions</h2>\n"
      << "<p id=\"pso-au-status\" data-cmi5-state=\"loading\">Connecting to the LMS...</p>\n"
      << "<form id=\"pso-quiz-form\">\n<ol>\n";
  for (std::size_t i = 0; i < lesson.questions.size(); ++i) {
    const auto& q = lesson.questions[i];
    const std::string name = "q" + std::to_string(i);
    out << "<li><p>" << htmlEscape(q.prompt);
    if (!questionKind(q).empty()) out << " <em>(" << questionKind(q) << ")</em>";
    out << "</p>\n";
    if (q.type == QuestionType::kMultipleChoice) {
      for (std::size_t c = 0; c < q.choices.size(); ++c) {
        out << "<label><input type=\"radio\" name=\"" << name << "\" value=\"" << c << "\"> "
            << choiceLabel(c) << ' ' << htmlEscape(q.choices[c].text) << "</label><br>\n";
      }
    } else {
      out << "<input type=\"text\" name=\"" << name << "\""
          << (q.type == QuestionType::kNumeric ? " inputmode=\"decimal\"" : "") << ">\n";
    }
    out << "<p class=\"pso-feedback\" id=\"" << name << "-feedback\"></p></li>\n";
  }
  out << "</ol>\n<button type=\"submit\" id=\"pso-submit\" disabled>"
      << (lesson.questions.empty() ? "Done" : "Submit answers") << "</button>\n</form>\n"
      << "<p id=\"pso-result\"></p>\n</section>\n";
}

std::string auShell(const std::string& title, const std::string& body, const json& data) {
  return htmlPage(title, body + "<script type=\"application/json\" id=\"pso-au-data\">" +
                             scriptJson(data) +
                             "</script>\n<script src=\"cmi5-au.js\"></script>\n");
}

std::string auPage(const CourseLesson& l, const Cmi5Options& options, double mastery_score) {
  std::ostringstream body;
  body << htmlLessonBody(l.lesson, "", false);
  renderQuizForm(body, l.lesson);
  return auShell(l.lesson.title, body.str(), auData(l, options, mastery_score));
}

// The course's first AU: the learning path, the quiet cycles and the
// question mix; it asks nothing and does not count toward completion.
std::string overviewPage(const Course& course) {
  std::ostringstream body;
  body << renderCourseOverviewHtml(course, false);
  renderQuizForm(body, Lesson{});
  return auShell(course.title, body.str(),
                 {{"lesson", "course-overview"},
                  {"title", course.title},
                  {"masteryScore", nullptr},
                  {"questions", json::array()}});
}

}  // namespace

std::string cmi5CourseStructure(const Course& course, const Cmi5Options& options) {
  const std::string id = courseId(course, options);
  std::ostringstream out;
  out << "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<courseStructure xmlns=\"" << kCmi5Namespace
      << "\" xmlns:pso=\"" << kPsoNamespace << "\">\n  <course id=\"" << htmlEscape(id) << "\">\n";
  text(out, "title", course.title, "    ");
  text(out, "description",
       "Lessons from the decisions of a PSO-PRIME controller, by learning level from "
       "foundation to enterprise coordination. " +
           quietSentence(course.quiet),
       "    ");
  out << "  </course>\n";
  if (!course.levels.empty()) out << "  <objectives>\n";
  for (const auto& level : course.levels) {
    out << "    <objective id=\"" << htmlEscape(objectiveId(id, level.level)) << "\">\n";
    text(out, "title", "Master " + level.title, "      ");
    text(out, "description", levelGoal(level.level), "      ");
    out << "    </objective>\n";
  }
  if (!course.levels.empty()) out << "  </objectives>\n";
  out << "  <au id=\"" << htmlEscape(id + "/aus/course-overview")
      << "\" moveOn=\"NotApplicable\" launchMethod=\"AnyWindow\">\n";
  text(out, "title", "About this course", "    ");
  text(out, "description",
       "The learning path, its prerequisites and the question mix; counts toward nothing.", "    ");
  out << "    <url>" << kOverviewPath << "</url>\n  </au>\n";
  for (const auto& level : course.levels) {
    std::string description = levelGoal(level.level);
    if (!level.prerequisites.empty()) {
      std::vector<std::string> titles;
      for (const auto& p : level.prerequisites) titles.push_back(levelTitle(p));
      description += " Requires: " + join(titles, ", ") + ".";
    }
    out << "  <block id=\"" << htmlEscape(blockId(id, level.level)) << "\">\n";
    text(out, "title", level.title, "    ");
    text(out, "description", description, "    ");
    out << "    <objectives><objective idref=\"" << htmlEscape(objectiveId(id, level.level))
        << "\"/></objectives>\n";
    for (const auto& l : level.lessons) {
      const bool quiz = !l.lesson.questions.empty();
      out << "    <au id=\"" << htmlEscape(auId(id, l.lesson)) << "\" moveOn=\""
          << (quiz ? "CompletedAndPassed" : "Completed") << "\"";
      if (quiz) out << " masteryScore=\"" << mastery(course.mastery_score) << "\"";
      out << " launchMethod=\"AnyWindow\">\n";
      text(out, "title", l.lesson.title, "      ");
      text(out, "description",
           kindTitle(l.kind) + ", " + l.lesson.time + ": " +
               std::to_string(l.lesson.questions.size()) + " questions" +
               (l.merged.empty()
                    ? ""
                    : ", standing for " + std::to_string(l.merged.size()) + " similar cycles") +
               ".",
           "      ");
      out << "      <objectives><objective idref=\"" << htmlEscape(objectiveId(id, level.level))
          << "\"/></objectives>\n      <url>" << htmlEscape(auPath(l.lesson)) << "</url>\n"
          << "    </au>\n";
    }
    if (!level.prerequisites.empty()) {
      out << "    <pso:prerequisites>\n";
      for (const auto& p : level.prerequisites) {
        out << "      <pso:block idref=\"" << htmlEscape(blockId(id, p)) << "\"/>\n";
      }
      out << "    </pso:prerequisites>\n";
    }
    out << "  </block>\n";
  }
  out << "</courseStructure>\n";
  return out.str();
}

std::vector<PackageFile> cmi5PackageFiles(const Course& course, const Cmi5Options& options) {
  std::vector<PackageFile> files;
  files.emplace_back("cmi5.xml", cmi5CourseStructure(course, options));
  files.emplace_back("au/cmi5-au.js", std::string(cmi5AuScript()));
  files.emplace_back(kOverviewPath, overviewPage(course));
  for (const auto& level : course.levels) {
    for (const auto& l : level.lessons) {
      files.emplace_back(auPath(l.lesson), auPage(l, options, course.mastery_score));
    }
  }
  return files;
}

Result<std::size_t> Cmi5Exporter::writeTo(const std::vector<store::ScenarioRecord>& scenarios,
                                          std::ostream& out) const {
  auto course = buildCourse(scenarios, options_.course);
  if (!course) return course.error();
  ZipWriter zip;
  for (const auto& [name, content] : cmi5PackageFiles(*course, options_)) {
    if (Status st = zip.add(name, content); !st.ok()) return st.error();
  }
  out << zip.finish();
  if (!out) return makeError("io", "cannot write the cmi5 package");
  return scenarios.size();
}

}  // namespace pso::controller::scenarios
