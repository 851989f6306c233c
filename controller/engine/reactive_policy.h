#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "common/result.h"
#include "controller/engine/guardrails.h"
#include "controller/engine/state_codec.h"
#include "controller/engine/types.h"

namespace pso::controller::engine {

/// Tuning of the HPA rule; the defaults are Kubernetes' own.
struct ReactiveSettings {
  double tolerance = 0.1;                     ///< |ratio - 1| within this: keep
  double scale_down_stabilization_s = 300.0;  ///< max of recommendations over this window
  int64_t scale_up_factor = 2;                ///< scale-up limit max(factor x current, minimum)
  int64_t scale_up_minimum = 4;
};

/// What the HPA rule needs to know about one system at one step.
struct ReactiveInput {
  std::optional<double> demand;  ///< nullopt: no metric this step
  int64_t current_replicas = 0;  ///< launched
  int64_t ready_replicas = 0;    ///< serving (current minus warming)
  int64_t now_ms = 0;
};

struct ReactiveRecommendation {
  int64_t replicas = 0;      ///< final: stabilised, limited and clamped
  int64_t raw_replicas = 0;  ///< from the ratio alone, before stabilisation and limits
  double utilization = 0.0;  ///< demand / ready capacity (NaN when unknown)
  double ratio = 0.0;        ///< utilization / target (NaN when unknown)
  std::string rationale;     ///< plain words, with the numbers
  ReactiveFacts facts;       ///< the same recommendation as typed facts
};

/// The Kubernetes Horizontal Pod Autoscaler's replica rule, over a system's
/// aggregate demand: utilisation = demand / (ready x capacity_per_replica);
/// ratio = utilisation / target. Within tolerance of 1 it keeps the count;
/// otherwise ceil(ready x ratio). On a scale-up with unready (warming)
/// replicas, those count at zero utilisation: the ratio is recomputed over all
/// launched replicas, and if it no longer says "up" (or is within tolerance)
/// the count is kept. The result is the maximum recommendation of the last
/// stabilisation window, limited to max(2 x current, 4) and clamped to the
/// system's bounds. Keeps its own per-system state (the window, the same
/// StabilizationWindow the engine's guardrails use), so one instance serves
/// one system.
class ReactivePolicy {
 public:
  explicit ReactivePolicy(ReactiveSettings settings = {});

  /// Recommends and records the raw recommendation in the window.
  ReactiveRecommendation recommend(const SystemSpec& spec, const ReactiveInput& input);

  const ReactiveSettings& settings() const { return settings_; }
  void setSettings(const ReactiveSettings& settings) { settings_ = settings; }

  /// The learned state (the stabilisation window); settings are not saved.
  void save(StateWriter& writer) const;
  /// Reads what save() wrote; check reader.ok() afterwards.
  void load(StateReader& reader);

 private:
  ReactiveSettings settings_;
  StabilizationWindow recommendations_;  ///< raw recommendations within the window
};

}  // namespace pso::controller::engine
