#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "controller/engine/forecast_model.h"
#include "controller/engine/horizon_errors.h"
#include "controller/engine/ring_buffer.h"
#include "controller/engine/robust_level.h"

namespace pso::controller::engine {

/// Holt's linear exponential smoothing: a level plus an additive trend,
/// optionally damped (forecast level + (phi + ... + phi^h) * trend).
///
/// Each one-step error passes the shared OutlierScreen (robust_level.h) before
/// the level and trend learn from it: an isolated outlier moves them by at
/// most 3.5 running error scales, and three clipped errors on one side are a
/// level shift, on which the level re-anchors on the value.
///
/// The smoothing parameters (alpha, beta, phi) are chosen from a small grid by
/// the one-step squared error (clipped by the screen) on the first firstFitAt()
/// values, then every `refit_every` values one of them in turn is re-chosen
/// on the last `fit_window` values (a ring buffer), and all three at once
/// after a level shift. A refit replays only that bounded window, so
/// updates stay O(1) amortised; nothing is ever refit on the whole history.
class HoltModel final : public ForecastModel {
 public:
  explicit HoltModel(const ForecastModelParams& params);

  std::string name() const override { return "holt"; }
  void update(double value) override;
  void observeMissing() override;
  void setErrorStride(int stride) override { errors_.setStride(stride); }
  int trackedHorizon() const override { return errors_.maxHorizon(); }
  Forecast forecast(int horizon, double coverage) const override;
  void pointForecast(std::vector<double>& out) const override;
  int64_t observations() const override { return observations_; }
  void prefetch() const override;
  double errorScale() const override { return smoother_.screen.scale(); }
  std::string saveState() const override;
  [[nodiscard]] Status loadState(const std::string& state) override;

  double alpha() const { return smoother_.alpha; }
  double beta() const { return smoother_.beta; }
  double phi() const { return smoother_.phi; }
  double level() const { return smoother_.level; }
  double trend() const { return smoother_.trend; }

 private:
  /// Level, trend and smoothing parameters; the unit a refit replays.
  struct Smoother {
    double alpha = 0.5;
    double beta = 0.1;
    double phi = 1.0;
    double level = 0.0;
    double trend = 0.0;
    int64_t seen = 0;        ///< values learned
    int64_t since_seen = 0;  ///< steps since the last value (gap length + 1)
    OutlierScreen screen;    ///< the one-step errors, clipped and scaled
    bool shifted = false;    ///< the last learn() confirmed a level shift
    /// Learns `value`; returns the one-step error it made, clipped by the
    /// screen (NaN while initialising, i.e. for the first two values).
    double learn(double value);
    void advance();
    double pointAt(int h) const;
  };

  /// A parameter search on the kept window: the whole grid at the first,
  /// then one parameter in turn, or all three after a level `shift`.
  void refit(bool shift);
  std::vector<double> pointPath(int horizon) const;

  ForecastModelParams params_;
  Smoother smoother_;
  int64_t observations_ = 0;
  int64_t since_refit_ = 0;
  bool fitted_ = false;
  int64_t refits_ = 0;          ///< searches so far (which parameter moves next)
  RingBuffer<double> history_;  ///< recent values, NaN for missing steps
  HorizonErrorTracker errors_;
  std::vector<double> path_;  ///< scratch for the path the tracker keeps
};

}  // namespace pso::controller::engine
