#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "common/result.h"
#include "controller/engine/state_codec.h"
#include "controller/engine/types.h"

namespace pso::controller::engine {

/// Errors needed at a horizon before its interval uses empirical quantiles.
inline constexpr std::size_t kMinErrorsForQuantiles = 20;

/// Measures how wrong a model's forecasts were, per horizon, to build honest
/// prediction intervals. The model remembers the forecast path it made at each
/// step; when a later step's actual value arrives, every remembered forecast
/// that targeted that step is scored (actual - forecast) into the error window
/// of its horizon. Memory is bounded: max_horizon remembered paths plus
/// `window` errors per horizon; each step costs O(max_horizon).
class HorizonErrorTracker {
 public:
  /// With `stride` > 1 only the forecasts made at every stride-th step are
  /// scored: the window then spans stride times as many steps, and each step
  /// costs O(max_horizon / stride).
  HorizonErrorTracker(int max_horizon, int window, int stride = 1);

  int maxHorizon() const { return max_horizon_; }

  /// A new step with an actual value: scores the remembered forecasts for it.
  void observe(double actual);
  /// A new step without a value: nothing is scored.
  void skip();
  /// The model's forecast made at the current step for steps 1..n ahead
  /// (n <= max_horizon is used; extra points are ignored). Ignored at steps
  /// that are not a multiple of the stride.
  void remember(const std::vector<double>& path);
  /// Whether remember() would keep a path now (so callers can skip making it).
  bool wantsPath() const { return step_ >= 0 && phase_ == 0; }

  /// Errors known at horizon h (1-based).
  std::size_t count(int h) const;

  /// Fills forecast.lo/hi around forecast.point for a central `coverage`
  /// interval, plus coverage and backtest_mae (see ForecastModel::forecast).
  void fillIntervals(Forecast& forecast, double coverage) const;

  /// Mean absolute one-step error over the window; NaN before any.
  double oneStepMae() const;
  /// Root mean square one-step error over the window; 0 before any.
  double oneStepRms() const;

  void save(StateWriter& writer) const;
  /// Reads what save() wrote into *this; check reader.ok() afterwards.
  void load(StateReader& reader);

 private:
  /// Recomputes the one-step running sums from the window.
  void recountOneStep();
  /// Moves to the next step, keeping phase_ and slot_ in step with step_.
  void advance();
  /// Appends `error` to horizon h's window (h 1-based), evicting the oldest
  /// when full; returns the evicted error through `evicted`.
  bool pushError(int h, double error, double& evicted);
  /// The i-th oldest error kept at horizon h.
  double errorAt(int h, std::size_t i) const;
  std::vector<double> errorsAt(int h) const;
  /// Offsets to add to the point forecast at horizon h <= max_horizon.
  std::pair<double, double> offsets(int h, double coverage) const;

  int max_horizon_;
  int window_;
  int stride_;
  int64_t step_ = -1;
  // step_ % stride_ and (step_ / stride_) % slots, kept as the steps advance:
  // this runs for every model at every sample, where divisions would be most
  // of its cost.
  int phase_ = 0;
  std::size_t slot_ = 0;
  // Everything lives in a few flat arrays rather than a vector per origin and
  // per horizon: an update of thousands of models is bound by cache misses,
  // and independent misses overlap where chained ones wait for each other.
  std::vector<int64_t> origin_steps_;  ///< per slot: step forecast from; -1 = empty
  std::vector<int> origin_lengths_;    ///< per slot: points kept
  std::vector<double> origin_paths_;   ///< slots x max_horizon
  std::vector<double> errors_;         ///< max_horizon x window rings
  std::vector<uint32_t> error_heads_;  ///< per horizon: index of the oldest error
  std::vector<uint32_t> error_sizes_;  ///< per horizon: errors kept
  // Sums of |e| and e^2 over the one-step window, kept as errors arrive so
  // oneStepMae()/oneStepRms() (read every update by the models) are O(1).
  double one_abs_ = 0.0;
  double one_sq_ = 0.0;
  std::size_t one_pushes_ = 0;
};

/// The shape every model's forecast() shares: provenance (`model`,
/// `observations`, `coverage`), then `horizon` points from `fill_points`
/// (called with a vector already sized to the horizon), then intervals from the
/// tracked `errors`. Empty while the model has seen nothing.
Forecast assembleForecast(std::string model, int64_t observations, int horizon, double coverage,
                          const HorizonErrorTracker& errors,
                          const std::function<void(std::vector<double>&)>& fill_points);

}  // namespace pso::controller::engine
