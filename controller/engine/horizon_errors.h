#pragma once

#include <cstdint>
#include <utility>
#include <vector>

#include "common/result.h"
#include "controller/engine/ring_buffer.h"
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
  HorizonErrorTracker(int max_horizon, int window);

  int maxHorizon() const { return max_horizon_; }

  /// A new step with an actual value: scores the remembered forecasts for it.
  void observe(double actual);
  /// A new step without a value: nothing is scored.
  void skip();
  /// The model's forecast made at the current step for steps 1..n ahead
  /// (n <= max_horizon is used; extra points are ignored).
  void remember(const std::vector<double>& path);

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
  struct Origin {
    int64_t step = -1;  ///< step the path was forecast from; -1 = empty slot
    std::vector<double> path;
  };

  /// Offsets to add to the point forecast at horizon h <= max_horizon.
  std::pair<double, double> offsets(int h, double coverage) const;

  int max_horizon_;
  int window_;
  int64_t step_ = -1;
  std::vector<Origin> origins_;             ///< indexed by origin step % max_horizon
  std::vector<RingBuffer<double>> errors_;  ///< per horizon, index h-1
};

}  // namespace pso::controller::engine
