#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/result.h"
#include "controller/engine/seasonal_profile.h"
#include "controller/engine/types.h"

namespace pso::controller::engine {

/// The decision cycle's pure core: forecast -> detect bottlenecks -> allocate ->
/// guardrails, for every system. Keeps per-system state between cycles
/// (forecast model, recent recommendations for stabilisation, last action time,
/// reactive baseline state). Call decide() once per step with what was observed
/// during that step. Used by the live controller and by `psoctl simulate`.
/// Not thread-safe: one caller at a time.
class DecisionEngine {
 public:
  explicit DecisionEngine(EngineSettings settings);
  ~DecisionEngine();
  DecisionEngine(DecisionEngine&&) noexcept;
  DecisionEngine& operator=(DecisionEngine&&) noexcept;

  /// Adds a system or updates its spec, keeping its learned state; unless
  /// the new spec (its warm-up) changes the horizons the system's model
  /// tracks its errors over: then the system gets a fresh model (and a new
  /// modelEpoch()), to be taught its history again by a warm start.
  void upsertSystem(const SystemSpec& spec);
  void removeSystem(const std::string& name);
  std::vector<SystemSpec> systems() const;
  const EngineSettings& settings() const;
  void setForecastOnly(bool forecast_only);

  /// Shared capacity: each pool's replicas are divided among the systems in
  /// it that decide in the same cycle (pool_allocator.h) when they want more
  /// than it holds. Replaces the previous pools. A system may be in several.
  void setPools(std::vector<PoolSpec> pools);
  const std::vector<PoolSpec>& pools() const;

  /// One decision per system in `input` that is known (unknown systems are
  /// skipped). Observations must come in time order, one per step.
  ///
  /// Per system: the forecast model learns the step's demand (or the gap);
  /// the HPA rule's recommendation is always computed (reactive_replicas);
  /// the recommendation is the predictive allocation, or the HPA rule when
  /// settings.policy is "reactive"; while the model has fewer than
  /// settings.min_observations samples the current count is held (rule
  /// "no-data" / "warming-up", clamped to the bounds) unless demand already
  /// exceeds the ready capacity, when it plans for the observed demand at the
  /// target (rule "demand-at-target").
  ///
  /// Then coordination across systems, before guardrails: a predictive system
  /// whose point forecast rises by more than the HPA tolerance over its lead
  /// time passes that rise down its depends_on chain, and a dependency whose
  /// own plan is lower plans for its demand times that rise (a "Dependency:"
  /// note); then each pool that cannot hold what its systems want is divided
  /// by priority and forecast need (a "Pool <name>:" note for each system cut,
  /// a PoolStatus per pool in the result, and a Bottleneck of kind "pool"
  /// when the upper forecasts will need more than the pool within the
  /// horizon). recommended_replicas stays the system's own plan; the notes
  /// lead its guardrails. Guardrails follow (guardrails.h; stabilisation never
  /// holds a count above its pool grant); dispatch = desired != current,
  /// allowed, not forecast-only.
  CycleDecisions decide(const CycleInput& input);

  /// The daily (and weekly) shape of a system's demand learned at a coarse
  /// resolution (seasonal_profile.h), or nullopt to drop it. The "auto"
  /// model then also runs candidates on the demand with the shape taken out
  /// and chooses them only where their rolling backtest error wins; other
  /// models ignore it. Call again to refit (e.g. hourly). Unknown system:
  /// ignored.
  void setSeasonalProfile(const std::string& system, std::optional<SeasonalProfile> profile);
  /// The profile the system's model holds; nullopt for none, an unknown
  /// system or a model other than "auto".
  std::optional<SeasonalProfile> seasonalProfile(const std::string& system) const;

  /// Steps of past demand a warm start can use: what the "auto" model keeps
  /// for season detection (ForecastModelParams::detection_window, 4,096),
  /// the longest window any model keeps; older steps teach no model anything.
  static int64_t warmStartSteps();

  /// Which forecast model the system has: a number that changes whenever
  /// its model is made or installed (a new system, a loaded state, or a
  /// fresh model because upsertSystem() changed the horizons it must track),
  /// so the controller's warm start and seasonal profiles know to serve it
  /// again. nullopt for an unknown system.
  std::optional<uint64_t> modelEpoch(const std::string& system) const;

  /// Whether the system's forecast model has learned no value yet (a system
  /// new to the engine, or whose saved state had none): what warmStart()
  /// fills. False for an unknown system.
  bool needsHistory(const std::string& system) const;

  /// Teaches a system's forecast model its past demand before its first
  /// decision, so forecasts carry the seasons the history holds from the
  /// first cycle. `demand` holds one value per engine step, oldest first, the
  /// mean demand of that step, NaN for a step without any (a gap, learned as
  /// missing, never as zero); its last step ends at `last_end_ms` and the
  /// steps are settings().step_s apart. Leading gaps are skipped; at most
  /// warmStartSteps() of the newest steps are learned. Only the forecast
  /// model learns: the HPA rule, stabilisation and action windows start as
  /// before. Does nothing unless needsHistory(system). Returns the steps
  /// learned (values and gaps). Pure: no clock, no I/O.
  std::size_t warmStart(const std::string& system, const std::vector<double>& demand,
                        int64_t last_end_ms);

  /// End (epoch ms) of the last step the system's model learned (a decision,
  /// a warm start or a catch-up), saved with its state; nullopt for an
  /// unknown system or one that learned no step in this or a saved state.
  std::optional<int64_t> lastStepMs(const std::string& system) const;

  /// How many steps a catchUp() to a last step ending at `last_end_ms`
  /// learns: those ending after lastStepMs(), to the nearest step, at most
  /// warmStartSteps(); 0 for an unknown system, a model that learned
  /// nothing, or one without lastStepMs().
  std::size_t catchUpSteps(const std::string& system, int64_t last_end_ms) const;

  /// Teaches a model loaded from a saved state the steps since that state,
  /// so a state saved some cycles before a stop or crash loses nothing the
  /// store kept: `demand` as for warmStart() (one value per step, NaN for a
  /// step without any, so the model's seasons keep their phase), its last
  /// step ending at `last_end_ms`; only the newest catchUpSteps() of them
  /// are learned (none for a model that learned nothing: warmStart() is for
  /// those). Returns the steps learned.
  std::size_t catchUp(const std::string& system, const std::vector<double>& demand,
                      int64_t last_end_ms);

  /// The system's current forecast for steps 1..horizon without learning
  /// anything; nullopt for an unknown system. For the API and `explain`.
  std::optional<Forecast> forecast(const std::string& system, int horizon) const;

  /// Serialised per-system state (forecast models, HPA and stabilisation
  /// windows, last change times, the global action window), so a restarted
  /// controller resumes without refitting from scratch.
  std::string saveState() const;
  /// Restores saveState() output. Systems already known keep their current
  /// spec and take the saved learned state; others are added with their saved
  /// spec. On error (code "invalid_state") nothing changes.
  [[nodiscard]] Status loadState(const std::string& state);

  /// The same state in pieces a store can write a few at a time: the
  /// fleet-wide part (the global action window) and each system's part
  /// (saveState() is the sum of these). saveSystemState() of an unknown
  /// system is empty.
  std::string saveFleetState() const;
  std::string saveSystemState(const std::string& system) const;
  /// Restore those pieces, each on its own: a piece that does not read
  /// (code "invalid_state", naming the system) changes nothing, and the rest
  /// load as usual. A system's piece must be the state of `system`; a system
  /// already known keeps its current spec, as with loadState().
  [[nodiscard]] Status loadFleetState(const std::string& state);
  [[nodiscard]] Status loadSystemState(const std::string& system, const std::string& state);

  /// Ok when `settings` are usable: a known policy and forecast model, a
  /// positive step, coverage in (0, 1), non-negative limits. The engine itself
  /// runs on any settings (unknown model: holt; unknown policy: predictive).
  [[nodiscard]] static Status validateSettings(const EngineSettings& settings);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace pso::controller::engine
