#include "controller/scenarios/exercise_exporter.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <sstream>

#include "controller/scenarios/html_exporter.h"
#include "controller/scenarios/lesson_directory.h"
#include "controller/scenarios/lesson_text.h"
#include "controller/scenarios/scenario_text.h"

namespace pso::controller::scenarios {
namespace {

constexpr const char* kIndexTitle = "PSO-PRIME tabletop exercises";
// Counts either side of the engine's, the HPA rule's and the needed one in
// the scoring table: enough to see the trade-off, few enough to read.
constexpr int64_t kScoreMargin = 2;
constexpr int64_t kScoreRowsMax = 16;

void cellRow(std::ostringstream& out, const std::vector<std::string>& cells, bool header = false) {
  out << "<tr>";
  for (const auto& c : cells) {
    out << (header ? "<th>" : "<td>") << htmlEscape(c) << (header ? "</th>" : "</td>");
  }
  out << "</tr>\n";
}

void lineList(std::ostringstream& out, const std::vector<std::string>& lines) {
  out << "<ul>\n";
  for (const auto& line : lines) out << "<li>" << htmlEscape(line) << "</li>\n";
  out << "</ul>\n";
}

std::string yesNoOrNa(const std::optional<bool>& v) {
  return v ? (*v ? "yes" : "no") : "n/a";
}

void scoreTable(std::ostringstream& out, const Exercise& ex) {
  int64_t lo = std::min(ex.current, ex.debrief.engine_replicas);
  int64_t hi = std::max(ex.current, ex.debrief.engine_replicas);
  for (const auto& v : {ex.debrief.hpa_replicas, ex.needed_at_target}) {
    if (!v) continue;
    lo = std::min(lo, *v);
    hi = std::max(hi, *v);
  }
  lo = std::max(ex.min_replicas, lo - kScoreMargin);
  hi = std::min({ex.max_replicas, hi + kScoreMargin, lo + kScoreRowsMax - 1});
  out << "<h3>Score your decision</h3>\n<table>\n";
  cellRow(
      out,
      {"Your replicas", "Served the peak at the target", "Overload at 100%", "Against the engine"},
      true);
  for (int64_t n = lo; n <= hi; ++n) {
    const ExerciseScore s = scoreDecision(ex, n);
    std::string marks;
    if (n == ex.debrief.engine_replicas) marks += " (engine)";
    if (ex.debrief.hpa_replicas && n == *ex.debrief.hpa_replicas) marks += " (HPA rule)";
    if (ex.needed_at_target && n == *ex.needed_at_target) marks += " (needed)";
    const std::string overload = s.serves_peak ? (*s.serves_peak ? "no" : "yes") : "n/a";
    cellRow(out, {std::to_string(n) + marks, yesNoOrNa(s.serves_at_target), overload,
                  (s.vs_engine > 0 ? "+" : "") + std::to_string(s.vs_engine)});
  }
  out << "</table>\n";
}

std::string pageTitle(const Exercise& ex) {
  return "Exercise: " + ex.title;
}

struct NotableScenarios {
  std::vector<store::ScenarioRecord> records;
  /// Exercise titles by file stem: the index names exercises by them, not by
  /// the lessons' titles, which tell the decision.
  std::map<std::string, std::string> titles;
};

// The notable scenarios only: a quiet cycle has no exercise.
Result<NotableScenarios> notableRecords(const std::vector<store::ScenarioRecord>& scenarios) {
  NotableScenarios out;
  for (const auto& record : scenarios) {
    auto document = parseScenarioDocument(record);
    if (!document) return document.error();
    const Lesson lesson = buildLesson(*document);
    auto ex = buildExercise(lesson);
    if (!ex) continue;
    out.records.push_back(record);
    out.titles[lessonFileStem(lesson.id)] = ex->title;
  }
  return out;
}

std::string renderExerciseIndex(const std::vector<LessonSummary>& lessons,
                                const std::map<std::string, std::string>& titles,
                                const std::function<std::string(const std::string&)>& link) {
  std::ostringstream out;
  out << "<h1 id=\"index\">" << kIndexTitle << "</h1>\n<p>" << lessons.size()
      << " exercises, one per notable scenario, by learning level. Run one with a team: reveal "
         "the steps one at a time, let the team decide a replica count, then open the "
         "debrief.</p>\n";
  for (const auto& [level, entries] : curriculum(lessons)) {
    out << "<h2>" << htmlEscape(levelTitle(level)) << " (" << entries.size() << ")</h2>\n<ol>\n";
    for (const LessonSummary* s : entries) {
      const auto title = titles.find(s->stem);
      out << "<li><a href=\"" << htmlEscape(link(s->stem)) << "\">"
          << htmlEscape(title != titles.end() ? title->second : s->id) << "</a> ("
          << htmlEscape(s->id) << ")</li>\n";
    }
    out << "</ol>\n";
  }
  return out.str();
}

}  // namespace

std::string htmlExerciseBody(const Lesson& lesson, const Exercise& ex, const std::string& back) {
  std::ostringstream out;
  if (!back.empty()) out << "<p><a href=\"" << htmlEscape(back) << "\">All exercises</a></p>\n";
  out << "<h1>" << htmlEscape(pageTitle(ex)) << "</h1>\n<table>\n";
  // The lesson's header without its events, which tell what happened.
  for (const auto& [label, value] :
       std::vector<std::pair<std::string, std::string>>{{"Scenario", lesson.id},
                                                        {"Time", lesson.time},
                                                        {"Mode", lesson.mode},
                                                        {"Level", levelTitle(lesson.level)},
                                                        {"Decide for", ex.system}}) {
    cellRow(out, {label, value});
  }
  out << "</table>\n<p>Open the steps one at a time, as the engine saw the situation; decide "
         "before opening the debrief.</p>\n";
  for (std::size_t i = 0; i < ex.steps.size(); ++i) {
    out << "<details class=\"step\">\n<summary>Step " << (i + 1) << " of " << ex.steps.size()
        << ": " << htmlEscape(ex.steps[i].title) << "</summary>\n";
    lineList(out, ex.steps[i].lines);
    out << "</details>\n";
  }
  out << "<h2>Your decision</h2>\n<p><strong>" << htmlEscape(ex.prompt)
      << "</strong></p>\n<p>Write the count down, then open the debrief.</p>\n";
  out << "<details class=\"debrief\">\n<summary>Debrief: what the engine and the HPA rule did, "
         "and what happened</summary>\n";
  lineList(out, ex.debrief.lines);
  if (const LessonSystem* sys = lesson.system(ex.system)) {
    const std::string chart = renderSvgChart(*sys);
    if (!chart.empty()) {
      out << "<figure>\n"
          << chart << "\n<figcaption>" << htmlEscape(ex.system)
          << ": history ending at the demand now, forecast in its interval band, capacity from "
             "now before and after the engine's decision."
          << "</figcaption>\n</figure>\n";
    }
  }
  scoreTable(out, ex);
  out << "</details>\n";
  return out.str();
}

Result<std::size_t> ExerciseHtmlExporter::writeTo(
    const std::vector<store::ScenarioRecord>& scenarios, std::ostream& out) const {
  auto notable = notableRecords(scenarios);
  if (!notable) return notable.error();
  auto lessons = summarizeAll(notable->records);
  if (!lessons) return lessons.error();
  const std::string shell = htmlPage(kIndexTitle, "\n");
  const auto body_at = shell.find("<body>\n") + 7;
  out << shell.substr(0, body_at)
      << renderExerciseIndex(*lessons, notable->titles,
                             [](const std::string& stem) { return "#" + stem; });
  Status written = forEachLesson(notable->records, [&](const Lesson& lesson) -> Status {
    auto ex = buildExercise(lesson);
    if (!ex) return ex.error();
    out << "<section id=\"" << htmlEscape(lessonFileStem(lesson.id)) << "\">\n"
        << htmlExerciseBody(lesson, *ex, "#index") << "</section>\n";
    return {};
  });
  if (!written.ok()) return written.error();
  out << shell.substr(body_at + 1);
  return notable->records.size();
}

Result<std::size_t> ExerciseHtmlExporter::write(const std::vector<store::ScenarioRecord>& scenarios,
                                                const std::string& out_path) const {
  auto notable = notableRecords(scenarios);
  if (!notable) return notable.error();
  return writeLessonDirectory(
      notable->records, out_path, ".html",
      [](const Lesson& lesson) {
        // notableRecords kept only lessons with an exercise.
        auto ex = buildExercise(lesson);
        if (!ex) return htmlPage(lesson.title, "<p>" + htmlEscape(ex.error().message) + "</p>\n");
        return htmlPage(pageTitle(*ex), htmlExerciseBody(lesson, *ex, "index.html"));
      },
      [&](const std::vector<LessonSummary>& lessons) {
        return htmlPage(kIndexTitle,
                        renderExerciseIndex(lessons, notable->titles, [](const std::string& stem) {
                          return stem + ".html";
                        }));
      });
}

}  // namespace pso::controller::scenarios
