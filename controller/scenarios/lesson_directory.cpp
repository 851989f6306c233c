#include "controller/scenarios/lesson_directory.h"

#include <cctype>
#include <filesystem>
#include <map>

#include "controller/scenarios/atomic_file.h"
#include "controller/scenarios/exporter.h"
#include "controller/scenarios/scenario_text.h"

namespace pso::controller::scenarios {

std::string lessonFileStem(const std::string& scenario_id) {
  std::string out = scenario_id;
  for (char& ch : out) {
    const bool safe =
        std::isalnum(static_cast<unsigned char>(ch)) || ch == '.' || ch == '_' || ch == '-';
    if (!safe) ch = '_';
  }
  // Never a hidden file or a path step.
  if (out.empty() || out.front() == '.') out = "s" + out;
  return out;
}

LessonSummary summarize(const Lesson& lesson) {
  return {lesson.id,     lessonFileStem(lesson.id), lesson.time, lesson.level, lesson.title,
          lesson.events, lesson.debrief.has_value()};
}

std::vector<std::pair<std::string, std::vector<const LessonSummary*>>> curriculum(
    const std::vector<LessonSummary>& lessons) {
  std::map<std::string, std::vector<const LessonSummary*>> by_level;
  for (const auto& lesson : lessons) by_level[lesson.level].push_back(&lesson);
  std::vector<std::pair<std::string, std::vector<const LessonSummary*>>> out;
  for (const auto& level : curriculumOrder(by_level)) out.emplace_back(level, by_level[level]);
  return out;
}

Status forEachLesson(const std::vector<store::ScenarioRecord>& scenarios,
                     const std::function<Status(const Lesson&)>& visit) {
  for (const auto& record : scenarios) {
    auto document = parseScenarioDocument(record);
    if (!document) return document.error();
    if (Status st = visit(buildLesson(*document)); !st.ok()) return st;
  }
  return {};
}

Result<std::vector<LessonSummary>> summarizeAll(
    const std::vector<store::ScenarioRecord>& scenarios) {
  std::vector<LessonSummary> lessons;
  lessons.reserve(scenarios.size());
  Status read = forEachLesson(scenarios, [&](const Lesson& lesson) -> Status {
    lessons.push_back(summarize(lesson));
    return {};
  });
  if (!read.ok()) return read.error();
  return lessons;
}

Result<std::size_t> writeLessonDirectory(const std::vector<store::ScenarioRecord>& scenarios,
                                         const std::string& out_path, const std::string& extension,
                                         const LessonRenderer& render_lesson,
                                         const IndexRenderer& render_index) {
  if (auto st = ensureDirectory(out_path); !st.ok()) return st.error();
  const std::filesystem::path dir(out_path);
  std::vector<LessonSummary> lessons;
  lessons.reserve(scenarios.size());
  Status written = forEachLesson(scenarios, [&](const Lesson& lesson) -> Status {
    lessons.push_back(summarize(lesson));
    const auto file = dir / (lessons.back().stem + extension);
    return writeFileAtomic(file.string(), render_lesson(lesson), Durability::kDeferred);
  });
  if (!written.ok()) return written.error();
  if (auto st = writeFileAtomic((dir / ("index" + extension)).string(), render_index(lessons),
                                Durability::kDeferred);
      !st.ok()) {
    return st.error();
  }
  // One flush for the whole directory instead of one per lesson.
  if (auto st = syncDirectoryFilesystem(out_path); !st.ok()) return st.error();
  return scenarios.size();
}

}  // namespace pso::controller::scenarios
