#include "controller/scenarios/gift_exporter.h"

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <map>
#include <sstream>

#include "controller/scenarios/atomic_file.h"
#include "controller/scenarios/scenario_text.h"

namespace pso::controller::scenarios {
namespace {

using nlohmann::json;

// GIFT numbers are plain decimals: no exponent, which %g could produce.
std::string giftNumber(double value) {
  char buffer[64];
  if (value == std::round(value) && std::fabs(value) < 1e15) {
    std::snprintf(buffer, sizeof buffer, "%.0f", value);
    return buffer;
  }
  std::snprintf(buffer, sizeof buffer, "%.6f", value);
  std::string out = buffer;
  while (!out.empty() && out.back() == '0') out.pop_back();
  if (!out.empty() && out.back() == '.') out.pop_back();
  return out;
}

// A question's text; a leading '[' would read as a format marker ([html]...),
// so such text names its format explicitly.
std::string stemText(const std::string& text) {
  std::string escaped = giftEscape(text);
  if (!escaped.empty() && escaped.front() == '[') escaped.insert(0, "[plain]");
  return escaped;
}

std::string feedbackPart(const std::string& feedback) {
  return feedback.empty() ? "" : "#" + giftEscape(feedback);
}

std::string generalFeedback(const json& question) {
  const std::string text = textAt(question, "feedback");
  return text.empty() ? "" : " ####" + giftEscape(text);
}

// One question, or "" when its answer key is unusable (never a broken entry).
std::string renderQuestion(const json& q) {
  const std::string type = textAt(q, "type");
  std::string title = textAt(q, "id");
  const std::string topic = textAt(q, "topic");
  if (!topic.empty()) title += " " + topic;
  std::string out = "::" + giftEscape(title) + "::" + stemText(textAt(q, "prompt")) + " {";
  if (type == "numeric") {
    const double answer = numberAt(q, "answer");
    const double tolerance = std::fabs(numberAt(q, "tolerance", 0.0));
    if (!std::isfinite(answer) || !std::isfinite(tolerance)) return "";
    out += "#=" + giftNumber(answer) + ":" + giftNumber(tolerance) +
           feedbackPart(textAt(q, "feedback"));
  } else if (type == "multiple_choice") {
    const json& choices = memberAt(q, "choices");
    if (!choices.is_array() || choices.size() < 2) return "";
    std::size_t correct = 0;
    for (const auto& c : choices) {
      const bool right = boolAt(c, "correct");
      correct += right ? 1 : 0;
      out += std::string(right ? "=" : "~") + giftEscape(textAt(c, "text")) +
             feedbackPart(textAt(c, "feedback")) + " ";
    }
    if (correct != 1) return "";
    out.pop_back();
  } else if (type == "short_answer") {
    const json& answer = memberAt(q, "answer");
    if (!answer.is_string() || answer.get<std::string>().empty()) return "";
    out += "=" + giftEscape(answer.get<std::string>());
  } else {
    return "";
  }
  out += generalFeedback(q) + "}\n";
  return out;
}

}  // namespace

std::string giftEscape(std::string_view text) {
  std::string out;
  out.reserve(text.size() + 8);
  for (char ch : text) {
    switch (ch) {
      case '~':
      case '=':
      case '#':
      case '{':
      case '}':
      case ':':
      case '\\':
        out += '\\';
        out += ch;
        break;
      case '\n':
      case '\r':
        out += ' ';
        break;
      default:
        out += ch;
    }
  }
  return out;
}

std::string renderGiftQuestions(const json& scenario) {
  const json& questions = memberAt(scenario, "questions");
  if (!questions.is_array()) return "";
  std::string out;
  for (const auto& q : questions) {
    std::string entry = renderQuestion(q);
    if (!entry.empty()) out += entry + "\n";
  }
  if (out.empty()) return out;
  // A comment line cannot break the file: GIFT comments end at the line's end.
  std::string comment = "// scenario " + textAt(scenario, "id") + " (" + textAt(scenario, "time") +
                        "): " + lessonTitle(scenario);
  for (char& ch : comment) {
    if (ch == '\n' || ch == '\r') ch = ' ';
  }
  return comment + "\n" + out;
}

Result<std::size_t> GiftExporter::write(const std::vector<store::ScenarioRecord>& scenarios,
                                        const std::string& out_path) const {
  const auto parent = std::filesystem::path(out_path).parent_path();
  if (!parent.empty()) {
    if (auto st = ensureDirectory(parent.string()); !st.ok()) return st.error();
  }
  // Rendered per level first: a category line applies to every question after it.
  std::map<std::string, std::string> by_level;
  std::size_t contributed = 0;
  for (const auto& record : scenarios) {
    const auto document = json::parse(record.json, nullptr, false);
    if (!document.is_object()) {
      return makeError("invalid",
                       "scenario '" + record.id + "': stored document is not a JSON object");
    }
    std::string questions;
    try {
      questions = renderGiftQuestions(document);
    } catch (const json::exception& e) {
      return makeError("invalid", "scenario '" + record.id + "': " + e.what());
    }
    if (questions.empty()) continue;
    ++contributed;
    by_level[textAt(document, "level")] += questions;
  }
  auto writer = AtomicFileWriter::create(out_path);
  if (!writer.ok()) return writer.error();
  std::ostringstream header;
  header << "// PSO-PRIME scenario questions for Moodle (GIFT): " << contributed
         << " scenarios, one category per learning level.\n\n";
  if (auto st = writer->append(header.str()); !st.ok()) return st.error();
  for (const auto& level : curriculumOrder(by_level)) {
    const std::string category =
        "$CATEGORY: $course$/top/PSO-PRIME/" + giftEscape(levelTitle(level)) + "\n\n";
    if (auto st = writer->append(category); !st.ok()) return st.error();
    if (auto st = writer->append(by_level[level]); !st.ok()) return st.error();
  }
  if (auto st = writer->commit(); !st.ok()) return st.error();
  return contributed;
}

}  // namespace pso::controller::scenarios
