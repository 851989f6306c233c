#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "controller/scenarios/exporter.h"

namespace pso::controller::scenarios {

/// "html": a directory with one self-contained lesson per scenario,
/// `<id>.html` (situation, an inline SVG chart per system of the history, the
/// forecast and its interval band, capacity before and after the decision;
/// the decision and rationale, the reactive baseline, the debrief: what went
/// well, what went wrong, where it got lucky; questions with a collapsed
/// answer key), plus `index.html`, the curriculum: lessons grouped by learning
/// level in teaching order. No scripts and no external resources, so a lesson
/// opens offline and can be uploaded to an LMS as a page. Files are written
/// atomically.
class HtmlExporter : public ScenarioExporter {
 public:
  std::string format() const override { return "html"; }
  [[nodiscard]] Result<std::size_t> write(const std::vector<store::ScenarioRecord>& scenarios,
                                          const std::string& out_path) const override;
};

/// The lesson of one scenario document as an HTML page.
std::string renderHtmlLesson(const nlohmann::json& scenario);

/// The SVG chart of one system of a scenario ("" when there is nothing to draw).
std::string renderSvgChart(const nlohmann::json& scenario, const std::string& system);

/// Text made safe for HTML element content and attribute values.
std::string htmlEscape(std::string_view text);

}  // namespace pso::controller::scenarios
