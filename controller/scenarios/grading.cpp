#include "controller/scenarios/grading.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdlib>
#include <optional>
#include <set>

#include "controller/scenarios/scenario_text.h"

namespace pso::controller::scenarios {
namespace {

using nlohmann::json;

std::string normalized(const std::string& text) {
  std::size_t begin = 0, end = text.size();
  while (begin < end && std::isspace(static_cast<unsigned char>(text[begin]))) ++begin;
  while (end > begin && std::isspace(static_cast<unsigned char>(text[end - 1]))) --end;
  std::string out = text.substr(begin, end - begin);
  for (char& ch : out) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  return out;
}

// A numeric response: a JSON number, or a string holding exactly one number.
std::optional<double> numericResponse(const json& response) {
  if (response.is_number()) return response.get<double>();
  if (!response.is_string()) return std::nullopt;
  const std::string text = normalized(response.get<std::string>());
  if (text.empty()) return std::nullopt;
  char* end = nullptr;
  const double value = std::strtod(text.c_str(), &end);
  if (end != text.c_str() + text.size() || !std::isfinite(value)) return std::nullopt;
  return value;
}

void gradeNumeric(const json& q, const json& response, QuestionGrade& g) {
  const double answer = numberAt(q, "answer");
  const double tolerance = std::fabs(numberAt(q, "tolerance", 0.0));
  const std::string key =
      formatNumber(answer) + (tolerance > 0 ? " (+/- " + formatNumber(tolerance) + ")" : "");
  const auto value = numericResponse(response);
  if (!value) {
    g.feedback = "Expected a number: " + key + ". " + textAt(q, "feedback");
    return;
  }
  // A hair of slack so 37.8 +/- 3.78 accepts 34.02 despite binary rounding.
  g.correct = std::isfinite(answer) &&
              std::fabs(*value - answer) <= tolerance + 1e-9 * std::max(1.0, std::fabs(answer));
  g.feedback =
      (g.correct ? "Correct. " : "Not quite: the answer is " + key + ". ") + textAt(q, "feedback");
}

void gradeChoice(const json& q, const json& response, QuestionGrade& g) {
  const json& choices = memberAt(q, "choices");
  if (!choices.is_array() || !response.is_string()) {
    g.feedback = "Expected a choice letter or a choice's text. " + textAt(q, "feedback");
    return;
  }
  const std::string text = normalized(response.get<std::string>());
  int index = -1;
  if (text.size() == 1 && text[0] >= 'a' && text[0] <= 'z' &&
      static_cast<std::size_t>(text[0] - 'a') < choices.size()) {
    index = text[0] - 'a';
  } else {
    for (std::size_t i = 0; i < choices.size(); ++i) {
      if (normalized(textAt(choices[i], "text")) == text) index = static_cast<int>(i);
    }
  }
  g.chosen_index = index;
  if (index < 0) {
    g.feedback = "That is none of the choices. " + textAt(q, "feedback");
    return;
  }
  const json& chosen = choices[static_cast<std::size_t>(index)];
  g.correct = boolAt(chosen, "correct");
  g.feedback = (g.correct ? "Correct. " : "Not quite. ") + textAt(chosen, "feedback");
  if (!g.correct) g.feedback += " The answer: " + textAt(q, "answer") + ".";
}

void gradeShortAnswer(const json& q, const json& response, QuestionGrade& g) {
  const std::string answer = textAt(q, "answer");
  if (!response.is_string()) {
    g.feedback = "Expected a word: " + answer + ". " + textAt(q, "feedback");
    return;
  }
  // Schema 2 lists every accepted spelling (the model and its family, the
  // engine's full label); the key is always one of them.
  std::vector<std::string> accepted = stringsAt(q, "accept");
  accepted.push_back(answer);
  const std::string given = normalized(response.get<std::string>());
  g.correct =
      !answer.empty() && std::any_of(accepted.begin(), accepted.end(), [&](const std::string& a) {
        return !a.empty() && normalized(a) == given;
      });
  g.feedback = (g.correct ? "Correct. " : "Not quite: the answer is " + answer + ". ") +
               textAt(q, "feedback");
}

}  // namespace

QuestionGrade gradeQuestion(const json& question, const json& response) {
  QuestionGrade g;
  g.question_id = textAt(question, "id");
  g.scenario_id = scenarioIdOfQuestion(g.question_id);
  g.type = textAt(question, "type");
  g.topic = textAt(question, "topic");
  g.response = response;
  g.answered = !response.is_null();
  if (!g.answered) {
    g.feedback = "Not answered. " + textAt(question, "feedback");
    return g;
  }
  if (g.type == "numeric") {
    gradeNumeric(question, response, g);
  } else if (g.type == "multiple_choice") {
    gradeChoice(question, response, g);
  } else if (g.type == "short_answer") {
    gradeShortAnswer(question, response, g);
  } else {
    g.feedback = "Question type '" + g.type + "' cannot be graded.";
  }
  g.score = g.correct ? 1.0 : 0.0;
  return g;
}

std::string scenarioIdOfQuestion(const std::string& question_id) {
  const auto dash = question_id.rfind("-q");
  if (dash == std::string::npos || dash == 0 || dash + 2 >= question_id.size()) return "";
  for (std::size_t i = dash + 2; i < question_id.size(); ++i) {
    if (!std::isdigit(static_cast<unsigned char>(question_id[i]))) return "";
  }
  return question_id.substr(0, dash);
}

Result<GradeReport> gradeAnswers(const std::map<std::string, json>& scenarios, const json& answers,
                                 double pass_threshold) {
  if (!answers.is_object()) {
    return makeError("invalid", "answers must be a JSON object mapping question ids to answers");
  }
  // Which scenarios were attempted, in the order of the answers file's ids.
  std::vector<std::string> attempted;
  std::set<std::string> seen;
  for (const auto& [question_id, response] : answers.items()) {
    const std::string scenario_id = scenarioIdOfQuestion(question_id);
    if (scenario_id.empty()) {
      return makeError("invalid",
                       "answer '" + question_id + "': not a question id (<scenario>-q<n>)");
    }
    auto it = scenarios.find(scenario_id);
    if (it == scenarios.end()) {
      return makeError("invalid",
                       "answer '" + question_id + "': unknown scenario '" + scenario_id + "'");
    }
    const json& questions = memberAt(it->second, "questions");
    const bool known = questions.is_array() && std::any_of(questions.begin(), questions.end(),
                                                           [&id = question_id](const json& q) {
                                                             return textAt(q, "id") == id;
                                                           });
    if (!known) {
      return makeError("invalid", "answer '" + question_id + "': scenario '" + scenario_id +
                                      "' has no such question");
    }
    if (seen.insert(scenario_id).second) attempted.push_back(scenario_id);
  }

  GradeReport report;
  for (const auto& scenario_id : attempted) {
    const json& doc = scenarios.at(scenario_id);
    ScenarioGrade sg;
    sg.scenario_id = scenario_id;
    sg.level = textAt(doc, "level");
    sg.title = lessonTitle(doc);
    for (const auto& q : memberAt(doc, "questions")) {
      const std::string id = textAt(q, "id");
      const json& response = answers.contains(id) ? answers.at(id) : json(nullptr);
      QuestionGrade g = gradeQuestion(q, response);
      g.scenario_id = scenario_id;
      g.level = sg.level;
      ++sg.questions;
      sg.answered += g.answered ? 1 : 0;
      sg.correct += g.correct ? 1 : 0;
      report.questions.push_back(std::move(g));
    }
    sg.score =
        sg.questions ? static_cast<double>(sg.correct) / static_cast<double>(sg.questions) : 0.0;
    sg.passed = sg.questions > 0 && sg.score >= pass_threshold;
    report.scenarios.push_back(std::move(sg));
  }
  return report;
}

std::vector<Competency> competencyByLevel(const std::vector<store::AttemptRecord>& attempts,
                                          double threshold) {
  // Latest attempt per question: attempts come oldest first, ties by id.
  std::map<std::string, const store::AttemptRecord*> latest;
  for (const auto& a : attempts) {
    auto& slot = latest[a.question_id];
    if (!slot || a.ts_ms > slot->ts_ms || (a.ts_ms == slot->ts_ms && a.id > slot->id)) slot = &a;
  }
  std::map<std::string, Competency> by_level;
  for (const auto& [question, attempt] : latest) {
    Competency& c = by_level[attempt->level];
    c.level = attempt->level;
    ++c.questions;
    c.correct += attempt->correct ? 1 : 0;
  }
  std::vector<Competency> out;
  for (const auto& level : curriculumOrder(by_level)) {
    Competency c = by_level[level];
    c.score = c.questions ? static_cast<double>(c.correct) / static_cast<double>(c.questions) : 0.0;
    c.competent = c.questions > 0 && c.score >= threshold;
    out.push_back(std::move(c));
  }
  return out;
}

}  // namespace pso::controller::scenarios
