#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "common/result.h"
#include "controller/engine/types.h"

namespace pso::controller::engine {

/// The decision cycle's pure core: forecast -> detect bottlenecks -> allocate ->
/// guardrails, for every system. Keeps per-system state between cycles
/// (forecast model, recent recommendations for stabilisation, last action time,
/// reactive baseline state). Call decide() once per step with what was observed
/// during that step. Used by the live controller and by `psoctl simulate`.
class DecisionEngine {
 public:
  explicit DecisionEngine(EngineSettings settings);
  ~DecisionEngine();
  DecisionEngine(DecisionEngine&&) noexcept;
  DecisionEngine& operator=(DecisionEngine&&) noexcept;

  /// Adds a system or updates its spec, keeping its learned state.
  void upsertSystem(const SystemSpec& spec);
  void removeSystem(const std::string& name);
  std::vector<SystemSpec> systems() const;
  const EngineSettings& settings() const;
  void setForecastOnly(bool forecast_only);

  /// One decision per system in `input` that is known (unknown systems are
  /// skipped). Observations must come in time order, one per step.
  CycleDecisions decide(const CycleInput& input);

  /// Serialised per-system state (forecast models, stabilisation windows), so a
  /// restarted controller resumes without refitting from scratch.
  std::string saveState() const;
  [[nodiscard]] Status loadState(const std::string& state);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace pso::controller::engine
