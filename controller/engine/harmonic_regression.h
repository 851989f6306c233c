#pragma once

// A robust least-squares fit of a window of a series on a line and the first
// harmonics of one or two seasons: what chooses how many harmonics each of an
// ETS model's Fourier seasons gets, and starts its state (ets_model.h).

#include <cstdint>
#include <optional>
#include <vector>

namespace pso::controller::engine {

/// Harmonics per season at most.
inline constexpr int kMaxHarmonics = 10;

/// Harmonics a season of `period` steps can carry: up to kMaxHarmonics,
/// strictly below the Nyquist frequency (so each has a cosine and a sine);
/// none below four steps.
int maxHarmonics(int period);

/// A fitted window, as of its first step.
struct HarmonicFit {
  int64_t first_step = 0;  ///< absolute step of the window's first value
  int k1 = 0;              ///< harmonics of the first season
  int k2 = 0;              ///< harmonics of the second season
  double line = 0.0;       ///< the line's value at first_step
  double slope = 0.0;      ///< per step
  /// Per harmonic (the first season's, then the second's), as a rotating
  /// state at first_step: Re is its part of that step; multiplying by
  /// exp(-i 2 pi j / m) moves it one step on.
  std::vector<double> re;
  std::vector<double> im;
  double spread = 0.0;           ///< mean absolute residual
  double relative_spread = 0.0;  ///< ... relative to the value; NaN unless all are positive
};

/// Fits `window` (NaN = missing), whose first value is at absolute step
/// `first_step`, on a line and harmonics of `period` (up to
/// maxHarmonics(period)) and, with `second_period` > 0, of the longer season
/// (half as many at most, and none at a frequency of the first season's).
/// Values beyond five MADs of the window's median, then beyond 3.5
/// residual MADs of a smooth fit (two harmonics, which
/// cannot chase a burst of a few steps) are pulled to that bound first, three
/// times over, so a burst neither chooses the harmonics nor shifts the fit
/// (a sharp feature of every cycle is smoothed too; Holt-Winters keeps those);
/// then the first season's harmonics are chosen by AICc, and the second's on
/// top of them. O(n x p^2) for p fitted columns. nullopt when
/// under half the window is present, or it is too short or singular for the
/// columns.
std::optional<HarmonicFit> fitHarmonics(const std::vector<double>& window, int64_t first_step,
                                        int period, int second_period);

}  // namespace pso::controller::engine
