#include "controller/scenarios/gift_exporter.h"

#include <cmath>
#include <cstdio>
#include <map>

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

std::string generalFeedback(const LessonQuestion& q) {
  return q.feedback.empty() ? "" : " ####" + giftEscape(q.feedback);
}

// One question, or "" when its answer key is unusable (never a broken entry).
std::string renderQuestion(const LessonQuestion& q) {
  std::string title = q.id;
  if (!q.topic.empty()) title += " " + q.topic;
  std::string out = "::" + giftEscape(title) + "::" + stemText(q.prompt) + " {";
  switch (q.type) {
    case QuestionType::kNumeric: {
      const double tolerance = std::fabs(q.tolerance);
      if (!std::isfinite(q.answer_number) || !std::isfinite(tolerance)) return "";
      out += "#=" + giftNumber(q.answer_number) + ":" + giftNumber(tolerance) +
             feedbackPart(q.feedback);
      break;
    }
    case QuestionType::kMultipleChoice: {
      if (q.choices.size() < 2) return "";
      std::size_t correct = 0;
      for (const auto& c : q.choices) {
        correct += c.correct ? 1 : 0;
        out += std::string(c.correct ? "=" : "~") + giftEscape(c.text) + feedbackPart(c.feedback) +
               " ";
      }
      if (correct != 1) return "";
      out.pop_back();
      break;
    }
    case QuestionType::kShortAnswer: {
      std::string answers;
      for (const auto& a : q.accepted) {
        if (!a.empty()) answers += (answers.empty() ? "=" : " =") + giftEscape(a);
      }
      if (answers.empty()) return "";
      out += answers;
      break;
    }
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

std::string renderGiftQuestions(const Lesson& lesson) {
  std::string out;
  for (const auto& q : lesson.questions) {
    std::string entry = renderQuestion(q);
    if (!entry.empty()) out += entry + "\n";
  }
  if (out.empty()) return out;
  // A comment line cannot break the file: GIFT comments end at the line's end.
  std::string comment = "// scenario " + lesson.id + " (" + lesson.time + "): " + lesson.title;
  for (char& ch : comment) {
    if (ch == '\n' || ch == '\r') ch = ' ';
  }
  return comment + "\n" + out;
}

std::string renderGiftQuestions(const json& scenario) {
  return renderGiftQuestions(buildLesson(scenario));
}

Result<std::size_t> GiftExporter::writeTo(const std::vector<store::ScenarioRecord>& scenarios,
                                          std::ostream& out) const {
  // Rendered per level first: a category line applies to every question after it.
  std::map<std::string, std::string> by_level;
  std::size_t contributed = 0;
  for (const auto& record : scenarios) {
    auto document = parseScenarioDocument(record);
    if (!document) return document.error();
    const Lesson lesson = buildLesson(*document);
    std::string questions = renderGiftQuestions(lesson);
    if (questions.empty()) continue;
    ++contributed;
    by_level[lesson.level] += questions;
  }
  out << "// PSO-PRIME scenario questions for Moodle (GIFT): " << contributed
      << " scenarios, one category per learning level.\n\n";
  for (const auto& level : curriculumOrder(by_level)) {
    out << "$CATEGORY: $course$/top/PSO-PRIME/" << giftEscape(levelTitle(level)) << "\n\n"
        << by_level[level];
  }
  return contributed;
}

}  // namespace pso::controller::scenarios
