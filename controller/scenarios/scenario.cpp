#include "controller/scenarios/scenario.h"

#include <algorithm>
#include <bit>
#include <cctype>
#include <cmath>
#include <optional>
#include <set>
#include <string_view>
#include <unordered_map>

#include "common/clock.h"
#include "controller/engine/wording.h"
#include "controller/scenarios/business_case.h"
#include "controller/scenarios/lesson.h"
#include "controller/scenarios/questions.h"
#include "controller/scenarios/scenario_text.h"

namespace pso::controller::scenarios {
namespace {

using engine::SystemDecision;
using engine::SystemSpec;
using nlohmann::json;
using store::DirectiveRecord;

constexpr std::size_t kHistoryPointsFull = 360;
constexpr std::size_t kHistoryPointsQuiet = 20;
// How many systems a scenario document describes in full, of those that
// teach something in the cycle and of the quiet ones; the others are only
// counted (buildScenario).
constexpr std::size_t kNotableSystemsInFull = 32;
constexpr std::size_t kQuietSystemsInFull = 8;
// Slack under the nominal coverage before an interval counts as broken: with a
// few samples one miss should not condemn a 90% interval.
constexpr double kCoverageSlack = 0.10;

bool changesCount(const SystemDecision& d) {
  return d.desired_replicas != d.current_replicas;
}

// On its way or done: the change reaches (or reached) the system.
bool isDispatched(const DirectiveRecord& d) {
  return d.status == "pending" || d.status == "sent" || d.status == "applied";
}

bool heldByOperator(const SystemDecision& d) {
  return std::any_of(d.facts.guardrails.begin(), d.facts.guardrails.end(),
                     [](const engine::GuardrailEffect& g) {
                       return g.kind == engine::GuardrailKind::kOperatorHold;
                     });
}

// Planned from the forecast: a predictive rule set the recommendation and no
// operator hold replaced it.
bool isForecastDriven(const SystemDecision& d) {
  return engine::sizedByForecast(d.facts.rule) && !heldByOperator(d);
}

bool hasCoordination(const SystemDecision& d, engine::CoordinationKind kind) {
  return std::any_of(d.facts.coordination.begin(), d.facts.coordination.end(),
                     [&](const engine::CoordinationEffect& c) { return c.kind == kind; });
}

int64_t readyOf(const SystemDecision& d) {
  return d.ready_replicas >= 0 ? d.ready_replicas : d.current_replicas;
}

// Everything the builder needs about one system, gathered once.
struct SystemView {
  std::string name;
  std::size_t order = 0;  // position in the cycle's decisions, then directives
  const SystemDecision* decision = nullptr;
  const SystemSpec* spec = nullptr;
  std::vector<const DirectiveRecord*> directives;
  bool acting = false;
  /// Described as an earlier document did (DescribedSystems): kept until the
  /// outcome says whether it teaches anything new (fillOutcome).
  bool unchanged = false;

  double capacityPerReplica() const {
    if (spec) return spec->capacity_per_replica;
    return decision ? decision->capacity_per_replica : 1.0;
  }
  double targetUtilization() const {
    if (spec) return spec->target_utilization;
    return decision ? decision->target_utilization : 0.7;
  }
  int64_t minReplicas() const { return spec ? spec->min_replicas : 0; }
  int64_t maxReplicas() const {
    return spec ? spec->max_replicas : std::numeric_limits<int64_t>::max();
  }
};

std::vector<SystemView> gatherSystems(const CycleContext& ctx) {
  std::vector<SystemView> views;
  views.reserve(ctx.decisions.systems.size());
  std::unordered_map<std::string, std::size_t> index;  // name -> position in views
  auto add = [&](const std::string& name) -> SystemView& {
    auto [it, added] = index.emplace(name, views.size());
    if (added) {
      SystemView& v = views.emplace_back();
      v.name = name;
      v.order = it->second;
    }
    return views[it->second];
  };
  for (const auto& d : ctx.decisions.systems) {
    SystemView& v = add(d.system);
    if (!v.decision) v.decision = &d;
  }
  for (const auto& d : ctx.directives) add(d.system).directives.push_back(&d);
  for (auto& v : views) {
    if (auto it = ctx.specs.find(v.name); it != ctx.specs.end()) v.spec = &it->second;
    v.acting = !v.directives.empty() || (v.decision && changesCount(*v.decision));
  }
  return views;
}

// How much a system teaches in this cycle, most first: a pool or a
// dependency shaped its decision (0); it acts, by a change or a directive
// (1); an alert rule or an operator's hold shaped its decision (2); a
// bottleneck is predicted for it (3); the forecast sized it otherwise than
// the HPA rule would have (4); nothing (5, quiet).
int teachingRank(const SystemView& v) {
  const SystemDecision* d = v.decision;
  if (d && !d->facts.coordination.empty()) return 0;
  if (v.acting) return 1;
  if (!d) return 5;
  if (!d->facts.alerts.empty() || heldByOperator(*d)) return 2;
  if (d->bottleneck) return 3;
  if (isForecastDriven(*d) && d->desired_replicas != d->reactive_replicas) return 4;
  return 5;
}
constexpr int kQuietRank = 5;

bool isQuiet(const CycleContext& ctx) {
  if (!ctx.directives.empty() || !ctx.workflow_notes.empty()) return false;
  return std::none_of(ctx.decisions.systems.begin(), ctx.decisions.systems.end(), changesCount);
}

// What a document's description of a system teaches, without the numbers
// that move every cycle (demand, forecast, utilisations: the cycle record
// keeps those): two cycles with the same signature describe the system alike
// (DescribedSystems). For a system that teaches something (rank below
// kQuietRank), everything that decides its rank, its counts, its words or
// its questions' answers is in it. A quiet system teaches that nothing needed
// doing: its counts and spec are its signature, so a plan that wavers under
// a count it keeps (a scale-down held back, then none needed) does not
// describe it again every cycle.
std::string teachingSignature(const SystemView& v) {
  std::string out;
  auto add = [&](const auto& value) {
    if constexpr (std::is_convertible_v<decltype(value), std::string_view>) {
      out += value;
    } else {
      out += std::to_string(value);
    }
    out += '|';
  };
  const int rank = teachingRank(v);
  add(rank);
  if (const SystemDecision* d = v.decision) {
    add(d->current_replicas);
    add(readyOf(*d));
    add(d->desired_replicas);
    add(d->reactive_replicas);
    add(d->dispatch ? 1 : 0);
  }
  const SystemDecision* d = rank == kQuietRank ? nullptr : v.decision;
  if (d) {
    add(d->recommended_replicas);
    add(d->rule);
    add(d->lead_steps);
    add(d->bottleneck ? d->bottleneck->kind : std::string("-"));
    const engine::DecisionFacts& f = d->facts;
    add(static_cast<int>(f.rule));
    // The plan is in the words only when the observed-demand floor raised it.
    if (f.rule == engine::DecisionRule::kObservedDemandFloor) add(f.plan_replicas);
    add(f.observations >= f.min_observations ? 1 : 0);
    add(f.provenance.model);
    // The HPA rule's own count is above; of how it came about, what its
    // sentence says: the reason and the limits that held it.
    add(static_cast<int>(f.reactive.reason));
    add(f.reactive.stabilized_replicas > f.reactive.raw_replicas ? 1 : 0);
    add(f.reactive.limited_by_scale_up ? 1 : 0);
    add(f.reactive.capped_at_max ? 1 : 0);
    add(f.reactive.raised_to_min ? 1 : 0);
    for (const auto& g : f.guardrails) {
      add(static_cast<int>(g.kind));
      add(g.from);
      add(g.to);
    }
    add("c");
    for (const auto& c : f.coordination) {
      add(static_cast<int>(c.kind));
      add(c.source);
      add(c.from);
      add(c.to);
    }
    add("a");
    for (const auto& a : f.alerts) {
      add(a.rule);
      add(a.from);
      add(a.to);
    }
    add("p");
    for (const auto& pool : f.pools) add(pool);
  }
  // A directive that goes out, or an operator's or a rule's, is an action of
  // this cycle: its id makes the signature new. The engine's change recorded
  // and not dispatched (forecast-only) repeats every cycle it stays wanted.
  add("d");
  for (const DirectiveRecord* d : v.directives) {
    add(d->source);
    add(d->action);
    add(d->replicas);
    add(d->status);
    if (d->source != "engine" || isDispatched(*d)) add(d->id);
  }
  if (const SystemSpec* spec = v.spec) {
    add("s");
    add(spec->min_replicas);
    add(spec->max_replicas);
    add(std::bit_cast<uint64_t>(spec->capacity_per_replica));
    add(std::bit_cast<uint64_t>(spec->target_utilization));
    add(std::bit_cast<uint64_t>(spec->warmup_s));
    add(spec->priority);
    for (const auto& dep : spec->depends_on) add(dep);
  }
  return out;
}

// ---------------------------------------------------------------------------
// Sections of the document.

// The engine always writes a rationale; a decision assembled elsewhere may not.
std::string rationaleText(const SystemDecision& d) {
  if (!d.rationale.empty()) return d.rationale;
  return d.system + ": " + scaleText(d.current_replicas, d.desired_replicas) + " (rule " + d.rule +
         ").";
}

json historyJson(const std::vector<store::Sample>& samples, std::size_t keep) {
  json out = json::array();
  const std::size_t start = samples.size() > keep ? samples.size() - keep : 0;
  for (std::size_t i = start; i < samples.size(); ++i) {
    out.push_back(json::array({samples[i].ts_ms, jsonNumber(samples[i].value)}));
  }
  return out;
}

json seriesJson(const std::vector<double>& values) {
  json out = json::array();
  for (double v : values) out.push_back(jsonNumber(v));
  return out;
}

json situationJson(const SystemView& v, const CycleContext& ctx, bool quiet) {
  json s = json::object();
  const double cap = v.capacityPerReplica();
  s["capacity_per_replica"] = jsonNumber(cap);
  s["target_utilization"] = jsonNumber(v.targetUtilization());
  if (v.spec) {
    s["min_replicas"] = v.spec->min_replicas;
    s["max_replicas"] = v.spec->max_replicas;
    s["warmup_s"] = jsonNumber(v.spec->warmup_s);
    s["priority"] = v.spec->priority;
    s["depends_on"] = v.spec->depends_on;
  } else {
    s["depends_on"] = json::array();
  }
  if (v.decision) {
    const SystemDecision& d = *v.decision;
    const int64_t ready = readyOf(d);
    const double ready_capacity = static_cast<double>(ready) * cap;
    s["demand"] = jsonNumber(d.demand);
    s["replicas"] = {{"current", d.current_replicas}, {"ready", ready}};
    s["ready_capacity"] = jsonNumber(ready_capacity);
    s["utilization"] = ready_capacity > 0 ? jsonNumber(d.demand / ready_capacity) : json(nullptr);
  } else {
    s["demand"] = nullptr;
    s["replicas"] = nullptr;
    s["ready_capacity"] = nullptr;
    s["utilization"] = nullptr;
  }
  auto history = ctx.history.find(v.name);
  s["history"] =
      history == ctx.history.end()
          ? json::array()
          : historyJson(history->second, quiet ? kHistoryPointsQuiet : kHistoryPointsFull);
  return s;
}

json bottleneckJson(const engine::Bottleneck& b) {
  return {{"kind", b.kind},
          {"eta", common::formatIso8601(b.eta_ms)},
          {"eta_ms", b.eta_ms},
          {"steps_ahead", b.steps_ahead},
          {"predicted_demand", jsonNumber(b.predicted_demand)},
          {"capacity", jsonNumber(b.capacity)},
          {"probability", jsonNumber(b.probability)}};
}

json provenanceJson(const engine::ForecastProvenance& p) {
  return {{"configured", p.configured},
          {"model", p.model},
          {"family", p.family},
          {"selected_by_backtest", p.selected_by_backtest}};
}

json forecastJson(const SystemDecision& d) {
  const auto& f = d.forecast;
  return {{"model", f.model},
          {"coverage", jsonNumber(f.coverage)},
          {"backtest_mae", jsonNumber(f.backtest_mae)},
          {"observations", f.observations},
          {"point", seriesJson(f.point)},
          {"lo", seriesJson(f.lo)},
          {"hi", seriesJson(f.hi)},
          {"lead_steps", d.lead_steps},
          {"planned_demand", jsonNumber(d.planned_demand)},
          {"planning_quantile", jsonNumber(d.facts.planning_quantile)},
          {"planned_steps", d.facts.planned_steps},
          {"provenance", provenanceJson(d.facts.provenance)},
          {"bottleneck", d.bottleneck ? bottleneckJson(*d.bottleneck) : json(nullptr)}};
}

json candidatesJson(const SystemDecision& d) {
  json out = json::array();
  for (const auto& c : d.candidates) {
    out.push_back({{"replicas", c.replicas},
                   {"predicted_utilization", jsonNumber(c.predicted_utilization)},
                   {"overload_probability", jsonNumber(c.overload_probability)},
                   {"cost_replica_hours", jsonNumber(c.cost_replica_hours)},
                   {"note", c.note},
                   {"chosen", c.replicas == d.desired_replicas}});
  }
  return out;
}

json directiveJson(const DirectiveRecord& d) {
  json out = {
      {"id", d.id},         {"system", d.system}, {"action", d.action}, {"replicas", d.replicas},
      {"source", d.source}, {"status", d.status}, {"reason", d.reason}};
  if (d.hold_until_ms > 0) {
    out["hold_until_ms"] = d.hold_until_ms;
    out["hold_until"] = common::formatIso8601(d.hold_until_ms);
  }
  return out;
}

json factsJson(const engine::DecisionFacts& f) {
  json coordination = json::array();
  for (const auto& c : f.coordination) {
    json item = {{"kind", engine::coordinationCode(c.kind)},
                 {"source", c.source},
                 {"from", c.from},
                 {"to", c.to}};
    if (c.kind == engine::CoordinationKind::kDependency) {
      item["rise"] = jsonNumber(c.rise);
      item["planned_demand"] = jsonNumber(c.planned_demand);
    } else {
      item["pool_capacity"] = c.pool_capacity;
      item["pool_wanted"] = c.pool_wanted;
      item["below_minimum"] = c.below_minimum;
    }
    coordination.push_back(std::move(item));
  }
  json guardrails = json::array();
  for (const auto& g : f.guardrails) {
    guardrails.push_back({{"kind", engine::guardrailCode(g.kind)}, {"from", g.from}, {"to", g.to}});
  }
  json alerts = json::array();
  for (const auto& a : f.alerts) {
    alerts.push_back({{"rule", a.rule},
                      {"condition", a.condition},
                      {"action", engine::alertActionCode(a.action)},
                      {"from", a.from},
                      {"to", a.to}});
  }
  return {{"rule", engine::ruleCode(f.rule)},
          {"coordination", std::move(coordination)},
          {"guardrails", std::move(guardrails)},
          {"alerts", std::move(alerts)},
          {"pools", f.pools},
          {"observations", f.observations},
          {"min_observations", f.min_observations},
          {"plan_replicas", f.plan_replicas},
          {"floor_replicas", f.floor_replicas}};
}

json rationaleJson(const SystemDecision& d) {
  return {{"text", rationaleText(d)},
          {"rule", d.rule},
          {"guardrails", d.guardrails},
          {"current_replicas", d.current_replicas},
          {"recommended_replicas", d.recommended_replicas},
          {"desired_replicas", d.desired_replicas},
          {"dispatch", d.dispatch},
          {"facts", factsJson(d.facts)}};
}

json reactiveFactsJson(const engine::ReactiveFacts& f) {
  return {{"reason", engine::reactiveReasonCode(f.reason)},
          {"raw_replicas", f.raw_replicas},
          {"utilization", jsonNumber(f.utilization)},
          {"ratio", jsonNumber(f.ratio)},
          {"tolerance", jsonNumber(f.tolerance)},
          {"stabilized_replicas", f.stabilized_replicas},
          {"stabilization_s", jsonNumber(f.stabilization_s)},
          {"scale_up_limit", f.scale_up_limit},
          {"limited_by_scale_up", f.limited_by_scale_up},
          {"capped_at_max", f.capped_at_max},
          {"raised_to_min", f.raised_to_min},
          {"replicas", f.replicas}};
}

// "why" is written from the facts by the lesson (reactiveComparison) once the
// document is complete.
json reactiveJson(const SystemDecision& d) {
  return {{"replicas", d.reactive_replicas},
          {"rationale", d.reactive_rationale},
          {"differs", d.reactive_replicas != d.desired_replicas},
          {"why", ""},
          {"facts", reactiveFactsJson(d.facts.reactive)}};
}

// ---------------------------------------------------------------------------
// Events and level.

std::vector<std::string> classifyEvents(const CycleContext& ctx,
                                        const std::vector<SystemView>& views) {
  std::vector<std::string> events;
  bool scaling = std::any_of(ctx.directives.begin(), ctx.directives.end(), isDispatched);
  for (const auto& v : views) {
    // Without directive records (e.g. a replayed simulation), the decision
    // itself says whether a change went out.
    if (v.decision && v.directives.empty() && v.decision->dispatch && changesCount(*v.decision)) {
      scaling = true;
    }
  }
  if (scaling) events.emplace_back(kEventScalingExecuted);

  // The engine records a coordination effect only when it changed a plan.
  const bool coordination =
      std::any_of(ctx.decisions.systems.begin(), ctx.decisions.systems.end(),
                  [](const SystemDecision& d) { return !d.facts.coordination.empty(); });
  if (coordination) events.emplace_back(kEventCoordinationOptimized);

  const bool workflow =
      !ctx.workflow_notes.empty() ||
      std::any_of(ctx.directives.begin(), ctx.directives.end(), [](const DirectiveRecord& d) {
        return d.source == "operator" || d.source == "alert";
      });
  if (workflow) events.emplace_back(kEventWorkflowEnhanced);
  return events;
}

std::string classifyLevel(const CycleContext& ctx, const std::vector<SystemView>& views) {
  std::size_t acting = 0;
  bool pools = false;
  bool dependencies = false;
  bool predictive_differs = false;
  std::set<std::string> depended_on;
  for (const auto& [name, spec] : ctx.specs) {
    depended_on.insert(spec.depends_on.begin(), spec.depends_on.end());
  }
  for (const auto& v : views) {
    if (v.unchanged) continue;
    if (v.acting) ++acting;
    if (v.decision) {
      const SystemDecision& d = *v.decision;
      if (hasCoordination(d, engine::CoordinationKind::kPool) ||
          (d.bottleneck && d.bottleneck->kind == "pool")) {
        pools = true;
      }
      if (hasCoordination(d, engine::CoordinationKind::kDependency)) dependencies = true;
      if (isForecastDriven(d) && d.desired_replicas != d.reactive_replicas) {
        predictive_differs = true;
      }
    }
    if (v.acting && ((v.spec && !v.spec->depends_on.empty()) || depended_on.count(v.name))) {
      dependencies = true;
    }
  }
  if (acting >= 3 || pools) return kLevelEnterpriseCoordination;
  if (dependencies) return kLevelSystemIntegration;
  if (predictive_differs) return kLevelAdvancedOptimization;
  return kLevelFoundation;
}

// ---------------------------------------------------------------------------
// Outcome.

struct SeriesLookup {
  std::vector<store::Sample> samples;  // sorted by time
  int64_t initial = 0;

  // The last value at or before t, else the count the cycle started from.
  int64_t at(int64_t t) const {
    auto it = std::upper_bound(samples.begin(), samples.end(), t,
                               [](int64_t ts, const store::Sample& s) { return ts < s.ts_ms; });
    if (it == samples.begin()) return initial;
    return static_cast<int64_t>(std::llround(std::prev(it)->value));
  }
};

struct SystemOutcome {
  json doc;
  bool overload = false;
  bool observed = false;
  bool above_interval = false;  ///< demand went above the forecast's upper bound
};

SystemOutcome judgeSystem(const std::string& name, const json& scenario,
                          const ObservedOutcome& observed, json& went_well, json& went_wrong) {
  const json& forecast = memberAt(memberAt(scenario, "forecasts"), name);
  const json& situation = memberAt(memberAt(scenario, "situation"), name);
  const int64_t ts0 = integerAt(scenario, "ts_ms");
  const double step_ms = std::max(1.0, numberAt(scenario, "step_s", 15.0) * 1000.0);
  const auto point = numbersAt(forecast, "point");
  const auto lo = numbersAt(forecast, "lo");
  const auto hi = numbersAt(forecast, "hi");
  const double coverage = numberAt(forecast, "coverage", 0.9);
  const std::size_t horizon = point.size();
  const double cap = numberAt(situation, "capacity_per_replica", 0.0);
  const auto warmup_ms = static_cast<int64_t>(numberAt(situation, "warmup_s", 0.0) * 1000.0);
  const json& replicas = memberAt(situation, "replicas");
  const int64_t ready0 = integerAt(replicas, "ready", integerAt(replicas, "current", 0));

  SeriesLookup replica_series;
  replica_series.initial = ready0;
  if (auto it = observed.replicas.find(name); it != observed.replicas.end()) {
    replica_series.samples = it->second;
    std::sort(replica_series.samples.begin(), replica_series.samples.end(),
              [](const store::Sample& a, const store::Sample& b) { return a.ts_ms < b.ts_ms; });
  }

  std::size_t samples = 0, inside = 0, judged = 0, above = 0, below = 0, overloaded = 0;
  double abs_error = 0.0, max_demand = -std::numeric_limits<double>::infinity();
  int64_t max_demand_ts = 0;
  std::optional<store::Sample> first_above, first_below, first_overload;
  double first_above_bound = 0, first_below_bound = 0, first_overload_capacity = 0;
  std::size_t errors = 0;

  const auto demand_it = observed.demand.find(name);
  if (demand_it != observed.demand.end()) {
    for (const auto& s : demand_it->second) {
      if (!std::isfinite(s.value) || s.ts_ms <= ts0) continue;
      const auto step =
          static_cast<std::size_t>(std::ceil(static_cast<double>(s.ts_ms - ts0) / step_ms));
      if (horizon > 0 && step > horizon) continue;
      ++samples;
      if (s.value > max_demand) {
        max_demand = s.value;
        max_demand_ts = s.ts_ms;
      }
      const std::size_t idx = step - 1;
      if (idx < point.size() && std::isfinite(point[idx])) {
        abs_error += std::fabs(s.value - point[idx]);
        ++errors;
      }
      if (idx < lo.size() && idx < hi.size() && std::isfinite(lo[idx]) && std::isfinite(hi[idx])) {
        ++judged;
        if (s.value > hi[idx]) {
          ++above;
          if (!first_above) {
            first_above = s;
            first_above_bound = hi[idx];
          }
        } else if (s.value < lo[idx]) {
          ++below;
          if (!first_below) {
            first_below = s;
            first_below_bound = lo[idx];
          }
        } else {
          ++inside;
        }
      }
      const int64_t ready =
          std::min(replica_series.at(s.ts_ms), replica_series.at(s.ts_ms - warmup_ms));
      const double capacity = static_cast<double>(std::max<int64_t>(ready, 0)) * cap;
      if (cap > 0 && s.value > capacity) {
        ++overloaded;
        if (!first_overload) {
          first_overload = s;
          first_overload_capacity = capacity;
        }
      }
    }
  }

  SystemOutcome out;
  out.observed = samples > 0;
  out.overload = overloaded > 0;
  out.above_interval = above > 0;
  json& doc = out.doc;
  doc = json::object();
  doc["samples"] = samples;
  doc["forecast_mae"] =
      errors ? jsonNumber(abs_error / static_cast<double>(errors)) : json(nullptr);
  doc["inside_interval"] =
      judged ? jsonNumber(static_cast<double>(inside) / static_cast<double>(judged))
             : json(nullptr);
  doc["above_interval"] = above;
  doc["below_interval"] = below;
  doc["max_demand"] = samples ? jsonNumber(max_demand) : json(nullptr);
  doc["max_demand_at"] = samples ? json(common::formatIso8601(max_demand_ts)) : json(nullptr);
  doc["overload"] = out.overload;
  doc["overload_samples"] = overloaded;
  doc["overload_at"] =
      first_overload ? json(common::formatIso8601(first_overload->ts_ms)) : json(nullptr);

  const double mae =
      errors ? abs_error / static_cast<double>(errors) : std::numeric_limits<double>::quiet_NaN();
  std::string verdict;
  json held = nullptr;
  if (samples == 0) {
    verdict = "no demand observed after the cycle; the forecast cannot be judged";
  } else if (judged == 0) {
    verdict = "the forecast had no interval to judge; MAE " + formatNumber(mae);
  } else {
    const double share = static_cast<double>(inside) / static_cast<double>(judged);
    const std::string detail = std::to_string(inside) + " of " + std::to_string(judged) +
                               " samples inside the " + formatPercent(coverage) +
                               " interval, MAE " + formatNumber(mae);
    const bool ok = share >= std::max(0.5, coverage - kCoverageSlack);
    held = ok;
    if (ok) {
      verdict = "forecast held: " + detail;
      went_well.push_back(name + ": forecast held (" + detail + ")");
    } else if (above >= below && first_above) {
      verdict = "forecast too low: demand exceeded the upper bound at " +
                common::formatIso8601(first_above->ts_ms) + " (" +
                formatNumber(first_above->value) + " > " + formatNumber(first_above_bound) + "); " +
                detail;
      went_wrong.push_back(name + ": demand exceeded the forecast upper bound at " +
                           common::formatIso8601(first_above->ts_ms));
    } else if (first_below) {
      verdict = "forecast too high: demand fell below the lower bound at " +
                common::formatIso8601(first_below->ts_ms) + " (" +
                formatNumber(first_below->value) + " < " + formatNumber(first_below_bound) + "); " +
                detail;
      went_wrong.push_back(name + ": demand fell below the forecast lower bound at " +
                           common::formatIso8601(first_below->ts_ms) +
                           " (capacity was held that was not needed)");
    }
  }
  doc["forecast_held"] = held;
  if (samples > 0 && cap > 0) {
    if (first_overload) {
      const std::string text = "overload at " + common::formatIso8601(first_overload->ts_ms) +
                               ": demand " + formatNumber(first_overload->value) +
                               " > ready capacity " + formatNumber(first_overload_capacity);
      verdict += "; " + text;
      went_wrong.push_back(name + ": " + text);
    } else {
      verdict += "; no overload";
      went_well.push_back(name + ": no overload in " + std::to_string(samples) + " samples");
    }
  }
  doc["verdict"] = verdict;
  return out;
}

}  // namespace

const std::vector<std::string>& scenarioLevels() {
  static const std::vector<std::string> kLevels = {kLevelFoundation, kLevelAdvancedOptimization,
                                                   kLevelSystemIntegration,
                                                   kLevelEnterpriseCoordination};
  return kLevels;
}

const std::vector<std::string>& scenarioEvents() {
  static const std::vector<std::string> kEvents = {kEventScalingExecuted, kEventBottleneckPrevented,
                                                   kEventCoordinationOptimized,
                                                   kEventWorkflowEnhanced};
  return kEvents;
}

json buildScenario(const CycleContext& ctx, DescribedSystems* described) {
  auto views = gatherSystems(ctx);
  const bool quiet = isQuiet(ctx);
  const std::string id = scenarioIdForCycle(ctx.cycle_id);
  // A lesson teaches from a few systems, and a large fleet's cycle holds
  // thousands, most with nothing to teach: the document covers the
  // kNotableSystemsInFull systems that teach most (by teachingRank, then in
  // fleet order) and the first kQuietSystemsInFull quiet ones, and counts the
  // others; their numbers stay in the cycle's own record
  // (CycleRecord::decisions_json). A small fleet's document is whole. The
  // events and the level come from the systems described: every rank that
  // decides them sorts before the ones left out. A system covered and
  // unchanged since a document described it is named under `unchanged` with
  // that document (DescribedSystems) and still described until its outcome
  // is known: fillOutcome keeps it when the outcome teaches something (a
  // forecast missed, an overload) and otherwise leaves only the name. The
  // level comes from the systems that changed.
  std::stable_sort(views.begin(), views.end(), [](const SystemView& a, const SystemView& b) {
    return teachingRank(a) < teachingRank(b);
  });
  std::size_t notable_kept = 0;
  std::size_t quiet_kept = 0;
  std::size_t notable_left_out = 0;
  std::size_t quiet_left_out = 0;
  json unchanged = json::object();
  std::unordered_map<std::string, std::string> signatures;  // of the systems described
  std::erase_if(views, [&](SystemView& v) {
    const bool quiet_system = teachingRank(v) == kQuietRank;
    std::size_t& kept = quiet_system ? quiet_kept : notable_kept;
    if (kept >= (quiet_system ? kQuietSystemsInFull : kNotableSystemsInFull)) {
      ++(quiet_system ? quiet_left_out : notable_left_out);
      return true;
    }
    ++kept;
    if (!described) return false;
    std::string signature = teachingSignature(v);
    if (const std::string* since = described->unchangedSince(v.name, signature, ctx.ts_ms)) {
      unchanged[v.name] = *since;
      v.unchanged = true;
    } else {
      signatures.emplace(v.name, std::move(signature));
    }
    return false;
  });
  // The systems described keep the fleet's order.
  std::sort(views.begin(), views.end(),
            [&](const SystemView& a, const SystemView& b) { return a.order < b.order; });

  json doc = json::object();
  doc["id"] = id;
  doc["schema_version"] = kScenarioSchemaVersion;
  doc["cycle_id"] = ctx.cycle_id;
  doc["time"] = common::formatIso8601(ctx.ts_ms);
  doc["ts_ms"] = ctx.ts_ms;
  doc["mode"] = ctx.mode;
  doc["step_s"] = jsonNumber(ctx.step_s);
  doc["quiet"] = quiet;
  if (notable_left_out + quiet_left_out > 0) {
    doc["systems_left_out"] = {{"notable", notable_left_out}, {"quiet", quiet_left_out}};
  }

  json systems = json::array();
  json situation = json::object();
  json forecasts = json::object();
  json candidates = json::object();
  json rationale = json::object();
  json reactive = json::object();
  for (const auto& v : views) {
    systems.push_back(v.name);
    situation[v.name] = situationJson(v, ctx, quiet);
    if (!v.decision) continue;
    forecasts[v.name] = forecastJson(*v.decision);
    candidates[v.name] = candidatesJson(*v.decision);
    rationale[v.name] = rationaleJson(*v.decision);
    reactive[v.name] = reactiveJson(*v.decision);
  }
  doc["systems"] = std::move(systems);
  doc["unchanged"] = std::move(unchanged);
  doc["situation"] = std::move(situation);
  doc["forecasts"] = std::move(forecasts);
  doc["candidates"] = std::move(candidates);
  // The directives of the systems described, and every operator's and alert
  // rule's; the engine's others are counted (the directive store keeps them):
  // a forecast-only fleet records one for every system off its count, every
  // cycle.
  std::set<std::string> described_names;
  for (const auto& v : views) described_names.insert(v.name);
  json directives = json::array();
  std::size_t directives_left_out = 0;
  for (const auto& d : ctx.directives) {
    if (d.source == "engine" && !described_names.count(d.system)) {
      ++directives_left_out;
      continue;
    }
    directives.push_back(directiveJson(d));
  }
  doc["directives"] = std::move(directives);
  if (directives_left_out > 0) doc["directives_left_out"] = directives_left_out;
  doc["rationale"] = std::move(rationale);
  doc["workflow_notes"] = ctx.workflow_notes;
  doc["reactive_baseline"] = std::move(reactive);
  doc["events"] = classifyEvents(ctx, views);
  doc["level"] = classifyLevel(ctx, views);
  doc["outcome"] = nullptr;
  doc["questions"] = json::array();
  // The comparison with the HPA rule and the questions are written from the
  // lesson the document makes, so they say what the lesson shows.
  const Lesson lesson = buildLesson(doc);
  for (const auto& system : lesson.systems) {
    if (system.reactive && doc["reactive_baseline"].contains(system.name)) {
      doc["reactive_baseline"][system.name]["why"] = system.reactive->comparison;
    }
  }
  json questions = json::array();
  for (const auto& q : writeQuestions(lesson)) questions.push_back(questionJson(q));
  doc["questions"] = std::move(questions);
  if (described) {
    described->forgetBefore(ctx.ts_ms);
    for (auto& [name, signature] : signatures) {
      described->described(name, std::move(signature), id, ctx.ts_ms);
    }
  }
  return doc;
}

const std::string* DescribedSystems::unchangedSince(const std::string& system,
                                                    const std::string& signature,
                                                    int64_t now_ms) const {
  auto it = by_system_.find(system);
  if (it == by_system_.end()) return nullptr;
  for (const Entry& entry : it->second) {
    if (entry.signature != signature) continue;
    if (now_ms - entry.ts_ms >= kDescribeAgainAfterMs || now_ms < entry.ts_ms) return nullptr;
    return &entry.scenario_id;
  }
  return nullptr;
}

void DescribedSystems::described(const std::string& system, std::string signature,
                                 const std::string& scenario_id, int64_t now_ms) {
  std::vector<Entry>& entries = by_system_[system];
  auto slot = std::find_if(entries.begin(), entries.end(),
                           [&](const Entry& e) { return e.signature == signature; });
  if (slot == entries.end()) {
    if (entries.size() < kSituationsPerSystem) {
      slot = entries.insert(entries.end(), Entry{});
    } else {
      slot = std::min_element(entries.begin(), entries.end(),
                              [](const Entry& a, const Entry& b) { return a.ts_ms < b.ts_ms; });
    }
  }
  slot->signature = std::move(signature);
  slot->scenario_id = scenario_id;
  slot->ts_ms = now_ms;
}

void DescribedSystems::forgetBefore(int64_t now_ms) {
  for (auto it = by_system_.begin(); it != by_system_.end();) {
    std::erase_if(it->second,
                  [&](const Entry& e) { return now_ms - e.ts_ms >= kDescribeAgainAfterMs; });
    it = it->second.empty() ? by_system_.erase(it) : std::next(it);
  }
}

bool coversSystem(const json& scenario, const std::string& system) {
  const auto described = stringsAt(scenario, "systems");
  if (std::find(described.begin(), described.end(), system) != described.end()) return true;
  const json& unchanged = memberAt(scenario, "unchanged");
  return unchanged.is_object() && unchanged.contains(system);
}

store::ScenarioRecord toRecord(const json& scenario) {
  store::ScenarioRecord record;
  record.id = textAt(scenario, "id");
  record.cycle_id = textAt(scenario, "cycle_id");
  record.ts_ms = integerAt(scenario, "ts_ms");
  record.level = textAt(scenario, "level");
  record.events = stringsAt(scenario, "events");
  record.systems = stringsAt(scenario, "systems");
  const json& outcome = memberAt(scenario, "outcome");
  record.outcome_filled = outcome.is_object() && boolAt(outcome, "filled", true);
  record.json = scenario.dump(-1, ' ', false, json::error_handler_t::replace);
  return record;
}

namespace {

// What teaches nothing beyond the document that described it before: its
// forecast held (or there was nothing to judge) and demand stayed inside the
// interval; an overload only as predicted (its bottleneck, part of what the
// earlier document describes: forecast-only mode records the scale-up that
// would prevent it, and the overload repeats every cycle until it ends).
// Then the outcome it keeps: whether the engine's and the HPA rule's counts
// were short of the highest demand observed (what the business case counts).
std::optional<json> settledOutcome(const std::string& name, const json& scenario,
                                   const ObservedOutcome& observed) {
  json went_well = json::array();
  json went_wrong = json::array();
  const SystemOutcome judged = judgeSystem(name, scenario, observed, went_well, went_wrong);
  const json& held = memberAt(judged.doc, "forecast_held");
  if (judged.above_interval || (held.is_boolean() && !held.get<bool>())) return std::nullopt;
  const json& forecast = memberAt(memberAt(scenario, "forecasts"), name);
  if (judged.overload && !memberAt(forecast, "bottleneck").is_object()) return std::nullopt;
  json out = json::object();
  const double max_demand = numberAt(judged.doc, "max_demand");
  const double capacity =
      numberAt(memberAt(memberAt(scenario, "situation"), name), "capacity_per_replica");
  const double engine =
      numberAt(memberAt(memberAt(scenario, "rationale"), name), "desired_replicas");
  const double hpa = numberAt(memberAt(memberAt(scenario, "reactive_baseline"), name), "replicas");
  if (std::isfinite(max_demand) && std::isfinite(capacity) && std::isfinite(engine) &&
      std::isfinite(hpa)) {
    out["engine_short"] = countFellShort(max_demand, engine, capacity);
    out["hpa_short"] = countFellShort(max_demand, hpa, capacity);
  }
  return out;
}

// Takes a system's description out of a document, leaving its name under
// `unchanged`: its sections, its questions and the engine's directives for it
// (counted under directives_left_out).
void dropDescription(json& scenario, const std::string& name) {
  json& systems = scenario["systems"];
  for (auto it = systems.begin(); it != systems.end();) {
    it = it->is_string() && it->get<std::string>() == name ? systems.erase(it) : it + 1;
  }
  for (const char* section :
       {"situation", "forecasts", "candidates", "rationale", "reactive_baseline"}) {
    if (scenario.contains(section) && scenario[section].is_object()) scenario[section].erase(name);
  }
  // A question about it, or with a choice about it (which system runs out
  // first), asks about numbers the lesson no longer shows.
  auto mentions = [&](const json& q) {
    if (textAt(q, "system") == name) return true;
    const json& choices = memberAt(q, "choices");
    return choices.is_array() && std::any_of(choices.begin(), choices.end(), [&](const json& c) {
             return textAt(memberAt(c, "claim"), "system") == name;
           });
  };
  if (json& questions = scenario["questions"]; questions.is_array()) {
    for (auto it = questions.begin(); it != questions.end();) {
      it = mentions(*it) ? questions.erase(it) : it + 1;
    }
  }
  if (json& directives = scenario["directives"]; directives.is_array()) {
    int64_t dropped = 0;
    for (auto it = directives.begin(); it != directives.end();) {
      if (textAt(*it, "system") == name && textAt(*it, "source") == "engine") {
        it = directives.erase(it);
        ++dropped;
      } else {
        ++it;
      }
    }
    if (dropped > 0) {
      scenario["directives_left_out"] = integerAt(scenario, "directives_left_out", 0) + dropped;
    }
  }
}

}  // namespace

void fillOutcome(json& scenario, const ObservedOutcome& observed) {
  if (!scenario.is_object()) return;
  // Systems named unchanged: only the name stays when the outcome teaches
  // nothing new; otherwise the description stays and the name goes.
  std::vector<std::pair<std::string, std::string>> settled;  // name, the scenario describing it
  json settled_outcomes = json::object();
  if (json& unchanged = scenario["unchanged"]; unchanged.is_object()) {
    const auto described = stringsAt(scenario, "systems");
    for (auto it = unchanged.begin(); it != unchanged.end();) {
      const std::string name = it.key();
      const std::string since = it->is_string() ? it->get<std::string>() : std::string();
      if (std::find(described.begin(), described.end(), name) == described.end()) {
        ++it;
      } else if (!it->is_string()) {
        it = unchanged.erase(it);  // names no scenario: the description stays
      } else if (auto kept = settledOutcome(name, scenario, observed)) {
        dropDescription(scenario, name);
        settled_outcomes[name] = std::move(*kept);
        settled.emplace_back(name, since);
        ++it;
      } else {
        it = unchanged.erase(it);
      }
    }
  } else {
    scenario.erase("unchanged");
  }
  json went_well = json::array();
  json went_wrong = json::array();
  json got_lucky = json::array();
  json systems = json::object();
  std::vector<std::string> verdicts;
  bool prevented = false;

  const json& forecasts = memberAt(scenario, "forecasts");
  const json& situation = memberAt(scenario, "situation");
  for (const auto& name : stringsAt(scenario, "systems")) {
    SystemOutcome judged = judgeSystem(name, scenario, observed, went_well, went_wrong);
    const json& bottleneck = memberAt(memberAt(forecasts, name), "bottleneck");
    if (bottleneck.is_object()) {
      const int64_t current =
          integerAt(memberAt(memberAt(situation, name), "replicas"), "current", 0);
      // Evidence: the capacity was actually added, and demand was watched
      // through the window without exceeding what was ready.
      const bool scaled_up = std::any_of(
          observed.directives.begin(), observed.directives.end(), [&](const DirectiveRecord& d) {
            const int64_t reached = d.result_replicas >= 0 ? d.result_replicas : d.replicas;
            return d.system == name && d.status == "applied" && d.replicas > current &&
                   reached > current;
          });
      const bool avoided = scaled_up && judged.observed && !judged.overload;
      judged.doc["bottleneck_avoided"] = avoided;
      if (!scaled_up && judged.observed && !judged.overload) {
        got_lucky.push_back(name + ": a bottleneck was predicted for " +
                            textAt(bottleneck, "eta", "the horizon") +
                            " and no capacity was added, yet demand stayed within what was ready");
      }
      if (avoided) {
        prevented = true;
        went_well.push_back(name + ": the bottleneck predicted for " +
                            textAt(bottleneck, "eta", "the horizon") +
                            " was avoided by scaling up ahead of it");
      } else if (judged.overload) {
        went_wrong.push_back(name + ": the predicted bottleneck was not avoided");
      }
    } else {
      judged.doc["bottleneck_avoided"] = nullptr;
    }
    // A forecast miss upwards that did no harm: headroom, not the plan, carried it.
    if (judged.above_interval && judged.observed && !judged.overload) {
      got_lucky.push_back(name +
                          ": demand rose above the forecast's upper bound, but the ready "
                          "capacity had enough headroom to absorb it");
    }
    verdicts.push_back(name + ": " + textAt(judged.doc, "verdict"));
    systems[name] = std::move(judged.doc);
  }

  // The outcome of the directives the document lists.
  std::set<std::string> listed;
  for (const auto& d : memberAt(scenario, "directives")) listed.insert(textAt(d, "id"));
  json directives = json::array();
  for (const auto& d : observed.directives) {
    if (!listed.count(d.id)) continue;
    directives.push_back({{"id", d.id},
                          {"system", d.system},
                          {"replicas", d.replicas},
                          {"status", d.status},
                          {"result_replicas", d.result_replicas},
                          {"result_message", d.result_message}});
    const std::string line = "directive " + d.id + " (" + d.system + " to " +
                             std::to_string(d.replicas) + " replicas) " + d.status +
                             (d.result_message.empty() ? "" : ": " + d.result_message);
    if (d.status == "applied" || d.status == "dry_run") {
      went_well.push_back(line);
    } else if (d.status == "refused" || d.status == "failed" || d.status == "expired") {
      went_wrong.push_back(line);
    }
  }

  if (settled.size() == 1) {
    verdicts.push_back(settled.front().first + ": unchanged since " + settled.front().second +
                       ", nothing new in its outcome");
  } else if (settled.size() > 1) {
    verdicts.push_back(std::to_string(settled.size()) +
                       " systems unchanged since the scenarios named under unchanged, nothing new "
                       "in their outcomes");
  }
  std::string verdict;
  for (std::size_t i = 0; i < verdicts.size(); ++i) verdict += (i ? ". " : "") + verdicts[i];
  if (verdict.empty()) verdict = "no systems to judge";

  const int64_t ts0 = integerAt(scenario, "ts_ms");
  int64_t horizon_steps = 0;
  if (forecasts.is_object()) {
    for (const auto& [name, f] : forecasts.items()) {
      horizon_steps =
          std::max<int64_t>(horizon_steps, static_cast<int64_t>(numbersAt(f, "point").size()));
    }
  }
  const auto window_end = ts0 + static_cast<int64_t>(static_cast<double>(horizon_steps) *
                                                     numberAt(scenario, "step_s", 15.0) * 1000.0);

  json outcome = json::object();
  outcome["filled"] = true;
  outcome["window"] = {{"from", common::formatIso8601(ts0)},
                       {"to", common::formatIso8601(window_end)}};
  for (auto& [name, kept] : settled_outcomes.items()) systems[name] = std::move(kept);
  outcome["systems"] = std::move(systems);
  outcome["directives"] = std::move(directives);
  outcome["went_well"] = std::move(went_well);
  outcome["went_wrong"] = std::move(went_wrong);
  outcome["got_lucky"] = std::move(got_lucky);
  outcome["bottleneck_prevented"] = prevented;
  outcome["verdict"] = verdict;
  scenario["outcome"] = std::move(outcome);

  std::vector<std::string> events = stringsAt(scenario, "events");
  events.erase(std::remove(events.begin(), events.end(), kEventBottleneckPrevented), events.end());
  if (prevented) events.emplace_back(kEventBottleneckPrevented);
  scenario["events"] = events;
}

}  // namespace pso::controller::scenarios
