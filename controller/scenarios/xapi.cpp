#include "controller/scenarios/xapi.h"

#include <cctype>
#include <cmath>
#include <cstdio>
#include <random>

#include "common/clock.h"
#include "common/text.h"
#include "controller/scenarios/scenario_text.h"

namespace pso::controller::scenarios {
namespace {

using nlohmann::json;

constexpr const char* kInteractionType = "http://adlnet.gov/expapi/activities/cmi.interaction";
constexpr const char* kAssessmentType = "http://adlnet.gov/expapi/activities/assessment";

// Activity ids are IRIs: anything but unreserved characters is percent-encoded.
std::string iriSegment(const std::string& text) {
  return common::percentEncode(text);
}

std::string scenarioActivityId(const XapiContext& ctx, const std::string& scenario_id) {
  return activityBase(ctx.activity_base) + "/scenarios/" + iriSegment(scenario_id);
}

std::string questionActivityId(const XapiContext& ctx, const std::string& scenario_id,
                               const std::string& question_id) {
  return scenarioActivityId(ctx, scenario_id) + "/questions/" + iriSegment(question_id);
}

json languageMap(const std::string& text) {
  return json{{kXapiLanguage, text}};
}

json actor(const XapiContext& ctx) {
  return {{"objectType", "Agent"},
          {"account", {{"homePage", ctx.account_homepage}, {"name", ctx.learner}}}};
}

json verb(const char* id, const char* display) {
  return {{"id", id}, {"display", languageMap(display)}};
}

std::string plainNumber(double value) {
  char buffer[64];
  std::snprintf(buffer, sizeof buffer, "%.10g", value);
  return buffer;
}

std::string choiceId(std::size_t index) {
  return std::string(1, static_cast<char>('a' + index));
}

// The interaction definition of a question: its kind, its correct response
// pattern and, for choices, the choices with their ids (a, b, ...).
json interactionDefinition(const json& q) {
  const std::string type = textAt(q, "type");
  json def = {{"type", kInteractionType},
              {"name", languageMap(textAt(q, "id") + " " + textAt(q, "topic"))},
              {"description", languageMap(textAt(q, "prompt"))}};
  if (type == "numeric") {
    const double answer = numberAt(q, "answer", 0.0);
    const double tolerance = std::fabs(numberAt(q, "tolerance", 0.0));
    def["interactionType"] = "numeric";
    def["correctResponsesPattern"] =
        json::array({plainNumber(answer - tolerance) + "[:]" + plainNumber(answer + tolerance)});
  } else if (type == "multiple_choice") {
    def["interactionType"] = "choice";
    json choices = json::array();
    json pattern = json::array();
    const json& list = memberAt(q, "choices");
    for (std::size_t i = 0; list.is_array() && i < list.size(); ++i) {
      choices.push_back(
          {{"id", choiceId(i)}, {"description", languageMap(textAt(list[i], "text"))}});
      if (boolAt(list[i], "correct")) pattern.push_back(choiceId(i));
    }
    def["choices"] = std::move(choices);
    def["correctResponsesPattern"] = std::move(pattern);
  } else {
    def["interactionType"] = "fill-in";
    json pattern = json::array();
    std::vector<std::string> accepted = stringsAt(q, "accept");
    if (accepted.empty()) accepted.push_back(textAt(q, "answer"));
    for (const auto& answer : accepted) pattern.push_back("{case_matters=false}" + answer);
    def["correctResponsesPattern"] = std::move(pattern);
  }
  return def;
}

std::string responseText(const QuestionGrade& g) {
  if (g.type == "multiple_choice" && g.chosen_index >= 0) {
    return choiceId(static_cast<std::size_t>(g.chosen_index));
  }
  if (g.response.is_string()) return g.response.get<std::string>();
  if (g.response.is_number()) return plainNumber(g.response.get<double>());
  return g.response.dump();
}

const json* findQuestion(const json& doc, const std::string& id) {
  const json& questions = memberAt(doc, "questions");
  if (!questions.is_array()) return nullptr;
  for (const auto& q : questions) {
    if (textAt(q, "id") == id) return &q;
  }
  return nullptr;
}

json context(const XapiContext& ctx, const std::string& scenario_id, const std::string& level,
             bool with_parent) {
  json activities = json::object();
  if (with_parent) {
    activities["parent"] =
        json::array({{{"objectType", "Activity"}, {"id", scenarioActivityId(ctx, scenario_id)}}});
  }
  activities["category"] =
      json::array({{{"objectType", "Activity"},
                    {"id", activityBase(ctx.activity_base) + "/levels/" + iriSegment(level)}}});
  return {
      {"platform", "PSO-PRIME"}, {"language", kXapiLanguage}, {"contextActivities", activities}};
}

}  // namespace

Status validateLearnerId(const std::string& learner) {
  if (learner.empty()) return makeError("invalid", "the learner id is empty");
  if (learner.size() > 255) return makeError("invalid", "the learner id is longer than 255 bytes");
  if (learner.find('@') != std::string::npos) {
    return makeError("invalid", "the learner id '" + learner +
                                    "' looks like an email; use the LMS account id instead");
  }
  for (unsigned char ch : learner) {
    if (std::iscntrl(ch)) return makeError("invalid", "the learner id has a control character");
  }
  return Status();
}

std::string newStatementId() {
  static thread_local std::mt19937_64 generator{std::random_device{}()};
  const uint64_t high = generator();
  const uint64_t low = generator();
  unsigned char bytes[16];
  for (int i = 0; i < 8; ++i) {
    bytes[i] = static_cast<unsigned char>(high >> (56 - 8 * i));
    bytes[8 + i] = static_cast<unsigned char>(low >> (56 - 8 * i));
  }
  bytes[6] = static_cast<unsigned char>((bytes[6] & 0x0F) | 0x40);  // version 4
  bytes[8] = static_cast<unsigned char>((bytes[8] & 0x3F) | 0x80);  // RFC 4122 variant
  char out[37];
  std::snprintf(out, sizeof out,
                "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", bytes[0],
                bytes[1], bytes[2], bytes[3], bytes[4], bytes[5], bytes[6], bytes[7], bytes[8],
                bytes[9], bytes[10], bytes[11], bytes[12], bytes[13], bytes[14], bytes[15]);
  return out;
}

std::string activityBase(std::string base) {
  while (!base.empty() && base.back() == '/') base.pop_back();
  return base;
}

std::string xapiIriSegment(const std::string& text) {
  return iriSegment(text);
}

json buildActivities(const json& scenario, const XapiContext& ctx) {
  const std::string id = textAt(scenario, "id");
  json activities = json::array();
  activities.push_back({{"objectType", "Activity"},
                        {"id", scenarioActivityId(ctx, id)},
                        {"definition",
                         {{"type", kAssessmentType},
                          {"name", languageMap(lessonTitle(scenario))},
                          {"description", languageMap("PSO-PRIME scenario " + id + ", level " +
                                                      levelTitle(textAt(scenario, "level")))}}}});
  for (const auto& q : memberAt(scenario, "questions")) {
    activities.push_back({{"objectType", "Activity"},
                          {"id", questionActivityId(ctx, id, textAt(q, "id"))},
                          {"definition", interactionDefinition(q)}});
  }
  return activities;
}

json buildStatements(const GradeReport& report, const std::map<std::string, json>& scenarios,
                     const XapiContext& ctx) {
  const std::string timestamp = common::formatIso8601(ctx.timestamp_ms);
  json statements = json::array();
  for (const auto& g : report.questions) {
    if (!g.answered) continue;
    auto doc = scenarios.find(g.scenario_id);
    const json* q = doc == scenarios.end() ? nullptr : findQuestion(doc->second, g.question_id);
    if (q == nullptr) continue;
    statements.push_back(
        {{"id", newStatementId()},
         {"actor", actor(ctx)},
         {"verb", verb(kVerbAnswered, "answered")},
         {"object",
          {{"objectType", "Activity"},
           {"id", questionActivityId(ctx, g.scenario_id, g.question_id)},
           {"definition", interactionDefinition(*q)}}},
         {"result",
          {{"success", g.correct},
           {"response", responseText(g)},
           {"score", {{"scaled", g.score}, {"raw", g.score}, {"min", 0}, {"max", 1}}}}},
         {"context", context(ctx, g.scenario_id, g.level, true)},
         {"timestamp", timestamp},
         {"version", kXapiVersion}});
  }
  for (const auto& s : report.scenarios) {
    statements.push_back(
        {{"id", newStatementId()},
         {"actor", actor(ctx)},
         {"verb", s.passed ? verb(kVerbPassed, "passed") : verb(kVerbFailed, "failed")},
         {"object",
          {{"objectType", "Activity"},
           {"id", scenarioActivityId(ctx, s.scenario_id)},
           {"definition",
            {{"type", kAssessmentType},
             {"name", languageMap(s.title)},
             {"description", languageMap("PSO-PRIME scenario " + s.scenario_id + ", level " +
                                         levelTitle(s.level))}}}}},
         {"result",
          {{"success", s.passed},
           {"completion", true},
           {"score",
            {{"scaled", s.score},
             {"raw", static_cast<int64_t>(s.correct)},
             {"min", 0},
             {"max", static_cast<int64_t>(s.questions)}}}}},
         {"context", context(ctx, s.scenario_id, s.level, false)},
         {"timestamp", timestamp},
         {"version", kXapiVersion}});
  }
  return statements;
}

}  // namespace pso::controller::scenarios
