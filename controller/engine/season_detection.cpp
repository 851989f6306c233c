#include "controller/engine/season_detection.h"

#include <algorithm>
#include <cmath>
#include <complex>
#include <limits>
#include <numbers>

#include "controller/engine/statistics.h"

namespace pso::controller::engine {

namespace {

using Complex = std::complex<double>;

/// Values beyond this many MADs of the median are clipped before season
/// detection.
constexpr double kBurstClip = 5.0;

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

/// autocorrelation(), plus the number of value pairs behind each lag in
/// `pair_counts` (0 where none).
std::vector<double> autocorrelationWithPairs(const std::vector<double>& values, int max_lag,
                                             std::vector<double>& pair_counts) {
  const int n = static_cast<int>(values.size());
  max_lag = std::clamp(max_lag, 0, std::max(0, n - 1));
  std::vector<double> acf(static_cast<std::size_t>(max_lag) + 1, 0.0);
  pair_counts.assign(acf.size(), 0.0);
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
    pair_counts[k] = std::max(0.0, m);
  }
  return acf;
}

}  // namespace

std::vector<double> autocorrelation(const std::vector<double>& values, int max_lag) {
  std::vector<double> pair_counts;
  return autocorrelationWithPairs(values, max_lag, pair_counts);
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
  // Bursts pulled in to kBurstClip MADs of the median first: a few values
  // ten times the rest would otherwise swamp the variance, and with it every
  // lag's correlation (a daily cycle under heavy bursts reads as noise).
  std::vector<double> clipped = values;
  {
    std::vector<double> present;
    for (double v : values) {
      if (std::isfinite(v)) present.push_back(v);
    }
    const double median = empiricalQuantile(present, 0.5);
    for (double& v : present) v = std::abs(v - median);
    const double bound = kBurstClip * 1.4826 * empiricalQuantile(present, 0.5);
    if (bound > 0.0) {
      for (double& v : clipped) {
        if (std::isfinite(v)) v = std::clamp(v, median - bound, median + bound);
      }
    }
  }
  // Lags up to twice the longest season, so every season can show that it
  // repeats (below); those lags still rest on a third of the values or more.
  std::vector<double> pairs;
  const std::vector<double> acf =
      autocorrelationWithPairs(clipped, std::min({2 * reach, n - 1, 2 * n / 3}), pairs);
  const int last = static_cast<int>(acf.size()) - 1;
  auto lowest = [&](int from, int to) {  // over lags from..to, both included
    double low = acf[static_cast<std::size_t>(std::max(1, from))];
    for (int j = std::max(1, from); j <= std::min(to, last); ++j)
      low = std::min(low, acf[static_cast<std::size_t>(j)]);
    return low;
  };
  // Two standard errors of lag k's autocorrelation if the true one were 0
  // from lag k on (Bartlett's formula, as in R's acf(ci.type = "ma")):
  // var = (1 + 2 * sum_{j<k} r_j^2) / pairs. Against white noise alone
  // (1 / pairs), a smooth or autocorrelated series would show "peaks" at
  // long lags that are only its slow wander; this bound grows with that
  // wander. With thousands of values and little of it, the absolute floor
  // (min_correlation) is the stricter.
  std::vector<double> squares(acf.size(), 0.0);  // sum_{j=1}^{k-1} r_j^2 at k
  for (std::size_t k = 2; k < acf.size(); ++k)
    squares[k] = squares[k - 1] + acf[k - 1] * acf[k - 1];
  auto significance = [&](int k) {
    const double m = pairs[static_cast<std::size_t>(k)];
    return m >= 1.0 ? 2.0 * std::sqrt((1.0 + 2.0 * squares[static_cast<std::size_t>(k)]) / m) : 1.0;
  };
  // A season repeats: the autocorrelation of a series that repeats every k
  // steps peaks again near 2k and 3k. A bump at k alone is a wiggle of
  // noise or slow wander, or in-cycle structure of another season (a
  // period-8 pattern also correlates at lags 3 and 5, but not at 6 and 10).
  // 2k is always among the computed lags (3k when it fits). The multiples
  // may fall off (real seasons drift), so they need half the floor and half
  // the prominence, and must clear white noise's two standard errors
  // (Bartlett's wider bound would count the season's own correlation).
  auto noise = [&](int k) {
    const double m = pairs[static_cast<std::size_t>(k)];
    return m >= 1.0 ? 2.0 / std::sqrt(m) : 1.0;
  };
  auto repeats = [&](int k) {
    for (int j = 2; j <= 3; ++j) {
      const int centre = j * k;
      // An integer season's multiples are exact lags; the 5% tolerance is
      // for long seasons that are not a whole number of steps.
      const int width = centre / 20;
      if (centre + width > last) break;
      int best = centre - width;
      for (int q = centre - width; q <= centre + width; ++q) {
        if (acf[static_cast<std::size_t>(q)] > acf[static_cast<std::size_t>(best)]) best = q;
      }
      const double r = acf[static_cast<std::size_t>(best)];
      if (r < std::max(0.5 * options.min_correlation, noise(best))) return false;
      if (r - lowest(centre - k / 2, centre - width) < 0.5 * options.min_prominence) return false;
    }
    return true;
  };

  struct Peak {
    int lag;
    double r;
  };
  std::vector<Peak> peaks;
  for (int k = min_period; k <= std::min(max_period, last); ++k) {
    const double r = acf[static_cast<std::size_t>(k)];
    if (r < std::max(options.min_correlation, significance(k))) continue;
    const int half_width = std::max(1, k / 20);
    bool is_max = true;
    for (int j = std::max(1, k - half_width); j <= std::min(last, k + half_width) && is_max; ++j) {
      const double other = acf[static_cast<std::size_t>(j)];
      // Ties go to the shorter lag.
      if (other > r || (other == r && j < k)) is_max = false;
    }
    if (!is_max) continue;
    if (r - lowest(k / 2, k - 1) < options.min_prominence) continue;
    if (!repeats(k)) continue;
    // A broad peak (a smooth daily wave) tops out a few lags off the period
    // by noise alone; its multiples pin the period down (an error of d at k
    // is j x d at j x k), so the lag whose multiples (all that were
    // computed) correlate best on average, within 5% of the peak, is the
    // season.
    int refined = k;
    double refined_score = -kInf;
    for (int q = std::max(min_period, k - k / 20); q <= std::min(last, k + k / 20); ++q) {
      double sum = 0.0;
      int count = 0;
      for (int j = 1; j * q <= last; ++j, ++count) {
        sum += acf[static_cast<std::size_t>(j * q)];
      }
      const double score = sum / count;
      // Ties go to the peak itself, then to the shorter lag.
      if (score > refined_score || (score == refined_score && q == k)) {
        refined_score = score;
        refined = q;
      }
    }
    if (std::none_of(peaks.begin(), peaks.end(), [&](const Peak& p) { return p.lag == refined; })) {
      peaks.push_back({refined, acf[static_cast<std::size_t>(refined)]});
    }
  }
  // Near-multiples within 2% of the longer lag, or one step.
  auto multipleOf = [](int longer, int shorter) {
    const double nearest = std::round(static_cast<double>(longer) / shorter);
    const double off = std::abs(longer - nearest * shorter);
    return nearest >= 2 && off <= std::max(1.0, 0.02 * longer);
  };
  // Shorter seasons first, so a multiple can be checked against them.
  std::sort(peaks.begin(), peaks.end(), [](const Peak& a, const Peak& b) { return a.lag < b.lag; });
  std::vector<Peak> kept;
  for (const Peak& p : peaks) {
    bool echo = false;
    for (const Peak& q : kept) {
      if (multipleOf(p.lag, q.lag) && p.r <= q.r + 0.05) {
        echo = true;
        break;
      }
    }
    if (!echo) kept.push_back(p);
  }
  std::stable_sort(kept.begin(), kept.end(),
                   [](const Peak& a, const Peak& b) { return a.r > b.r; });
  // The autocorrelation of a season repeats with it, in-cycle bumps and all
  // (a period-8 pattern also peaks at 8k + 3 and 8k + 5). So a weaker peak
  // that neither divides nor is a multiple of a stronger season is taken as
  // that season's inner structure: the seasons of load data nest (hour, day,
  // week), and an unrelated second cycle is not worth a wrong season.
  std::vector<Peak> nested;
  for (const Peak& p : kept) {
    const bool unrelated = std::any_of(nested.begin(), nested.end(), [&](const Peak& q) {
      return !multipleOf(p.lag, q.lag) && !multipleOf(q.lag, p.lag);
    });
    if (!unrelated) nested.push_back(p);
  }
  kept = std::move(nested);
  std::vector<int> out;
  for (const Peak& p : kept) out.push_back(p.lag);
  return out;
}

SeasonScaling seasonScaling(const std::vector<double>& values, int period) {
  SeasonScaling out;
  if (period < 2) return out;
  const auto m = static_cast<std::size_t>(period);
  std::vector<double> levels;
  std::vector<double> amplitudes;
  bool positive = true;
  for (std::size_t begin = 0; begin + m <= values.size(); begin += m) {
    double sum = 0.0;
    std::size_t count = 0;
    for (std::size_t i = begin; i < begin + m; ++i) {
      if (!std::isfinite(values[i])) continue;
      sum += values[i];
      ++count;
    }
    if (count * 4 < 3 * m) continue;
    const double level = sum / static_cast<double>(count);
    double spread = 0.0;
    for (std::size_t i = begin; i < begin + m; ++i) {
      if (std::isfinite(values[i])) spread += std::abs(values[i] - level);
    }
    const double amplitude = spread / static_cast<double>(count);
    positive = positive && level > 0.0 && amplitude > 0.0;
    levels.push_back(level);
    amplitudes.push_back(amplitude);
  }
  const std::size_t n = levels.size();
  out.cycles = static_cast<int>(n);
  if (n < 4 || !positive) return out;
  const auto [low, high] = std::minmax_element(levels.begin(), levels.end());
  out.level_ratio = *high / *low;

  // Spearman's rank correlation (average ranks for ties).
  auto ranks = [n](const std::vector<double>& v) {
    std::vector<std::size_t> order(n);
    for (std::size_t i = 0; i < n; ++i) order[i] = i;
    std::sort(order.begin(), order.end(),
              [&](std::size_t a, std::size_t b) { return v[a] < v[b]; });
    std::vector<double> r(n);
    for (std::size_t i = 0; i < n;) {
      std::size_t j = i;
      while (j + 1 < n && v[order[j + 1]] == v[order[i]]) ++j;
      for (std::size_t k = i; k <= j; ++k) r[order[k]] = 0.5 * static_cast<double>(i + j);
      i = j + 1;
    }
    return r;
  };
  const std::vector<double> rl = ranks(levels);
  const std::vector<double> ra = ranks(amplitudes);
  const double mean_rank = 0.5 * static_cast<double>(n - 1);
  double sxy = 0.0, sxx = 0.0, syy = 0.0;
  for (std::size_t i = 0; i < n; ++i) {
    sxy += (rl[i] - mean_rank) * (ra[i] - mean_rank);
    sxx += (rl[i] - mean_rank) * (rl[i] - mean_rank);
    syy += (ra[i] - mean_rank) * (ra[i] - mean_rank);
  }
  out.rank_correlation = sxx > 0.0 && syy > 0.0 ? sxy / std::sqrt(sxx * syy) : 0.0;

  // Theil-Sen: the median of the pairwise slopes in log-log.
  std::vector<double> slopes;
  for (std::size_t i = 0; i < n; ++i) {
    for (std::size_t j = i + 1; j < n; ++j) {
      const double dx = std::log(levels[j]) - std::log(levels[i]);
      if (dx == 0.0) continue;
      slopes.push_back((std::log(amplitudes[j]) - std::log(amplitudes[i])) / dx);
    }
  }
  if (slopes.empty()) return out;
  const auto middle = slopes.begin() + static_cast<std::ptrdiff_t>(slopes.size() / 2);
  std::nth_element(slopes.begin(), middle, slopes.end());
  out.elasticity = *middle;

  const double critical = 1.645 / std::sqrt(static_cast<double>(n - 1));
  out.multiplicative =
      out.level_ratio >= 1.25 && out.rank_correlation >= critical && out.elasticity >= 0.5;
  return out;
}

bool seasonalAmplitudeScales(const std::vector<double>& values, int period) {
  return seasonScaling(values, period).multiplicative;
}

int detectSeasonPeriod(const std::vector<double>& values, const SeasonDetectionOptions& options) {
  const std::vector<int> periods = detectSeasonPeriods(values, options);
  return periods.empty() ? 0 : periods.front();
}

}  // namespace pso::controller::engine
