#pragma once

// A series' daily (and weekly) shape learned at a coarse resolution, from
// bucket means such as the store's hourly rollups, and evaluable at any
// instant. The decision cycle's own step is often far too fine for its
// season detector (a day at a 15 s cycle is 5,760 steps): with a profile the
// "auto" model (model_selector.h) runs short-term models on the series with
// the shape taken out and puts the shape back at each forecast step's time.

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "controller/engine/state_codec.h"

namespace pso::controller::engine {

/// One coarse bucket: the mean of the series over [start_ms, start_ms + width).
struct CoarseBucket {
  int64_t start_ms = 0;
  double mean = 0.0;
};

inline constexpr int64_t kDayMs = 86'400'000;
inline constexpr int64_t kWeekMs = 7 * kDayMs;
/// Buckets of history a profile needs at least: two days of present buckets.
inline constexpr int64_t kProfileMinDays = 2;
/// Weekly harmonics need at least two weeks of history.
inline constexpr int64_t kProfileWeeklyDays = 14;
/// A fit reads at most the last four weeks: older shape is forgotten.
inline constexpr int64_t kProfileMaxDays = 28;
/// How often a profile is fitted again from the newer buckets.
inline constexpr int64_t kProfileRefitMs = 3'600'000;
/// The daily detail's buckets (fitDailyDetail()): five minutes, the step of
/// the traces and rollups operators keep, fine enough for a nightly job.
inline constexpr int64_t kDetailBucketMs = 300'000;
/// How often the detail is fitted again: it is a median over a week, and a
/// fit reads a week of minute rollups (10,080 rows, about 3 ms), so the
/// hourly refits of the harmonics in between keep the detail they had.
inline constexpr int64_t kDetailRefitMs = 6 * 3'600'000;
/// The detail reads at most the last week of fine buckets, and needs a
/// slot seen on at least three days.
inline constexpr int64_t kDetailMaxDays = 7;
inline constexpr int64_t kDetailMinDays = 3;

/// The daily (and weekly) shape of a series, as Fourier harmonics of the day
/// and the week fitted by robust least squares (harmonic_regression.h) to
/// coarse bucket means, with each harmonic corrected for the averaging over
/// a bucket (a bucket mean damps a harmonic of frequency f by sinc(f x width)).
/// Additive (an offset around zero) or multiplicative (a factor around one),
/// chosen on evidence: multiplicative when the daily swing grows with the
/// daily level over at least four days (seasonScaling() in
/// season_detection.h), otherwise additive.
class SeasonalProfile {
 public:
  /// One harmonic: part(t) = re cos(theta) + im sin(theta), theta =
  /// 2 pi harmonic (t - origin_ms) / period_ms.
  struct Harmonic {
    int64_t period_ms = kDayMs;
    int harmonic = 1;
    double re = 0.0;
    double im = 0.0;
    bool operator==(const Harmonic&) const = default;
  };

  /// Fits a profile to `buckets` (any order; one width, `bucket_ms`, which
  /// must divide a day; non-finite means are missing). nullopt when under
  /// kProfileMinDays of present buckets (or fewer than the regression needs
  /// for its columns: 54 hourly buckets), when a day is not a whole number
  /// of buckets, or when the series has no daily shape: the AICc of the
  /// regression keeps no daily harmonic, or the kept harmonics do not stand
  /// out of the residual noise (an F statistic under 5). Only the last
  /// kProfileMaxDays are read; O(n x p^2) for n buckets, p <= 32 columns.
  static std::optional<SeasonalProfile> fit(const std::vector<CoarseBucket>& buckets,
                                            int64_t bucket_ms);

  /// Adds the daily detail the harmonics of coarse buckets cannot draw: a
  /// job that runs for twenty minutes at 02:00 is a bump an hour or two wide
  /// in hourly means. From `fine` buckets of width `bucket_ms` (finer than
  /// an hour, dividing a day; at most the last kDetailMaxDays are read), each
  /// bucket's departure from the harmonic shape and its day's level (the
  /// day's median departure), then per slot of the day the median over the
  /// days that have it (at least kDetailMinDays). A slot's median is kept
  /// only where it stands out of the noise (more than five standard errors
  /// of a median of its days, the noise pooled over every slot and day) and
  /// recurs (every day but one departs the same way by at least half the
  /// median), so a slot moved by a burst, by noise or by a spike that
  /// wanders from slot to slot stays at zero. Replaces
  /// any detail before; with nothing kept the profile has none. Additive
  /// detail for an additive profile, a relative one (a factor around one)
  /// for a multiplicative profile. O(n log n) for n buckets.
  ///
  /// The fit also keeps, beside a detail, the day's usual events: the
  /// median of every slot that stands out of the noise and either recurs or
  /// departs the same way on one of the last two days (an event's first and
  /// last slots when it starts or ends a slot early or late from day to
  /// day; a job on five nights of seven; not one that stopped two days
  /// ago). They shape no forecast's point (a missing event would read as a
  /// level shift) but widen its interval (eventRange()).
  void fitDailyDetail(const std::vector<CoarseBucket>& fine, int64_t bucket_ms);
  /// Takes `other`'s daily detail and usual events (or their lack) in place
  /// of this profile's: a refit of the harmonics between two fits of the
  /// detail.
  /// Only from a profile of the same form: an additive detail is an offset
  /// in demand units and a multiplicative one a relative change, so an
  /// offset of +150 read as a change of +15,000% would multiply a forecast
  /// by 151. Returns whether it took it; when not, this profile is unchanged
  /// and the caller fits the detail again (fitDailyDetail()).
  [[nodiscard]] bool copyDetailFrom(const SeasonalProfile& other) {
    if (other.multiplicative_ != multiplicative_) return false;
    detail_bucket_ms_ = other.detail_bucket_ms_;
    detail_ = other.detail_;
    events_ = other.events_;
    return true;
  }
  /// Slots of the day whose detail is not zero (0 without detail).
  int detailSlots() const;
  /// Slots of the day with a usual event: the detail's, and the slots that
  /// stand out without recurring but were seen on one of the last two days.
  int eventSlots() const;
  /// The detail alone at `ms`, linear between the slot centres: an offset
  /// (additive profile) or a relative change of the factor
  /// (multiplicative); 0 without detail.
  double detailAt(int64_t ms) const;
  bool hasDetail() const { return !detail_.empty(); }
  /// The lowest and highest of the day's usual events (fitDailyDetail())
  /// in the slots less than half a slot from `ms`: an offset or a relative
  /// change, as the detail. At a slot's centre, its own event; nearer an
  /// edge, the larger (and the smaller) of its and its neighbour's: an event
  /// is known to its slot, not within it. {0, 0} without detail.
  std::pair<double, double> eventRange(int64_t ms) const;

  /// The shape at `ms`: an offset (additive) or a factor (multiplicative),
  /// the detail (linear between its slots' centres) included.
  double at(int64_t ms) const;
  /// The value with the shape taken out (value - offset, value / factor).
  double remove(double value, int64_t ms) const;
  /// The shape put back on a deseasonalised value.
  double restore(double value, int64_t ms) const;

  bool multiplicative() const { return multiplicative_; }
  int dailyHarmonics() const { return daily_; }
  int weeklyHarmonics() const { return weekly_; }
  /// Peak-to-trough of the shape over a week (in units, or as a factor span).
  double swing() const;
  /// e.g. "daily/4+weekly/2 additive" (", 5-minute detail in 6 slots").
  std::string describe() const;

  void save(StateWriter& writer) const;
  /// What a saved profile holds, by the release that saved it.
  enum class Saved {
    kHarmonics,  ///< the harmonics only (the auto model's state version 4)
    kDetail,     ///< and the daily detail (version 5)
    kEvents,     ///< and the day's usual events (version 6)
  };
  /// Reads what save() wrote, in the `form` it was saved in; nullopt (and
  /// the reader failed) on bad input.
  static std::optional<SeasonalProfile> load(StateReader& reader, Saved form);

  bool operator==(const SeasonalProfile&) const = default;

 private:
  /// The harmonics alone at `ms`, as a sum around zero.
  double harmonicSum(int64_t ms) const;
  /// The usual events per slot: events_, or the detail when they are its.
  const std::vector<float>& usualEvents() const { return events_.empty() ? detail_ : events_; }

  int64_t origin_ms_ = 0;
  bool multiplicative_ = false;
  int daily_ = 0;
  int weekly_ = 0;
  std::vector<Harmonic> harmonics_;
  /// Per slot of the day (slot i starts i x detail_bucket_ms_ after
  /// midnight UTC): an offset, or a relative change of the factor.
  int64_t detail_bucket_ms_ = 0;
  std::vector<float> detail_;
  /// Per slot: the day's usual events (the detail's slots and the others
  /// that stand out), as the detail; empty when they are the detail's.
  std::vector<float> events_;
};

/// Whether a controller deciding every `step_s` seconds needs a profile for
/// daily seasons: when a day is more steps than the "auto" model's season
/// detection can see in its window (a third of 4,096 steps, so a step under
/// about 63 s). At a coarser step the detector finds the day itself.
bool profileNeeded(double step_s);

}  // namespace pso::controller::engine
