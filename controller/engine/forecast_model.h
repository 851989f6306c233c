#pragma once

// The seam between the engine and its forecasting methods. A ForecastModel
// follows one series online, one step at a time, and forecasts the next steps
// with prediction intervals. Implementations (holt_model.h,
// seasonal_naive_model.h) are registered by name in makeForecastModel(), so
// settings and command lines can pick them.

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "common/result.h"
#include "controller/engine/types.h"

namespace pso::controller::engine {

/// Tuning shared by the models; each uses the fields that apply to it.
struct ForecastModelParams {
  /// Horizons (steps ahead) whose forecast errors are tracked for intervals;
  /// forecasts further out widen the last tracked horizon's interval by sqrt(h).
  int max_horizon = 16;
  /// Errors kept per horizon for the empirical interval quantiles.
  int error_window = 128;
  /// Recent values kept for refitting smoothing parameters (holt).
  int fit_window = 240;
  /// Observations before the first parameter search (holt).
  int warmup = 24;
  /// Observations between parameter searches (holt).
  int refit_every = 48;
  /// Offset into the refit period after the first fit (holt), so that many
  /// models started together spread their refits over different steps.
  int refit_phase = 0;
  /// Whether the parameter search may damp the trend (holt).
  bool damped = true;
  /// Season length in steps (seasonal-naive; 1 makes it the naive model).
  int season_period = 1;
};

/// An online forecaster of one series with a fixed step. Every method is O(1)
/// amortised in the length of the series (bounded by the params), so the
/// controller can run one per system indefinitely.
class ForecastModel {
 public:
  virtual ~ForecastModel() = default;

  /// Registry name ("holt", "seasonal-naive", "naive").
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
  /// horizon on recent data (empirical quantiles); while fewer than
  /// kMinErrorsForQuantiles are known they are the one-step error spread
  /// scaled by sqrt(h), and zero-width before any error is known.
  virtual Forecast forecast(int horizon, double coverage) const = 0;

  /// Values learned from (missing steps excluded).
  virtual int64_t observations() const = 0;

  /// Complete state (parameters included) as compact text.
  virtual std::string saveState() const = 0;
  /// Restores what saveState() wrote; on error the model is unchanged.
  [[nodiscard]] virtual Status loadState(const std::string& state) = 0;
};

/// The model registered under `name` with `params`. Errors: code "invalid"
/// for an unknown name (the message lists the known ones) or bad params.
[[nodiscard]] Result<std::unique_ptr<ForecastModel>> makeForecastModel(
    const std::string& name, const ForecastModelParams& params = {});

/// Names makeForecastModel() accepts.
std::vector<std::string> forecastModelNames();

}  // namespace pso::controller::engine
