#pragma once

#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "controller/engine/forecast_model.h"
#include "controller/engine/harmonic_regression.h"
#include "controller/engine/horizon_errors.h"
#include "controller/engine/ring_buffer.h"
#include "controller/engine/robust_level.h"

namespace pso::controller::engine {

/// Exponential smoothing in the ETS family with trigonometric (Fourier)
/// seasons ("ets"): the season is a sum of K harmonics of its period, so a
/// long season (48 to 2,016 steps: a day or a week of 5-minute data) costs
/// 2K numbers instead of one per step of the period, every step teaches every
/// harmonic (a noisy series' profile is averaged over the whole cycle, not
/// learned one phase a day), and a week rides on a day without a
/// per-step weekly profile. Updated online in O(K) per step:
///
///   forecast f = level + phi * trend + sum_j Re(z_j)
///   e = y - f, screened by the shared OutlierScreen (robust_level.h) as an
///   absolute error (additive error) or relative to f (multiplicative error)
///   level += phi * trend + alpha * e';  trend = phi * trend + alpha * beta * e'
///   z_j = (z_j + gamma_s * e') * exp(-i * 2 pi j / m_s)   (j-th harmonic of season s)
/// with e' the screened error in value units, and gamma_s = g_s * 2 / m_s, so
/// g_s is the share of a harmonic's error it learns per season (as HW's gamma
/// per phase). A confirmed level shift re-anchors the level on the value.
///
/// Structure, chosen per series from the kept window (the last fit_seasons
/// cycles of the longer season, three at most, or fit_window values without
/// one):
///  - harmonics per season: a robust least-squares regression of the window
///    on a line and the harmonics (harmonic_regression.h: values beyond 3.5
///    residual MADs clipped, K by AICc up to kMaxHarmonics, fewer for short
///    periods); the regression also starts the state;
///  - error (additive or multiplicative; multiplicative only for positive
///    data) and trend (none or damped), with the smoothing parameters (alpha,
///    beta, g per season, phi) by coordinate descent over small grids,
///    scoring a replay of the window by the mean absolute error at one step
///    and at fit_horizon steps (relative errors for a multiplicative error);
///    the variants compete on an information criterion: the AIC of a
///    Laplace likelihood of those errors (relative ones with their
///    Jacobian), counting alpha, the gains and, with a trend, beta, phi and
///    the initial slope.
/// The structure is chosen (every variant tuned) when two cycles have been
/// seen, and checked at every eighth search (the variants compared at the
/// parameters in use); the other searches, every refit_seasons cycles of the
/// first season (at least one of the second; sooner
/// when the running error scale rises 50% above its value at the last
/// search), each tune one parameter in turn, which keeps their cost a fifth
/// of a full search. Before
/// the start the forecast is the last value. Missing steps advance the state
/// (trend and harmonics) without learning.
class EtsModel final : public ForecastModel {
 public:
  /// Seasons are params.season_period (> 1) and
  /// params.second_season_period (> season_period, or 0 = none).
  explicit EtsModel(const ForecastModelParams& params);

  std::string name() const override { return "ets"; }
  void update(double value) override;
  void observeMissing() override;
  void setErrorStride(int stride) override { errors_.setStride(stride); }
  int trackedHorizon() const override { return errors_.maxHorizon(); }
  Forecast forecast(int horizon, double coverage) const override;
  void pointForecast(std::vector<double>& out) const override;
  int64_t observations() const override { return observations_; }
  void prefetch() const override;
  double errorScale() const override;
  std::string saveState() const override;
  [[nodiscard]] Status loadState(const std::string& state) override;

  bool started() const { return started_; }
  bool multiplicativeError() const { return shape_.multiplicative; }
  bool trended() const { return shape_.trend; }
  /// Harmonics in use for season 0 (season_period) or 1 (the second one).
  int harmonics(int season) const { return season == 0 ? shape_.k1 : shape_.k2; }
  double alpha() const { return smoothing_.alpha; }
  double level() const { return state_.level; }
  /// ETS(A|M, N|Ad, N|F...) in the usual notation, e.g. "ETS(M,Ad,F6+2)".
  std::string describe() const;

 private:
  struct Smoothing {
    double alpha = 0.2;
    double beta = 0.02;
    double g1 = 0.1;  ///< per-season gain of the first season's harmonics
    double g2 = 0.1;  ///< ... and of the second season's
    double phi = 0.98;
  };
  struct Shape {
    bool multiplicative = false;
    bool trend = true;
    int k1 = 0;
    int k2 = 0;
    bool operator==(const Shape&) const = default;
  };
  struct State {
    double level = 0.0;
    double trend = 0.0;
    /// Per harmonic, interleaved: Re(z_j) (its part of the next step) and
    /// Im(z_j). One array: an update of many models is bound by cache misses.
    std::vector<double> z;
    OutlierScreen screen;  ///< absolute or relative one-step errors
  };
  /// Per harmonic, interleaved: the one-step rotation (cos, sin) and the
  /// gain.
  struct Harmonics {
    std::vector<double> rot;
    std::size_t size() const { return rot.size() / 3; }
  };

  Harmonics harmonicsOf(const Shape& shape, const Smoothing& p) const;
  double seasonal(const State& s) const;
  /// Learns `value`; returns the raw error, and through the pointers (when
  /// given) the screened error in the shape's terms and, multiplicative, the
  /// forecast it was relative to.
  static double learn(const Smoothing& p, const Shape& shape, const Harmonics& h, State& s,
                      double value, double* scored, double* base = nullptr);
  static void advance(const Smoothing& p, const Harmonics& h, State& s);
  /// The state the replay of `shape` starts from at absolute step `step`:
  /// the regression's line and harmonics carried there.
  State startFor(const Shape& shape, int64_t step) const;
  /// Absolute step of the window's first value.
  int64_t windowStart() const { return step_ - static_cast<int64_t>(history_.size()) + 1; }
  /// How a replay of the window did.
  struct Score {
    double own = std::numeric_limits<double>::infinity();       ///< mean |error|, relative for M
    double absolute = std::numeric_limits<double>::infinity();  ///< mean |error|, value units
    /// AIC of a Laplace likelihood of the errors (with the Jacobian of the
    /// relative ones), the shape's parameters counted: compares variants.
    double criterion = std::numeric_limits<double>::infinity();
  };
  /// Replays `p` from `start` over the window, scoring one-step errors and
  /// errors fit_horizon steps ahead after the first cycle.
  Score replay(const Smoothing& p, const Shape& shape, const State& start, State* end) const;
  /// Which parameters a search moves.
  struct Tuning {
    enum Kind { kAll, kTrend, kOne } kind = kAll;
    std::size_t index = 0;  ///< kOne: the index-th of the shape's (modulo their count)
  };
  /// Coordinate descent from `p` over the shape's parameters `which` names
  /// (alpha, the seasons' gains, phi, beta, in that order); returns the
  /// shape's own score.
  double tune(const Shape& shape, const State& start, Smoothing& p, Tuning which) const;
  /// Chooses the structure (with every variant tuned when `full`, else at
  /// the parameters in use) and rebuilds the state from the window; false
  /// when the window does not allow it.
  bool restructure(bool full);
  void searchNow();
  std::size_t windowLength() const;
  int longest() const { return std::max(period_, second_period_); }

  ForecastModelParams params_;
  int period_;             ///< first season (1 = none)
  int second_period_ = 0;  ///< 0 = none
  Shape shape_;
  Smoothing smoothing_;
  Harmonics harmonics_;
  State state_;
  HarmonicFit regression_;  ///< of the window the structure was chosen on
  bool started_ = false;
  int64_t step_ = -1;         ///< index of the last step seen (values and gaps)
  int64_t next_attempt_ = 0;  ///< step of the next start attempt
  int64_t observations_ = 0;
  double last_value_ = 0.0;
  int64_t since_search_ = 0;
  int searches_ = 0;
  double searched_scale_ = 0.0;
  RingBuffer<double> history_;  ///< the fit window, NaN for missing steps
  HorizonErrorTracker errors_;
  std::vector<double> path_;
};

}  // namespace pso::controller::engine
