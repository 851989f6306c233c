#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "common/result.h"
#include "controller/engine/state_codec.h"
#include "controller/engine/types.h"

namespace pso::controller::engine {

/// Errors needed at a horizon before its interval uses the tracked quantiles.
inline constexpr std::size_t kMinErrorsForQuantiles = 20;

/// Measures how wrong a model's forecasts were, per horizon and per side, to
/// build calibrated, asymmetric prediction intervals.
///
/// The model remembers the forecast path it made at each step, with the
/// error scale at that moment; when a later step's actual value arrives,
/// every remembered forecast that targeted it is scored: the error (actual -
/// forecast) divided by that scale. The scale is the tracker's own running
/// mean absolute one-step error (memory: `window` scored one-step errors, at
/// the stride's origins), and the model's scale only until the tracker has
/// one: a model's outlier screen follows its errors over about 50 steps,
/// which at a step much finer than the horizon is less than two horizons,
/// and an interval 40 steps ahead scaled by it swings with every ramp's
/// onset (docs/design-notes.md "Interval scale at a fine step"). Per
/// horizon, a quantile tracker per level of kQuantileLevels follows those
/// scaled errors online (conformal quantile tracking: a level-tau tracker
/// moves up by step x (1 - tau) when an error lands above it and down by
/// step x tau otherwise, so over any long run the share of errors above it
/// is 1 - tau, whatever their distribution or drift). An interval is the
/// point plus the tracked lower and upper quantiles times the scale now: it
/// widens in a volatile spell and narrows in a calm one, and each tail
/// misses as often as it should. The step is kQuantileStep times the
/// horizon's running mean absolute scaled error.
///
/// Memory is bounded and small: max_horizon remembered paths plus the
/// trackers; each step costs O(max_horizon / stride x levels), no sorting.
class HorizonErrorTracker {
 public:
  /// Quantile levels tracked per horizon; others are interpolated on the
  /// normal-score scale between them.
  static constexpr std::array<double, 13> kQuantileLevels = {
      0.01, 0.025, 0.05, 0.1, 0.2, 0.3, 0.5, 0.7, 0.8, 0.9, 0.95, 0.975, 0.99};

  /// `window` sets the memory of the running error scales (a rate of
  /// 1 / window per scored error). With `stride` > 1 only the forecasts made
  /// at every stride-th step are scored: each step then costs
  /// O(max_horizon / stride).
  HorizonErrorTracker(int max_horizon, int window, int stride = 1);

  int maxHorizon() const { return max_horizon_; }
  int stride() const { return stride_; }

  /// Scores the forecasts of every `stride`-th step from now on, as a new
  /// tracker with that stride would: the tracked quantiles and error scales
  /// stay, the remembered forecasts not scored yet are dropped (at most
  /// max_horizon steps' worth). A state keeps the stride it was saved with,
  /// so the owner re-applies its own after a load (errorStrideFor). Nothing
  /// changes when the stride is the one in use.
  void setStride(int stride);

  /// A new step with an actual value: scores the remembered forecasts for it.
  void observe(double actual);
  /// Starts loading the memory the next observe() reads (a hint only).
  void prefetch() const;
  /// A new step without a value: nothing is scored.
  void skip();
  /// The model's forecast made at the current step for steps 1..n ahead
  /// (n <= max_horizon is used; extra points are ignored), and its error
  /// scale now (> 0; otherwise this path's errors count only towards the
  /// one-step error, not the quantiles). Ignored at steps that are not a
  /// multiple of the stride.
  void remember(const std::vector<double>& path, double scale);
  /// Whether remember() would keep a path now (so callers can skip making it).
  bool wantsPath() const { return step_ >= 0 && phase_ == 0; }

  /// Scaled errors known at horizon h (1-based), saturating.
  std::size_t count(int h) const;

  /// Fills forecast.lo/hi around forecast.point for a central `coverage`
  /// interval, at the model's error `scale` now, plus coverage and
  /// backtest_mae (see ForecastModel::forecast). Horizons with fewer than
  /// kMinErrorsForQuantiles errors get the one-step spread scaled by
  /// sqrt(h); beyond max_horizon, the last tracked horizon's offsets grow
  /// with sqrt(h / max_horizon). The interval follows the errors: for a
  /// biased model it may lie to one side of the point.
  void fillIntervals(Forecast& forecast, double coverage, double scale) const;

  /// The tracked p-quantile of the scaled errors at horizon h (interpolated
  /// between tracked levels); NaN before kMinErrorsForQuantiles errors.
  double scaledQuantile(int h, double p) const;

  /// Running mean absolute one-step error; NaN before any.
  double oneStepMae() const;
  /// Running root mean square one-step error; 0 before any.
  double oneStepRms() const;

  void save(StateWriter& writer) const;
  /// Reads what save() wrote into *this; check reader.ok() afterwards.
  void load(StateReader& reader);
  /// Reads the format kept before quantile tracking (raw error windows per
  /// horizon): their errors, divided by the model's `scale` now (1 when it
  /// is not positive), start the trackers at their empirical quantiles.
  void loadWindows(StateReader& reader, double scale);

 private:
  static constexpr std::size_t kLevels = kQuantileLevels.size();

  /// Per horizon: the quantile trackers and the running mean absolute scaled
  /// error that sets their step.
  struct Horizon {
    std::array<double, kLevels> q{};
    double abs_sum = 0.0;
    double abs_weight = 0.0;
    uint32_t count = 0;
  };

  /// Moves to the next step, keeping phase_ and slot_ in step with step_.
  void advance();
  /// Sets step_ (a loaded state), and phase_ and slot_ to match.
  void seek(int64_t step);
  std::size_t width() const { return kSlotHeader + static_cast<std::size_t>(max_horizon_); }
  void score(Horizon& horizon, double z);
  /// The scale errors are divided by and intervals multiplied by: the
  /// running one-step mean absolute error once known, else `model_scale`;
  /// 0 when neither is positive.
  double intervalScale(double model_scale) const;
  /// scaledQuantile() at the normal score `target` of its level (the
  /// caller computes normalQuantile(p) once for every horizon).
  double scaledQuantileAtScore(int h, double target) const;
  void scoreOneStep(double error);

  int max_horizon_;
  int window_;
  int stride_;
  int64_t step_ = -1;
  // step_ % stride_ and (step_ / stride_) % slots, kept as the steps advance:
  // this runs for every model at every sample, where divisions would be most
  // of its cost.
  int phase_ = 0;
  std::size_t slot_ = 0;
  /// Slots of remembered forecasts: per slot kSlotHeader values (the step
  /// forecast from, -1 = empty; the model's error scale then) and the path
  /// (max_horizon points, NaN past its end), one flat array: an update of
  /// thousands of models is bound by cache misses, and a slot read together
  /// costs one or two of them.
  static constexpr std::size_t kSlotHeader = 2;
  std::size_t slots_;
  std::vector<double> origins_;
  std::vector<Horizon> horizons_;
  // Running means of |e| and e^2 of the one-step errors (rate 1 / window,
  // bias-corrected by the weight), read every update by the models.
  double one_abs_ = 0.0;
  double one_sq_ = 0.0;
  double one_weight_ = 0.0;
};

/// The shape every model's forecast() shares: provenance (`model`,
/// `observations`, `coverage`), then `horizon` points from `fill_points`
/// (called with a vector already sized to the horizon), then intervals from
/// the tracked `errors` at the model's error `scale`. Empty while the model
/// has seen nothing.
Forecast assembleForecast(std::string model, int64_t observations, int horizon, double coverage,
                          const HorizonErrorTracker& errors, double scale,
                          const std::function<void(std::vector<double>&)>& fill_points);

}  // namespace pso::controller::engine
