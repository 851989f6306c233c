#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "controller/engine/forecast_model.h"
#include "controller/engine/horizon_errors.h"
#include "controller/engine/ring_buffer.h"

namespace pso::controller::engine {

/// Additive Holt-Winters with a damped additive trend, updated online in O(1)
/// per step (error-correction form):
///   e = y - (level + phi * trend + season[phase])
///   level += phi * trend + alpha * e;  trend = phi * trend + alpha * beta * e
///   season[phase] += gamma * (1 - alpha) * e
///
/// Robust to what real traces contain: each error is clipped at 3.5 times a
/// running mean absolute error before it updates the state, so a burst or a
/// holiday moves the level and the seasonal profile only a little; when three
/// consecutive errors exceed that bound on the same side, the series is taken
/// to have shifted and the level jumps to the new value at once (the seasonal
/// profile is left alone). Missing steps advance the clock (the season phase
/// and the damped trend) without learning anything.
///
/// The state starts once two full seasons of steps have passed (level, trend
/// and profile from their means); before that the forecast is the last value.
/// Parameters (alpha, beta, gamma, phi) are chosen by coordinate descent over
/// small grids, minimising the mean absolute error at one step and at
/// fit_horizon (default max_horizon) steps over a replay of the last fit_seasons seasons: at the
/// start, then every refit_seasons seasons, and sooner when the recent error
/// rises 50% above the error seen at the last search. A search only changes
/// the parameters; the state learned from the whole history is kept. Cost per
/// step is O(max_horizon) plus the amortised search, independent of the
/// series' length.
class HoltWintersModel final : public ForecastModel {
 public:
  explicit HoltWintersModel(const ForecastModelParams& params);

  std::string name() const override { return "holt-winters"; }
  void update(double value) override;
  void observeMissing() override;
  Forecast forecast(int horizon, double coverage) const override;
  void pointForecast(std::vector<double>& out) const override;
  int64_t observations() const override { return observations_; }
  std::string saveState() const override;
  [[nodiscard]] Status loadState(const std::string& state) override;

  int period() const { return period_; }
  bool initialized() const { return initialized_; }
  double alpha() const { return params_hw_.alpha; }
  double beta() const { return params_hw_.beta; }
  double gamma() const { return params_hw_.gamma; }
  double phi() const { return params_hw_.phi; }
  double level() const { return state_.level; }
  double trend() const { return state_.trend; }
  /// The seasonal offset of the step `h` steps after the last one seen.
  double seasonalAhead(int h) const;

 private:
  struct Smoothing {
    double alpha = 0.2;
    double beta = 0.02;
    double gamma = 0.1;
    double phi = 0.95;
  };
  struct State {
    double level = 0.0;
    double trend = 0.0;
    std::vector<double> season;  ///< by phase = step % period
    double scale = 0.0;          ///< running mean absolute one-step error
    int run = 0;                 ///< consecutive clipped errors, signed by side
  };

  /// Learns `value` at `phase`; returns the raw one-step error.
  static double learn(const Smoothing& p, State& s, double value, std::size_t phase);
  static void advance(const Smoothing& p, State& s);
  /// A state started from the first two seasons of history_[begin..], as of
  /// just before history_[begin]; false when those seasons are too sparse.
  bool startState(std::size_t begin, State& out) const;
  /// Mean absolute error (at 1 and fit_horizon steps) of `p` replayed over
  /// the history window from `start` (startState(0)).
  double replayScore(const Smoothing& p, const State& start) const;
  void search();
  void initialise();
  double pointAt(const State& s, const Smoothing& p, int64_t last_step, int h) const;

  ForecastModelParams params_;
  int period_;
  Smoothing params_hw_;
  State state_;
  bool initialized_ = false;
  int64_t step_ = -1;  ///< index of the last step seen (values and gaps)
  int64_t observations_ = 0;
  double last_value_ = 0.0;
  int64_t since_search_ = 0;
  double searched_error_ = 0.0;  ///< replay error at the last search (per scored value)
  double recent_error_ = 0.0;    ///< running mean absolute one-step error, for drift
  RingBuffer<double> history_;   ///< last fit_seasons seasons, NaN for missing steps
  HorizonErrorTracker errors_;
  std::vector<double> path_;  ///< scratch for the path the tracker keeps
};

}  // namespace pso::controller::engine
