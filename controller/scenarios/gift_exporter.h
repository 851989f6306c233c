#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "controller/scenarios/exporter.h"

namespace pso::controller::scenarios {

/// "gift": one Moodle GIFT file with every question of the scenarios, in a
/// `$CATEGORY` per learning level (teaching order), for Moodle's question bank
/// import. Numeric questions carry their tolerance (`{#=answer:tolerance#...}`),
/// multiple-choice questions their choices with per-choice feedback, short
/// answers their accepted answer; every question has the scenario's feedback as
/// general feedback (`####`). Scenarios without questions are skipped; the
/// returned count is the number of scenarios that contributed a question.
class GiftExporter : public ScenarioExporter {
 public:
  std::string format() const override { return "gift"; }
  [[nodiscard]] Result<std::size_t> write(const std::vector<store::ScenarioRecord>& scenarios,
                                          const std::string& out_path) const override;
};

/// Text made safe inside a GIFT question: `~ = # { } :` and backslash are
/// escaped with a backslash, and line breaks become spaces (a blank line would
/// end the question).
std::string giftEscape(std::string_view text);

/// The GIFT questions of one scenario document (empty when it has none).
std::string renderGiftQuestions(const nlohmann::json& scenario);

}  // namespace pso::controller::scenarios
