#include "controller/scenarios/exercise.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdlib>

#include "controller/engine/wording.h"
#include "controller/scenarios/lesson_text.h"
#include "controller/scenarios/scenario.h"
#include "controller/scenarios/scenario_text.h"

namespace pso::controller::scenarios {
namespace {

using nlohmann::json;

// A quotient that is a whole number up to floating-point noise must not
// round up to the next one (140 / (20 x 70%) is 10, not 11).
constexpr double kCeilSlack = 1e-9;
// A document without a maximum: the largest count psoctl simulate accepts.
constexpr int64_t kUnboundedMaxReplicas = 1000000;

bool hasTriggerEvent(const Lesson& lesson) {
  const auto& triggers = scenarioEvents();
  return std::any_of(lesson.events.begin(), lesson.events.end(), [&](const std::string& e) {
    return std::find(triggers.begin(), triggers.end(), e) != triggers.end();
  });
}

bool acts(const Lesson& lesson, const LessonSystem& sys) {
  if (!sys.decision) return false;
  if (sys.decision->desired != sys.decision->current) return true;
  return std::any_of(lesson.directives.begin(), lesson.directives.end(),
                     [&](const LessonDirective& d) { return d.system == sys.name; });
}

const LessonSystem* focusSystem(const Lesson& lesson) {
  for (const auto& sys : lesson.systems) {
    if (acts(lesson, sys)) return &sys;
  }
  for (const auto& sys : lesson.systems) {
    if (sys.decision) return &sys;
  }
  return nullptr;
}

ExerciseStep systemStep(const Lesson& lesson, const LessonSystem& sys) {
  ExerciseStep step{"The system", {}};
  step.lines.push_back("System: " + sys.name);
  // The situation table's own columns and cells, as label and value.
  const auto columns = situationColumns();
  const auto cells = situationCells(sys);
  for (std::size_t i = 1; i < columns.size() && i < cells.size(); ++i) {
    step.lines.push_back(columns[i] + ": " + cells[i]);
  }
  const std::string min = sys.min_replicas ? std::to_string(*sys.min_replicas) : "n/a";
  const std::string max = sys.max_replicas ? std::to_string(*sys.max_replicas) : "n/a";
  step.lines.push_back("Bounds: " + min + " to " + max + " replicas");
  std::string warmup = "Warm-up: " + formatNumber(sys.warmup_s) + " s";
  if (sys.forecast) {
    warmup +=
        ": replicas launched now serve after " + engine::formatSteps(sys.forecast->lead_steps);
  }
  step.lines.push_back(warmup);
  step.lines.push_back("Decision step: " + formatNumber(lesson.step_s) + " s; mode " + lesson.mode);
  return step;
}

ExerciseStep demandStep(const LessonSystem& sys) {
  ExerciseStep step{"Recent demand", {}};
  const auto rows = timeline(sys, kHistoryRowsShown, 0);
  step.lines.push_back("Demand before the decision, oldest first:");
  double highest = kUnknown;
  double highest_at = 0.0;
  for (const auto& row : rows) {
    step.lines.push_back(offsetText(row.offset_s) + ": " + formatNumber(row.demand));
    if (std::isfinite(row.demand) && !(row.demand <= highest)) {
      highest = row.demand;
      highest_at = row.offset_s;
    }
  }
  if (std::isfinite(highest)) {
    step.lines.push_back("Highest of these: " + formatNumber(highest) + " (" +
                         offsetText(highest_at) + ")");
  }
  return step;
}

ExerciseStep forecastStep(const Lesson& lesson, const LessonSystem& sys) {
  ExerciseStep step{"The forecast", {}};
  if (!sys.forecast) {
    step.lines.push_back("No forecast was made in this cycle.");
    return step;
  }
  const LessonForecast& f = *sys.forecast;
  step.lines.push_back(modelSentence(f));
  step.lines.push_back(intervalSentence(f, lesson.step_s));
  for (const auto& row : timeline(sys, 0, kForecastRowsShown)) {
    if (row.offset_s <= 0) continue;
    step.lines.push_back(offsetText(row.offset_s) + ": forecast " + formatNumber(row.point) + ", " +
                         formatPercent(f.coverage) + " interval " + formatNumber(row.lo) + " to " +
                         formatNumber(row.hi));
  }
  if (std::isfinite(f.planned_demand)) {
    std::string name = kPlannedDemandName;
    name[0] = static_cast<char>(std::toupper(static_cast<unsigned char>(name[0])));
    step.lines.push_back(name + ": " + formatNumber(f.planned_demand) + ", " +
                         plannedDemandDefinition(f) + ".");
  }
  step.lines.push_back(bottleneckSentence(f));
  return step;
}

ExerciseStep constraintsStep(const Lesson& lesson, const LessonSystem& sys) {
  ExerciseStep step{"Constraints", {}};
  if (!sys.depends_on.empty()) {
    step.lines.push_back(sys.name + " depends on " + join(sys.depends_on, ", ") + ".");
  }
  std::vector<std::string> dependents;
  for (const auto& other : lesson.systems) {
    if (std::find(other.depends_on.begin(), other.depends_on.end(), sys.name) !=
        other.depends_on.end()) {
      dependents.push_back(other.name);
    }
  }
  if (!dependents.empty()) {
    step.lines.push_back(join(dependents, ", ") + " depend" + (dependents.size() == 1 ? "s" : "") +
                         " on " + sys.name + ".");
  }
  if (sys.depends_on.empty() && dependents.empty()) {
    step.lines.push_back("No dependency to or from " + sys.name + ".");
  }
  const LessonDecision& d = *sys.decision;
  if (!d.pools.empty()) {
    step.lines.push_back(sys.name + " shares the replica pool" +
                         (d.pools.size() == 1 ? " " : "s ") + join(d.pools, ", ") +
                         " with other systems.");
  } else if (d.has_facts) {
    step.lines.push_back(sys.name + " is in no shared replica pool.");
  }
  // Which guardrails acted, by name only: their numbers are the debrief's.
  std::vector<std::string> in_force;
  for (const auto& g : d.guardrails) {
    const std::string name = guardrailName(g.kind);
    if (std::find(in_force.begin(), in_force.end(), name) == in_force.end()) {
      in_force.push_back(name);
    }
  }
  if (!in_force.empty()) {
    step.lines.push_back("Guardrails in force this cycle: " + join(in_force, ", ") + ".");
  } else if (d.has_facts) {
    step.lines.push_back("No guardrail constrains this cycle's count.");
  }
  for (const auto& note : lesson.workflow_notes) {
    step.lines.push_back("Operator or rule action this cycle: " + note);
  }
  for (const auto& other : lesson.systems) {
    if (other.name == sys.name) continue;
    const auto cells = situationCells(other);
    step.lines.push_back("Also in this cycle: " + other.name + ", demand now " + cells[1] +
                         ", replicas (current / ready) " + cells[2]);
  }
  return step;
}

std::optional<int64_t> neededAtTarget(const LessonSystem& sys) {
  if (!sys.debrief || sys.debrief->samples <= 0) return std::nullopt;
  const double peak = shownNumber(sys.debrief->max_demand);
  const double per_replica =
      shownNumber(sys.capacity_per_replica) * shownFraction(sys.target_utilization);
  if (!std::isfinite(peak) || !std::isfinite(per_replica) || per_replica <= 0) return std::nullopt;
  return static_cast<int64_t>(std::ceil(peak / per_replica - kCeilSlack));
}

ExerciseDebrief debriefOf(const Lesson& lesson, const LessonSystem& sys,
                          const std::optional<int64_t>& needed) {
  ExerciseDebrief out;
  const LessonDecision& d = *sys.decision;
  out.engine_replicas = d.desired;
  out.engine_rule = d.rule_code;
  out.engine_action = scaleText(d.current, d.desired);
  out.engine_reason = engineReasonText(sys);
  out.lines.push_back("The engine: " + out.engine_action + " (" + decisionDetails(d) + ").");
  if (!out.engine_reason.empty()) {
    out.lines.push_back(d.has_facts ? "What set its count: the engine " + out.engine_reason + "."
                                    : "The engine's rationale: " + out.engine_reason);
  }
  if (sys.reactive) {
    out.hpa_replicas = sys.reactive->replicas;
    out.hpa_reason = reactiveReasonText(sys);
    out.lines.push_back("The HPA rule: " + engine::formatReplicas(sys.reactive->replicas) + ": " +
                        out.hpa_reason + ".");
  }
  if (lesson.debrief) out.verdict = lesson.debrief->verdict;
  if (!sys.debrief) {
    out.lines.push_back(kNoOutcomeYet);
    return out;
  }
  out.outcome = *sys.debrief;
  if (lesson.debrief) {
    out.lines.push_back("What happened, from " + lesson.debrief->from + " to " +
                        lesson.debrief->to + ":");
  } else {
    out.lines.push_back("What happened:");
  }
  // The debrief table's own columns and cells, as label and value.
  const auto columns = debriefColumns();
  const auto cells = debriefCells(sys);
  for (std::size_t i = 1; i < columns.size() && i < cells.size(); ++i) {
    out.lines.push_back(columns[i] + ": " + cells[i]);
  }
  if (!out.verdict.empty()) out.lines.push_back("Verdict: " + out.verdict);
  if (needed) {
    out.lines.push_back("At the " + formatPercent(sys.target_utilization) +
                        " target, the highest demand (" + formatNumber(sys.debrief->max_demand) +
                        ") needed " + engine::formatReplicas(*needed) + " (" +
                        formatNumber(sys.debrief->max_demand) + " / (" +
                        formatNumber(sys.capacity_per_replica) + " x " +
                        formatPercent(sys.target_utilization) + "), rounded up).");
  }
  return out;
}

std::string yesNo(bool v) {
  return v ? "yes" : "no";
}

}  // namespace

bool isNotable(const Lesson& lesson) {
  return hasTriggerEvent(lesson) && focusSystem(lesson) != nullptr;
}

Result<Exercise> buildExercise(const Lesson& lesson) {
  if (!hasTriggerEvent(lesson)) {
    return makeError("not_notable", "scenario " + lesson.id +
                                        " is a quiet cycle (none of the events " +
                                        join(scenarioEvents(), ", ") + "): it has no exercise");
  }
  const LessonSystem* sys = focusSystem(lesson);
  if (sys == nullptr) {
    return makeError("not_notable",
                     "scenario " + lesson.id + " records no decision: it has no exercise");
  }
  Exercise ex;
  ex.scenario_id = lesson.id;
  ex.title = sys->name + " at " + lesson.time;
  ex.time = lesson.time;
  ex.level = lesson.level;
  ex.events = lesson.events;
  ex.system = sys->name;
  ex.step_s = lesson.step_s;
  ex.current = sys->decision->current;
  ex.min_replicas = sys->min_replicas.value_or(0);
  ex.max_replicas = sys->max_replicas.value_or(kUnboundedMaxReplicas);
  ex.capacity_per_replica = shownNumber(sys->capacity_per_replica);
  ex.target_utilization = shownFraction(sys->target_utilization);
  ex.needed_at_target = neededAtTarget(*sys);
  ex.steps = {systemStep(lesson, *sys), demandStep(*sys), forecastStep(lesson, *sys),
              constraintsStep(lesson, *sys)};
  ex.prompt = "Your decision for " + sys->name + ": how many replicas now? (now " +
              std::to_string(ex.current) + "; bounds " + std::to_string(ex.min_replicas) + " to " +
              std::to_string(ex.max_replicas) + ")";
  ex.debrief = debriefOf(lesson, *sys, ex.needed_at_target);
  return ex;
}

Result<Exercise> buildExercise(const json& scenario) {
  return buildExercise(buildLesson(scenario));
}

Status checkAnswer(const Exercise& ex, int64_t replicas) {
  if (replicas < ex.min_replicas || replicas > ex.max_replicas) {
    return makeError("invalid", std::to_string(replicas) + " is outside the bounds of " +
                                    ex.system + ": " + std::to_string(ex.min_replicas) + " to " +
                                    std::to_string(ex.max_replicas) + " replicas");
  }
  return Status();
}

ExerciseScore scoreDecision(const Exercise& ex, int64_t replicas) {
  ExerciseScore s;
  s.replicas = replicas;
  s.action = scaleText(ex.current, replicas);
  s.vs_engine = replicas - ex.debrief.engine_replicas;
  s.lines.push_back("Your decision: " + s.action + ".");
  const auto& outcome = ex.debrief.outcome;
  if (ex.needed_at_target && outcome) {
    const int64_t needed = *ex.needed_at_target;
    const double peak = shownNumber(outcome->max_demand);
    s.serves_at_target = replicas >= needed;
    s.serves_peak = static_cast<double>(replicas) * ex.capacity_per_replica >= peak;
    s.engine_serves_at_target = ex.debrief.engine_replicas >= needed;
    if (ex.debrief.hpa_replicas) s.hpa_serves_at_target = *ex.debrief.hpa_replicas >= needed;
    s.lines.push_back("At the " + formatPercent(ex.target_utilization) + " target, " +
                      engine::formatReplicas(replicas) + " serve " +
                      formatNumber(static_cast<double>(replicas) * ex.capacity_per_replica *
                                   ex.target_utilization) +
                      "; the highest demand was " + formatNumber(peak) + ", which needed " +
                      engine::formatReplicas(needed) + ": " +
                      (*s.serves_at_target ? "served at the target" : "not served at the target") +
                      ".");
    s.lines.push_back("At 100% utilisation they serve " +
                      formatNumber(static_cast<double>(replicas) * ex.capacity_per_replica) + ": " +
                      (*s.serves_peak ? "no overload" : "overload") + ".");
    std::string others = "The engine's " + std::to_string(ex.debrief.engine_replicas) +
                         " served the peak at the target: " + yesNo(*s.engine_serves_at_target);
    if (s.hpa_serves_at_target) {
      others += "; the HPA rule's " + std::to_string(*ex.debrief.hpa_replicas) + ": " +
                yesNo(*s.hpa_serves_at_target);
    }
    s.lines.push_back(others + ".");
    s.replica_hours_vs_engine = static_cast<double>(s.vs_engine) *
                                static_cast<double>(outcome->samples) * ex.step_s / 3600.0;
  } else {
    s.lines.push_back(
        "The outcome is not recorded yet, so your count can be compared only with the engine's "
        "and the HPA rule's.");
  }
  std::string cost;
  if (s.vs_engine == 0) {
    cost = "The same count as the engine";
  } else {
    cost = engine::formatReplicas(std::llabs(s.vs_engine)) +
           (s.vs_engine > 0 ? " more" : " fewer") + " than the engine's " +
           std::to_string(ex.debrief.engine_replicas);
    if (std::isfinite(s.replica_hours_vs_engine)) {
      cost += " (" + std::string(s.vs_engine > 0 ? "+" : "") +
              formatNumber(s.replica_hours_vs_engine) + " replica-hours over the " +
              std::to_string(outcome->samples) + " observed steps)";
    }
  }
  s.lines.push_back(cost + ".");
  if (s.serves_at_target && ex.needed_at_target) {
    const int64_t spare = replicas - *ex.needed_at_target;
    s.lines.push_back(spare == 0  ? "Right-sized: the fewest replicas that served the peak."
                      : spare > 0 ? "Over-provisioned by " + engine::formatReplicas(spare) + "."
                                  : "Under-provisioned by " + engine::formatReplicas(-spare) + ".");
  }
  return s;
}

json exerciseJson(const Exercise& ex, const std::optional<ExerciseScore>& score) {
  json steps = json::array();
  for (const auto& step : ex.steps) steps.push_back({{"title", step.title}, {"lines", step.lines}});
  const ExerciseDebrief& d = ex.debrief;
  json outcome = nullptr;
  if (d.outcome) {
    outcome = {{"samples", d.outcome->samples},
               {"max_demand", jsonNumber(d.outcome->max_demand)},
               {"overload", d.outcome->overload},
               {"overload_at", d.outcome->overload_at},
               {"forecast_mae", jsonNumber(d.outcome->forecast_mae)},
               {"inside_interval", jsonNumber(d.outcome->inside_interval)},
               {"verdict", d.verdict}};
  }
  json out = {
      {"scenario_id", ex.scenario_id},
      {"title", ex.title},
      {"time", ex.time},
      {"level", ex.level},
      {"events", ex.events},
      {"system", ex.system},
      {"steps", std::move(steps)},
      {"prompt", ex.prompt},
      {"scoring",
       {{"current", ex.current},
        {"min_replicas", ex.min_replicas},
        {"max_replicas", ex.max_replicas},
        {"capacity_per_replica", jsonNumber(ex.capacity_per_replica)},
        {"target_utilization", jsonNumber(ex.target_utilization)},
        {"needed_at_target", ex.needed_at_target ? json(*ex.needed_at_target) : json(nullptr)}}},
      {"debrief",
       {{"engine",
         {{"replicas", d.engine_replicas},
          {"rule", d.engine_rule},
          {"action", d.engine_action},
          {"reason", d.engine_reason}}},
        {"hpa", d.hpa_replicas ? json{{"replicas", *d.hpa_replicas}, {"reason", d.hpa_reason}}
                               : json(nullptr)},
        {"outcome", std::move(outcome)},
        {"lines", d.lines}}}};
  if (score) {
    auto optional = [](const std::optional<bool>& v) { return v ? json(*v) : json(nullptr); };
    out["score"] = {{"replicas", score->replicas},
                    {"action", score->action},
                    {"serves_at_target", optional(score->serves_at_target)},
                    {"serves_peak", optional(score->serves_peak)},
                    {"engine_serves_at_target", optional(score->engine_serves_at_target)},
                    {"hpa_serves_at_target", optional(score->hpa_serves_at_target)},
                    {"vs_engine", score->vs_engine},
                    {"replica_hours_vs_engine", jsonNumber(score->replica_hours_vs_engine)},
                    {"lines", score->lines}};
  }
  return out;
}

}  // namespace pso::controller::scenarios
