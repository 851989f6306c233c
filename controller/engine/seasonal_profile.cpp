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

/// Slots of a per-slot array that are not zero.
int nonZeroSlots(const std::vector<float>& slots) {
  return static_cast<int>(
      std::count_if(slots.begin(), slots.end(), [](float v) { return v != 0.0f; }));
}

/// Reads `count` finite floats into `out`; fails the reader naming `what`
/// on the first that is not.
void readSlots(StateReader& r, int64_t count, const char* what, std::vector<float>& out) {
  for (int64_t i = 0; i < count && r.ok(); ++i) {
    const float v = r.getFloat();
    if (!std::isfinite(v)) r.fail(std::string("a profile's ") + what + " is not finite");
    out.push_back(v);
  }
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

double SeasonalProfile::harmonicSum(int64_t ms) const {
  double sum = 0.0;
  for (const Harmonic& h : harmonics_) {
    // Reduced to within one period first, so the angle stays precise.
    const int64_t into = ms - origin_ms_ - floorDiv(ms - origin_ms_, h.period_ms) * h.period_ms;
    const double theta = 2.0 * std::numbers::pi * h.harmonic * static_cast<double>(into) /
                         static_cast<double>(h.period_ms);
    sum += h.re * std::cos(theta) + h.im * std::sin(theta);
  }
  return sum;
}

double SeasonalProfile::detailAt(int64_t ms) const {
  if (detail_.empty()) return 0.0;
  const auto slots = static_cast<int64_t>(detail_.size());
  // Slot i's centre is (i + 1/2) buckets after midnight: find the two
  // centres around `ms` (wrapping around the day) and interpolate.
  const int64_t into = ms - floorDiv(ms, kDayMs) * kDayMs;
  const int64_t shifted = into - detail_bucket_ms_ / 2;
  const int64_t below = floorDiv(shifted, detail_bucket_ms_);
  const double fraction = static_cast<double>(shifted - below * detail_bucket_ms_) /
                          static_cast<double>(detail_bucket_ms_);
  const auto a = static_cast<std::size_t>((below % slots + slots) % slots);
  const auto b = static_cast<std::size_t>((below + 1) % slots);
  return (1.0 - fraction) * detail_[a] + fraction * detail_[b];
}

std::pair<double, double> SeasonalProfile::eventRange(int64_t ms) const {
  if (detail_.empty()) return {0.0, 0.0};
  const std::vector<float>& events = usualEvents();
  const auto slots = static_cast<int64_t>(events.size());
  const int64_t half = detail_bucket_ms_ / 2;
  double lo = std::numeric_limits<double>::infinity();
  double hi = -lo;
  // The slots meeting (ms - half, ms + half): one at a centre, else two.
  for (int64_t i = floorDiv(ms - half + 1, detail_bucket_ms_);
       i <= floorDiv(ms + half - 1, detail_bucket_ms_); ++i) {
    const double v = events[static_cast<std::size_t>((i % slots + slots) % slots)];
    lo = std::min(lo, v);
    hi = std::max(hi, v);
  }
  return {lo, hi};
}

double SeasonalProfile::at(int64_t ms) const {
  const double sum = harmonicSum(ms);
  if (!multiplicative_) return sum + detailAt(ms);
  return std::max(kMinProfileFactor, (1.0 + sum) * (1.0 + detailAt(ms)));
}

void SeasonalProfile::fitDailyDetail(const std::vector<CoarseBucket>& fine, int64_t bucket_ms) {
  detail_.clear();
  events_.clear();
  detail_bucket_ms_ = 0;
  if (bucket_ms <= 0 || bucket_ms >= 3'600'000 || kDayMs % bucket_ms != 0 || fine.empty()) return;
  const int64_t slots = kDayMs / bucket_ms;
  int64_t last = std::numeric_limits<int64_t>::min();
  for (const CoarseBucket& b : fine) {
    if (std::isfinite(b.mean)) last = std::max(last, floorDiv(b.start_ms, bucket_ms));
  }
  if (last == std::numeric_limits<int64_t>::min()) return;
  // Each present bucket's departure from the harmonic shape at its centre,
  // by day and slot.
  struct Departure {
    int64_t day;
    int64_t slot;
    double value;
  };
  std::vector<Departure> departures;
  departures.reserve(fine.size());
  for (const CoarseBucket& b : fine) {
    const int64_t index = floorDiv(b.start_ms, bucket_ms);
    if (!std::isfinite(b.mean) || index <= last - kDetailMaxDays * slots) continue;
    const int64_t centre = index * bucket_ms + bucket_ms / 2;
    const double shape = harmonicSum(centre);
    double value = b.mean - shape;
    if (multiplicative_) {
      const double factor = std::max(kMinProfileFactor, 1.0 + shape);
      value = b.mean / factor;
    }
    const int64_t day = floorDiv(index, slots);
    departures.push_back({day, index - day * slots, value});
  }
  std::sort(departures.begin(), departures.end(), [](const Departure& x, const Departure& y) {
    return x.day != y.day ? x.day < y.day : x.slot < y.slot;
  });
  // Each day's level: its median departure, over days at least half present.
  std::vector<double> scratch;
  std::vector<std::vector<double>> by_slot(static_cast<std::size_t>(slots));
  for (std::size_t i = 0; i < departures.size();) {
    std::size_t j = i;
    scratch.clear();
    while (j < departures.size() && departures[j].day == departures[i].day) {
      scratch.push_back(departures[j++].value);
    }
    if (static_cast<int64_t>(scratch.size()) * 2 >= slots) {
      const double level = empiricalQuantile(scratch, 0.5);
      for (std::size_t k = i; k < j; ++k) {
        const double v = departures[k].value;
        const double relative =
            multiplicative_ ? (level > 0.0 ? v / level - 1.0 : kNaN) : v - level;
        if (std::isfinite(relative)) {
          by_slot[static_cast<std::size_t>(departures[k].slot)].push_back(relative);
        }
      }
    }
    i = j;
  }
  // Per slot the median over its days; the noise pooled from every value's
  // distance to its slot's median (a median absolute deviation, as for
  // normal errors).
  std::vector<double> median(static_cast<std::size_t>(slots), kNaN);
  std::vector<double> distances;
  for (std::size_t s = 0; s < by_slot.size(); ++s) {
    auto& values = by_slot[s];
    if (static_cast<int64_t>(values.size()) < kDetailMinDays) continue;
    scratch = values;
    median[s] = empiricalQuantile(scratch, 0.5);
    for (double v : values) distances.push_back(std::abs(v - median[s]));
  }
  if (distances.empty()) return;
  const double sigma = 1.4826 * empiricalQuantile(distances, 0.5);
  std::vector<float> detail(static_cast<std::size_t>(slots), 0.0f);
  std::vector<float> events(static_cast<std::size_t>(slots), 0.0f);
  bool any = false;
  bool events_differ = false;
  for (std::size_t s = 0; s < median.size(); ++s) {
    if (!std::isfinite(median[s])) continue;
    // A median of n normal values has a standard error of about
    // 1.2533 sigma / sqrt(n).
    const double se = 1.2533 * sigma / std::sqrt(static_cast<double>(by_slot[s].size()));
    if (std::abs(median[s]) <= 5.0 * se) continue;
    const auto departs = [&](double v) {
      return median[s] > 0.0 ? v >= 0.5 * median[s] : v <= 0.5 * median[s];
    };
    // And it recurs: every day but one departs the same way by at least
    // half the median. A spike that wanders from slot to slot (on four days
    // of seven here) is no calendar event, and would be forecast where it
    // is not.
    const auto& days = by_slot[s];
    const auto recurring = std::count_if(days.begin(), days.end(), departs);
    if (recurring + 1 < static_cast<std::ptrdiff_t>(days.size())) {
      // A usual event still, if seen on one of the last two days (the
      // values are in day order): one missing on both has likely stopped (a
      // job moved or retired), and would be provided for for days.
      if (departs(days.back()) || departs(days[days.size() - 2])) {
        events[s] = static_cast<float>(median[s]);
        events_differ = true;
      }
      continue;
    }
    events[s] = static_cast<float>(median[s]);
    detail[s] = static_cast<float>(median[s]);
    any = true;
  }
  if (!any) return;
  detail_ = std::move(detail);
  if (events_differ) events_ = std::move(events);
  detail_bucket_ms_ = bucket_ms;
}

int SeasonalProfile::detailSlots() const {
  return nonZeroSlots(detail_);
}

int SeasonalProfile::eventSlots() const {
  return nonZeroSlots(usualEvents());
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
  out += multiplicative_ ? " multiplicative" : " additive";
  if (!detail_.empty()) {
    out += ", " + std::to_string(detail_bucket_ms_ / 60'000) + "-minute detail in " +
           std::to_string(detailSlots()) + " slots";
    if (!events_.empty()) out += " (" + std::to_string(eventSlots()) + " with usual events)";
  }
  return out;
}

void SeasonalProfile::save(StateWriter& w) const {
  w.putInt(origin_ms_).putInt(multiplicative_ ? 1 : 0).putInt(daily_).putInt(weekly_);
  w.putInt(static_cast<int64_t>(harmonics_.size()));
  for (const Harmonic& h : harmonics_) {
    w.putInt(h.period_ms).putInt(h.harmonic).putDouble(h.re).putDouble(h.im);
  }
  w.putInt(detail_bucket_ms_).putInt(static_cast<int64_t>(detail_.size()));
  for (float v : detail_) w.putFloat(v);
  w.putInt(static_cast<int64_t>(events_.size()));
  for (float v : events_) w.putFloat(v);
}

std::optional<SeasonalProfile> SeasonalProfile::load(StateReader& r, Saved form) {
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
  if (form != Saved::kHarmonics) {
    p.detail_bucket_ms_ = r.getInt(0, 3'600'000 - 1);
    const int64_t slots = r.getInt(0, kDayMs / 1000);
    const bool fits = slots == 0 ? p.detail_bucket_ms_ == 0
                                 : p.detail_bucket_ms_ > 0 && p.detail_bucket_ms_ * slots == kDayMs;
    if (r.ok() && !fits) r.fail("a profile's detail does not divide a day into its slots");
    readSlots(r, slots, "detail", p.detail_);
  }
  if (form == Saved::kEvents) {
    const int64_t slots = r.getInt(0, kDayMs / 1000);
    if (r.ok() && slots != 0 && slots != static_cast<int64_t>(p.detail_.size())) {
      r.fail("a profile's usual events are not one per slot of its detail");
    }
    readSlots(r, slots, "usual events", p.events_);
  }
  if (!r.ok()) return std::nullopt;
  return p;
}

bool profileNeeded(double step_s) {
  return step_s > 0.0 && static_cast<double>(kDayMs) / 1000.0 / step_s > kDetectableSteps;
}

}  // namespace pso::controller::engine
