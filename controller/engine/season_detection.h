#pragma once

// Finding a series' season length from the data: the autocorrelation of the
// series (gaps excluded, not read as zeros) and its significant peaks.

#include <vector>

namespace pso::controller::engine {

struct SeasonDetectionOptions {
  int min_period = 4;  ///< shortest season considered, in steps
  int max_period = 0;  ///< longest; 0 = a third of the series' length
  /// A peak's autocorrelation must reach this to count as a season.
  double min_correlation = 0.25;
  /// ...and rise this much above the lowest autocorrelation between half the
  /// lag and the lag (so a slowly decaying trend is not a season).
  double min_prominence = 0.1;
  /// Finite values needed at all; fewer gives no season.
  int min_values = 32;
};

/// Autocorrelation of `values` at lags 0..max_lag (NaN = missing). Each lag's
/// covariance is averaged over the pairs where both values are present and
/// divided by the variance of the present values, so gaps neither add zeros
/// nor shrink the estimate. Computed with an FFT: O(n log n). A linear trend
/// is removed first. Lags without any pair are 0.
std::vector<double> autocorrelation(const std::vector<double>& values, int max_lag);

/// Season lengths found in `values`, strongest first: lags whose
/// autocorrelation is a local maximum (over +-5% of the lag), reaches
/// min_correlation and stands out by min_prominence. A multiple of a stronger
/// or similar shorter season (within 0.05 of its correlation) is dropped as
/// its echo, so a pure daily cycle yields only the day, while a weekly cycle
/// whose correlation clearly exceeds the daily one is kept beside it. Empty
/// when no season stands out.
std::vector<int> detectSeasonPeriods(const std::vector<double>& values,
                                     const SeasonDetectionOptions& options = {});

/// The strongest season length, or 0 when none.
int detectSeasonPeriod(const std::vector<double>& values,
                       const SeasonDetectionOptions& options = {});

}  // namespace pso::controller::engine
