#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "controller/scenarios/exporter.h"
#include "controller/scenarios/lesson.h"

namespace pso::controller::scenarios {

/// "gift": one Moodle GIFT file with every question of the scenarios, in a
/// `$CATEGORY` per learning level (teaching order), for Moodle's question bank
/// import. Numeric questions carry their tolerance (`{#=answer:tolerance#...}`),
/// multiple-choice questions their choices with per-choice feedback, short
/// answers every accepted answer; every question has the scenario's feedback as
/// general feedback (`####`). Scenarios without questions are skipped; the
/// returned count is the number of scenarios that contributed a question.
class GiftExporter : public ScenarioExporter {
 public:
  std::string format() const override { return "gift"; }
  std::string contentType() const override { return "text/plain; charset=utf-8"; }
  [[nodiscard]] Result<std::size_t> writeTo(const std::vector<store::ScenarioRecord>& scenarios,
                                            std::ostream& out) const override;
};

/// Text made safe inside a GIFT question: `~ = # { } :` and backslash are
/// escaped with a backslash, and line breaks become spaces (a blank line would
/// end the question).
std::string giftEscape(std::string_view text);

/// The GIFT questions of one lesson (empty when it has none).
std::string renderGiftQuestions(const Lesson& lesson);
/// The GIFT questions of one scenario document (its lesson's).
std::string renderGiftQuestions(const nlohmann::json& scenario);

}  // namespace pso::controller::scenarios
