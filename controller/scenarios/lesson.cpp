#include "controller/scenarios/lesson.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>

#include "controller/engine/wording.h"
#include "controller/scenarios/scenario_text.h"

namespace pso::controller::scenarios {
namespace {

using engine::CoordinationKind;
using engine::DecisionRule;
using engine::GuardrailKind;
using engine::ReactiveReason;
using nlohmann::json;

std::optional<int64_t> optionalInteger(const json& j, std::string_view key) {
  const json& v = memberAt(j, key);
  if (!v.is_number()) return std::nullopt;
  return integerAt(j, key);
}

engine::ForecastProvenance provenanceFrom(const json& p) {
  engine::ForecastProvenance out;
  out.configured = textAt(p, "configured");
  out.model = textAt(p, "model");
  out.family = textAt(p, "family");
  out.selected_by_backtest = boolAt(p, "selected_by_backtest");
  return out;
}

std::optional<LessonBottleneck> bottleneckFrom(const json& b) {
  if (!b.is_object()) return std::nullopt;
  LessonBottleneck out;
  out.kind = textAt(b, "kind", "capacity");
  out.eta = textAt(b, "eta");
  out.eta_ms = integerAt(b, "eta_ms");
  out.steps_ahead = integerAt(b, "steps_ahead");
  out.predicted_demand = numberAt(b, "predicted_demand");
  out.capacity = numberAt(b, "capacity");
  out.probability = numberAt(b, "probability");
  return out;
}

LessonForecast forecastFrom(const json& f, double step_s) {
  LessonForecast out;
  out.label = textAt(f, "model");
  if (memberAt(f, "provenance").is_object()) {
    out.provenance = provenanceFrom(memberAt(f, "provenance"));
  }
  out.coverage = numberAt(f, "coverage", 0.9);
  out.backtest_mae = numberAt(f, "backtest_mae");
  out.observations = integerAt(f, "observations");
  const auto point = numbersAt(f, "point");
  const auto lo = numbersAt(f, "lo");
  const auto hi = numbersAt(f, "hi");
  for (std::size_t k = 0; k < point.size(); ++k) {
    ForecastStep s;
    s.step = static_cast<int64_t>(k) + 1;
    s.offset_s = static_cast<double>(k + 1) * step_s;
    s.point = point[k];
    s.lo = k < lo.size() ? lo[k] : kUnknown;
    s.hi = k < hi.size() ? hi[k] : kUnknown;
    out.steps.push_back(s);
  }
  out.lead_steps = integerAt(f, "lead_steps");
  out.planned_demand = numberAt(f, "planned_demand");
  out.planning_quantile = numberAt(f, "planning_quantile");
  const auto available = static_cast<int64_t>(hi.size());
  // A document without planned_steps was recorded when plans looked one step
  // past the warm-up.
  const int64_t planned = std::max<int64_t>(out.lead_steps, 0) + 1;
  out.planned_steps =
      integerAt(f, "planned_steps", available > 0 ? std::min(planned, available) : planned);
  out.bottleneck = bottleneckFrom(memberAt(f, "bottleneck"));
  return out;
}

void readFacts(const json& facts, LessonDecision& d) {
  d.has_facts = true;
  d.rule = engine::parseDecisionRule(textAt(facts, "rule"));
  for (const auto& c : memberAt(facts, "coordination")) {
    const auto kind = engine::parseCoordinationKind(textAt(c, "kind"));
    if (!kind) continue;
    engine::CoordinationEffect e;
    e.kind = *kind;
    e.source = textAt(c, "source");
    e.from = integerAt(c, "from");
    e.to = integerAt(c, "to");
    e.rise = numberAt(c, "rise", 0.0);
    e.planned_demand = numberAt(c, "planned_demand", 0.0);
    e.pool_capacity = integerAt(c, "pool_capacity");
    e.pool_wanted = integerAt(c, "pool_wanted");
    e.below_minimum = boolAt(c, "below_minimum");
    d.coordination.push_back(e);
  }
  for (const auto& g : memberAt(facts, "guardrails")) {
    const auto kind = engine::parseGuardrailKind(textAt(g, "kind"));
    if (!kind) continue;
    d.guardrails.push_back({*kind, integerAt(g, "from"), integerAt(g, "to")});
  }
  d.pools = stringsAt(facts, "pools");
  d.observations = integerAt(facts, "observations");
  d.min_observations = integerAt(facts, "min_observations");
  d.plan_replicas = integerAt(facts, "plan_replicas");
  d.floor_replicas = integerAt(facts, "floor_replicas");
}

LessonDecision decisionFrom(const json& r, const json& candidates) {
  LessonDecision d;
  d.rule_code = textAt(r, "rule", "unknown");
  d.current = integerAt(r, "current_replicas");
  d.recommended = integerAt(r, "recommended_replicas");
  d.desired = integerAt(r, "desired_replicas", d.current);
  d.dispatch = boolAt(r, "dispatch");
  d.rationale = textAt(r, "text");
  d.notes = stringsAt(r, "guardrails");
  const json& facts = memberAt(r, "facts");
  if (facts.is_object()) {
    readFacts(facts, d);
  } else {
    d.rule = engine::parseDecisionRule(d.rule_code);
  }
  if (candidates.is_array()) {
    for (const auto& c : candidates) {
      LessonCandidate out;
      out.replicas = integerAt(c, "replicas");
      out.predicted_utilization = numberAt(c, "predicted_utilization");
      out.overload_probability = numberAt(c, "overload_probability");
      out.cost_replica_hours = numberAt(c, "cost_replica_hours");
      out.note = textAt(c, "note");
      out.chosen = boolAt(c, "chosen");
      d.candidates.push_back(std::move(out));
    }
  }
  return d;
}

engine::ReactiveFacts reactiveFactsFrom(const json& f) {
  engine::ReactiveFacts out;
  out.reason = engine::parseReactiveReason(textAt(f, "reason")).value_or(ReactiveReason::kNoMetric);
  out.raw_replicas = integerAt(f, "raw_replicas");
  out.utilization = numberAt(f, "utilization");
  out.ratio = numberAt(f, "ratio");
  out.tolerance = numberAt(f, "tolerance", 0.1);
  out.stabilized_replicas = integerAt(f, "stabilized_replicas", out.raw_replicas);
  out.stabilization_s = numberAt(f, "stabilization_s", 0.0);
  out.scale_up_limit = integerAt(f, "scale_up_limit");
  out.limited_by_scale_up = boolAt(f, "limited_by_scale_up");
  out.capped_at_max = boolAt(f, "capped_at_max");
  out.raised_to_min = boolAt(f, "raised_to_min");
  out.replicas = integerAt(f, "replicas");
  return out;
}

// History before the cycle, then the step's own demand as "now": the table,
// the chart and the situation show one number for the demand now.
std::vector<HistoryPoint> historyFrom(const json& history, double ts0, double demand) {
  std::vector<HistoryPoint> out;
  if (history.is_array()) {
    for (const auto& pair : history) {
      if (!pair.is_array() || pair.size() < 2) continue;
      const double t = asNumber(pair[0]);
      const double v = asNumber(pair[1]);
      if (!std::isfinite(t) || !std::isfinite(v)) continue;
      if (t >= ts0 && std::isfinite(demand)) continue;
      out.push_back({(t - ts0) / 1000.0, v});
    }
  }
  if (std::isfinite(demand)) out.push_back({0.0, demand});
  return out;
}

LessonSystem systemFrom(const json& doc, const std::string& name) {
  LessonSystem sys;
  sys.name = name;
  const json& s = memberAt(memberAt(doc, "situation"), name);
  const double step_s = numberAt(doc, "step_s", 15.0);
  sys.demand = numberAt(s, "demand");
  const json& replicas = memberAt(s, "replicas");
  if (replicas.is_object()) {
    sys.current = integerAt(replicas, "current");
    sys.ready = integerAt(replicas, "ready", *sys.current);
  }
  sys.capacity_per_replica = numberAt(s, "capacity_per_replica");
  sys.target_utilization = numberAt(s, "target_utilization");
  sys.ready_capacity = numberAt(s, "ready_capacity");
  sys.utilization = numberAt(s, "utilization");
  sys.min_replicas = optionalInteger(s, "min_replicas");
  sys.max_replicas = optionalInteger(s, "max_replicas");
  sys.warmup_s = numberAt(s, "warmup_s");
  sys.depends_on = stringsAt(s, "depends_on");
  sys.history = historyFrom(memberAt(s, "history"), numberAt(doc, "ts_ms", 0.0), sys.demand);

  const json& f = memberAt(memberAt(doc, "forecasts"), name);
  if (f.is_object()) sys.forecast = forecastFrom(f, step_s);
  const json& r = memberAt(memberAt(doc, "rationale"), name);
  if (r.is_object()) sys.decision = decisionFrom(r, memberAt(memberAt(doc, "candidates"), name));
  const json& rb = memberAt(memberAt(doc, "reactive_baseline"), name);
  if (rb.is_object()) {
    LessonReactive reactive;
    reactive.replicas = integerAt(rb, "replicas");
    reactive.rationale = textAt(rb, "rationale");
    reactive.differs = boolAt(rb, "differs");
    if (memberAt(rb, "facts").is_object()) {
      reactive.facts = reactiveFactsFrom(memberAt(rb, "facts"));
    }
    reactive.comparison = textAt(rb, "why");
    sys.reactive = std::move(reactive);
  }
  const json& o = memberAt(memberAt(memberAt(doc, "outcome"), "systems"), name);
  if (o.is_object()) {
    SystemDebrief debrief;
    debrief.samples = integerAt(o, "samples");
    debrief.forecast_mae = numberAt(o, "forecast_mae");
    debrief.inside_interval = numberAt(o, "inside_interval");
    debrief.max_demand = numberAt(o, "max_demand");
    debrief.overload = boolAt(o, "overload");
    debrief.overload_at = textAt(o, "overload_at");
    const json& avoided = memberAt(o, "bottleneck_avoided");
    if (avoided.is_boolean()) debrief.bottleneck_avoided = avoided.get<bool>();
    sys.debrief = debrief;
  }
  // Schema 2 carries the facts: the comparison is written from them.
  if (sys.reactive && sys.reactive->facts && sys.decision && sys.decision->has_facts) {
    sys.reactive->comparison = reactiveComparison(sys);
  }
  return sys;
}

std::string samplesText(const LessonDecision& d) {
  return std::to_string(d.observations) + " of the " + std::to_string(d.min_observations) +
         " samples it needs";
}

}  // namespace

double shownNumber(double value) {
  if (!std::isfinite(value)) return value;
  return std::strtod(formatNumber(value).c_str(), nullptr);
}

double shownFraction(double fraction) {
  if (!std::isfinite(fraction)) return fraction;
  return std::strtod(formatPercent(fraction).c_str(), nullptr) / 100.0;
}

std::string guardrailName(GuardrailKind kind) {
  switch (kind) {
    case GuardrailKind::kOperatorHold:
      return "an operator hold";
    case GuardrailKind::kScaleDownStabilization:
      return "scale-down stabilisation";
    case GuardrailKind::kStepLimitUp:
    case GuardrailKind::kStepLimitDown:
      return "the step limit";
    case GuardrailKind::kCooldown:
      return "the cooldown";
    case GuardrailKind::kActionsPerHour:
      return "the actions-per-hour limit";
    case GuardrailKind::kForecastOnly:
      return "forecast-only mode";
  }
  return "a guardrail";
}

bool LessonDecision::held() const {
  if (!has_facts) return rule_code == "hold";
  return std::any_of(guardrails.begin(), guardrails.end(), [](const engine::GuardrailEffect& g) {
    return g.kind == GuardrailKind::kOperatorHold;
  });
}

bool LessonDecision::plannedByForecast() const {
  if (!has_facts || !rule || !engine::sizedByForecast(*rule) || !coordination.empty()) return false;
  return std::all_of(guardrails.begin(), guardrails.end(), [](const engine::GuardrailEffect& g) {
    return g.kind == GuardrailKind::kForecastOnly;
  });
}

const LessonSystem* Lesson::system(const std::string& name) const {
  for (const auto& s : systems) {
    if (s.name == name) return &s;
  }
  return nullptr;
}

std::string plannedDemandDefinition(const LessonForecast& f) {
  const std::string over =
      f.planned_steps <= 1
          ? std::string("over the next step")
          : "over the next " + std::to_string(f.planned_steps) + " steps (warm-up plus margin)";
  if (std::isfinite(f.planning_quantile)) {
    return "the highest " + formatPercent(f.planning_quantile) + " quantile of the forecast " +
           over;
  }
  return "the highest planning quantile of the forecast " + over;
}

std::string reactiveReasonText(const LessonSystem& sys) {
  if (!sys.reactive) return "";
  if (!sys.reactive->facts) return sys.reactive->rationale;
  const engine::ReactiveFacts& f = *sys.reactive->facts;
  const std::string now = "the demand observed now (" + formatNumber(sys.demand) + ")";
  const int64_t current = sys.current.value_or(0);
  std::string text;
  switch (f.reason) {
    case ReactiveReason::kNoMetric:
      text = "it has no usable demand metric this step, so it keeps " +
             engine::formatReplicas(current);
      break;
    case ReactiveReason::kNoneRunning:
      text = "no replica is running, so it sizes for " + now +
             " at the target: " + engine::formatReplicas(f.raw_replicas);
      break;
    case ReactiveReason::kNoneReady:
      text =
          "no replica is ready yet and demand is 0, so it keeps " + engine::formatReplicas(current);
      break;
    case ReactiveReason::kWarmingKeep:
      text = "counting the replicas still warming at zero, " + now +
             " no longer calls for a scale-up, so it keeps " + engine::formatReplicas(current);
      break;
    case ReactiveReason::kWarmingScale:
      text = "counting the replicas still warming at zero, it sizes for " + now + " over all " +
             engine::formatReplicas(current) +
             " launched: " + engine::formatReplicas(f.raw_replicas);
      break;
    case ReactiveReason::kWithinTolerance:
      text = now + " is within its tolerance of the target, so it keeps " +
             engine::formatReplicas(current);
      break;
    case ReactiveReason::kRatio:
      text = "it sizes for " + now + ": " + engine::formatReplicas(f.raw_replicas);
      break;
  }
  if (f.stabilized_replicas > f.raw_replicas) {
    text += "; its stabilisation window holds it at " + std::to_string(f.stabilized_replicas) +
            ", the highest recommendation of the last " + engine::formatSeconds(f.stabilization_s);
  }
  if (f.limited_by_scale_up) {
    text += "; its scale-up limit holds it at " + engine::formatReplicas(f.scale_up_limit) +
            " this step";
  }
  if (f.capped_at_max && sys.max_replicas) {
    text += "; capped at the maximum of " + std::to_string(*sys.max_replicas);
  }
  if (f.raised_to_min && sys.min_replicas) {
    text += "; raised to the minimum of " + std::to_string(*sys.min_replicas);
  }
  return text;
}

std::string engineReasonText(const LessonSystem& sys) {
  if (!sys.decision) return "";
  const LessonDecision& d = *sys.decision;
  if (!d.has_facts || !d.rule) return d.rationale;
  std::string text;
  const int64_t plan = d.recommended;
  switch (*d.rule) {
    case DecisionRule::kNoData:
      text = "has no forecast yet, so keeps the current count: " + engine::formatReplicas(plan);
      break;
    case DecisionRule::kWarmingUp:
      text = "keeps the current count while its forecast warms up (" + samplesText(d) +
             "): " + engine::formatReplicas(plan);
      break;
    case DecisionRule::kDemandAtTarget:
      text = "sizes for the demand now at the target, because its forecast is still warming up (" +
             samplesText(d) + ") and the demand now (" + formatNumber(sys.demand) +
             ") exceeds the ready capacity of " + formatNumber(sys.ready_capacity) + ": " +
             engine::formatReplicas(plan);
      break;
    case DecisionRule::kPredictive:
    case DecisionRule::kPredictiveMinBound:
    case DecisionRule::kPredictiveMaxBound: {
      text = "sizes for the " + std::string(kPlannedDemandName);
      if (sys.forecast) {
        text += " of " + formatNumber(sys.forecast->planned_demand) + ", " +
                plannedDemandDefinition(*sys.forecast);
      }
      if (*d.rule == DecisionRule::kPredictiveMinBound && sys.min_replicas) {
        text += ", raised to the minimum of " + std::to_string(*sys.min_replicas);
      } else if (*d.rule == DecisionRule::kPredictiveMaxBound && sys.max_replicas) {
        text += ", capped at the maximum of " + std::to_string(*sys.max_replicas);
      }
      text += ": " + engine::formatReplicas(plan);
      break;
    }
    case DecisionRule::kPredictiveWithinTolerance: {
      text = "keeps the current count because the " + std::string(kPlannedDemandName);
      if (sys.forecast) text += " of " + formatNumber(sys.forecast->planned_demand);
      text += " is within the HPA rule's tolerance";
      if (sys.reactive && sys.reactive->facts) {
        text += " (" + formatPercent(sys.reactive->facts->tolerance) + ")";
      }
      text +=
          " of what the current count serves at the target, where changing the count would "
          "start or stop a replica for a difference the tolerance ignores: " +
          engine::formatReplicas(plan);
      break;
    }
    case DecisionRule::kObservedDemandFloor:
      text = "raises its forecast's plan";
      if (d.plan_replicas > 0) text += " of " + engine::formatReplicas(d.plan_replicas);
      text += " to what the demand observed now (" + formatNumber(sys.demand) +
              ") needs, because a plan never provides less than the demand already observed "
              "needs: " +
              engine::formatReplicas(plan);
      break;
    case DecisionRule::kReactiveHpa:
      text = "follows the HPA rule (its policy is reactive): " + engine::formatReplicas(plan);
      break;
  }
  for (const auto& c : d.coordination) {
    if (c.kind == CoordinationKind::kDependency) {
      text += "; " + c.source + " (which depends on " + sys.name + ") is forecast to rise " +
              formatPercent(c.rise - 1.0) + ", so it plans for " + formatNumber(c.planned_demand) +
              ": " + std::to_string(c.to) + " instead of " + std::to_string(c.from);
    } else {
      text += "; pool " + c.source + " (" + engine::formatReplicas(c.pool_capacity) + ", " +
              std::to_string(c.pool_wanted) + " wanted) cuts it from " + std::to_string(c.from) +
              " to " + std::to_string(c.to);
    }
  }
  for (const auto& g : d.guardrails) {
    if (g.kind == GuardrailKind::kForecastOnly) {
      text += "; forecast-only mode records the change without dispatching it";
    } else {
      text += "; " + guardrailName(g.kind) + " changes " + std::to_string(g.from) + " to " +
              std::to_string(g.to);
    }
  }
  return text;
}

std::string reactiveComparison(const LessonSystem& sys) {
  if (!sys.reactive) return "";
  if (!sys.reactive->facts || !sys.decision || !sys.decision->has_facts) {
    return sys.reactive->comparison;
  }
  const int64_t reactive = sys.reactive->replicas;
  const int64_t desired = sys.decision->desired;
  if (reactive == desired) {
    return "The HPA rule reaches the same count, " + engine::formatReplicas(desired) + ": " +
           reactiveReasonText(sys) + ".";
  }
  return "The HPA rule would set " + engine::formatReplicas(reactive) + ": " +
         reactiveReasonText(sys) + ". The engine sets " + engine::formatReplicas(desired) +
         ": it " + engineReasonText(sys) + ".";
}

std::vector<TimelineRow> timeline(const LessonSystem& sys, std::size_t history_rows,
                                  std::size_t forecast_rows) {
  std::vector<TimelineRow> rows;
  const auto& history = sys.history;
  const bool has_now = !history.empty() && history.back().offset_s == 0.0;
  const std::size_t past = history.size() - (has_now ? 1 : 0);
  for (std::size_t i = past > history_rows ? past - history_rows : 0; i < past; ++i) {
    TimelineRow row;
    row.offset_s = history[i].offset_s;
    row.demand = history[i].demand;
    rows.push_back(row);
  }
  TimelineRow now;
  now.demand = sys.demand;
  now.capacity = sys.ready_capacity;
  rows.push_back(now);
  if (!sys.forecast) return rows;
  const double desired_capacity =
      sys.decision ? static_cast<double>(sys.decision->desired) * sys.capacity_per_replica
                   : kUnknown;
  const auto& steps = sys.forecast->steps;
  for (std::size_t k = 0; k < steps.size() && k < forecast_rows; ++k) {
    TimelineRow row;
    row.offset_s = steps[k].offset_s;
    row.point = steps[k].point;
    row.lo = steps[k].lo;
    row.hi = steps[k].hi;
    // Replicas launched now serve from the lead step on; before it, only the ready ones.
    row.capacity = steps[k].step >= sys.forecast->lead_steps && std::isfinite(desired_capacity)
                       ? desired_capacity
                       : sys.ready_capacity;
    rows.push_back(row);
  }
  return rows;
}

Lesson buildLesson(const json& doc) {
  Lesson lesson;
  lesson.id = textAt(doc, "id");
  lesson.schema_version = static_cast<int>(integerAt(doc, "schema_version", 1));
  lesson.cycle_id = textAt(doc, "cycle_id");
  lesson.time = textAt(doc, "time");
  lesson.ts_ms = integerAt(doc, "ts_ms");
  lesson.mode = textAt(doc, "mode", "act");
  lesson.step_s = numberAt(doc, "step_s", 15.0);
  lesson.quiet = boolAt(doc, "quiet");
  lesson.level = textAt(doc, "level");
  lesson.events = stringsAt(doc, "events");
  lesson.title = lessonTitle(doc);
  for (const auto& name : stringsAt(doc, "systems"))
    lesson.systems.push_back(systemFrom(doc, name));
  for (const auto& name : namedUnchangedOnly(doc)) {
    const json& since = memberAt(memberAt(doc, "unchanged"), name);
    if (since.is_string()) lesson.unchanged.emplace_back(name, since.get<std::string>());
  }
  for (const auto& d : memberAt(doc, "directives")) {
    lesson.directives.push_back({textAt(d, "id"), textAt(d, "system"), integerAt(d, "replicas", -1),
                                 textAt(d, "source"), textAt(d, "status"), textAt(d, "reason")});
  }
  lesson.workflow_notes = stringsAt(doc, "workflow_notes");
  const json& outcome = memberAt(doc, "outcome");
  if (outcome.is_object()) {
    LessonDebrief debrief;
    debrief.from = textAt(memberAt(outcome, "window"), "from");
    debrief.to = textAt(memberAt(outcome, "window"), "to");
    debrief.verdict = textAt(outcome, "verdict");
    debrief.went_well = stringsAt(outcome, "went_well");
    debrief.went_wrong = stringsAt(outcome, "went_wrong");
    debrief.got_lucky = stringsAt(outcome, "got_lucky");
    lesson.debrief = std::move(debrief);
  }
  for (const auto& q : memberAt(doc, "questions")) lesson.questions.push_back(questionFromJson(q));
  return lesson;
}

namespace {

std::string typeCode(QuestionType type) {
  switch (type) {
    case QuestionType::kNumeric:
      return "numeric";
    case QuestionType::kMultipleChoice:
      return "multiple_choice";
    case QuestionType::kShortAnswer:
      return "short_answer";
  }
  return "short_answer";
}

json claimJson(const ChoiceClaim& claim) {
  json out = json::object();
  if (claim.replicas) out["replicas"] = *claim.replicas;
  if (!claim.reason.empty()) out["reason"] = claim.reason;
  if (!claim.system.empty()) out["system"] = claim.system;
  return out;
}

}  // namespace

json questionJson(const LessonQuestion& q) {
  json out = {{"id", q.id},
              {"type", typeCode(q.type)},
              {"topic", q.topic},
              {"system", q.system},
              {"prompt", q.prompt}};
  switch (q.type) {
    case QuestionType::kNumeric:
      out["answer"] = jsonNumber(q.answer_number);
      out["tolerance"] = jsonNumber(q.tolerance);
      break;
    case QuestionType::kMultipleChoice: {
      json choices = json::array();
      for (const auto& c : q.choices) {
        json choice = {{"text", c.text}, {"correct", c.correct}, {"feedback", c.feedback}};
        json claim = claimJson(c.claim);
        if (!claim.empty()) choice["claim"] = std::move(claim);
        choices.push_back(std::move(choice));
      }
      out["choices"] = std::move(choices);
      out["answer"] = q.answer_text;
      break;
    }
    case QuestionType::kShortAnswer:
      out["answer"] = q.answer_text;
      out["accept"] = q.accepted;
      break;
  }
  out["feedback"] = q.feedback;
  return out;
}

LessonQuestion questionFromJson(const json& q) {
  LessonQuestion out;
  out.id = textAt(q, "id");
  const std::string type = textAt(q, "type");
  out.type = type == "numeric"           ? QuestionType::kNumeric
             : type == "multiple_choice" ? QuestionType::kMultipleChoice
                                         : QuestionType::kShortAnswer;
  out.topic = textAt(q, "topic");
  out.system = textAt(q, "system");
  out.prompt = textAt(q, "prompt");
  out.feedback = textAt(q, "feedback");
  const json& answer = memberAt(q, "answer");
  if (out.type == QuestionType::kNumeric) {
    out.answer_number = asNumber(answer);
    out.tolerance = std::fabs(numberAt(q, "tolerance", 0.0));
  } else {
    out.answer_text = answer.is_string() ? answer.get<std::string>() : answer.dump();
  }
  if (out.type == QuestionType::kShortAnswer) {
    out.accepted = stringsAt(q, "accept");
    if (std::find(out.accepted.begin(), out.accepted.end(), out.answer_text) ==
        out.accepted.end()) {
      out.accepted.insert(out.accepted.begin(), out.answer_text);
    }
  }
  for (const auto& c : memberAt(q, "choices")) {
    LessonChoice choice;
    choice.text = textAt(c, "text");
    choice.correct = boolAt(c, "correct");
    choice.feedback = textAt(c, "feedback");
    const json& claim = memberAt(c, "claim");
    if (memberAt(claim, "replicas").is_number())
      choice.claim.replicas = integerAt(claim, "replicas");
    choice.claim.reason = textAt(claim, "reason");
    choice.claim.system = textAt(claim, "system");
    out.choices.push_back(std::move(choice));
  }
  return out;
}

}  // namespace pso::controller::scenarios
