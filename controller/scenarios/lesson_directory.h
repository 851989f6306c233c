#pragma once

#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "common/result.h"
#include "controller/store/store.h"

namespace pso::controller::scenarios {

/// Renders one lesson page from a scenario document.
using LessonRenderer = std::function<std::string(const nlohmann::json& scenario)>;
/// Renders the curriculum index from the lessons' identity fields (id, time,
/// level, events, systems, quiet, cycle_id, rationale, outcome.filled).
using IndexRenderer = std::function<std::string(const std::vector<nlohmann::json>& lessons)>;

/// Writes a per-lesson export: the directory `out_path` (created if missing)
/// gets one `<id><extension>` file per scenario and `index<extension>`, each
/// written atomically, with one flush for the whole directory at the end.
/// Returns the number of lessons; a stored document that is not a JSON object,
/// or one the renderer cannot read, is an Error naming the scenario.
[[nodiscard]] Result<std::size_t> writeLessonDirectory(
    const std::vector<store::ScenarioRecord>& scenarios, const std::string& out_path,
    const std::string& extension, const LessonRenderer& render_lesson,
    const IndexRenderer& render_index);

}  // namespace pso::controller::scenarios
