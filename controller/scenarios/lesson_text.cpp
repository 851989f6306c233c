#include "controller/scenarios/lesson_text.h"

#include <cmath>

#include "controller/engine/wording.h"
#include "controller/scenarios/scenario_text.h"

namespace pso::controller::scenarios {

std::vector<std::pair<std::string, std::string>> headerRows(const Lesson& lesson) {
  std::vector<std::pair<std::string, std::string>> rows = {
      {"Scenario", lesson.id},
      {"Cycle", lesson.cycle_id},
      {"Time", lesson.time},
      {"Mode", lesson.mode},
      {"Level", levelTitle(lesson.level)},
      {"Events", lesson.events.empty() ? "none" : join(lesson.events, ", ")}};
  if (!lesson.unchanged.empty()) {
    std::vector<std::string> named;
    for (const auto& [name, since] : lesson.unchanged) named.push_back(name + " (" + since + ")");
    rows.emplace_back("Unchanged, as described in", join(named, ", "));
  }
  return rows;
}

std::string noForecastText(const Lesson& lesson) {
  if (lesson.unchanged.empty()) return "No forecast was made in this cycle.";
  return "The systems of this cycle are unchanged since the scenarios named above, which "
         "describe their forecasts; this cycle's own numbers are in its cycle record.";
}

std::vector<std::string> situationColumns() {
  return {"System",
          "Demand now",
          "Replicas (current / ready)",
          "Capacity per replica",
          "Ready capacity",
          "Utilisation",
          "Target"};
}

std::vector<std::string> situationCells(const LessonSystem& s) {
  const std::string counts =
      s.current ? std::to_string(*s.current) + " / " + std::to_string(s.ready.value_or(*s.current))
                : "n/a";
  return {s.name,
          formatNumber(s.demand),
          counts,
          formatNumber(s.capacity_per_replica),
          formatNumber(s.ready_capacity),
          formatPercent(s.utilization),
          formatPercent(s.target_utilization)};
}

std::string offsetText(double seconds) {
  if (std::fabs(seconds) < 0.5) return "now";
  return (seconds > 0 ? "+" : "") + formatNumber(std::round(seconds)) + " s";
}

std::string modelSentence(const LessonForecast& f) {
  std::string text;
  if (f.provenance && !f.provenance->model.empty()) {
    const auto& p = *f.provenance;
    text = "Model " + p.model;
    if (p.selected_by_backtest) {
      text += ", picked by the " + p.configured + " setting for the lowest rolling backtest error";
    }
    if (f.label != p.model) text += " (reported by the engine as \"" + f.label + "\")";
  } else {
    text = "Model " + (f.label.empty() ? std::string("unknown") : f.label);
  }
  return text + ", after " + std::to_string(f.observations) +
         " observations, one-step backtest MAE " + formatNumber(f.backtest_mae) + ".";
}

std::string intervalSentence(const LessonForecast& f, double step_s) {
  return "The band is the central " + formatPercent(f.coverage) +
         " prediction interval; its top is the " + kIntervalTopName +
         ". Replicas launched now serve after " + engine::formatSteps(f.lead_steps) + " (" +
         formatNumber(static_cast<double>(f.lead_steps) * step_s) + " s of warm-up).";
}

std::string planSentence(const LessonSystem& sys) {
  if (!sys.forecast) return "";
  const LessonForecast& f = *sys.forecast;
  const bool legacy = !sys.decision || !sys.decision->has_facts;
  const bool predictive =
      sys.decision && sys.decision->rule && engine::sizedByForecast(*sys.decision->rule);
  if (legacy || predictive) {
    return "The engine's " + std::string(kPlannedDemandName) + " is " +
           formatNumber(f.planned_demand) + ", " + plannedDemandDefinition(f) + ".";
  }
  return "The engine did not size for the forecast this cycle: it " + engineReasonText(sys) + ".";
}

std::string bottleneckSentence(const LessonForecast& f) {
  if (!f.bottleneck) return "No bottleneck predicted within the horizon.";
  const LessonBottleneck& b = *f.bottleneck;
  const std::string when = " at " + b.eta + ", " + engine::formatSteps(b.steps_ahead) +
                           " ahead (probability " + formatPercent(b.probability) + ").";
  if (b.kind == "pool") {
    return "Predicted bottleneck (pool): at the " + std::string(kIntervalTopName) +
           " its systems need " + formatNumber(b.predicted_demand) +
           " replicas, more than the pool's " + formatNumber(b.capacity) + "," + when;
  }
  return "Predicted bottleneck (capacity): the " + std::string(kIntervalTopName) + " reaches " +
         formatNumber(b.predicted_demand) + " against the current capacity of " +
         formatNumber(b.capacity) + when;
}

std::string decisionDetails(const LessonDecision& d) {
  return "rule " + d.rule_code + ", recommended " + std::to_string(d.recommended) + ", " +
         (d.dispatch ? "dispatched" : "not dispatched");
}

std::vector<std::string> candidateColumns() {
  return {"Replicas", "Predicted utilisation", "Overload probability", "Cost (replica-hours)",
          "Note"};
}

std::vector<std::string> candidateCells(const LessonCandidate& c) {
  return {std::to_string(c.replicas) + (c.chosen ? " (chosen)" : ""),
          formatPercent(c.predicted_utilization), formatPercent(c.overload_probability),
          formatNumber(c.cost_replica_hours), c.note.empty() ? " " : c.note};
}

std::vector<std::string> debriefColumns() {
  return {"System",   "Samples",           "MAE", "Inside interval", "Max demand",
          "Overload", "Bottleneck avoided"};
}

std::vector<std::string> debriefCells(const LessonSystem& s) {
  const SystemDebrief& d = *s.debrief;
  return {s.name,
          std::to_string(d.samples),
          formatNumber(d.forecast_mae),
          formatPercent(d.inside_interval),
          formatNumber(d.max_demand),
          d.overload ? "yes, at " + d.overload_at : std::string("no"),
          d.bottleneck_avoided ? (*d.bottleneck_avoided ? "yes" : "no") : "n/a"};
}

std::string questionKind(const LessonQuestion& q) {
  switch (q.type) {
    case QuestionType::kNumeric:
      return "number";
    case QuestionType::kShortAnswer:
      return "short answer";
    case QuestionType::kMultipleChoice:
      return "";
  }
  return "";
}

std::string choiceLabel(std::size_t index) {
  return std::string(1, static_cast<char>('a' + index)) + ")";
}

std::string answerKeyText(const LessonQuestion& q) {
  switch (q.type) {
    case QuestionType::kNumeric:
      return formatNumber(q.answer_number) +
             (q.tolerance > 0 ? " (accepted within +/- " + formatNumber(q.tolerance) + ")"
                              : std::string(" (exact)"));
    case QuestionType::kMultipleChoice:
      for (std::size_t i = 0; i < q.choices.size(); ++i) {
        if (!q.choices[i].correct) continue;
        // The renderers end the key with a period of their own.
        std::string text = q.choices[i].text;
        if (!text.empty() && text.back() == '.') text.pop_back();
        return choiceLabel(i) + " " + text;
      }
      return q.answer_text;
    case QuestionType::kShortAnswer: {
      std::vector<std::string> also;
      for (const auto& a : q.accepted) {
        if (a != q.answer_text) also.push_back("\"" + a + "\"");
      }
      return q.answer_text + (also.empty() ? "" : " (also accepted: " + join(also, ", ") + ")");
    }
  }
  return q.answer_text;
}

}  // namespace pso::controller::scenarios
