#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "controller/scenarios/exporter.h"

namespace pso::controller::scenarios {

/// "markdown": a directory with one lesson per scenario, `<id>.md` (situation,
/// forecast with interval, a history + forecast table and chart, decision and
/// rationale, reactive baseline, debrief once the outcome is filled, questions
/// with a collapsed answer key), plus `index.md` listing the lessons by level.
/// Every file is written atomically.
class MarkdownExporter : public ScenarioExporter {
 public:
  std::string format() const override { return "markdown"; }
  [[nodiscard]] Result<std::size_t> write(const std::vector<store::ScenarioRecord>& scenarios,
                                          const std::string& out_path) const override;
};

/// The lesson of one scenario document as Markdown.
std::string renderMarkdownLesson(const nlohmann::json& scenario);

/// A scenario id made safe as a file name (anything but [A-Za-z0-9._-] becomes '_').
std::string lessonFileStem(const std::string& scenario_id);

}  // namespace pso::controller::scenarios
