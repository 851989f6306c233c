#pragma once

// The resolution at which the agent reports the values it computes (ratios
// of counters, rates over a measured interval): as many decimals as mean
// something, not the 17 digits a division leaves. A value rounded here is
// the double nearest its decimal, which the controller's sample chunks store
// in about 2 bytes instead of about 7.5 for an arbitrary double
// (docs/design-notes.md "Sample chunks").

#include <cmath>

namespace pso::agent {

/// A share of a whole (0..1 of the CPU time, of memory), or cores used: to
/// 0.0001 (0.01 % of a CPU), finer than a 100 Hz jiffy count over a second.
inline constexpr int kRatioDecimals = 4;
/// Bytes per second: to the whole byte.
inline constexpr int kRateDecimals = 0;

/// `value` at `decimals` decimals: round(value * 10^d) / 10^d, the double
/// nearest the decimal. A negative `decimals` leaves the value as it is.
inline double atDecimals(double value, int decimals) {
  if (decimals < 0 || !std::isfinite(value)) return value;
  const double scale = std::pow(10.0, decimals);
  return std::round(value * scale) / scale;
}

}  // namespace pso::agent
