#include "controller/engine/decision_engine.h"

#include <algorithm>
#include <cmath>
#include <exception>
#include <functional>
#include <limits>
#include <system_error>
#include <thread>

#include "controller/engine/allocation.h"
#include "controller/engine/forecast_model.h"
#include "controller/engine/guardrails.h"
#include "controller/engine/model_selector.h"
#include "controller/engine/pool_allocator.h"
#include "controller/engine/reactive_policy.h"
#include "controller/engine/state_codec.h"
#include "controller/engine/wording.h"

namespace pso::controller::engine {

namespace {

// 2 adds each system's last step time.
constexpr int64_t kStateVersion = 2;
constexpr int64_t kMaxSystems = 1000000;
constexpr int64_t kMaxDependencies = 100000;
constexpr int64_t kMinTrackedHorizon = 8;
/// Largest refit phase a saved model state takes.
constexpr std::size_t kMaxRefitPhase = 1000000;

ReactiveSettings reactiveSettings(const EngineSettings& settings) {
  ReactiveSettings reactive;
  reactive.tolerance = settings.hpa_tolerance;
  reactive.scale_down_stabilization_s = settings.scale_down_stabilization_s;
  return reactive;
}

// Demand is never negative: a forecast or interval bound below zero says
// nothing a replica count can use, so it is clamped at zero.
Forecast demandForecast(const ForecastModel& model, int horizon, double coverage) {
  Forecast f = model.forecast(horizon, coverage);
  for (auto* series : {&f.point, &f.lo, &f.hi}) {
    for (double& v : *series) v = std::max(0.0, v);
  }
  return f;
}

/// The horizons a system's model tracks errors over: what its plans and
/// bottleneck look-ahead need, at least kMinTrackedHorizon.
int trackedHorizonFor(const EngineSettings& settings, const SystemSpec& spec) {
  return static_cast<int>(std::clamp<int64_t>(
      planningHorizon(plannedSteps(spec.warmup_s, settings.plan_margin_s, settings.step_s),
                      settings.bottleneck_horizon_steps),
      kMinTrackedHorizon, 10000));
}

/// Whether `model` tracks its errors over other horizons than a system of
/// `spec` plans now (another warm-up, plan margin or cycle interval): its
/// intervals would not cover the plan. A model that tracks none never does.
bool tracksOtherHorizons(const ForecastModel& model, const EngineSettings& settings,
                         const SystemSpec& spec) {
  const int tracked = model.trackedHorizon();
  return tracked != 0 && tracked != trackedHorizonFor(settings, spec);
}

std::unique_ptr<ForecastModel> newModel(const EngineSettings& settings, const SystemSpec& spec) {
  ForecastModelParams params;
  params.max_horizon = trackedHorizonFor(settings, spec);
  params.error_stride = errorStrideFor(settings.step_s);
  // Spread the systems' periodic refits over the refit period, and their
  // season re-detections over a detection window ("auto"). A multiple of the
  // refit period keeps each refit phase what it was (hash modulo the period).
  const auto refit_every = static_cast<std::size_t>(std::max(1, params.refit_every));
  params.refit_phase =
      static_cast<int>(std::hash<std::string>{}(spec.name) %
                       (refit_every * std::max<std::size_t>(1, kMaxRefitPhase / refit_every)));
  auto model = makeForecastModel(settings.forecast_model, params);
  if (model.ok()) return std::move(model).value();
  // validateSettings() reports an unknown model; the engine still decides.
  return std::move(makeForecastModel("holt", params)).value();
}

void saveSpec(StateWriter& w, const SystemSpec& spec) {
  w.putText(spec.name)
      .putDouble(spec.capacity_per_replica)
      .putDouble(spec.target_utilization)
      .putInt(spec.min_replicas)
      .putInt(spec.max_replicas)
      .putDouble(spec.warmup_s)
      .putInt(spec.priority)
      .putInt(static_cast<int64_t>(spec.depends_on.size()));
  for (const std::string& d : spec.depends_on) w.putText(d);
}

SystemSpec loadSpec(StateReader& r) {
  SystemSpec spec;
  spec.name = r.getText();
  spec.capacity_per_replica = r.getDouble();
  spec.target_utilization = r.getDouble();
  spec.min_replicas = r.getInt();
  spec.max_replicas = r.getInt();
  spec.warmup_s = r.getDouble();
  spec.priority = r.getInt();
  const int64_t n = r.getInt(0, kMaxDependencies);
  for (int64_t i = 0; i < n && r.ok(); ++i) spec.depends_on.push_back(r.getText());
  return spec;
}

std::string action(int64_t current, int64_t ready, int64_t desired) {
  std::string running = std::to_string(current) + " running";
  if (ready < current) {
    running = std::to_string(current) + " launched (" + std::to_string(ready) + " ready)";
  }
  if (desired > current) return running + ", so scale up to " + std::to_string(desired) + ".";
  if (desired < current) return running + ", so scale down to " + std::to_string(desired) + ".";
  return running + ", so keep " + std::to_string(desired) + ".";
}

// Which model a forecast came from, from the model object itself: "auto"
// names the candidate it picked.
ForecastProvenance provenanceOf(const ForecastModel& model) {
  ForecastProvenance out;
  out.configured = model.name();
  if (const auto* selector = dynamic_cast<const AutoModel*>(&model)) {
    out.model = selector->chosen();
    out.selected_by_backtest = true;
  } else {
    out.model = out.configured;
  }
  // A candidate is "<registry name>" or "<registry name>/<season>[+<season>]".
  for (const std::string& name : forecastModelNames()) {
    const bool same = out.model == name;
    const bool seasonal = out.model.size() > name.size() &&
                          out.model.compare(0, name.size(), name) == 0 &&
                          out.model[name.size()] == '/';
    if ((same || seasonal) && name.size() > out.family.size()) out.family = name;
  }
  return out;
}

void setRule(SystemDecision& d, DecisionRule rule) {
  d.facts.rule = rule;
  d.rule = std::string(ruleCode(rule));
}

}  // namespace

struct DecisionEngine::Impl {
  struct SystemState {
    SystemSpec spec;
    std::unique_ptr<ForecastModel> model;
    ReactivePolicy reactive;
    GuardState guard;
    /// End (epoch ms) of the last step the model learned; unset until one.
    std::optional<int64_t> last_step_ms;
    /// Which model this is (modelEpoch()); set when it is installed.
    uint64_t model_epoch = 0;
    /// The decide() call that last planned this system (Impl::decide_round),
    /// to find a system listed twice in one input.
    uint64_t planned_in_round = 0;
  };

  /// One system's decision between planning and guardrails.
  struct Pending {
    SystemState* state = nullptr;
    const SystemObservation* obs = nullptr;
    SystemDecision d;
    std::vector<std::string> sentences;
    bool stabilize = true;
    bool predictive = false;  ///< the forecast planned this decision
    std::optional<double> demand;
    Forecast planning;
    Allocation plan;
    int64_t coordinated = 0;  ///< the recommendation after dependencies and pools
    std::optional<int64_t> ceiling;
    std::vector<std::string> coordination;  ///< notes of dependency and pool changes
  };

  /// One system's state into `w`, and back (nullopt and `r` failed when it
  /// does not read); adopt() installs a loaded one, keeping the spec of a
  /// system already known.
  /// `version` 1: the whole-engine state of earlier versions, without
  /// last_step_ms.
  static void saveSystem(StateWriter& w, const SystemState& state);
  std::optional<SystemState> loadSystem(StateReader& r, int64_t version) const;
  /// The model learns demand[first..] (at most warmStartSteps() of the
  /// newest), whose last step ends at last_end_ms.
  std::size_t learnSteps(SystemState& state, const std::vector<double>& demand, std::size_t first,
                         int64_t last_end_ms);
  void adopt(SystemState loaded);

  EngineSettings settings;
  std::map<std::string, SystemState> systems;
  uint64_t last_model_epoch = 0;
  std::vector<PoolSpec> pools;
  ActionRateLimiter limiter;
  uint64_t decide_round = 0;  ///< decide() calls so far

  SystemState makeState(const SystemSpec& spec) const {
    SystemState state;
    state.spec = spec;
    state.model = newModel(settings, spec);
    state.reactive = ReactivePolicy(reactiveSettings(settings));
    return state;
  }

  /// Plans the system of `p` (a fresh Pending with its state and obs set).
  /// Reads the engine's settings and changes only p.state: plans of
  /// different systems may run at once.
  void plan(Pending& p, int64_t now_ms) const;
  /// Calls work(i) for every i in [0, n), on up to `threads` threads (fewer
  /// for fewer than kMinSystemsPerPlanThread entries a thread), each taking
  /// a contiguous slice; `work` must touch only what belongs to its i. A
  /// thread that cannot be started leaves its slice to the calling thread;
  /// an exception thrown by `work` is rethrown here once every slice is done.
  static void forEachSystem(std::size_t n, int threads,
                            const std::function<void(std::size_t)>& work);
  void propagateDependencies(std::vector<Pending>& pending) const;
  std::vector<PoolStatus> dividePools(std::vector<Pending>& pending, int64_t now_ms) const;
  void applyAlertRequests(Pending& p) const;
  /// The guardrails, in the fleet's order (the hourly action limit is
  /// shared), then describe(): the candidates and the rationale, per system.
  void guard(Pending& p, int64_t now_ms);
  void describe(Pending& p) const;
};

void DecisionEngine::Impl::plan(Pending& p, int64_t now_ms) const {
  SystemState& state = *p.state;
  const SystemObservation& obs = *p.obs;
  const SystemSpec& spec = state.spec;
  SystemDecision& d = p.d;
  std::vector<std::string>& sentences = p.sentences;
  d.system = spec.name;
  const int64_t current = std::max<int64_t>(0, obs.current_replicas);
  const int64_t ready = obs.ready_replicas < 0 ? current : std::min(obs.ready_replicas, current);
  d.current_replicas = current;
  d.ready_replicas = ready;
  d.capacity_per_replica = spec.capacity_per_replica;
  d.target_utilization = spec.target_utilization;

  std::optional<double> demand;
  if (obs.demand && std::isfinite(*obs.demand)) demand = std::max(0.0, *obs.demand);
  // The profile candidates of "auto" read the shape at each step's time.
  if (auto* selector = dynamic_cast<AutoModel*>(state.model.get())) {
    selector->setStepTime(now_ms, std::llround(settings.step_s * 1000.0));
  }
  if (demand) {
    d.demand = *demand;
    state.model->update(*demand);
  } else {
    state.model->observeMissing();
  }
  state.last_step_ms = now_ms;

  const double step_s = settings.step_s;
  d.lead_steps = leadSteps(spec.warmup_s, step_s);
  const int64_t planned_steps = plannedSteps(spec.warmup_s, settings.plan_margin_s, step_s);
  const int64_t horizon = planningHorizon(planned_steps, settings.bottleneck_horizon_steps);
  d.forecast = demandForecast(*state.model, static_cast<int>(horizon), settings.coverage);

  state.reactive.setSettings(reactiveSettings(settings));
  const ReactiveRecommendation reactive =
      state.reactive.recommend(spec, ReactiveInput{demand, current, ready, now_ms});
  d.reactive_replicas = reactive.replicas;
  d.reactive_rationale = reactive.rationale;
  d.facts.reactive = reactive.facts;
  d.facts.provenance = provenanceOf(*state.model);

  // The planner sizes for the forecast's 1 - risk quantile; the reported
  // forecast keeps the configured interval. One forecast serves both when the
  // two coincide.
  const double plan_coverage = planningCoverage(settings.risk);
  p.planning = std::abs(plan_coverage - settings.coverage) < 1e-12
                   ? d.forecast
                   : demandForecast(*state.model, static_cast<int>(planned_steps), plan_coverage);
  p.plan = allocate(spec, p.planning, current, reactive.replicas, now_ms, step_s,
                    settings.plan_margin_s);
  const Allocation& plan = p.plan;
  p.demand = demand;
  // A bottleneck is judged on the reported interval, over the whole horizon.
  d.bottleneck = detectBottleneck(
      d.forecast, static_cast<double>(current) * spec.capacity_per_replica, now_ms, step_s);
  d.planned_demand = plan.planned_demand;
  d.facts.planning_quantile = (1.0 + plan_coverage) / 2.0;

  const std::string situation =
      demand ? "Demand " + formatQuantity(*demand) : "No demand sample this step";
  const int64_t seen = state.model->observations();
  const bool warming = seen < settings.min_observations;
  d.facts.observations = seen;
  d.facts.min_observations = settings.min_observations;
  bool& stabilize = p.stabilize;
  if (settings.policy == "reactive") {
    d.recommended_replicas = reactive.replicas;
    setRule(d, DecisionRule::kReactiveHpa);
    d.planned_demand = demand.value_or(0.0);
    stabilize = false;  // the HPA rule stabilises its own recommendations
    sentences.push_back("Policy reactive. " + reactive.rationale);
  } else if (warming) {
    const double ready_capacity = static_cast<double>(ready) * spec.capacity_per_replica;
    const std::string history = "only " + std::to_string(seen) + " of the " +
                                std::to_string(settings.min_observations) +
                                " samples a forecast needs";
    if (demand && *demand > ready_capacity) {
      // Without a forecast the observed demand is the best estimate of the
      // need; the HPA's own scale-up limit would only add overloaded steps.
      const double per_replica = spec.capacity_per_replica * spec.target_utilization;
      const int64_t need = per_replica > 0.0 ? ceilCount(*demand / per_replica) : current;
      const int64_t upper = std::max(spec.min_replicas, spec.max_replicas);
      d.recommended_replicas =
          std::clamp(std::max(need, reactive.replicas), spec.min_replicas, upper);
      setRule(d, DecisionRule::kDemandAtTarget);
      d.planned_demand = *demand;
      stabilize = false;
      sentences.push_back(situation + " already exceeds the ready capacity of " +
                          formatQuantity(ready_capacity) + " with " + history +
                          ", so plan for the observed demand: at " +
                          formatQuantity(spec.capacity_per_replica) + " per replica and " +
                          formatPercent(spec.target_utilization) + " target it needs " +
                          formatReplicas(need) + ".");
    } else {
      d.recommended_replicas =
          std::clamp(current, spec.min_replicas, std::max(spec.min_replicas, spec.max_replicas));
      setRule(d, seen == 0 ? DecisionRule::kNoData : DecisionRule::kWarmingUp);
      std::string sentence = situation + "; " + history + ", so hold the current count";
      if (d.recommended_replicas != current) {
        sentence += " within the bounds [" + std::to_string(spec.min_replicas) + ", " +
                    std::to_string(spec.max_replicas) + "]";
      }
      sentences.push_back(sentence + ".");
    }
  } else {
    d.facts.planned_steps = plan.planned_steps;
    p.predictive = plan.rule_kind != DecisionRule::kNoData;
    const SettledPlan settled = settlePlan(
        spec, plan, current, p.predictive ? demand : std::nullopt, settings.hpa_tolerance);
    d.recommended_replicas = settled.replicas;
    setRule(d, settled.rule);
    if (p.predictive) d.facts.plan_replicas = plan.replicas;
    d.facts.floor_replicas = settled.floor.value_or(0);
    std::string sentence = situation + "; " + plan.rationale;
    if (!settled.reason.empty()) sentence += "; " + settled.reason;
    sentences.push_back(sentence + ".");
  }
  p.coordinated = d.recommended_replicas;

  if (d.bottleneck && !warming) {
    sentences.push_back("The upper forecast exceeds the current capacity of " +
                        formatQuantity(d.bottleneck->capacity) + " in " +
                        formatSteps(d.bottleneck->steps_ahead) + " (chance " +
                        formatPercent(d.bottleneck->probability) + ").");
  }
}

void DecisionEngine::Impl::forEachSystem(std::size_t n, int threads,
                                         const std::function<void(std::size_t)>& work) {
  const std::size_t slices =
      std::clamp<std::size_t>(static_cast<std::size_t>(std::max(1, threads)), 1,
                              std::max<std::size_t>(1, n / kMinSystemsPerPlanThread));
  const auto sliceBegin = [&](std::size_t t) { return n * t / slices; };
  std::vector<std::exception_ptr> failed(slices);
  auto runSlice = [&](std::size_t t) {
    try {
      for (std::size_t i = sliceBegin(t); i < sliceBegin(t + 1); ++i) work(i);
    } catch (...) {
      failed[t] = std::current_exception();
    }
  };
  std::vector<std::thread> helpers;
  helpers.reserve(slices - 1);
  std::vector<std::size_t> here{0};
  for (std::size_t t = 1; t < slices; ++t) {
    try {
      helpers.emplace_back(runSlice, t);
    } catch (const std::system_error&) {
      here.push_back(t);  // out of threads (a task limit): planned here instead
    }
  }
  for (std::size_t t : here) runSlice(t);
  for (std::thread& helper : helpers) helper.join();
  for (const std::exception_ptr& e : failed) {
    if (e) std::rethrow_exception(e);
  }
}

void DecisionEngine::Impl::propagateDependencies(std::vector<Pending>& pending) const {
  std::map<std::string, std::size_t> index;
  for (std::size_t i = 0; i < pending.size(); ++i) index[pending[i].d.system] = i;

  // A system's own predicted rise over the lead time: its highest point
  // forecast up to when new capacity serves, relative to the demand now. A
  // rise within the HPA tolerance is noise, not a signal to pass on.
  std::vector<double> rise(pending.size(), 1.0);
  for (std::size_t i = 0; i < pending.size(); ++i) {
    const Pending& p = pending[i];
    if (!p.predictive || !p.demand || !(*p.demand > 0.0)) continue;
    const std::size_t steps =
        std::min<std::size_t>(p.planning.point.size(),
                              static_cast<std::size_t>(std::max<int64_t>(1, p.plan.planned_steps)));
    double peak = 0.0;
    for (std::size_t h = 0; h < steps; ++h) peak = std::max(peak, p.planning.point[h]);
    const double r = peak / *p.demand;
    if (r > 1.0 + settings.hpa_tolerance) rise[i] = r;
  }
  // Callers pass their rise down the declared dependencies (transitively: A
  // calls B calls C). Relaxation settles within one pass per chain link.
  std::vector<double> inherited(pending.size(), 1.0);
  std::vector<std::string> source(pending.size());
  for (std::size_t pass = 0; pass < pending.size(); ++pass) {
    bool changed = false;
    for (std::size_t a = 0; a < pending.size(); ++a) {
      const double passed = std::max(rise[a], inherited[a]);
      if (!(passed > 1.0)) continue;
      for (const std::string& callee : pending[a].state->spec.depends_on) {
        auto it = index.find(callee);
        if (it == index.end() || it->second == a) continue;
        if (passed > inherited[it->second] + 1e-12) {
          inherited[it->second] = passed;
          source[it->second] = source[a].empty() ? pending[a].d.system : source[a];
          changed = true;
        }
      }
    }
    if (!changed) break;
  }

  for (std::size_t b = 0; b < pending.size(); ++b) {
    Pending& p = pending[b];
    if (!(inherited[b] > 1.0) || !p.predictive || !p.demand) continue;
    const SystemSpec& spec = p.state->spec;
    const double per_replica = spec.capacity_per_replica * spec.target_utilization;
    if (!(per_replica > 0.0)) continue;
    const double follows = *p.demand * inherited[b];
    const int64_t needed = std::clamp(ceilCount(follows / per_replica), spec.min_replicas,
                                      std::max(spec.min_replicas, spec.max_replicas));
    if (needed <= p.coordinated) continue;
    p.coordination.push_back(
        "Dependency: " + source[b] + " (which depends on " + p.d.system + ") is forecast to rise " +
        formatPercent(inherited[b] - 1.0) + " within the lead time and " + p.d.system +
        "'s demand follows, so plan for " + formatQuantity(follows) + ": " +
        std::to_string(needed) + " instead of " + std::to_string(p.coordinated) + ".");
    CoordinationEffect effect;
    effect.kind = CoordinationKind::kDependency;
    effect.source = source[b];
    effect.from = p.coordinated;
    effect.to = needed;
    effect.rise = inherited[b];
    effect.planned_demand = follows;
    p.d.facts.coordination.push_back(effect);
    p.coordinated = needed;
    p.d.planned_demand = std::max(p.d.planned_demand, follows);
  }
}

std::vector<PoolStatus> DecisionEngine::Impl::dividePools(std::vector<Pending>& pending,
                                                          int64_t now_ms) const {
  std::vector<PoolStatus> statuses;
  if (pools.empty()) return statuses;
  std::map<std::string, std::size_t> index;
  for (std::size_t i = 0; i < pending.size(); ++i) index[pending[i].d.system] = i;
  for (const PoolSpec& pool : pools) {
    std::vector<std::size_t> members;
    for (const std::string& name : pool.systems) {
      auto it = index.find(name);
      if (it != index.end()) members.push_back(it->second);
    }
    if (members.empty()) continue;
    std::vector<PoolClaim> claims;
    std::vector<PoolMemberForecast> forecasts;
    for (std::size_t i : members) {
      const SystemSpec& spec = pending[i].state->spec;
      claims.push_back({spec.priority, spec.min_replicas, pending[i].coordinated});
      forecasts.push_back({&pending[i].d.forecast,
                           spec.capacity_per_replica * spec.target_utilization, spec.min_replicas,
                           spec.max_replicas});
    }
    const PoolDivision division = dividePool(pool.capacity_replicas, claims);
    PoolStatus status;
    status.name = pool.name;
    status.capacity_replicas = pool.capacity_replicas;
    status.wanted_replicas = division.wanted_total;
    status.minimum_replicas = division.minimum_total;
    status.shortage = division.shortage;
    status.minimums_unmet = division.minimums_unmet;
    status.shortage_ahead =
        detectPoolShortage(pool.capacity_replicas, forecasts, now_ms, settings.step_s);
    if (division.minimums_unmet) {
      status.alert = "pool " + pool.name + " cannot hold the minimums of its systems: they need " +
                     std::to_string(division.minimum_total) + " replicas, it has " +
                     std::to_string(pool.capacity_replicas);
    }
    const std::string shared = "Pool " + pool.name + ": " + formatReplicas(pool.capacity_replicas) +
                               " shared by priority and forecast need (" +
                               std::to_string(division.wanted_total) + " wanted)";
    for (std::size_t k = 0; k < members.size(); ++k) {
      Pending& p = pending[members[k]];
      p.d.facts.pools.push_back(pool.name);
      const int64_t granted = division.granted[k];
      if (granted < p.coordinated) {
        CoordinationEffect effect;
        effect.kind = CoordinationKind::kPool;
        effect.source = pool.name;
        effect.from = p.coordinated;
        effect.to = granted;
        effect.pool_capacity = pool.capacity_replicas;
        effect.pool_wanted = division.wanted_total;
        effect.below_minimum = granted < p.state->spec.min_replicas;
        p.d.facts.coordination.push_back(effect);
        std::string note = shared + "; cut from " + std::to_string(p.coordinated) + " to " +
                           std::to_string(granted);
        if (granted < p.state->spec.min_replicas) {
          note += ", below the minimum of " + std::to_string(p.state->spec.min_replicas) +
                  " because the pool cannot hold the minimums";
        }
        p.coordination.push_back(note + ".");
        p.coordinated = granted;
      }
      p.ceiling = p.ceiling ? std::min(*p.ceiling, granted) : granted;
      const auto& ahead = status.shortage_ahead;
      if (ahead && (!p.d.bottleneck || ahead->steps_ahead < p.d.bottleneck->steps_ahead)) {
        p.d.bottleneck = ahead;
        p.sentences.push_back("Pool " + pool.name + " is forecast to need " +
                              formatReplicas(static_cast<int64_t>(ahead->predicted_demand)) +
                              " at the upper bound, more than its " +
                              std::to_string(pool.capacity_replicas) + ", in " +
                              formatSteps(ahead->steps_ahead) + ".");
      }
    }
    statuses.push_back(std::move(status));
  }
  return statuses;
}

namespace {

// Capacity first: a scale-up outranks a hold, a hold a scale-down.
int alertActionRank(AlertAction action) {
  switch (action) {
    case AlertAction::kScaleUp:
      return 2;
    case AlertAction::kHold:
      return 1;
    case AlertAction::kScaleDown:
      return 0;
  }
  return 0;
}

std::string alertActionWords(const AlertRequest& request) {
  switch (request.action) {
    case AlertAction::kScaleUp:
      return "to scale up by " + formatReplicas(request.step);
    case AlertAction::kScaleDown:
      return "to scale down by " + formatReplicas(request.step);
    case AlertAction::kHold:
      return "to hold the launched count";
  }
  return "";
}

}  // namespace

void DecisionEngine::Impl::applyAlertRequests(Pending& p) const {
  const auto& requests = p.obs->alert_requests;
  if (requests.empty()) return;
  const AlertRequest* chosen = &requests.front();
  for (const AlertRequest& r : requests) {
    const int rank = alertActionRank(r.action);
    const int chosen_rank = alertActionRank(chosen->action);
    if (rank > chosen_rank || (rank == chosen_rank && r.step > chosen->step)) chosen = &r;
  }
  const SystemSpec& spec = p.state->spec;
  const int64_t current = p.d.current_replicas;
  const int64_t step = std::max<int64_t>(chosen->step, 1);
  int64_t target = p.coordinated;
  switch (chosen->action) {
    case AlertAction::kScaleUp:
      target = std::max(p.coordinated, current + step);
      break;
    case AlertAction::kScaleDown:
      target = std::min(p.coordinated, current - step);
      break;
    case AlertAction::kHold:
      target = current;
      break;
  }
  target = std::clamp(target, spec.min_replicas, spec.max_replicas);
  // A pool's grant is capacity that does not exist elsewhere: no rule asks past it.
  if (p.ceiling) target = std::min(target, *p.ceiling);
  if (target == p.coordinated) return;
  p.coordination.push_back("Alert rule " + chosen->rule + " (" + chosen->condition +
                           ") is firing and asks " + alertActionWords(*chosen) + ": " +
                           formatReplicas(target) + " instead of " + std::to_string(p.coordinated) +
                           ".");
  p.d.facts.alerts.push_back(
      {chosen->rule, chosen->condition, chosen->action, p.coordinated, target});
  p.coordinated = target;
}

void DecisionEngine::Impl::guard(Pending& p, int64_t now_ms) {
  SystemDecision& d = p.d;
  const int64_t current = d.current_replicas;

  GuardrailInput guard_input;
  guard_input.recommended = p.coordinated;
  guard_input.current = current;
  guard_input.now_ms = now_ms;
  guard_input.hold = p.obs->hold;
  guard_input.stabilize_scale_down = p.stabilize;
  // An alert rule that changed the plan asked for its step exactly.
  guard_input.calm_steps_down = d.facts.alerts.empty();
  guard_input.ceiling = p.ceiling;
  const GuardrailOutcome guard = applyGuardrails(guard_input, settings, p.state->guard, limiter);
  d.desired_replicas = guard.desired;
  d.dispatch = guard.dispatch;
  d.guardrails = p.coordination;
  d.guardrails.insert(d.guardrails.end(), guard.notes.begin(), guard.notes.end());
  d.facts.guardrails = guard.effects;
  if (guard.held) d.rule = "hold";
}

void DecisionEngine::Impl::describe(Pending& p) const {
  SystemDecision& d = p.d;
  const SystemSpec& spec = p.state->spec;
  const int64_t current = d.current_replicas;
  std::vector<std::string>& sentences = p.sentences;
  for (const std::string& note : d.guardrails) sentences.push_back(note);
  sentences.push_back(action(current, d.ready_replicas, d.desired_replicas));

  d.candidates = buildCandidates(spec, p.planning, p.plan, d.desired_replicas, current,
                                 d.reactive_replicas, settings.step_s);

  // With no guardrail in between, the decision reads as one sentence.
  if (d.guardrails.empty() && sentences.size() == 2 && sentences[0].back() == '.') {
    sentences[0].back() = ';';
    d.rationale = sentences[0] + " " + sentences[1];
  } else {
    for (const std::string& s : sentences) d.rationale += (d.rationale.empty() ? "" : " ") + s;
  }
}

DecisionEngine::DecisionEngine(EngineSettings settings) : impl_(std::make_unique<Impl>()) {
  impl_->settings = std::move(settings);
}
DecisionEngine::~DecisionEngine() = default;
DecisionEngine::DecisionEngine(DecisionEngine&&) noexcept = default;
DecisionEngine& DecisionEngine::operator=(DecisionEngine&&) noexcept = default;

void DecisionEngine::upsertSystem(const SystemSpec& spec) {
  auto it = impl_->systems.find(spec.name);
  if (it == impl_->systems.end()) {
    Impl::SystemState state = impl_->makeState(spec);
    state.model_epoch = ++impl_->last_model_epoch;
    impl_->systems.emplace(spec.name, std::move(state));
    return;
  }
  Impl::SystemState& state = it->second;
  state.spec = spec;
  // Another warm-up makes other horizons: a model scored over the old ones
  // would plan beyond what its intervals learned. It starts afresh, under a
  // new epoch, so the cycle teaches it the stored history again.
  if (tracksOtherHorizons(*state.model, impl_->settings, spec)) {
    state.model = newModel(impl_->settings, spec);
    state.model_epoch = ++impl_->last_model_epoch;
  }
}

void DecisionEngine::removeSystem(const std::string& name) {
  impl_->systems.erase(name);
}

std::vector<SystemSpec> DecisionEngine::systems() const {
  std::vector<SystemSpec> out;
  out.reserve(impl_->systems.size());
  for (const auto& [name, state] : impl_->systems) out.push_back(state.spec);
  return out;
}

const EngineSettings& DecisionEngine::settings() const {
  return impl_->settings;
}

void DecisionEngine::setPools(std::vector<PoolSpec> pools) {
  impl_->pools = std::move(pools);
}

const std::vector<PoolSpec>& DecisionEngine::pools() const {
  return impl_->pools;
}

void DecisionEngine::setForecastOnly(bool forecast_only) {
  impl_->settings.forecast_only = forecast_only;
}

CycleDecisions DecisionEngine::decide(const CycleInput& input) {
  CycleDecisions out;
  out.now_ms = input.now_ms;
  std::vector<Impl::Pending> pending;
  pending.reserve(input.systems.size());
  const uint64_t round = ++impl_->decide_round;
  bool listed_twice = false;
  for (const SystemObservation& obs : input.systems) {
    auto it = impl_->systems.find(obs.system);
    if (it == impl_->systems.end()) continue;
    listed_twice |= it->second.planned_in_round == round;
    it->second.planned_in_round = round;
    Impl::Pending& p = pending.emplace_back();
    p.state = &it->second;
    p.obs = &obs;
  }
  // Each system's plan and description read the settings and change only
  // that system's state: a large fleet's are made side by side, unless a
  // system is listed twice (its two plans then share a state, in order).
  const int threads = listed_twice ? 1 : impl_->settings.decide_threads;
  Impl::forEachSystem(pending.size(), threads,
                      [&](std::size_t i) { impl_->plan(pending[i], input.now_ms); });
  impl_->propagateDependencies(pending);
  out.pools = impl_->dividePools(pending, input.now_ms);
  for (Impl::Pending& p : pending) impl_->applyAlertRequests(p);
  for (Impl::Pending& p : pending) impl_->guard(p, input.now_ms);
  Impl::forEachSystem(pending.size(), threads, [&](std::size_t i) { impl_->describe(pending[i]); });
  out.systems.reserve(pending.size());
  for (Impl::Pending& p : pending) out.systems.push_back(std::move(p.d));
  out.actions_last_hour = impl_->limiter.countLastHour(input.now_ms);
  return out;
}

void DecisionEngine::setSeasonalProfile(const std::string& system,
                                        std::optional<SeasonalProfile> profile) {
  auto it = impl_->systems.find(system);
  if (it == impl_->systems.end() || !impl_->settings.seasonal_profiles) return;
  if (auto* selector = dynamic_cast<AutoModel*>(it->second.model.get())) {
    selector->setSeasonalProfile(std::move(profile));
  }
}

std::optional<SeasonalProfile> DecisionEngine::seasonalProfile(const std::string& system) const {
  auto it = impl_->systems.find(system);
  if (it == impl_->systems.end()) return std::nullopt;
  if (const auto* selector = dynamic_cast<const AutoModel*>(it->second.model.get())) {
    return selector->seasonalProfile();
  }
  return std::nullopt;
}

int64_t DecisionEngine::warmStartSteps() {
  return ForecastModelParams{}.detection_window;
}

std::optional<uint64_t> DecisionEngine::modelEpoch(const std::string& system) const {
  auto it = impl_->systems.find(system);
  if (it == impl_->systems.end()) return std::nullopt;
  return it->second.model_epoch;
}

bool DecisionEngine::needsHistory(const std::string& system) const {
  auto it = impl_->systems.find(system);
  return it != impl_->systems.end() && it->second.model->observations() == 0;
}

std::size_t DecisionEngine::warmStart(const std::string& system, const std::vector<double>& demand,
                                      int64_t last_end_ms) {
  if (!needsHistory(system)) return 0;
  const auto kept = static_cast<std::size_t>(warmStartSteps());
  std::size_t first = demand.size() > kept ? demand.size() - kept : 0;
  while (first < demand.size() && !std::isfinite(demand[first])) ++first;
  return impl_->learnSteps(impl_->systems.at(system), demand, first, last_end_ms);
}

std::optional<int64_t> DecisionEngine::lastStepMs(const std::string& system) const {
  auto it = impl_->systems.find(system);
  if (it == impl_->systems.end()) return std::nullopt;
  return it->second.last_step_ms;
}

std::size_t DecisionEngine::catchUpSteps(const std::string& system, int64_t last_end_ms) const {
  auto it = impl_->systems.find(system);
  if (it == impl_->systems.end() || !it->second.last_step_ms || needsHistory(system)) return 0;
  const int64_t step_ms = std::llround(impl_->settings.step_s * 1000.0);
  if (step_ms <= 0 || last_end_ms <= *it->second.last_step_ms) return 0;
  // The steps that end after the last one learned, to the nearest step.
  const int64_t newer = (last_end_ms - *it->second.last_step_ms + step_ms / 2) / step_ms;
  return static_cast<std::size_t>(std::min(newer, warmStartSteps()));
}

std::size_t DecisionEngine::catchUp(const std::string& system, const std::vector<double>& demand,
                                    int64_t last_end_ms) {
  const std::size_t count = std::min(demand.size(), catchUpSteps(system, last_end_ms));
  if (count == 0) return 0;
  return impl_->learnSteps(impl_->systems.at(system), demand, demand.size() - count, last_end_ms);
}

std::size_t DecisionEngine::Impl::learnSteps(SystemState& state, const std::vector<double>& demand,
                                             std::size_t first, int64_t last_end_ms) {
  ForecastModel& model = *state.model;
  const auto kept = static_cast<std::size_t>(warmStartSteps());
  first = std::max(first, demand.size() > kept ? demand.size() - kept : std::size_t{0});
  if (first >= demand.size()) return 0;
  const int64_t step_ms = std::llround(settings.step_s * 1000.0);
  auto* selector = dynamic_cast<AutoModel*>(&model);
  for (std::size_t i = first; i < demand.size(); ++i) {
    // The profile candidates of "auto" read the shape at each step's time,
    // as in a live step (plan()).
    if (selector) {
      const auto steps_before_last = static_cast<int64_t>(demand.size() - 1 - i);
      selector->setStepTime(last_end_ms - steps_before_last * step_ms, step_ms);
    }
    // Demand is never negative (plan()).
    if (std::isfinite(demand[i])) {
      model.update(std::max(0.0, demand[i]));
    } else {
      model.observeMissing();
    }
  }
  state.last_step_ms = last_end_ms;
  return demand.size() - first;
}

std::optional<Forecast> DecisionEngine::forecast(const std::string& system, int horizon) const {
  auto it = impl_->systems.find(system);
  if (it == impl_->systems.end()) return std::nullopt;
  return demandForecast(*it->second.model, horizon, impl_->settings.coverage);
}

namespace {

// The system fields are those of the whole-engine state's version kStateVersion.
constexpr int64_t kSystemStateVersion = 1;
constexpr int64_t kFleetStateVersion = 1;

}  // namespace

// One system's fields, in the same order in the whole-engine state and in a
// system's own.
void DecisionEngine::Impl::saveSystem(StateWriter& w, const SystemState& state) {
  saveSpec(w, state.spec);
  w.putText(state.model->name()).putText(state.model->saveState());
  state.reactive.save(w);
  state.guard.stabilization.save(w);
  w.putInt(state.guard.last_change_ms ? 1 : 0).putInt(state.guard.last_change_ms.value_or(0));
  w.putInt(state.last_step_ms ? 1 : 0).putInt(state.last_step_ms.value_or(0));
}

std::optional<DecisionEngine::Impl::SystemState> DecisionEngine::Impl::loadSystem(
    StateReader& r, int64_t version) const {
  SystemState s;
  s.spec = loadSpec(r);
  const std::string model_name = r.getText();
  const std::string model_state = r.getText();
  if (!r.ok()) return std::nullopt;
  auto model = makeForecastModel(model_name);
  if (!model.ok()) {
    r.fail("system '" + s.spec.name + "': " + model.error().message);
    return std::nullopt;
  }
  if (Status st = model.value()->loadState(model_state); !st.ok()) {
    r.fail("system '" + s.spec.name + "': " + st.error().message);
    return std::nullopt;
  }
  s.model = std::move(model).value();
  // A model scored over other horizons than this engine's plans need (saved
  // with another warm-up, plan margin or cycle interval) would plan beyond
  // what its intervals learned: the system starts afresh, and the cycle
  // warms it from its stored history (needsHistory()).
  const auto known = systems.find(s.spec.name);
  const SystemSpec& spec = known != systems.end() ? known->second.spec : s.spec;
  if (tracksOtherHorizons(*s.model, settings, spec)) s.model = newModel(settings, spec);
  // Scored as this engine's step has its models scored, whatever step (or
  // release) saved the state.
  s.model->setErrorStride(errorStrideFor(settings.step_s));
  s.reactive = ReactivePolicy(reactiveSettings(settings));
  s.reactive.load(r);
  s.guard.stabilization.load(r);
  const bool has_change = r.getInt(0, 1) == 1;
  const int64_t change_ms = r.getInt();
  if (has_change) s.guard.last_change_ms = change_ms;
  if (version >= 2) {
    const bool has_step = r.getInt(0, 1) == 1;
    const int64_t step_ms = r.getInt();
    if (has_step) s.last_step_ms = step_ms;
  }
  if (!r.ok()) return std::nullopt;
  return s;
}

void DecisionEngine::Impl::adopt(SystemState loaded) {
  auto it = systems.find(loaded.spec.name);
  if (it != systems.end()) loaded.spec = it->second.spec;
  loaded.model_epoch = ++last_model_epoch;
  const std::string name = loaded.spec.name;
  systems.insert_or_assign(name, std::move(loaded));
}

std::string DecisionEngine::saveState() const {
  StateWriter w;
  w.putText("pso-engine").putInt(kStateVersion);
  impl_->limiter.save(w);
  w.putInt(static_cast<int64_t>(impl_->systems.size()));
  for (const auto& [name, state] : impl_->systems) Impl::saveSystem(w, state);
  return w.take();
}

Status DecisionEngine::loadState(const std::string& state) {
  StateReader r(state, "engine state");
  r.expectText("pso-engine");
  const int64_t version = r.getInt(1, kStateVersion);
  ActionRateLimiter limiter;
  limiter.load(r);
  const int64_t count = r.getInt(0, kMaxSystems);
  std::vector<Impl::SystemState> loaded;
  for (int64_t i = 0; i < count && r.ok(); ++i) {
    auto system = impl_->loadSystem(r, version);
    if (system) loaded.push_back(std::move(*system));
  }
  if (Status st = r.status(); !st.ok()) return st;

  impl_->limiter = std::move(limiter);
  for (auto& s : loaded) impl_->adopt(std::move(s));
  return {};
}

std::string DecisionEngine::saveFleetState() const {
  StateWriter w;
  w.putText("pso-engine-fleet").putInt(kFleetStateVersion);
  impl_->limiter.save(w);
  return w.take();
}

Status DecisionEngine::loadFleetState(const std::string& state) {
  StateReader r(state, "engine fleet state");
  r.expectText("pso-engine-fleet");
  if (r.getInt() != kFleetStateVersion && r.ok()) r.fail("unsupported version");
  ActionRateLimiter limiter;
  limiter.load(r);
  if (Status st = r.status(); !st.ok()) return st;
  impl_->limiter = std::move(limiter);
  return {};
}

std::string DecisionEngine::saveSystemState(const std::string& system) const {
  const auto it = impl_->systems.find(system);
  if (it == impl_->systems.end()) return {};
  StateWriter w;
  w.putText("pso-engine-system").putInt(kSystemStateVersion);
  Impl::saveSystem(w, it->second);
  return w.take();
}

Status DecisionEngine::loadSystemState(const std::string& system, const std::string& state) {
  StateReader r(state, "engine state of system '" + system + "'");
  r.expectText("pso-engine-system");
  if (r.getInt() != kSystemStateVersion && r.ok()) r.fail("unsupported version");
  auto loaded = impl_->loadSystem(r, kStateVersion);
  if (loaded && loaded->spec.name != system) {
    r.fail("it is the state of '" + loaded->spec.name + "'");
  }
  if (Status st = r.status(); !st.ok()) return st;
  impl_->adopt(std::move(*loaded));
  return {};
}

Status DecisionEngine::validateSettings(const EngineSettings& s) {
  if (s.policy != "predictive" && s.policy != "reactive") {
    return makeError("invalid",
                     "engine policy '" + s.policy + "' is not one of: predictive, reactive");
  }
  if (!makeForecastModel(s.forecast_model).ok()) {
    return makeForecastModel(s.forecast_model).error();
  }
  if (!(s.step_s > 0.0) || !std::isfinite(s.step_s)) {
    return makeError("invalid", "engine step must be positive, got " + formatQuantity(s.step_s));
  }
  if (!(s.risk > 0.0 && s.risk < 0.5)) {
    return makeError("invalid", "risk must be between 0 and 0.5, got " + formatQuantity(s.risk));
  }
  if (!(s.coverage > 0.0 && s.coverage < 1.0)) {
    return makeError(
        "invalid", "interval coverage must be between 0 and 1, got " + formatQuantity(s.coverage));
  }
  if (!(s.scale_down_min_share >= 0.0 && s.scale_down_min_share < 1.0)) {
    return makeError("invalid", "the least share a scale-down frees must be in [0, 1), got " +
                                    formatQuantity(s.scale_down_min_share));
  }
  if (s.decide_threads < 1 || s.decide_threads > kMaxDecideThreads) {
    return makeError("invalid", "the engine's planning threads must be between 1 and " +
                                    std::to_string(kMaxDecideThreads) + ", got " +
                                    std::to_string(s.decide_threads));
  }
  if (!(s.plan_margin_s >= 0.0 && s.plan_margin_s <= kMaxPlanMarginS)) {
    return makeError("invalid", "the plan's margin must be between 0 and " +
                                    formatSeconds(kMaxPlanMarginS) + ", got " +
                                    formatQuantity(s.plan_margin_s) + " s");
  }
  if (s.scale_down_stabilization_s < 0.0 || s.cooldown_s < 0.0 || s.max_step_up < 0 ||
      s.max_step_down < 0 || s.actions_per_hour < 0 || s.bottleneck_horizon_steps < 0 ||
      s.min_observations < 0 || s.hpa_tolerance < 0.0) {
    return makeError("invalid",
                     "engine limits (stabilisation, cooldown, step limits, actions per hour, "
                     "horizon, minimum samples, tolerance) must not be negative");
  }
  return {};
}

}  // namespace pso::controller::engine
