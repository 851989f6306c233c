#include "controller/scenarios/questions.h"

#include <algorithm>
#include <cmath>

#include "controller/engine/wording.h"
#include "controller/scenarios/scenario_text.h"

namespace pso::controller::scenarios {
namespace {

using engine::DecisionRule;
using engine::ReactiveReason;

constexpr std::size_t kMaxQuestionSystems = 3;
constexpr std::size_t kMaxDistractors = 3;
constexpr double kDemandTolerance = 0.10;

class QuestionWriter {
 public:
  explicit QuestionWriter(std::string scenario_id) : scenario_id_(std::move(scenario_id)) {}

  LessonQuestion& add(QuestionType type, const std::string& topic, const std::string& system,
                      const std::string& prompt) {
    LessonQuestion q;
    q.id = scenario_id_ + "-q" + std::to_string(questions_.size() + 1);
    q.type = type;
    q.topic = topic;
    q.system = system;
    q.prompt = prompt;
    questions_.push_back(std::move(q));
    return questions_.back();
  }
  std::size_t size() const { return questions_.size(); }
  std::vector<LessonQuestion> take() { return std::move(questions_); }

 private:
  std::string scenario_id_;
  std::vector<LessonQuestion> questions_;
};

bool isPredictive(const LessonDecision& d) {
  return d.rule && engine::sizedByForecast(*d.rule);
}

bool acting(const Lesson& lesson, const LessonSystem& sys) {
  if (sys.decision && sys.decision->desired != sys.decision->current) return true;
  return std::any_of(lesson.directives.begin(), lesson.directives.end(),
                     [&](const LessonDirective& d) { return d.system == sys.name; });
}

std::string replicasText(int64_t count) {
  return engine::formatReplicas(count);
}

// The capacity `replicas` serve at the target, from the numbers shown.
double servedAtTarget(const LessonSystem& sys, int64_t replicas) {
  return shownNumber(static_cast<double>(replicas) * shownNumber(sys.capacity_per_replica) *
                     shownFraction(sys.target_utilization));
}

void addReplicasQuestion(QuestionWriter& writer, const LessonSystem& sys) {
  const LessonDecision& d = *sys.decision;
  if (!d.has_facts || !d.rule || !d.coordination.empty()) return;
  double demand = kUnknown;
  std::string what;
  // A count kept within the tolerance is not the one the planned demand needs.
  if (isPredictive(d) && *d.rule != DecisionRule::kPredictiveWithinTolerance && sys.forecast) {
    demand = shownNumber(sys.forecast->planned_demand);
    what = "the engine sizes for a " + std::string(kPlannedDemandName) + " of " +
           formatNumber(demand) + ", " + plannedDemandDefinition(*sys.forecast);
  } else if (*d.rule == DecisionRule::kDemandAtTarget) {
    demand = shownNumber(sys.demand);
    what = "the engine sizes for the demand observed now, " + formatNumber(demand);
  } else {
    return;
  }
  const double cap = shownNumber(sys.capacity_per_replica);
  const double target = shownFraction(sys.target_utilization);
  if (!(cap > 0) || !(target > 0) || !std::isfinite(demand)) return;
  const double raw = demand / (cap * target);
  int64_t needed = engine::ceilCount(raw);
  const bool bounded = sys.min_replicas && sys.max_replicas;
  if (bounded) {
    needed = std::clamp(needed, *sys.min_replicas, std::max(*sys.min_replicas, *sys.max_replicas));
  }
  if (needed != d.recommended) return;

  std::string prompt = sys.name + ": " + what + ". One replica serves " + formatNumber(cap) +
                       " at 100% and the target utilisation is " + formatPercent(target) + ".";
  if (bounded) {
    prompt += " The system runs between " + std::to_string(*sys.min_replicas) + " and " +
              std::to_string(*sys.max_replicas) + " replicas.";
  }
  prompt += " How many replicas does that demand need at the target utilisation?";
  LessonQuestion& q = writer.add(QuestionType::kNumeric, "replicas_needed", sys.name, prompt);
  q.answer_number = static_cast<double>(needed);
  q.tolerance = 0;
  q.feedback = formatNumber(demand) + " / (" + formatNumber(cap) + " x " + formatNumber(target) +
               ") = " + formatNumber(raw) + ", rounded up" +
               (bounded ? " and kept within the bounds" : "") + ": " + replicasText(needed) +
               ". The engine " + engineReasonText(sys) + ".";
}

void addIntervalQuestion(QuestionWriter& writer, const LessonSystem& sys, double step_s) {
  if (!sys.forecast) return;
  const LessonForecast& f = *sys.forecast;
  const auto steps = static_cast<std::size_t>(std::max<int64_t>(f.planned_steps, 0));
  if (steps == 0 || steps > f.steps.size() || steps > kForecastRowsShown) return;
  std::size_t peak = steps;
  double answer = kUnknown;
  for (std::size_t k = 0; k < steps; ++k) {
    const double hi = shownNumber(f.steps[k].hi);
    if (std::isfinite(hi) && (!std::isfinite(answer) || hi > answer)) {
      answer = hi;
      peak = k;
    }
  }
  if (!std::isfinite(answer)) return;
  const std::string prompt = sys.name + ": replicas launched now serve after a warm-up of " +
                             engine::formatSteps(f.lead_steps) + ", so the engine looks " +
                             engine::formatSteps(f.planned_steps) + " (" +
                             formatNumber(static_cast<double>(steps) * step_s) +
                             " s) ahead. Over those steps, " + "what is the highest " +
                             kIntervalTopName + " (the forecast's " + formatPercent(f.coverage) +
                             " interval)?";
  LessonQuestion& q = writer.add(QuestionType::kNumeric, "demand_at_horizon", sys.name, prompt);
  q.answer_number = answer;
  q.tolerance = std::fabs(answer) * kDemandTolerance;
  q.feedback = "The forecast's " + formatPercent(f.coverage) + " interval is highest at step " +
               std::to_string(peak + 1) + ": " + kIntervalTopName + " " + formatNumber(answer) +
               ", point forecast " + formatNumber(shownNumber(f.steps[peak].point)) + ".";
}

void addActionQuestion(QuestionWriter& writer, const LessonSystem& sys) {
  const LessonDecision& d = *sys.decision;
  struct Offer {
    int64_t replicas;
    std::string feedback;
  };
  std::vector<Offer> distractors;
  auto offer = [&](int64_t replicas, const std::string& feedback) {
    if (replicas < 0 || replicas == d.desired) return;
    for (const auto& c : distractors) {
      if (c.replicas == replicas) return;
    }
    distractors.push_back({replicas, feedback});
  };
  const bool planned = isPredictive(d) && sys.forecast;
  const double cap = sys.capacity_per_replica;
  auto utilisationAt = [&](int64_t replicas) {
    return formatPercent(sys.forecast->planned_demand / (static_cast<double>(replicas) * cap));
  };
  const std::string engine_reason = "The engine " + engineReasonText(sys) + ".";
  if (sys.reactive) {
    offer(sys.reactive->replicas,
          "That is the HPA rule's count: " + reactiveReasonText(sys) + ". " + engine_reason);
  }
  for (const auto& c : d.candidates) {
    std::string feedback = replicasText(c.replicas) + ": predicted utilisation " +
                           formatPercent(c.predicted_utilization) + " at the " +
                           kPlannedDemandName + ", overload probability " +
                           formatPercent(c.overload_probability);
    if (!c.note.empty()) feedback += " (" + c.note + ")";
    offer(c.replicas, feedback + ". " + engine_reason);
  }
  offer(d.current,
        "Keeping " + replicasText(d.current) + " is not what the engine decided. " + engine_reason);
  if (d.recommended != d.desired) {
    offer(d.recommended, replicasText(d.recommended) +
                             " was the engine's own plan before coordination or guardrails "
                             "changed it. " +
                             engine_reason);
  }
  for (int64_t delta : {1, -1, 2, -2, 3}) {
    if (distractors.size() >= kMaxDistractors) break;
    const int64_t r = d.desired + delta;
    if (r < std::max<int64_t>(sys.min_replicas.value_or(0), 0) ||
        (sys.max_replicas && r > *sys.max_replicas)) {
      continue;
    }
    std::string feedback = replicasText(r) + " is not the engine's count. ";
    if (planned && r > 0 && cap > 0) {
      feedback = replicasText(r) + " would run at " + utilisationAt(r) + " of capacity at the " +
                 kPlannedDemandName + ", against a target of " +
                 formatPercent(sys.target_utilization) + ". ";
    }
    offer(r, feedback + engine_reason);
  }
  if (distractors.size() > kMaxDistractors) distractors.resize(kMaxDistractors);
  if (distractors.empty()) return;

  std::vector<std::pair<int64_t, LessonChoice>> choices;
  LessonChoice right{scaleText(d.current, d.desired), true, engine_reason, {}};
  right.claim.replicas = d.desired;
  choices.emplace_back(d.desired, right);
  for (const auto& c : distractors) {
    LessonChoice wrong{scaleText(d.current, c.replicas), false, c.feedback, {}};
    wrong.claim.replicas = c.replicas;
    choices.emplace_back(c.replicas, wrong);
  }
  // Ordered by count so the correct answer's position carries no hint.
  std::sort(choices.begin(), choices.end(),
            [](const auto& a, const auto& b) { return a.first < b.first; });

  std::string prompt = sys.name + ": demand now is " + formatNumber(sys.demand) + " with " +
                       replicasText(d.current) + " running";
  if (planned) {
    prompt += "; the engine's " + std::string(kPlannedDemandName) + " is " +
              formatNumber(sys.forecast->planned_demand) + ", " +
              plannedDemandDefinition(*sys.forecast);
  }
  if (sys.reactive) prompt += ". The HPA rule would set " + replicasText(sys.reactive->replicas);
  prompt += ". Which action did the engine take?";
  LessonQuestion& q = writer.add(QuestionType::kMultipleChoice, "action", sys.name, prompt);
  for (auto& [replicas, choice] : choices) q.choices.push_back(std::move(choice));
  q.answer_text = scaleText(d.current, d.desired);
  q.feedback = sys.reactive ? reactiveComparison(sys) : engine_reason;
}

// Why the HPA rule stays below a forecast-planned scale-up. Exactly one
// option is true: the rule's own reason from its facts.
void addReactiveLateQuestion(QuestionWriter& writer, const LessonSystem& sys) {
  const LessonDecision& d = *sys.decision;
  if (!sys.reactive || !sys.reactive->facts || !sys.forecast || !d.plannedByForecast()) return;
  const engine::ReactiveFacts& rf = *sys.reactive->facts;
  const int64_t reactive = sys.reactive->replicas;
  const LessonForecast& f = *sys.forecast;
  if (!(d.desired > d.current) || !(d.desired > reactive) || f.lead_steps < 1) return;
  if (rf.capped_at_max || rf.raised_to_min) return;

  const double planned = shownNumber(f.planned_demand);
  const double serves = servedAtTarget(sys, reactive);
  std::string correct_reason;
  std::string correct_text;
  if (rf.limited_by_scale_up && rf.scale_up_limit == reactive) {
    correct_reason = kLateScaleUpLimit;
    correct_text = "Its scale-up limit lets it go no higher than " +
                   replicasText(rf.scale_up_limit) + " from " + std::to_string(d.current) +
                   " in one step, below the engine's " + std::to_string(d.desired) + ".";
  } else if ((rf.reason == ReactiveReason::kRatio ||
              rf.reason == ReactiveReason::kWithinTolerance) &&
             !rf.limited_by_scale_up && rf.stabilized_replicas == rf.raw_replicas &&
             std::isfinite(planned) && std::isfinite(serves) && planned > serves) {
    correct_reason = kLateSizesForNow;
    correct_text = "It sizes for the demand observed now (" + formatNumber(sys.demand) +
                   "); replicas it launches serve only after " + engine::formatSteps(f.lead_steps) +
                   " of warm-up, and by then the " + kPlannedDemandName + " is " +
                   formatNumber(planned) + ", more than " + replicasText(reactive) +
                   " serve at the target (" + formatNumber(serves) + ").";
  } else {
    return;
  }

  std::vector<LessonChoice> choices;
  auto add = [&](const char* reason, const std::string& text, const std::string& feedback) {
    LessonChoice c{text, false, feedback, {}};
    c.claim.reason = reason;
    choices.push_back(std::move(c));
  };
  add(kLateIgnoresTarget, "It ignores the target utilisation and sizes for 100% load.",
      "No: the HPA rule divides by the target utilisation too. " + sys.reactive->rationale);
  add(kLateStabilizationDelays,
      "Its " + engine::formatSeconds(rf.stabilization_s) +
          " stabilisation window delays every scale-up.",
      "No: the stabilisation window holds back scale-downs only; a scale-up happens on the next "
      "evaluation.");
  if (sys.max_replicas && *sys.max_replicas > reactive) {
    add(kLateBoundedBelow, "It may not go above " + replicasText(reactive) + ".",
        "No: both obey the same bounds (" + std::to_string(sys.min_replicas.value_or(0)) + " to " +
            std::to_string(*sys.max_replicas) + " replicas); the engine chose " +
            std::to_string(d.desired) + ".");
  }
  if (correct_reason == kLateSizesForNow && rf.scale_up_limit >= d.desired) {
    add(kLateScaleUpLimit,
        "Its scale-up limit lets it go no higher than " + replicasText(reactive) + " in one step.",
        "No: its scale-up limit allows up to " + replicasText(rf.scale_up_limit) +
            " this step; it stops at " + std::to_string(reactive) + " because " +
            reactiveReasonText(sys) + ".");
  }
  const auto position = static_cast<std::size_t>(d.desired + reactive) % (choices.size() + 1);
  LessonChoice right{correct_text, true, reactiveComparison(sys), {}};
  right.claim.reason = correct_reason;
  choices.insert(choices.begin() + static_cast<std::ptrdiff_t>(position), right);

  LessonQuestion& q =
      writer.add(QuestionType::kMultipleChoice, "reactive_late", sys.name,
                 sys.name + ": the HPA rule would set " + replicasText(reactive) +
                     ", the engine scales from " + std::to_string(d.current) + " to " +
                     std::to_string(d.desired) + ". Why does the HPA rule fall short here?");
  q.choices = std::move(choices);
  q.answer_text = correct_text;
  q.feedback = reactiveComparison(sys);
}

void addModelQuestion(QuestionWriter& writer, const LessonSystem& sys) {
  if (!sys.forecast || !sys.forecast->provenance || sys.forecast->steps.empty()) return;
  const LessonForecast& f = *sys.forecast;
  const engine::ForecastProvenance& p = *f.provenance;
  if (p.model.empty()) return;
  LessonQuestion& q =
      writer.add(QuestionType::kShortAnswer, "forecast_model", sys.name,
                 sys.name +
                     ": which forecasting model produced this forecast? Give the model's name "
                     "as the lesson's Forecast section shows it.");
  q.answer_text = p.model;
  q.accepted = {p.model};
  for (const std::string& other : {p.family, f.label}) {
    if (!other.empty() &&
        std::find(q.accepted.begin(), q.accepted.end(), other) == q.accepted.end()) {
      q.accepted.push_back(other);
    }
  }
  q.feedback = "The " + p.model + " model" +
               (p.selected_by_backtest ? ", picked by the engine's " + p.configured +
                                             " setting for the lowest rolling backtest error"
                                       : ", the engine's configured model") +
               ", after " + std::to_string(f.observations) +
               " observations, with a one-step backtest MAE of " + formatNumber(f.backtest_mae) +
               ".";
}

// Which system runs out of capacity first: asked only when one system's
// capacity breach comes strictly before every other's.
void addBottleneckQuestion(QuestionWriter& writer, const Lesson& lesson) {
  std::vector<const LessonSystem*> forecast;
  const LessonSystem* first = nullptr;
  bool tie = false;
  for (const auto& s : lesson.systems) {
    if (!s.forecast || !s.decision) continue;
    forecast.push_back(&s);
    const auto& b = s.forecast->bottleneck;
    if (!b) continue;
    if (b->kind != "capacity") return;
    if (!first || b->eta_ms < first->forecast->bottleneck->eta_ms) {
      first = &s;
      tie = false;
    } else if (b->eta_ms == first->forecast->bottleneck->eta_ms) {
      tie = true;
    }
  }
  if (!first || tie || forecast.size() < 2) return;
  const LessonBottleneck& b = *first->forecast->bottleneck;
  const std::string why = first->name + ": the " + kIntervalTopName + " of its " +
                          formatPercent(first->forecast->coverage) + " forecast interval reaches " +
                          formatNumber(b.predicted_demand) + " against a capacity of " +
                          formatNumber(b.capacity) + " in " + engine::formatSteps(b.steps_ahead) +
                          " (" + b.eta + ").";
  LessonQuestion& q =
      writer.add(QuestionType::kMultipleChoice, "bottleneck_system", first->name,
                 "Which system does the forecast expect to run out of capacity first?");
  for (const LessonSystem* s : forecast) {
    std::string feedback;
    if (s == first) {
      feedback = why;
    } else if (s->forecast->bottleneck) {
      feedback = s->name + " runs out later, at " + s->forecast->bottleneck->eta + ".";
    } else {
      feedback = s->name + ": the " + std::string(kIntervalTopName) +
                 " of its forecast stays within capacity over the horizon.";
    }
    LessonChoice c{s->name, s == first, feedback, {}};
    c.claim.system = s->name;
    q.choices.push_back(std::move(c));
  }
  q.answer_text = first->name;
  q.feedback = why;
}

}  // namespace

std::vector<LessonQuestion> writeQuestions(const Lesson& lesson) {
  QuestionWriter writer(lesson.id);
  if (lesson.quiet) {
    for (const auto& s : lesson.systems) {
      if (s.decision) addReplicasQuestion(writer, s);
      if (writer.size() > 0) break;
    }
    return writer.take();
  }
  std::vector<const LessonSystem*> focus;
  for (const auto& s : lesson.systems) {
    if (s.decision && acting(lesson, s) && focus.size() < kMaxQuestionSystems) focus.push_back(&s);
  }
  if (focus.empty()) {
    for (const auto& s : lesson.systems) {
      if (s.decision) {
        focus.push_back(&s);
        break;
      }
    }
  }
  for (const LessonSystem* s : focus) {
    addReplicasQuestion(writer, *s);
    addIntervalQuestion(writer, *s, lesson.step_s);
    if (acting(lesson, *s)) {
      addActionQuestion(writer, *s);
      addReactiveLateQuestion(writer, *s);
    }
  }
  if (!focus.empty()) addModelQuestion(writer, *focus.front());
  addBottleneckQuestion(writer, lesson);
  return writer.take();
}

}  // namespace pso::controller::scenarios
