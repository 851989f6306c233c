#pragma once

// The seam between the engine and its forecasting methods. A ForecastModel
// follows one series online, one step at a time, and forecasts the next steps
// with prediction intervals. Implementations (holt_model.h,
// seasonal_naive_model.h) are registered by name in makeForecastModel(), so
// settings and command lines can pick them.

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "common/result.h"
#include "controller/engine/types.h"

namespace pso::controller::engine {

/// How a Holt-Winters season combines with the level: added to it (the
/// season's swing is the same at any level) or multiplied with it (the swing
/// grows and shrinks with the level; needs a clearly positive level).
enum class Seasonality { kAdditive, kMultiplicative };

/// The longest season, in steps, a saved model state may carry: a larger one
/// is refused as corrupt when the state is loaded.
inline constexpr int64_t kMaxSeasonPeriod = 10000000;

/// Tuning shared by the models; each uses the fields that apply to it.
struct ForecastModelParams {
  /// Horizons (steps ahead) whose forecast errors are tracked for intervals;
  /// forecasts further out widen the last tracked horizon's interval by sqrt(h).
  int max_horizon = 16;
  /// Memory, in scored errors per horizon, of the running error scales the
  /// interval quantiles step by (horizon_errors.h).
  int error_window = 128;
  /// Forecasts are scored for intervals from every error_stride-th step
  /// only (each horizon is still scored, from a quarter of the origins by
  /// default): neighbouring origins' errors are nearly the same, and scoring
  /// every one at every horizon would be most of a lone model's update cost.
  /// The decision engine sets it from its step (errorStrideFor).
  int error_stride = 4;
  /// Recent values kept for refitting smoothing parameters (holt).
  int fit_window = 240;
  /// Observations before the first parameter search (holt, and ets without
  /// a season), delayed by refit_phase modulo warmup: firstFitAt().
  int warmup = 24;
  /// Observations between parameter searches (holt).
  int refit_every = 48;
  /// Offset into the refit period after the first fit (holt, modulo
  /// refit_every), so that many models started together spread their refits
  /// over different steps; it delays the first fit likewise (firstFitAt()),
  /// and "auto" shortens its season re-detection period by it modulo its
  /// detection window. At most 1,000,000.
  int refit_phase = 0;
  /// Whether the parameter search may damp the trend (holt).
  bool damped = true;
  /// Seasonal-naive and naive: hold back values the shared outlier screen
  /// clips (robust_level.h), so an isolated spike is not carried forward;
  /// false gives the textbook model. The fitted models always screen.
  bool robust = true;
  /// Whether the model scores its own forecasts for intervals and
  /// backtest_mae. Without it the intervals are zero-width and backtest_mae
  /// is NaN; "auto" turns it off for its candidates, which it scores itself.
  bool track_errors = true;
  /// Season length in steps (seasonal-naive, holt-winters; 1 makes
  /// seasonal-naive the naive model). For "auto" a value above 1 is the
  /// configured season, overriding detection; 1 means detect it.
  int season_period = 1;
  /// Holt-Winters: the parameter search replays the last this many seasons.
  int fit_seasons = 5;
  /// Holt-Winters: the parameter search scores errors at 1 and at this many
  /// steps ahead; 0 means max_horizon.
  int fit_horizon = 0;
  /// Holt-Winters: seasons between parameter searches (sooner when the
  /// recent error drifts above the error at the last search).
  int refit_seasons = 4;
  /// Holt-Winters: additive or multiplicative season ("holt-winters-mult"
  /// sets multiplicative).
  Seasonality seasonality = Seasonality::kAdditive;
  /// Holt-Winters: a second, longer season in steps (e.g. 2016, weekly, on
  /// top of season_period 288, daily, at a 5-minute step); 0 = none. It must
  /// be a multiple (at least twice) of season_period, and needs additive
  /// seasonality. "holt-winters-2s" sets it to 7 x season_period when 0.
  int second_season_period = 0;
  /// Auto: recent values kept for season detection and for starting a
  /// seasonal model once a season is found (bounds the longest season).
  int detection_window = 4096;
};

/// Time between the origins whose forecasts are scored for intervals:
/// 20 minutes, the default error_stride (4) at 5-minute steps, the step
/// the interval tracking was tuned at.
inline constexpr double kScoredOriginSpacingS = 1200.0;

/// The error_stride that scores a model stepping every `step_s` seconds
/// from one origin every kScoredOriginSpacingS (rounded; never fewer
/// steps than the default stride, at most 10,000), so the interval
/// trackers, whose memory is counted in scored errors (error_window, the
/// quantile trackers' steps), remember the same span of time at any cycle
/// interval: at 15 s every 80th step, not every 4th (20 minutes, not one).
/// A step that is not positive and finite gets the default stride.
int errorStrideFor(double step_s);

/// The observation count at which a model with `params` makes its first
/// parameter search: `warmup`, plus refit_phase modulo `warmup`. The first
/// search covers a whole grid, the dearest a model makes; without the delay
/// every system of a fleet started together would make it in the same cycle.
int64_t firstFitAt(const ForecastModelParams& params);

/// An online forecaster of one series with a fixed step. Every method is O(1)
/// amortised in the length of the series (bounded by the params), so the
/// controller can run one per system indefinitely.
class ForecastModel {
 public:
  virtual ~ForecastModel() = default;

  /// Registry name ("holt", "holt-winters", "seasonal-naive", ...).
  virtual std::string name() const = 0;

  /// The series' value for the next step. Non-finite values count as missing.
  virtual void update(double value) = 0;

  /// The next step had no value: the model's clock advances (its state moves
  /// along its own forecast) but nothing is learned and no error is recorded;
  /// a gap is never read as a zero.
  virtual void observeMissing() = 0;

  /// Forecast for steps 1..horizon after the last step seen, with a central
  /// `coverage` prediction interval per step. Vectors are empty while the model
  /// has seen no value. Intervals come from the errors the model made at each
  /// horizon on recent data (tracked quantiles per side, relative to its error
  /// scale, horizon_errors.h); while fewer than kMinErrorsForQuantiles are
  /// known they are the one-step error spread scaled by sqrt(h), and
  /// zero-width before any error is known.
  virtual Forecast forecast(int horizon, double coverage) const = 0;

  /// The point forecast for steps 1..out.size() only (no intervals): what
  /// forecast() would put in `point`, without its cost. Used by model
  /// selection, which scores every candidate at every step.
  virtual void pointForecast(std::vector<double>& out) const;

  /// Starts loading the memory the next update() touches (a hint only, no
  /// effect on results): an update of thousands of models in turn finds
  /// none of them in cache, and loads asked for together overlap.
  virtual void prefetch() const {}

  /// Scores the forecasts for intervals from every `stride`-th step from now
  /// on (HorizonErrorTracker::setStride: what was learned stays). A saved
  /// state keeps the stride it was saved with; the decision engine applies
  /// its step's (errorStrideFor) after a load. Models that track no errors
  /// ignore it.
  virtual void setErrorStride(int /*stride*/) {}
  /// The horizons whose errors the model tracks for its intervals
  /// (params.max_horizon when made, the saved one after a load); 0 for a
  /// model that tracks none.
  virtual int trackedHorizon() const { return 0; }

  /// Values learned from (missing steps excluded).
  virtual int64_t observations() const = 0;

  /// The model's running one-step error scale (the robust mean absolute
  /// error of its outlier screen, in the series' units); 0 while unknown.
  /// Interval errors are tracked relative to it (horizon_errors.h).
  virtual double errorScale() const = 0;

  /// Complete state (parameters included) as compact text.
  virtual std::string saveState() const = 0;
  /// Restores what saveState() wrote; on error the model is unchanged.
  [[nodiscard]] virtual Status loadState(const std::string& state) = 0;
};

/// Asks for the cache lines of [p, p + bytes) (a hint; for prefetch()).
inline void prefetchBytes(const void* p, std::size_t bytes) {
  const auto* at = static_cast<const char*>(p);
  for (std::size_t i = 0; i < bytes; i += 64) __builtin_prefetch(at + i);
}

/// The model registered under `name` with `params`. Errors: code "invalid"
/// for an unknown name (the message lists the known ones) or bad params.
[[nodiscard]] Result<std::unique_ptr<ForecastModel>> makeForecastModel(
    const std::string& name, const ForecastModelParams& params = {});

/// Names makeForecastModel() accepts.
std::vector<std::string> forecastModelNames();

}  // namespace pso::controller::engine
