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

/// Season lengths found in `values`, strongest first. Values beyond five
/// MADs of the median are clipped first (bursts would swamp the variance).
/// A lag k is a season when its autocorrelation:
///  - reaches min_correlation and two standard errors of a no-correlation
///    estimate (2 / sqrt(pairs at lag k), Bartlett), so noise is not read
///    as a season in a short or gappy window;
///  - is a local maximum (over +-5% of the lag) standing out by
///    min_prominence above the lowest value between k/2 and k;
///  - repeats: near 2k and 3k (exactly there for short lags), when within
///    the computed lags, it peaks again (at least half the floor and half
///    the prominence), as the autocorrelation of anything that repeats every
///    k steps does; a lone bump at a short lag is noise.
/// A season's lag is then refined within 5% of the peak to the lag whose
/// multiples (within the computed lags) correlate best on average (a broad
/// peak tops out off the period by noise; its multiples do not).
/// A multiple of a stronger or similar shorter season (within 0.05 of its
/// correlation) is dropped as its echo, so a pure daily cycle yields only
/// the day, while a weekly cycle whose correlation clearly exceeds the daily
/// one is kept beside it. A weaker peak that neither divides nor is a
/// multiple of a stronger season is dropped as that season's in-cycle
/// structure. Empty when no season stands out.
std::vector<int> detectSeasonPeriods(const std::vector<double>& values,
                                     const SeasonDetectionOptions& options = {});

/// How a season's swing relates to the level, from whole cycles of a series.
struct SeasonScaling {
  int cycles = 0;                 ///< complete cycles used (75% of their values present)
  double level_ratio = 1.0;       ///< highest cycle level / lowest
  double rank_correlation = 0.0;  ///< Spearman's, cycle level vs cycle amplitude
  double elasticity = 0.0;        ///< median pairwise slope of log amplitude on log level
  bool multiplicative = false;    ///< the verdict, see seasonScaling()
};

/// Whether the data asks for a multiplicative season of `period` steps.
/// The series is cut into whole cycles from its first value (gaps skipped; a
/// cycle with under 75% of its values present is left out); each has a level
/// (mean) and an amplitude (mean absolute deviation from that mean). An
/// additive season keeps its amplitude whatever the level (elasticity 0), a
/// multiplicative one scales it with the level (elasticity 1). Multiplicative
/// when all of:
///  - at least 4 cycles, all with a positive level and amplitude;
///  - the levels span at least 25% (level_ratio >= 1.25): with a steady
///    level there is nothing to tell the two apart, and additive is the
///    safer default;
///  - the amplitude rises with the level: Spearman's rank correlation at
///    least 1.645 / sqrt(cycles - 1), the one-sided 5% critical value under
///    no relation (normal approximation);
///  - elasticity >= 0.5 (Theil-Sen, robust to a holiday cycle): the halfway
///    point on the log scale, i.e. the data is closer to multiplicative.
/// Noise of a constant size pulls the elasticity towards 0, so the test errs
/// towards additive. O(n + cycles^2).
SeasonScaling seasonScaling(const std::vector<double>& values, int period);

/// seasonScaling(values, period).multiplicative.
bool seasonalAmplitudeScales(const std::vector<double>& values, int period);

/// The strongest season length, or 0 when none.
int detectSeasonPeriod(const std::vector<double>& values,
                       const SeasonDetectionOptions& options = {});

}  // namespace pso::controller::engine
