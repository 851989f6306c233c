#pragma once

// The lesson of one scenario: a typed model built once from a scenario
// document (schema 1 or 2), which the Markdown and HTML renderers, the GIFT
// exporter and the question writer read instead of walking the JSON. Every
// quantity has one name (kPlannedDemandName, kIntervalTopName) and one value,
// and the numbers a learner sees are the numbers questions are keyed on
// (shownNumber()).

#include <cstdint>
#include <limits>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "controller/engine/types.h"

namespace pso::controller::scenarios {

inline constexpr double kUnknown = std::numeric_limits<double>::quiet_NaN();

/// The one name of the demand the predictive plan sizes for (a quantile of
/// the forecast), and of the top of the reported prediction interval. The
/// lessons and the questions use these words and no other for the two.
inline constexpr const char* kPlannedDemandName = "planned demand";
inline constexpr const char* kIntervalTopName = "upper end of the interval";

/// Forecast steps a lesson's forecast table shows; a question about the
/// forecast asks only about steps the table shows.
inline constexpr std::size_t kForecastRowsShown = 24;
/// History rows before "now" in a lesson's table.
inline constexpr std::size_t kHistoryRowsShown = 12;

/// A number as a lesson prints it (formatNumber), read back: what a learner
/// computes with. NaN stays NaN.
double shownNumber(double value);
/// A fraction as a lesson prints it (formatPercent), read back as a fraction.
double shownFraction(double fraction);

enum class QuestionType { kNumeric, kMultipleChoice, kShortAnswer };

/// What a multiple-choice option states, as a fact that can be checked
/// against the lesson: a replica count (topic action), a reason (topic
/// reactive_late, one of the kLate* codes) or a system (topic bottleneck_system).
struct ChoiceClaim {
  std::optional<int64_t> replicas;
  std::string reason;
  std::string system;
};

/// The reasons a reactive_late option can give.
inline constexpr const char* kLateSizesForNow = "sizes_for_now";
inline constexpr const char* kLateScaleUpLimit = "scale_up_limit";
inline constexpr const char* kLateIgnoresTarget = "ignores_target";
inline constexpr const char* kLateStabilizationDelays = "stabilization_delays_scale_up";
inline constexpr const char* kLateBoundedBelow = "bounded_below_engine";

struct LessonChoice {
  std::string text;
  bool correct = false;
  std::string feedback;
  ChoiceClaim claim;  ///< empty in schema-1 documents
};

struct LessonQuestion {
  std::string id;
  QuestionType type = QuestionType::kShortAnswer;
  std::string topic;
  std::string system;
  std::string prompt;
  double answer_number = kUnknown;  ///< numeric
  double tolerance = 0.0;           ///< numeric
  /// Multiple choice: the correct choice's text. Short answer: the key.
  std::string answer_text;
  /// Short answer: every answer graded correct (the key first).
  std::vector<std::string> accepted;
  std::vector<LessonChoice> choices;
  std::string feedback;
};

struct HistoryPoint {
  double offset_s = 0.0;  ///< seconds relative to the cycle (<= 0)
  double demand = kUnknown;
};

struct ForecastStep {
  int64_t step = 0;  ///< 1..horizon
  double offset_s = 0.0;
  double point = kUnknown;
  double lo = kUnknown;
  double hi = kUnknown;
};

struct LessonBottleneck {
  std::string kind;  ///< capacity | pool
  std::string eta;
  int64_t eta_ms = 0;
  int64_t steps_ahead = 0;
  double predicted_demand = kUnknown;
  double capacity = kUnknown;
  double probability = kUnknown;
};

struct LessonForecast {
  std::string label;  ///< the model as the engine reported it ("auto: holt")
  /// Schema 2: which model, as typed fields; absent in schema 1.
  std::optional<engine::ForecastProvenance> provenance;
  double coverage = 0.9;
  double backtest_mae = kUnknown;
  int64_t observations = 0;
  std::vector<ForecastStep> steps;
  int64_t lead_steps = 0;
  double planned_demand = kUnknown;
  double planning_quantile = kUnknown;  ///< schema 2
  int64_t planned_steps = 0;            ///< warm-up plus one (fewer for a short forecast)
  std::optional<LessonBottleneck> bottleneck;
};

struct LessonCandidate {
  int64_t replicas = 0;
  double predicted_utilization = kUnknown;
  double overload_probability = kUnknown;
  double cost_replica_hours = kUnknown;
  std::string note;
  bool chosen = false;
};

struct LessonDecision {
  std::string rule_code;                     ///< as stored ("predictive-upper-quantile", "hold")
  std::optional<engine::DecisionRule> rule;  ///< schema 2 (or a schema-1 code that names one)
  bool has_facts = false;                    ///< schema 2: the effects below are complete
  int64_t current = 0;
  int64_t recommended = 0;
  int64_t desired = 0;
  bool dispatch = false;
  std::string rationale;           ///< the engine's own sentences
  std::vector<std::string> notes;  ///< each coordination and guardrail note, in words
  std::vector<engine::CoordinationEffect> coordination;
  std::vector<engine::GuardrailEffect> guardrails;
  std::vector<std::string> pools;
  int64_t observations = 0;
  int64_t min_observations = 0;
  int64_t plan_replicas = 0;   ///< the forecast's own count (0 in documents before it was kept)
  int64_t floor_replicas = 0;  ///< the observed-demand floor (0: none)
  std::vector<LessonCandidate> candidates;

  bool held() const;  ///< an operator hold set the count
  /// The forecast sized the count (engine::sizedByForecast: the plan, at a
  /// bound, or kept within the tolerance) and nothing after it changed it.
  bool plannedByForecast() const;
};

struct LessonReactive {
  int64_t replicas = 0;
  std::string rationale;                       ///< the HPA rule's own sentence
  std::optional<engine::ReactiveFacts> facts;  ///< schema 2
  bool differs = false;
  /// Why the engine's count differs from the HPA rule's (or that it does not),
  /// written from the facts; a schema-1 document's stored sentence.
  std::string comparison;
};

struct SystemDebrief {
  int64_t samples = 0;
  double forecast_mae = kUnknown;
  double inside_interval = kUnknown;
  double max_demand = kUnknown;
  bool overload = false;
  std::string overload_at;
  std::optional<bool> bottleneck_avoided;
};

struct LessonSystem {
  std::string name;
  double demand = kUnknown;  ///< observed this step: the "now" of every table and chart
  std::optional<int64_t> current;
  std::optional<int64_t> ready;
  double capacity_per_replica = kUnknown;
  double target_utilization = kUnknown;
  double ready_capacity = kUnknown;
  double utilization = kUnknown;
  std::optional<int64_t> min_replicas;
  std::optional<int64_t> max_replicas;
  double warmup_s = kUnknown;
  std::vector<std::string> depends_on;
  /// Demand before the cycle, oldest first, ending with `demand` at offset 0.
  std::vector<HistoryPoint> history;
  std::optional<LessonForecast> forecast;
  std::optional<LessonDecision> decision;
  std::optional<LessonReactive> reactive;
  std::optional<SystemDebrief> debrief;
};

struct LessonDirective {
  std::string id;
  std::string system;
  int64_t replicas = -1;
  std::string source;
  std::string status;
  std::string reason;
};

struct LessonDebrief {
  std::string from;
  std::string to;
  std::string verdict;
  std::vector<std::string> went_well;
  std::vector<std::string> went_wrong;
  std::vector<std::string> got_lucky;
};

struct Lesson {
  std::string id;
  int schema_version = 1;
  std::string cycle_id;
  std::string time;
  int64_t ts_ms = 0;
  std::string mode = "act";
  double step_s = 15.0;
  bool quiet = false;
  std::string level;
  std::vector<std::string> events;
  std::string title;
  std::vector<LessonSystem> systems;
  /// Systems the cycle covers as an earlier document describes them (schema
  /// 3): name and that scenario's id, by name.
  std::vector<std::pair<std::string, std::string>> unchanged;
  std::vector<LessonDirective> directives;
  std::vector<std::string> workflow_notes;
  std::optional<LessonDebrief> debrief;  ///< once the outcome is filled
  std::vector<LessonQuestion> questions;

  const LessonSystem* system(const std::string& name) const;
};

/// The lesson of a scenario document. Never throws: a missing or mistyped
/// field reads as unknown, so stored documents of any schema version render.
Lesson buildLesson(const nlohmann::json& scenario);

/// Why the engine's count differs from the HPA rule's, or that both agree,
/// from the system's typed facts (schema 2); the stored sentence otherwise.
std::string reactiveComparison(const LessonSystem& system);
/// Why the HPA rule recommends its count, from its facts ("it sizes for the
/// demand observed now (412); its scale-up limit holds it at 8").
std::string reactiveReasonText(const LessonSystem& system);
/// What set the engine's count, from the decision's facts, as a phrase
/// whose subject is the engine ("sizes for the planned demand of 465.5, ...:
/// 17 replicas; the step limit changes 17 to 16"); a schema-1 document's
/// rationale.
std::string engineReasonText(const LessonSystem& system);
/// A guardrail as the lessons name it ("the step limit", "an operator hold").
std::string guardrailName(engine::GuardrailKind kind);
/// "the highest 80% quantile of the forecast over the next 3 steps (warm-up plus one)".
std::string plannedDemandDefinition(const LessonForecast& forecast);

/// One row of a system's timeline: a past demand, now, or a forecast step.
struct TimelineRow {
  double offset_s = 0.0;  ///< seconds relative to the cycle
  double demand = kUnknown;
  double point = kUnknown;
  double lo = kUnknown;
  double hi = kUnknown;
  /// Capacity serving then: unknown before now (a scenario keeps no capacity
  /// history), the ready capacity from now until the warm-up has passed, then
  /// the decided count's.
  double capacity = kUnknown;
};

/// The last `history_rows` demands before now, now (the situation's demand),
/// and the first `forecast_rows` forecast steps, in time order: what the
/// lesson's table and chart draw.
std::vector<TimelineRow> timeline(const LessonSystem& system, std::size_t history_rows,
                                  std::size_t forecast_rows);

/// A question as stored in a scenario document, and back.
nlohmann::json questionJson(const LessonQuestion& question);
LessonQuestion questionFromJson(const nlohmann::json& question);

}  // namespace pso::controller::scenarios
