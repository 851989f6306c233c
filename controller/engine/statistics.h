#pragma once

// Small numeric helpers shared by the forecast models and the allocation:
// the normal distribution and empirical quantiles.

#include <vector>

namespace pso::controller::engine {

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
