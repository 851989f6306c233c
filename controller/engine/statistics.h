#pragma once

// Small numeric helpers shared by the forecast models and the allocation:
// the normal distribution and empirical quantiles.

#include <cmath>
#include <limits>
#include <vector>

namespace pso::controller::engine {

/// A missing or undefined value (a gap is never read as a zero).
inline constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
/// Worse than any finite score or error.
inline constexpr double kInf = std::numeric_limits<double>::infinity();

/// phi + phi^2 + ... + phi^h: the steps a damped trend adds over h steps.
inline double dampedSum(double phi, int h) {
  if (phi == 1.0) return h;
  return phi * (1.0 - std::pow(phi, h)) / (1.0 - phi);
}

/// P(Z <= z) for a standard normal Z.
double normalCdf(double z);

/// The z with normalCdf(z) == p, for 0 < p < 1 (relative error below 1e-12);
/// -inf / +inf at p <= 0 / p >= 1.
double normalQuantile(double p);

/// The half-width multiplier of a central `coverage` interval of a normal
/// distribution (1.6449 for 0.9). Coverage is clamped to (0, 1).
double centralZ(double coverage);

/// The p-quantile of `values` by linear interpolation between order statistics
/// (Hyndman-Fan type 7, as R and NumPy default). `values` is reordered.
/// Returns NaN when `values` is empty.
double empiricalQuantile(std::vector<double>& values, double p);

/// Probability that a normal variable with the given mean and standard
/// deviation exceeds `threshold`; a step function when sigma <= 0.
double exceedanceProbability(double mean, double sigma, double threshold);

}  // namespace pso::controller::engine
