#include "controller/engine/seasonal_profile.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numbers>

#include "controller/engine/harmonic_regression.h"
#include "controller/engine/season_detection.h"
#include "controller/engine/statistics.h"

namespace pso::controller::engine {

namespace {

/// A multiplicative factor never falls below this (a trough of nearly
/// nothing would blow a deseasonalised value up).
constexpr double kMinProfileFactor = 0.05;
/// The "auto" model's detection window and the detector's longest season
/// (a third of it), in steps.
constexpr double kDetectableSteps = 4096.0 / 3.0;
constexpr int kMaxStoredHarmonics = 64;
/// The F statistic a fitted shape must reach to count (see significant()).
constexpr double kMinF = 5.0;

int64_t floorDiv(int64_t a, int64_t b) {
  const int64_t q = a / b;
  return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

// A bucket mean is the harmonic averaged over the bucket: its amplitude is
// damped by sinc(pi f) for f cycles per bucket. Undo that, so the profile is
// the shape at an instant.
double bucketDamping(int harmonic, int64_t period_buckets) {
  const double x = std::numbers::pi * harmonic / static_cast<double>(period_buckets);
  return x > 0.0 ? std::sin(x) / x : 1.0;
}

std::vector<SeasonalProfile::Harmonic> harmonicsOf(const HarmonicFit& fit, int64_t period,
                                                   int64_t second, int64_t bucket_ms) {
  std::vector<SeasonalProfile::Harmonic> out;
  for (int j = 0; j < fit.k1 + fit.k2; ++j) {
    const bool daily = j < fit.k1;
    const int64_t m = daily ? period : second;
    const int h = daily ? j + 1 : j - fit.k1 + 1;
    const double damping = bucketDamping(h, m);
    out.push_back({m * bucket_ms, h, fit.re[static_cast<std::size_t>(j)] / damping,
                   fit.im[static_cast<std::size_t>(j)] / damping});
  }
  return out;
}

// Whether the fitted shape stands out of the noise: an F statistic of the
// harmonics (their mean square per fitted number over the residual
// variance, taken from the mean absolute residual as for normal errors) of
// at least kMinF. AICc alone keeps a harmonic or two in pure noise about as
// often as not; a real daily pattern in hourly means scores in the tens.
bool significant(const HarmonicFit& fit, const std::vector<double>& grid, int64_t period,
                 int64_t second) {
  double square = 0.0;
  int64_t present = 0;
  for (std::size_t i = 0; i < grid.size(); ++i) {
    if (!std::isfinite(grid[i])) continue;
    double part = 0.0;
    for (int j = 0; j < fit.k1 + fit.k2; ++j) {
      const int64_t m = j < fit.k1 ? period : second;
      const int h = j < fit.k1 ? j + 1 : j - fit.k1 + 1;
      const double theta =
          2.0 * std::numbers::pi * h * static_cast<double>(i) / static_cast<double>(m);
      part += fit.re[static_cast<std::size_t>(j)] * std::cos(theta) +
              fit.im[static_cast<std::size_t>(j)] * std::sin(theta);
    }
    square += part * part;
    ++present;
  }
  const double sigma = std::sqrt(std::numbers::pi / 2.0) * fit.spread;
  if (!(sigma > 0.0)) return square > 0.0;
  const double f = square / (2.0 * (fit.k1 + fit.k2)) / (sigma * sigma);
  return f >= kMinF;
}

}  // namespace

std::optional<SeasonalProfile> SeasonalProfile::fit(const std::vector<CoarseBucket>& buckets,
                                                    int64_t bucket_ms) {
  if (bucket_ms <= 0 || kDayMs % bucket_ms != 0 || buckets.empty()) return std::nullopt;
  const int64_t period = kDayMs / bucket_ms;
  if (period < 4) return std::nullopt;
  int64_t last = std::numeric_limits<int64_t>::min();
  for (const CoarseBucket& b : buckets) {
    if (std::isfinite(b.mean)) last = std::max(last, floorDiv(b.start_ms, bucket_ms));
  }
  if (last == std::numeric_limits<int64_t>::min()) return std::nullopt;
  const int64_t span = kProfileMaxDays * period;
  int64_t first = last;
  for (const CoarseBucket& b : buckets) {
    const int64_t index = floorDiv(b.start_ms, bucket_ms);
    if (std::isfinite(b.mean) && index > last - span) first = std::min(first, index);
  }
  std::vector<double> grid(static_cast<std::size_t>(last - first + 1), kNaN);
  int64_t present = 0;
  for (const CoarseBucket& b : buckets) {
    const int64_t index = floorDiv(b.start_ms, bucket_ms);
    if (!std::isfinite(b.mean) || index < first || index > last) continue;
    double& slot = grid[static_cast<std::size_t>(index - first)];
    if (std::isnan(slot)) ++present;
    slot = b.mean;
  }
  if (present < kProfileMinDays * period) return std::nullopt;
  const auto length = static_cast<int64_t>(grid.size());
  const int64_t second = length >= kProfileWeeklyDays * period ? 7 * period : 0;

  const auto additive =
      fitHarmonics(grid, first, static_cast<int>(period), static_cast<int>(second));
  if (!additive || additive->k1 == 0 || !significant(*additive, grid, period, second)) {
    return std::nullopt;
  }

  SeasonalProfile profile;
  // The centre of the first bucket: where the fit's phases start.
  profile.origin_ms_ = first * bucket_ms + bucket_ms / 2;
  profile.daily_ = additive->k1;
  profile.weekly_ = additive->k2;
  profile.harmonics_ = harmonicsOf(*additive, period, second, bucket_ms);

  // Multiplicative where the daily swing grows with the daily level: the
  // shape is then fitted to the series over its own trend line, as a factor.
  if (seasonScaling(grid, static_cast<int>(period)).multiplicative) {
    std::vector<double> ratio(grid.size(), kNaN);
    bool positive = true;
    for (std::size_t i = 0; i < grid.size() && positive; ++i) {
      const double line = additive->line + additive->slope * static_cast<double>(i);
      positive = line > 0.0;
      if (std::isfinite(grid[i])) ratio[i] = grid[i] / line;
    }
    const auto factor =
        positive ? fitHarmonics(ratio, first, static_cast<int>(period), static_cast<int>(second))
                 : std::nullopt;
    if (factor && factor->k1 > 0) {
      profile.multiplicative_ = true;
      profile.daily_ = factor->k1;
      profile.weekly_ = factor->k2;
      profile.harmonics_ = harmonicsOf(*factor, period, second, bucket_ms);
    }
  }
  return profile;
}

double SeasonalProfile::at(int64_t ms) const {
  double sum = 0.0;
  for (const Harmonic& h : harmonics_) {
    // Reduced to within one period first, so the angle stays precise.
    const int64_t into = ms - origin_ms_ - floorDiv(ms - origin_ms_, h.period_ms) * h.period_ms;
    const double theta = 2.0 * std::numbers::pi * h.harmonic * static_cast<double>(into) /
                         static_cast<double>(h.period_ms);
    sum += h.re * std::cos(theta) + h.im * std::sin(theta);
  }
  return multiplicative_ ? std::max(kMinProfileFactor, 1.0 + sum) : sum;
}

double SeasonalProfile::remove(double value, int64_t ms) const {
  return multiplicative_ ? value / at(ms) : value - at(ms);
}

double SeasonalProfile::restore(double value, int64_t ms) const {
  return multiplicative_ ? value * at(ms) : value + at(ms);
}

double SeasonalProfile::swing() const {
  double lo = std::numeric_limits<double>::infinity();
  double hi = -lo;
  constexpr int64_t kSamples = 7 * 96;
  for (int64_t i = 0; i < kSamples; ++i) {
    const double v = at(origin_ms_ + i * (kWeekMs / kSamples));
    lo = std::min(lo, v);
    hi = std::max(hi, v);
  }
  return hi - lo;
}

std::string SeasonalProfile::describe() const {
  std::string out = "daily/" + std::to_string(daily_);
  if (weekly_ > 0) out += "+weekly/" + std::to_string(weekly_);
  return out + (multiplicative_ ? " multiplicative" : " additive");
}

void SeasonalProfile::save(StateWriter& w) const {
  w.putInt(origin_ms_).putInt(multiplicative_ ? 1 : 0).putInt(daily_).putInt(weekly_);
  w.putInt(static_cast<int64_t>(harmonics_.size()));
  for (const Harmonic& h : harmonics_) {
    w.putInt(h.period_ms).putInt(h.harmonic).putDouble(h.re).putDouble(h.im);
  }
}

std::optional<SeasonalProfile> SeasonalProfile::load(StateReader& r) {
  SeasonalProfile p;
  p.origin_ms_ = r.getInt();
  p.multiplicative_ = r.getInt(0, 1) == 1;
  p.daily_ = static_cast<int>(r.getInt(0, kMaxStoredHarmonics));
  p.weekly_ = static_cast<int>(r.getInt(0, kMaxStoredHarmonics));
  const int64_t n = r.getInt(0, kMaxStoredHarmonics);
  for (int64_t i = 0; i < n && r.ok(); ++i) {
    Harmonic h;
    h.period_ms = r.getInt(1, kWeekMs * 52);
    h.harmonic = static_cast<int>(r.getInt(1, 10000));
    h.re = r.getDouble();
    h.im = r.getDouble();
    if (!std::isfinite(h.re) || !std::isfinite(h.im)) r.fail("a profile harmonic is not finite");
    p.harmonics_.push_back(h);
  }
  if (!r.ok()) return std::nullopt;
  return p;
}

bool profileNeeded(double step_s) {
  return step_s > 0.0 && static_cast<double>(kDayMs) / 1000.0 / step_s > kDetectableSteps;
}

}  // namespace pso::controller::engine
