#include "controller/engine/season_detection.h"

#include <algorithm>
#include <cmath>
#include <complex>
#include <numbers>

namespace pso::controller::engine {

namespace {

using Complex = std::complex<double>;

/// In-place iterative radix-2 FFT; data.size() is a power of two.
void fft(std::vector<Complex>& data, bool inverse) {
  const std::size_t n = data.size();
  for (std::size_t i = 1, j = 0; i < n; ++i) {
    std::size_t bit = n >> 1;
    for (; (j & bit) != 0; bit >>= 1) j ^= bit;
    j ^= bit;
    if (i < j) std::swap(data[i], data[j]);
  }
  for (std::size_t len = 2; len <= n; len <<= 1) {
    const double angle = 2.0 * std::numbers::pi / static_cast<double>(len) * (inverse ? 1 : -1);
    const Complex unit(std::cos(angle), std::sin(angle));
    for (std::size_t start = 0; start < n; start += len) {
      Complex w(1.0, 0.0);
      for (std::size_t k = 0; k < len / 2; ++k) {
        const Complex even = data[start + k];
        const Complex odd = data[start + k + len / 2] * w;
        data[start + k] = even + odd;
        data[start + k + len / 2] = even - odd;
        w *= unit;
      }
    }
  }
  if (inverse) {
    for (Complex& c : data) c /= static_cast<double>(n);
  }
}

/// sum_t a[t] * a[t + lag] for lags 0..max_lag, by the Wiener-Khinchin
/// theorem (zero-padded so nothing wraps around).
std::vector<double> lagProducts(const std::vector<double>& a, int max_lag) {
  std::size_t size = 1;
  while (size < a.size() + static_cast<std::size_t>(max_lag) + 1) size <<= 1;
  std::vector<Complex> data(size);
  for (std::size_t i = 0; i < a.size(); ++i) data[i] = a[i];
  fft(data, false);
  for (Complex& c : data) c = Complex(std::norm(c), 0.0);
  fft(data, true);
  std::vector<double> out(static_cast<std::size_t>(max_lag) + 1);
  for (std::size_t k = 0; k < out.size(); ++k) out[k] = data[k].real();
  return out;
}

}  // namespace

std::vector<double> autocorrelation(const std::vector<double>& values, int max_lag) {
  const int n = static_cast<int>(values.size());
  max_lag = std::clamp(max_lag, 0, std::max(0, n - 1));
  std::vector<double> acf(static_cast<std::size_t>(max_lag) + 1, 0.0);
  // Least-squares line through the present values, removed so a trend does
  // not masquerade as correlation at every lag.
  double st = 0, sy = 0, stt = 0, sty = 0, count = 0;
  for (int t = 0; t < n; ++t) {
    const double v = values[static_cast<std::size_t>(t)];
    if (!std::isfinite(v)) continue;
    st += t;
    sy += v;
    stt += static_cast<double>(t) * t;
    sty += t * v;
    ++count;
  }
  if (count < 2) return acf;
  const double denom = count * stt - st * st;
  const double slope = denom > 0 ? (count * sty - st * sy) / denom : 0.0;
  const double intercept = (sy - slope * st) / count;
  std::vector<double> centred(static_cast<std::size_t>(n), 0.0);
  std::vector<double> present(static_cast<std::size_t>(n), 0.0);
  double variance = 0.0;
  for (int t = 0; t < n; ++t) {
    const double v = values[static_cast<std::size_t>(t)];
    if (!std::isfinite(v)) continue;
    const double r = v - (intercept + slope * t);
    centred[static_cast<std::size_t>(t)] = r;
    present[static_cast<std::size_t>(t)] = 1.0;
    variance += r * r;
  }
  variance /= count;
  if (!(variance > 0.0)) return acf;
  const std::vector<double> products = lagProducts(centred, max_lag);
  const std::vector<double> pairs = lagProducts(present, max_lag);
  for (std::size_t k = 0; k < acf.size(); ++k) {
    const double m = std::round(pairs[k]);
    if (m >= 1.0) acf[k] = products[k] / m / variance;
  }
  return acf;
}

std::vector<int> detectSeasonPeriods(const std::vector<double>& values,
                                     const SeasonDetectionOptions& options) {
  int finite = 0;
  for (double v : values) finite += std::isfinite(v) ? 1 : 0;
  if (finite < options.min_values) return {};
  const int n = static_cast<int>(values.size());
  int max_period = options.max_period > 0 ? options.max_period : n / 3;
  // At least two full cycles are needed to see a period at all.
  max_period = std::min(max_period, n / 2);
  const int min_period = std::max(2, options.min_period);
  if (max_period < min_period) return {};
  const int reach = max_period + max_period / 20 + 1;
  const std::vector<double> acf = autocorrelation(values, std::min(reach, n - 1));
  const int last = static_cast<int>(acf.size()) - 1;

  struct Peak {
    int lag;
    double r;
  };
  std::vector<Peak> peaks;
  for (int k = min_period; k <= std::min(max_period, last); ++k) {
    const double r = acf[static_cast<std::size_t>(k)];
    if (r < options.min_correlation) continue;
    const int half_width = std::max(1, k / 20);
    bool is_max = true;
    for (int j = std::max(1, k - half_width); j <= std::min(last, k + half_width) && is_max; ++j) {
      const double other = acf[static_cast<std::size_t>(j)];
      // Ties go to the shorter lag.
      if (other > r || (other == r && j < k)) is_max = false;
    }
    if (!is_max) continue;
    double trough = r;
    for (int j = std::max(1, k / 2); j < k; ++j)
      trough = std::min(trough, acf[static_cast<std::size_t>(j)]);
    if (r - trough < options.min_prominence) continue;
    peaks.push_back({k, r});
  }
  // Shorter seasons first, so a multiple can be checked against them.
  std::vector<Peak> kept;
  for (const Peak& p : peaks) {
    bool echo = false;
    for (const Peak& q : kept) {
      const double ratio = static_cast<double>(p.lag) / q.lag;
      const double nearest = std::round(ratio);
      const double off = std::abs(p.lag - nearest * q.lag);
      if (nearest >= 2 && off <= std::max(1.0, 0.02 * p.lag) && p.r <= q.r + 0.05) {
        echo = true;
        break;
      }
    }
    if (!echo) kept.push_back(p);
  }
  std::stable_sort(kept.begin(), kept.end(),
                   [](const Peak& a, const Peak& b) { return a.r > b.r; });
  std::vector<int> out;
  for (const Peak& p : kept) out.push_back(p.lag);
  return out;
}

int detectSeasonPeriod(const std::vector<double>& values, const SeasonDetectionOptions& options) {
  const std::vector<int> periods = detectSeasonPeriods(values, options);
  return periods.empty() ? 0 : periods.front();
}

}  // namespace pso::controller::engine
