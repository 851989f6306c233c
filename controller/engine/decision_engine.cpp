#include "controller/engine/decision_engine.h"

#include <algorithm>
#include <cmath>
#include <functional>
#include <limits>

#include "controller/engine/allocation.h"
#include "controller/engine/forecast_model.h"
#include "controller/engine/guardrails.h"
#include "controller/engine/reactive_policy.h"
#include "controller/engine/state_codec.h"
#include "controller/engine/wording.h"

namespace pso::controller::engine {

namespace {

constexpr int64_t kStateVersion = 1;
constexpr int64_t kMaxSystems = 1000000;
constexpr int64_t kMaxDependencies = 100000;
constexpr int64_t kMinTrackedHorizon = 8;

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

std::unique_ptr<ForecastModel> newModel(const EngineSettings& settings, const SystemSpec& spec) {
  ForecastModelParams params;
  params.max_horizon = static_cast<int>(std::clamp<int64_t>(
      planningHorizon(leadSteps(spec.warmup_s, settings.step_s), settings.bottleneck_horizon_steps),
      kMinTrackedHorizon, 10000));
  // Spread the systems' periodic refits over the refit period.
  params.refit_phase = static_cast<int>(std::hash<std::string>{}(spec.name) %
                                        static_cast<std::size_t>(std::max(1, params.refit_every)));
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

}  // namespace

struct DecisionEngine::Impl {
  struct SystemState {
    SystemSpec spec;
    std::unique_ptr<ForecastModel> model;
    ReactivePolicy reactive;
    GuardState guard;
  };

  EngineSettings settings;
  std::map<std::string, SystemState> systems;
  ActionRateLimiter limiter;

  SystemState makeState(const SystemSpec& spec) const {
    SystemState state;
    state.spec = spec;
    state.model = newModel(settings, spec);
    state.reactive = ReactivePolicy(reactiveSettings(settings));
    return state;
  }

  SystemDecision decideOne(SystemState& state, const SystemObservation& obs, int64_t now_ms);
};

SystemDecision DecisionEngine::Impl::decideOne(SystemState& state, const SystemObservation& obs,
                                               int64_t now_ms) {
  const SystemSpec& spec = state.spec;
  SystemDecision d;
  d.system = spec.name;
  const int64_t current = std::max<int64_t>(0, obs.current_replicas);
  const int64_t ready = obs.ready_replicas < 0 ? current : std::min(obs.ready_replicas, current);
  d.current_replicas = current;
  d.ready_replicas = ready;
  d.capacity_per_replica = spec.capacity_per_replica;
  d.target_utilization = spec.target_utilization;

  std::optional<double> demand;
  if (obs.demand && std::isfinite(*obs.demand)) demand = std::max(0.0, *obs.demand);
  if (demand) {
    d.demand = *demand;
    state.model->update(*demand);
  } else {
    state.model->observeMissing();
  }

  const double step_s = settings.step_s;
  d.lead_steps = leadSteps(spec.warmup_s, step_s);
  const int64_t horizon = planningHorizon(d.lead_steps, settings.bottleneck_horizon_steps);
  d.forecast = demandForecast(*state.model, static_cast<int>(horizon), settings.coverage);

  state.reactive.setSettings(reactiveSettings(settings));
  const ReactiveRecommendation reactive =
      state.reactive.recommend(spec, ReactiveInput{demand, current, ready, now_ms});
  d.reactive_replicas = reactive.replicas;
  d.reactive_rationale = reactive.rationale;

  const Allocation plan = allocate(spec, d.forecast, current, reactive.replicas, now_ms, step_s);
  d.bottleneck = plan.bottleneck;
  d.planned_demand = plan.planned_demand;

  const std::string situation =
      demand ? "Demand " + formatQuantity(*demand) : "No demand sample this step";
  const int64_t seen = state.model->observations();
  const bool warming = seen < settings.min_observations;
  std::vector<std::string> sentences;
  bool stabilize = true;
  if (settings.policy == "reactive") {
    d.recommended_replicas = reactive.replicas;
    d.rule = "reactive-hpa";
    d.planned_demand = demand.value_or(0.0);
    stabilize = false;  // the HPA rule stabilises its own recommendations
    sentences.push_back("Policy reactive. " + reactive.rationale);
  } else if (warming) {
    const double ready_capacity = static_cast<double>(ready) * spec.capacity_per_replica;
    const std::string history = "only " + std::to_string(seen) + " of the " +
                                std::to_string(settings.min_observations) +
                                " samples a forecast needs";
    if (demand && *demand > ready_capacity) {
      d.recommended_replicas = reactive.replicas;
      d.rule = "reactive-hpa";
      d.planned_demand = *demand;
      stabilize = false;
      sentences.push_back(situation + " already exceeds the ready capacity of " +
                          formatQuantity(ready_capacity) + " with " + history +
                          ", so the reactive rule decides. " + reactive.rationale);
    } else {
      d.recommended_replicas =
          std::clamp(current, spec.min_replicas, std::max(spec.min_replicas, spec.max_replicas));
      d.rule = seen == 0 ? "no-data" : "warming-up";
      std::string sentence = situation + "; " + history + ", so hold the current count";
      if (d.recommended_replicas != current) {
        sentence += " within the bounds [" + std::to_string(spec.min_replicas) + ", " +
                    std::to_string(spec.max_replicas) + "]";
      }
      sentences.push_back(sentence + ".");
    }
  } else {
    d.recommended_replicas = plan.replicas;
    d.rule = plan.rule;
    sentences.push_back(situation + "; " + plan.rationale + ".");
  }

  if (d.bottleneck && !warming) {
    sentences.push_back("The upper forecast exceeds the current capacity of " +
                        formatQuantity(d.bottleneck->capacity) + " in " +
                        formatSteps(d.bottleneck->steps_ahead) + " (chance " +
                        formatPercent(d.bottleneck->probability) + ").");
  }

  GuardrailInput guard_input;
  guard_input.recommended = d.recommended_replicas;
  guard_input.current = current;
  guard_input.now_ms = now_ms;
  guard_input.hold = obs.hold;
  guard_input.stabilize_scale_down = stabilize;
  const GuardrailOutcome guard = applyGuardrails(guard_input, settings, state.guard, limiter);
  d.desired_replicas = guard.desired;
  d.dispatch = guard.dispatch;
  d.guardrails = guard.notes;
  if (guard.held) d.rule = "hold";
  for (const std::string& note : guard.notes) sentences.push_back(note);
  sentences.push_back(action(current, ready, d.desired_replicas));

  d.candidates = buildCandidates(spec, d.forecast, plan, d.desired_replicas, current,
                                 reactive.replicas, step_s);

  // With no guardrail in between, the decision reads as one sentence.
  if (guard.notes.empty() && sentences.size() == 2 && sentences[0].back() == '.') {
    sentences[0].back() = ';';
    d.rationale = sentences[0] + " " + sentences[1];
  } else {
    for (const std::string& s : sentences) d.rationale += (d.rationale.empty() ? "" : " ") + s;
  }
  return d;
}

DecisionEngine::DecisionEngine(EngineSettings settings) : impl_(std::make_unique<Impl>()) {
  impl_->settings = std::move(settings);
}
DecisionEngine::~DecisionEngine() = default;
DecisionEngine::DecisionEngine(DecisionEngine&&) noexcept = default;
DecisionEngine& DecisionEngine::operator=(DecisionEngine&&) noexcept = default;

void DecisionEngine::upsertSystem(const SystemSpec& spec) {
  auto it = impl_->systems.find(spec.name);
  if (it != impl_->systems.end()) {
    it->second.spec = spec;
    return;
  }
  impl_->systems.emplace(spec.name, impl_->makeState(spec));
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

void DecisionEngine::setForecastOnly(bool forecast_only) {
  impl_->settings.forecast_only = forecast_only;
}

CycleDecisions DecisionEngine::decide(const CycleInput& input) {
  CycleDecisions out;
  out.now_ms = input.now_ms;
  for (const SystemObservation& obs : input.systems) {
    auto it = impl_->systems.find(obs.system);
    if (it == impl_->systems.end()) continue;
    out.systems.push_back(impl_->decideOne(it->second, obs, input.now_ms));
  }
  out.actions_last_hour = impl_->limiter.countLastHour(input.now_ms);
  return out;
}

std::optional<Forecast> DecisionEngine::forecast(const std::string& system, int horizon) const {
  auto it = impl_->systems.find(system);
  if (it == impl_->systems.end()) return std::nullopt;
  return demandForecast(*it->second.model, horizon, impl_->settings.coverage);
}

std::string DecisionEngine::saveState() const {
  StateWriter w;
  w.putText("pso-engine").putInt(kStateVersion);
  impl_->limiter.save(w);
  w.putInt(static_cast<int64_t>(impl_->systems.size()));
  for (const auto& [name, state] : impl_->systems) {
    saveSpec(w, state.spec);
    w.putText(state.model->name()).putText(state.model->saveState());
    state.reactive.save(w);
    state.guard.stabilization.save(w);
    w.putInt(state.guard.last_change_ms ? 1 : 0).putInt(state.guard.last_change_ms.value_or(0));
  }
  return w.str();
}

Status DecisionEngine::loadState(const std::string& state) {
  StateReader r(state, "engine state");
  r.expectText("pso-engine");
  if (r.getInt() != kStateVersion && r.ok()) r.fail("unsupported version");
  ActionRateLimiter limiter;
  limiter.load(r);
  const int64_t count = r.getInt(0, kMaxSystems);
  std::map<std::string, Impl::SystemState> loaded;
  for (int64_t i = 0; i < count && r.ok(); ++i) {
    Impl::SystemState s;
    s.spec = loadSpec(r);
    const std::string model_name = r.getText();
    const std::string model_state = r.getText();
    if (!r.ok()) break;
    auto model = makeForecastModel(model_name);
    if (!model.ok())
      return makeError("invalid_state",
                       "engine state: system '" + s.spec.name + "': " + model.error().message);
    if (Status st = model.value()->loadState(model_state); !st.ok()) {
      return makeError("invalid_state",
                       "engine state: system '" + s.spec.name + "': " + st.error().message);
    }
    s.model = std::move(model).value();
    s.reactive = ReactivePolicy(reactiveSettings(impl_->settings));
    s.reactive.load(r);
    s.guard.stabilization.load(r);
    const bool has_change = r.getInt(0, 1) == 1;
    const int64_t change_ms = r.getInt();
    if (has_change) s.guard.last_change_ms = change_ms;
    const std::string name = s.spec.name;
    loaded.insert_or_assign(name, std::move(s));
  }
  if (Status st = r.status(); !st.ok()) return st;

  impl_->limiter = std::move(limiter);
  for (auto& [name, s] : loaded) {
    auto it = impl_->systems.find(name);
    if (it != impl_->systems.end()) s.spec = it->second.spec;
    impl_->systems.insert_or_assign(name, std::move(s));
  }
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
  if (!(s.coverage > 0.0 && s.coverage < 1.0)) {
    return makeError(
        "invalid", "interval coverage must be between 0 and 1, got " + formatQuantity(s.coverage));
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
