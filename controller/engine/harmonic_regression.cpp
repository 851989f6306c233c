#include "controller/engine/harmonic_regression.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numbers>

#include "controller/engine/statistics.h"

namespace pso::controller::engine {

namespace {

/// Residuals beyond this many MADs of a first fit are clipped before the fit
/// that chooses the harmonics.
constexpr double kRegressionClip = 3.5;
/// Values beyond this many MADs of the window's median are clipped before
/// the first fit.
constexpr double kRegressionBurstClip = 5.0;
/// Share of a window's values that must be present to fit it.
constexpr double kMinPresent = 0.5;

/// Solves the symmetric positive definite system a x = b (n x n, row-major)
/// by Cholesky; false when it is not positive definite.
bool solveSpd(std::vector<double> a, std::vector<double> b, std::size_t n, std::vector<double>& x) {
  for (std::size_t j = 0; j < n; ++j) {
    double d = a[j * n + j];
    for (std::size_t k = 0; k < j; ++k) d -= a[j * n + k] * a[j * n + k];
    if (!(d > 1e-12 * std::max(1.0, std::abs(a[j * n + j])))) return false;
    d = std::sqrt(d);
    a[j * n + j] = d;
    for (std::size_t i = j + 1; i < n; ++i) {
      double v = a[i * n + j];
      for (std::size_t k = 0; k < j; ++k) v -= a[i * n + k] * a[j * n + k];
      a[i * n + j] = v / d;
    }
  }
  for (std::size_t i = 0; i < n; ++i) {
    double v = b[i];
    for (std::size_t k = 0; k < i; ++k) v -= a[i * n + k] * b[k];
    b[i] = v / a[i * n + i];
  }
  for (std::size_t i = n; i-- > 0;) {
    double v = b[i];
    for (std::size_t k = i + 1; k < n; ++k) v -= a[k * n + i] * b[k];
    b[i] = v / a[i * n + i];
  }
  x = std::move(b);
  return true;
}

/// Least squares on the normal equations restricted to `columns`: the
/// coefficients (by column) and the residual sum of squares.
struct SubFit {
  std::vector<double> beta;
  double rss = kInf;
};

SubFit fitColumns(const std::vector<double>& xtx, const std::vector<double>& xty, double yty,
                  std::size_t p, const std::vector<std::size_t>& columns) {
  const std::size_t n = columns.size();
  std::vector<double> a(n * n), b(n);
  for (std::size_t i = 0; i < n; ++i) {
    b[i] = xty[columns[i]];
    for (std::size_t j = 0; j < n; ++j) a[i * n + j] = xtx[columns[i] * p + columns[j]];
  }
  SubFit fit;
  std::vector<double> x;
  if (!solveSpd(a, b, n, x)) return fit;
  fit.beta.assign(p, 0.0);
  double explained = 0.0;
  for (std::size_t i = 0; i < n; ++i) {
    fit.beta[columns[i]] = x[i];
    explained += x[i] * b[i];
  }
  fit.rss = std::max(0.0, yty - explained);
  return fit;
}

double aicc(double rss, double n, double k) {
  if (n - k - 1.0 <= 0.0) return kInf;
  return n * std::log(std::max(rss, 1e-300) / n) + 2.0 * k + 2.0 * k * (k + 1.0) / (n - k - 1.0);
}

}  // namespace

int maxHarmonics(int period) {
  if (period < 4) return 0;
  return std::min(kMaxHarmonics, (period - 1) / 2);
}

std::optional<HarmonicFit> fitHarmonics(const std::vector<double>& window, int64_t first,
                                        int period, int second_period) {
  const std::size_t n = window.size();
  const int kmax1 = maxHarmonics(period);
  int kmax2 = second_period > 0 ? maxHarmonics(second_period) / 2 : 0;
  // A harmonic of the second season at a frequency of the first would make
  // the regression singular (the seventh of a week is the first of a day).
  if (kmax2 > 0 && period > 1 && second_period % period == 0) {
    kmax2 = std::min(kmax2, second_period / period - 1);
  }
  const std::size_t p = 2 + 2 * static_cast<std::size_t>(kmax1 + kmax2);
  std::size_t present = 0;
  for (double v : window) present += std::isfinite(v) ? 1 : 0;
  if (static_cast<double>(present) < kMinPresent * static_cast<double>(n) || present < 2 * p + 10) {
    return std::nullopt;
  }
  // Row i: 1, a centred time, then cos/sin of each harmonic at step i.
  const double centre = 0.5 * static_cast<double>(n - 1);
  const double width = static_cast<double>(n);
  std::vector<double> row(p);
  auto fillRow = [&](std::size_t i) {
    row[0] = 1.0;
    row[1] = (static_cast<double>(i) - centre) / width;
    std::size_t c = 2;
    auto add = [&](int count, int m) {
      const int64_t phase = (first + static_cast<int64_t>(i)) % m;
      const double angle = 2.0 * std::numbers::pi * static_cast<double>(phase) / m;
      const double c1 = std::cos(angle), s1 = std::sin(angle);
      double cj = 1.0, sj = 0.0;
      for (int j = 1; j <= count; ++j) {
        const double next_c = cj * c1 - sj * s1;
        sj = sj * c1 + cj * s1;
        cj = next_c;
        row[c++] = cj;
        row[c++] = sj;
      }
    };
    add(kmax1, period);
    add(kmax2, std::max(1, second_period));
  };
  std::vector<double> xtx(p * p), xty(p);
  double yty = 0.0;
  auto accumulate = [&](const std::vector<double>& y) {
    std::fill(xtx.begin(), xtx.end(), 0.0);
    std::fill(xty.begin(), xty.end(), 0.0);
    yty = 0.0;
    for (std::size_t i = 0; i < n; ++i) {
      if (!std::isfinite(y[i])) continue;
      fillRow(i);
      for (std::size_t a = 0; a < p; ++a) {
        xty[a] += row[a] * y[i];
        for (std::size_t b = 0; b <= a; ++b) xtx[a * p + b] += row[a] * row[b];
      }
      yty += y[i] * y[i];
    }
    for (std::size_t a = 0; a < p; ++a) {
      for (std::size_t b = a + 1; b < p; ++b) xtx[a * p + b] = xtx[b * p + a];
    }
  };
  std::vector<std::size_t> all(p);
  for (std::size_t i = 0; i < p; ++i) all[i] = i;
  auto fitted = [&](const std::vector<double>& beta, std::size_t i) {
    fillRow(i);
    double v = 0.0;
    for (std::size_t a = 0; a < p; ++a) v += beta[a] * row[a];
    return v;
  };

  auto columnsFor = [&](int k1, int k2) {
    std::vector<std::size_t> cols = {0, 1};
    for (int j = 0; j < 2 * k1; ++j) cols.push_back(2 + static_cast<std::size_t>(j));
    for (int j = 0; j < 2 * k2; ++j) cols.push_back(2 + 2 * kmax1 + static_cast<std::size_t>(j));
    return cols;
  };
  // Values beyond kRegressionClip MADs of the residuals of a smooth fit (two
  // harmonics, which cannot chase a burst of a few steps, as ten would) are
  // pulled to that bound, three times over, so a burst in the window neither
  // chooses the harmonics nor shifts the fit.
  std::vector<double> y = window;
  auto clipAround = [&](const std::vector<std::size_t>& columns) {
    const SubFit fit = fitColumns(xtx, xty, yty, p, columns);
    if (fit.beta.empty()) return false;
    std::vector<double> residuals;
    for (std::size_t i = 0; i < n; ++i) {
      if (std::isfinite(window[i])) residuals.push_back(window[i] - fitted(fit.beta, i));
    }
    const double median = empiricalQuantile(residuals, 0.5);
    std::vector<double> magnitudes;
    for (double r : residuals) magnitudes.push_back(std::abs(r - median));
    const double bound = kRegressionClip * 1.4826 * empiricalQuantile(magnitudes, 0.5);
    if (!(bound > 0.0)) return true;
    // Around the fit plus the median residual: a few huge values pull a
    // least-squares fit off every other value, and that offset must not
    // count as their error.
    for (std::size_t i = 0; i < n; ++i) {
      if (!std::isfinite(window[i])) continue;
      const double centre = fitted(fit.beta, i) + median;
      y[i] = std::clamp(window[i], centre - bound, centre + bound);
    }
    accumulate(y);
    return true;
  };
  {
    // Bursts far beyond the values' own spread first (five MADs of their
    // median, seasonal swing included): a few of them at a thousand times the
    // level would otherwise pull the first fit off everything.
    std::vector<double> present_values;
    for (double v : window) {
      if (std::isfinite(v)) present_values.push_back(v);
    }
    const double median = empiricalQuantile(present_values, 0.5);
    for (double& v : present_values) v = std::abs(v - median);
    const double bound = kRegressionBurstClip * 1.4826 * empiricalQuantile(present_values, 0.5);
    if (bound > 0.0) {
      for (double& v : y) {
        if (std::isfinite(v)) v = std::clamp(v, median - bound, median + bound);
      }
    }
  }
  accumulate(y);
  for (int pass = 0; pass < 3; ++pass) {
    if (!clipAround(columnsFor(std::min(2, kmax1), 0))) return std::nullopt;
  }

  // The first season's harmonics by AICc, then the second's on top.
  const auto m = static_cast<double>(present);
  double best = kInf;
  int k1 = 0;
  for (int k = 0; k <= kmax1; ++k) {
    const SubFit fit = fitColumns(xtx, xty, yty, p, columnsFor(k, 0));
    const double score = aicc(fit.rss, m, 2.0 + 2.0 * k);
    if (score < best) {
      best = score;
      k1 = k;
    }
  }
  int k2 = 0;
  for (int k = 1; k <= kmax2; ++k) {
    const SubFit fit = fitColumns(xtx, xty, yty, p, columnsFor(k1, k));
    const double score = aicc(fit.rss, m, 2.0 + 2.0 * (k1 + k));
    if (score < best) {
      best = score;
      k2 = k;
    }
  }
  const SubFit fit = fitColumns(xtx, xty, yty, p, columnsFor(k1, k2));
  if (fit.beta.empty()) return std::nullopt;
  HarmonicFit out;
  out.k1 = k1;
  out.k2 = k2;

  // The regression as of the window's first step; each harmonic as (cos
  // coefficient, sin coefficient) at that step's phase, which the rotation
  // carries along.
  out.first_step = first;
  out.slope = fit.beta[1] / width;
  out.line = fit.beta[0] - centre * out.slope;
  for (int j = 0; j < k1 + k2; ++j) {
    const std::size_t c = 2 + 2 * static_cast<std::size_t>(j < k1 ? j : kmax1 + (j - k1));
    const int m = j < k1 ? period : second_period;
    const int harmonic = j < k1 ? j + 1 : j - k1 + 1;
    // At phase q the part is a cos(q x) + b sin(q x) with x = 2 pi j / m:
    // as a rotating state, (a cos(q x) + b sin(q x), b cos(q x) - a sin(q x)).
    const double angle = 2.0 * std::numbers::pi * harmonic * static_cast<double>(first % m) / m;
    const double a = fit.beta[c], b = fit.beta[c + 1];
    out.re.push_back(a * std::cos(angle) + b * std::sin(angle));
    out.im.push_back(b * std::cos(angle) - a * std::sin(angle));
  }
  double spread = 0.0, relative = 0.0;
  std::size_t counted = 0;
  bool positive = true;
  for (std::size_t i = 0; i < n; ++i) {
    const double v = window[i];
    if (!std::isfinite(v)) continue;
    // Relative to the value: a multiplicative error needs positive data.
    const double miss = std::abs(y[i] - fitted(fit.beta, i));
    spread += miss;
    if (v > 0.0) {
      relative += miss / v;
    } else {
      positive = false;
    }
    ++counted;
  }
  out.spread = spread / static_cast<double>(counted);
  out.relative_spread = positive ? relative / static_cast<double>(counted) : kNaN;
  return out;
}

}  // namespace pso::controller::engine
