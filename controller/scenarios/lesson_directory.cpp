#include "controller/scenarios/lesson_directory.h"

#include <filesystem>

#include "controller/scenarios/atomic_file.h"
#include "controller/scenarios/markdown_exporter.h"
#include "controller/scenarios/scenario.h"
#include "controller/scenarios/scenario_text.h"

namespace pso::controller::scenarios {

using nlohmann::json;

Result<std::size_t> writeLessonDirectory(const std::vector<store::ScenarioRecord>& scenarios,
                                         const std::string& out_path, const std::string& extension,
                                         const LessonRenderer& render_lesson,
                                         const IndexRenderer& render_index) {
  if (auto st = ensureDirectory(out_path); !st.ok()) return st.error();
  const std::filesystem::path dir(out_path);
  std::vector<json> lessons;
  lessons.reserve(scenarios.size());
  for (const auto& record : scenarios) {
    auto document = json::parse(record.json, nullptr, false);
    if (!document.is_object()) {
      return makeError("invalid",
                       "scenario '" + record.id + "': stored document is not a JSON object");
    }
    if (textAt(document, "id").empty()) document["id"] = record.id;
    std::string text;
    try {
      text = render_lesson(document);
    } catch (const json::exception& e) {
      return makeError("invalid", "scenario '" + record.id + "': " + e.what());
    }
    const auto file = dir / (lessonFileStem(textAt(document, "id")) + extension);
    if (auto st = writeFileAtomic(file.string(), text, Durability::kDeferred); !st.ok()) {
      return st.error();
    }
    // The index needs only identity fields; drop the bulk to keep memory flat.
    json summary = json::object();
    for (const char* key :
         {"id", "time", "level", "events", "systems", "quiet", "cycle_id", "rationale"}) {
      if (document.contains(key)) summary[key] = std::move(document[key]);
    }
    summary["outcome"] =
        memberAt(document, "outcome").is_object() ? json{{"filled", true}} : json(nullptr);
    lessons.push_back(std::move(summary));
  }
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
