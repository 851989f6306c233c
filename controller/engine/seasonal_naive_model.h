#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "controller/engine/forecast_model.h"
#include "controller/engine/horizon_errors.h"
#include "controller/engine/robust_level.h"

namespace pso::controller::engine {

/// Forecasts each future step as the last value seen at the same phase of the
/// season (`season_period` steps); with period 1 it is the naive model (the
/// last value, flat). A phase never observed yet, or lost to gaps, falls back
/// to the most recent value. The fallback while history is too short for a
/// fitted model, and the baseline any fitted model must beat.
///
/// With `robust` (the default) each value's one-step error passes the shared
/// OutlierScreen (robust_level.h): a value the screen clips is held back (the
/// phase keeps its previous value), so an isolated spike is never carried a
/// season (or, naive, a horizon) forward; when the screen confirms a level
/// shift, the held-back values are taken after all. Without it, the textbook
/// model (a benchmark's reference).
class SeasonalNaiveModel final : public ForecastModel {
 public:
  explicit SeasonalNaiveModel(const ForecastModelParams& params);

  /// "naive" for period 1, else "seasonal-naive".
  std::string name() const override;
  void update(double value) override;
  void observeMissing() override;
  void setErrorStride(int stride) override { errors_.setStride(stride); }
  int trackedHorizon() const override { return errors_.maxHorizon(); }
  Forecast forecast(int horizon, double coverage) const override;
  void pointForecast(std::vector<double>& out) const override;
  int64_t observations() const override { return observations_; }
  void prefetch() const override;
  double errorScale() const override { return screen_.scale(); }
  std::string saveState() const override;
  [[nodiscard]] Status loadState(const std::string& state) override;

  int period() const { return static_cast<int>(by_phase_.size()); }

 private:
  std::vector<double> pointPath(int horizon) const;

  /// The last values the screen clipped in the current run, by step: taken
  /// when it confirms a shift (at most kShiftRun - 1 of them).
  struct Held {
    int64_t step = 0;
    double value = 0.0;
  };

  std::vector<double> by_phase_;  ///< last value per phase, NaN if none
  int64_t step_ = -1;             ///< index of the last step seen
  double last_value_ = 0.0;
  int64_t observations_ = 0;
  bool track_errors_ = true;
  bool robust_ = true;
  OutlierScreen screen_;
  std::vector<Held> held_;
  HorizonErrorTracker errors_;
  std::vector<double> path_;  ///< scratch for the path the tracker keeps
};

}  // namespace pso::controller::engine
