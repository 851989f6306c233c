#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "controller/engine/forecast_model.h"
#include "controller/engine/horizon_errors.h"
#include "controller/engine/ring_buffer.h"
#include "controller/engine/robust_level.h"

namespace pso::controller::engine {

/// Holt-Winters with a damped additive trend, updated online in O(1) per step
/// (error-correction form). Three variants, one class (params choose):
///
/// Additive season ("holt-winters"):
///   e = y - (level + phi * trend + season[phase])
///   level += phi * trend + alpha * e;  trend = phi * trend + alpha * beta * e
///   season[phase] += gamma * (1 - alpha) * e
///
/// Multiplicative season ("holt-winters-mult", seasonality = multiplicative;
/// the season's swing scales with the level), with factors around 1:
///   base = level + phi * trend;  e = y - base * season[phase];  u = e / season[phase]
///   level = base + alpha * u;  trend = phi * trend + alpha * beta * u
///   season[phase] += gamma * (1 - alpha) * u * season[phase] / base
/// The factors are renormalised to mean 1 once per season (the level takes
/// the difference, so forecasts do not change). It needs a level clearly
/// above the noise: when the level is not above two running mean absolute
/// errors (at the start, or later, e.g. after an outage to zero), the model
/// turns its factors into additive offsets and continues additively; the
/// reason shows in the forecast's provenance ("holt-winters-mult (additive:
/// ...)"), and each parameter search tries to return to multiplicative from
/// the kept window. Values <= 0 are otherwise ordinary (clipped) errors.
///
/// Two seasons ("holt-winters-2s", second_season_period = s2, a multiple of
/// season_period = s1; Taylor 2003, double seasonal Holt-Winters):
///   e = y - (level + phi * trend + a[t % s1] + b[t % s2])
///   level and trend as above;  a += gamma * (1 - alpha) * e;  b += gamma2 * (1 - alpha) * e
/// Until two full s2 seasons have been seen it is the single-season model on
/// s1; then it starts b from those two seasons (their mean profile, minus
/// its s1-periodic part, which goes to a). Both profiles are kept centred.
///
/// Robust to what real traces contain: each error (in level units) passes the
/// shared OutlierScreen (robust_level.h) before it updates the state: clipped
/// at 3.5 running mean absolute errors, so a burst or a holiday moves the
/// level and the seasonal profile only a little; when three consecutive
/// errors exceed that bound on the same side, the series is taken to have
/// shifted and the level jumps to the new value at once (the seasonal profile
/// is left alone). Missing steps advance the
/// clock (the season phase and the damped trend) without learning anything.
///
/// The state starts once two full seasons of steps have passed (level, trend
/// and profile from their means); before that the forecast is the last value.
/// Parameters (alpha, beta, gamma, phi, and gamma2 with two seasons) are
/// chosen by coordinate descent over small grids, minimising the mean
/// absolute error at one step and at fit_horizon (default max_horizon) steps
/// over a replay of the last fit_seasons seasons (two s2 seasons with two
/// seasons): at the start, then every refit_seasons seasons (at least every
/// s2 steps with two seasons), and sooner when the running (capped) error
/// scale rises 50% above its value at the last search, so a lasting change
/// refits early and a burst does not. A search only changes the parameters;
/// the state learned from the whole history is kept. Cost per step is
/// O(max_horizon) plus the amortised search (and, for the multiplicative and
/// two-season variants, an O(period) renormalisation once per period),
/// independent of the series' length.
class HoltWintersModel final : public ForecastModel {
 public:
  explicit HoltWintersModel(const ForecastModelParams& params);

  /// "holt-winters", "holt-winters-mult" or "holt-winters-2s" (the registry
  /// name that makes this variant).
  std::string name() const override;
  void update(double value) override;
  void observeMissing() override;
  void setErrorStride(int stride) override { errors_.setStride(stride); }
  int trackedHorizon() const override { return errors_.maxHorizon(); }
  Forecast forecast(int horizon, double coverage) const override;
  void pointForecast(std::vector<double>& out) const override;
  int64_t observations() const override { return observations_; }
  void prefetch() const override;
  /// The running one-step mean absolute error once the state has started
  /// (value units, also when multiplicative); 0 before.
  double errorScale() const override;
  std::string saveState() const override;
  [[nodiscard]] Status loadState(const std::string& state) override;

  int period() const { return period_; }
  /// The second season's length; 0 without one.
  int secondPeriod() const { return second_period_; }
  bool initialized() const { return initialized_; }
  /// Whether the second season is in use (two of its seasons were seen).
  bool twoSeasonsActive() const { return two_active_; }
  /// Whether the season is multiplicative now (configured and not fallen
  /// back to additive).
  bool multiplicativeNow() const { return multiplicative_ && fallback_ == 0; }
  /// Why a multiplicative model runs additively; empty when it does not.
  std::string fallbackReason() const;
  double alpha() const { return params_hw_.alpha; }
  double beta() const { return params_hw_.beta; }
  double gamma() const { return params_hw_.gamma; }
  double gamma2() const { return params_hw_.gamma2; }
  double phi() const { return params_hw_.phi; }
  double level() const { return state_.level; }
  double trend() const { return state_.trend; }
  /// The seasonal part of the step `h` steps after the last one seen: an
  /// offset (both seasons' offsets summed) when additive, a factor when
  /// multiplicative.
  double seasonalAhead(int h) const;

 private:
  struct Smoothing {
    double alpha = 0.2;
    double beta = 0.02;
    double gamma = 0.1;
    double gamma2 = 0.05;
    double phi = 0.95;
  };
  struct State {
    double level = 0.0;
    double trend = 0.0;
    std::vector<double> season;   ///< by phase = step % period
    std::vector<double> season2;  ///< by step % second period (two seasons only)
    OutlierScreen screen;         ///< one-step errors in level units, clipped and scaled
    double reference = 0.0;       ///< multiplicative: the level at the last renormalisation
    double raw_scale = 0.0;       ///< multiplicative: running mean absolute error, value units
  };
  /// How a state combines its parts.
  struct Shape {
    bool multiplicative = false;
    bool two = false;
  };

  Shape shape() const { return {multiplicativeNow(), two_active_}; }
  /// The cycle a start state is made from: the longer season with two.
  std::size_t cycle(const Shape& shape) const;
  /// Learns `value` at phases (step % period, step % second period); returns
  /// the raw one-step error.
  static double learn(const Smoothing& p, State& s, const Shape& shape, double value,
                      std::size_t phase, std::size_t phase2);
  static void advance(const Smoothing& p, State& s);
  /// A state of `shape` started from the first two cycles of
  /// history_[begin..], as of just before history_[begin]; false when those
  /// cycles are too sparse (or, multiplicative, their level is not clearly
  /// positive).
  bool startState(std::size_t begin, const Shape& shape, State& out) const;
  /// Where the replay window of `shape` starts in history_.
  std::size_t windowBegin(const Shape& shape) const;
  /// Mean absolute error (at 1 and fit_horizon steps) of `p` replayed over
  /// history_[begin..] from `start` (startState(begin)).
  double replayScore(const Smoothing& p, const Shape& shape, const State& start,
                     std::size_t begin) const;
  void search(const Shape& shape);
  /// Starts the state of `shape` afresh from the last two cycles kept (with a
  /// parameter search); false when they do not allow it.
  bool rebuild(const Shape& shape);
  void initialise();
  /// Per-step upkeep shared by values and gaps: renormalising the profiles
  /// once per period, starting the second season, the multiplicative check.
  void maintain();
  /// Runs additively from now on, the factors turned into offsets.
  void fallBack(int reason);
  void searchNow();

  ForecastModelParams params_;
  int period_;
  int second_period_ = 0;        ///< 0: one season
  bool multiplicative_ = false;  ///< as configured
  int fallback_ = 0;             ///< why a multiplicative model runs additively; 0 = it does not
  bool two_active_ = false;
  Smoothing params_hw_;
  State state_;
  bool initialized_ = false;
  int64_t step_ = -1;  ///< index of the last step seen (values and gaps)
  int64_t observations_ = 0;
  double last_value_ = 0.0;
  int64_t since_search_ = 0;
  double searched_error_ = 0.0;  ///< replay error at the last search (per scored value)
  /// The running error scale (state_.screen) when the last search ended: a
  /// scale well above it is drift and brings the next search forward.
  double searched_scale_ = 0.0;
  /// Last fit_seasons seasons (at least two second seasons), NaN for missing
  /// steps.
  RingBuffer<double> history_;
  HorizonErrorTracker errors_;
  std::vector<double> path_;  ///< scratch for the path the tracker keeps
};

}  // namespace pso::controller::engine
