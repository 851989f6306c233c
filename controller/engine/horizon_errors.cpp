#include "controller/engine/horizon_errors.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "controller/engine/statistics.h"

namespace pso::controller::engine {

namespace {

constexpr int64_t kMaxTrackedHorizon = 10000;
constexpr int64_t kMaxErrorWindow = 1000000;
/// A quantile tracker's step, in running mean absolute scaled errors of its
/// horizon: small enough that a level's estimate wanders by a few percent of
/// the spread, large enough to follow a change of the spread within a few
/// hundred errors. The first errors (often a model's worst, before its first
/// fit) take larger steps, sqrt(kMinErrorsForQuantiles / n) at the n-th, so
/// the trackers settle within a hundred errors of a poor start.
constexpr double kQuantileStep = 0.1;
/// An error counts at most this many running mean absolute scaled errors into
/// the step (as OutlierScreen::kScaleCap does for a model's error scale).
constexpr double kStepErrorCap = 5.0;
/// Scaled errors are clipped to this many scales before they are tracked:
/// far beyond any quantile the intervals use (a normal error's 99.5%
/// quantile is 3.2 mean absolute errors; a heavy-tailed series' a few tens).
constexpr double kMaxScaledError = 50.0;
/// sigma / mean absolute deviation of a normal distribution (sqrt(pi / 2)):
/// the trackers start at normal quantiles of the first errors' spread.
constexpr double kNormalSigmaPerMad = 1.2533141373155003;

/// Normal scores of the tracked levels, the scale quantiles are
/// interpolated on.
const std::array<double, HorizonErrorTracker::kQuantileLevels.size()>& levelScores() {
  static const auto kScores = [] {
    std::array<double, HorizonErrorTracker::kQuantileLevels.size()> out{};
    for (std::size_t k = 0; k < out.size(); ++k) {
      out[k] = normalQuantile(HorizonErrorTracker::kQuantileLevels[k]);
    }
    return out;
  }();
  return kScores;
}

}  // namespace

HorizonErrorTracker::HorizonErrorTracker(int max_horizon, int window, int stride)
    : max_horizon_(std::max(1, max_horizon)),
      window_(std::max(2, window)),
      stride_(std::max(1, stride)),
      slots_(static_cast<std::size_t>(max_horizon_ / stride_ + 1)),
      origins_(slots_ * (kSlotHeader + static_cast<std::size_t>(max_horizon_)), kNaN),
      horizons_(static_cast<std::size_t>(max_horizon_)) {
  for (std::size_t slot = 0; slot < slots_; ++slot) {
    origins_[slot * width()] = -1.0;
    origins_[slot * width() + 1] = 0.0;
  }
}

void HorizonErrorTracker::setStride(int stride) {
  if (std::max(1, stride) == stride_) return;
  HorizonErrorTracker restrided(max_horizon_, window_, stride);
  restrided.horizons_ = std::move(horizons_);
  restrided.one_abs_ = one_abs_;
  restrided.one_sq_ = one_sq_;
  restrided.one_weight_ = one_weight_;
  restrided.seek(step_);
  *this = std::move(restrided);
}

void HorizonErrorTracker::seek(int64_t step) {
  step_ = step;
  if (step < 0) return;
  phase_ = static_cast<int>(step % stride_);
  slot_ = static_cast<std::size_t>((step / stride_) % static_cast<int64_t>(slots_));
}

void HorizonErrorTracker::advance() {
  ++step_;
  if (step_ == 0) {
    phase_ = 0;
    slot_ = 0;
  } else if (++phase_ == stride_) {
    phase_ = 0;
    if (++slot_ == slots_) slot_ = 0;
  }
}

void HorizonErrorTracker::score(Horizon& horizon, double z) {
  // A scale near zero (a model that was exact for a while: a flat or
  // piecewise-linear stretch) makes the next error thousands of scales wide.
  // The trackers compare errors with their quantiles, so clipping changes no
  // update's direction; it keeps such an error from setting the spread.
  z = std::clamp(z, -kMaxScaledError, kMaxScaledError);
  const double rate = 1.0 / static_cast<double>(window_);
  const double magnitude = std::abs(z);
  if (horizon.count < kMinErrorsForQuantiles) {
    // The first errors only measure the spread and the centre; q[] holds
    // their sum until the trackers start from them.
    horizon.abs_sum += magnitude;
    horizon.q[0] += z;
    if (++horizon.count < kMinErrorsForQuantiles) return;
    const double n = static_cast<double>(horizon.count);
    const double centre = horizon.q[0] / n;
    const double spread = kNormalSigmaPerMad * horizon.abs_sum / n;
    for (std::size_t k = 0; k < kLevels; ++k) horizon.q[k] = centre + levelScores()[k] * spread;
    horizon.abs_sum /= n;
    horizon.abs_weight = 1.0;
    return;
  }
  // The step follows the typical error; one error counts at most
  // kStepErrorCap typical errors into it, so the errors of a level shift
  // (often hundreds of scales when the model before it was nearly exact) do
  // not blow the steps up and throw the trackers far out.
  const double typical = horizon.abs_sum / horizon.abs_weight;
  const double counted = typical > 0.0 ? std::min(magnitude, kStepErrorCap * typical) : magnitude;
  horizon.abs_sum = (1.0 - rate) * horizon.abs_sum + rate * counted;
  horizon.abs_weight = (1.0 - rate) * horizon.abs_weight + rate;
  // sqrt(kMinErrorsForQuantiles / count) falls below kQuantileStep for good
  // at kSettled errors.
  constexpr double kSettled =
      static_cast<double>(kMinErrorsForQuantiles) / (kQuantileStep * kQuantileStep);
  const auto n = static_cast<double>(horizon.count);
  const double rate_of_step =
      n >= kSettled ? kQuantileStep : std::sqrt(static_cast<double>(kMinErrorsForQuantiles) / n);
  const double step = rate_of_step * horizon.abs_sum / horizon.abs_weight;
  // Without a branch (which side an error falls on is a coin toss, and a
  // mispredicted branch per level would be most of the cost): the comparison
  // as a 0/1 value, over every level at once.
  std::array<double, kLevels> below;
  for (std::size_t k = 0; k < kLevels; ++k) below[k] = static_cast<double>(z < horizon.q[k]);
  for (std::size_t k = 0; k < kLevels; ++k) {
    horizon.q[k] += step * (kQuantileLevels[k] - below[k]);
  }
  if (horizon.count < std::numeric_limits<uint32_t>::max()) ++horizon.count;
}

void HorizonErrorTracker::scoreOneStep(double error) {
  const double rate = 1.0 / static_cast<double>(window_);
  one_abs_ = (1.0 - rate) * one_abs_ + rate * std::abs(error);
  one_sq_ = (1.0 - rate) * one_sq_ + rate * error * error;
  one_weight_ = (1.0 - rate) * one_weight_ + rate;
}

void HorizonErrorTracker::observe(double actual) {
  advance();
  if (step_ == 0) return;
  // The kept origins (multiples of the stride) among step_ - max_horizon ..
  // step_ - 1, newest first, with their slots walking down.
  int64_t newest = step_ - phase_;
  std::size_t slot = slot_;
  if (phase_ == 0) {
    newest -= stride_;
    slot = slot == 0 ? slots_ - 1 : slot - 1;
  }
  for (int64_t origin = newest; origin >= 0 && origin >= step_ - max_horizon_; origin -= stride_) {
    const auto h = static_cast<int>(step_ - origin);
    const double* record = &origins_[slot * width()];
    slot = slot == 0 ? slots_ - 1 : slot - 1;
    if (record[0] != static_cast<double>(origin)) continue;
    const double predicted = record[kSlotHeader + static_cast<std::size_t>(h - 1)];
    if (!std::isfinite(predicted)) continue;
    const double error = actual - predicted;
    if (h == 1) scoreOneStep(error);
    const double scale = record[1];
    if (scale > 0.0) score(horizons_[static_cast<std::size_t>(h - 1)], error / scale);
  }
}

void HorizonErrorTracker::prefetch() const {
  // The origins the next observe() scores, as it walks them: after its
  // advance(), the newest kept origin's slot is the current one.
  const int64_t next = step_ + 1;
  int next_phase = step_ < 0 ? 0 : phase_ + 1;
  if (next_phase == stride_) next_phase = 0;
  int64_t newest = next - next_phase;
  if (next_phase == 0) newest -= stride_;
  std::size_t slot = slot_;
  for (int64_t origin = newest; origin >= 0 && origin >= next - max_horizon_; origin -= stride_) {
    const auto h = static_cast<std::size_t>(next - origin);
    __builtin_prefetch(&origins_[slot * width() + kSlotHeader + h - 1]);
    __builtin_prefetch(&horizons_[h - 1]);
    slot = slot == 0 ? slots_ - 1 : slot - 1;
  }
}

void HorizonErrorTracker::skip() {
  advance();
}

double HorizonErrorTracker::intervalScale(double model_scale) const {
  const double own = oneStepMae();
  if (std::isfinite(own) && own > 0.0) return own;
  return std::isfinite(model_scale) && model_scale > 0.0 ? model_scale : 0.0;
}

void HorizonErrorTracker::remember(const std::vector<double>& path, double scale) {
  if (!wantsPath()) return;
  const std::size_t n = std::min(path.size(), static_cast<std::size_t>(max_horizon_));
  double* record = &origins_[slot_ * width()];
  record[0] = static_cast<double>(step_);
  record[1] = intervalScale(scale);
  std::copy_n(path.begin(), n, record + kSlotHeader);
  std::fill(record + kSlotHeader + n, record + width(), kNaN);
}

std::size_t HorizonErrorTracker::count(int h) const {
  if (h < 1 || h > max_horizon_) return 0;
  return horizons_[static_cast<std::size_t>(h - 1)].count;
}

double HorizonErrorTracker::oneStepMae() const {
  if (!(one_weight_ > 0.0)) return kNaN;
  return std::max(0.0, one_abs_) / one_weight_;
}

double HorizonErrorTracker::oneStepRms() const {
  if (!(one_weight_ > 0.0)) return 0.0;
  return std::sqrt(std::max(0.0, one_sq_) / one_weight_);
}

double HorizonErrorTracker::scaledQuantile(int h, double p) const {
  return scaledQuantileAtScore(h, normalQuantile(std::clamp(p, 1e-9, 1.0 - 1e-9)));
}

double HorizonErrorTracker::scaledQuantileAtScore(int h, double target) const {
  if (count(h) < kMinErrorsForQuantiles) return kNaN;
  const Horizon& horizon = horizons_[static_cast<std::size_t>(h - 1)];
  // Trackers of neighbouring levels can cross by a step: read them as the
  // smallest non-decreasing sequence above them.
  std::array<double, kLevels> q = horizon.q;
  for (std::size_t k = 1; k < kLevels; ++k) q[k] = std::max(q[k], q[k - 1]);
  const auto& x = levelScores();
  // Linear in the normal score between the two nearest levels, extended
  // beyond the outermost ones along the last segment.
  std::size_t upper = 1;
  while (upper + 1 < kLevels && x[upper] < target) ++upper;
  const std::size_t lower = upper - 1;
  const double slope = (q[upper] - q[lower]) / (x[upper] - x[lower]);
  const double value = q[lower] + slope * (target - x[lower]);
  // Beyond the tracked levels, never inside them.
  if (target < x[0]) return std::min(value, q[0]);
  if (target > x[kLevels - 1]) return std::max(value, q[kLevels - 1]);
  return value;
}

void HorizonErrorTracker::fillIntervals(Forecast& forecast, double coverage, double scale) const {
  forecast.coverage = coverage;
  forecast.backtest_mae = oneStepMae();
  const std::size_t n = forecast.point.size();
  forecast.lo.resize(n);
  forecast.hi.resize(n);
  const double at_scale = intervalScale(scale);
  const double z = centralZ(coverage);
  // The tracked levels of the lower and upper tails, as normal scores: the
  // same at every horizon.
  const double tail = (1.0 - std::clamp(coverage, 0.0, 1.0)) / 2.0;
  const double lower_score = normalQuantile(std::clamp(tail, 1e-9, 1.0 - 1e-9));
  const double upper_score = normalQuantile(std::clamp(1.0 - tail, 1e-9, 1.0 - 1e-9));
  std::vector<std::pair<double, double>> tracked;
  tracked.reserve(std::min<std::size_t>(n, static_cast<std::size_t>(max_horizon_)));
  for (std::size_t i = 0; i < n && i < static_cast<std::size_t>(max_horizon_); ++i) {
    const int h = static_cast<int>(i) + 1;
    if (count(h) >= kMinErrorsForQuantiles) {
      // A biased model has both quantiles on one side of zero; the interval
      // follows the errors (each tail then misses at its rate) and may lie
      // to one side of the point.
      tracked.emplace_back(scaledQuantileAtScore(h, lower_score) * at_scale,
                           scaledQuantileAtScore(h, upper_score) * at_scale);
    } else {
      // Too few errors at this horizon: random-walk growth of the one-step
      // spread.
      const double half = z * oneStepRms() * std::sqrt(static_cast<double>(h));
      tracked.emplace_back(-half, half);
    }
  }
  for (std::size_t i = 0; i < n; ++i) {
    std::pair<double, double> offset;
    if (i < tracked.size()) {
      offset = tracked[i];
    } else {
      const double grow = std::sqrt(static_cast<double>(i + 1) / max_horizon_);
      offset = {tracked.back().first * grow, tracked.back().second * grow};
    }
    forecast.lo[i] = forecast.point[i] + offset.first;
    forecast.hi[i] = forecast.point[i] + offset.second;
  }
}

void HorizonErrorTracker::save(StateWriter& writer) const {
  writer.putInt(max_horizon_).putInt(window_).putInt(stride_).putInt(step_);
  for (std::size_t slot = 0; slot < slots_; ++slot) {
    const double* record = &origins_[slot * width()];
    // Points up to the last finite one (a path shorter than max_horizon
    // ends in NaN).
    std::size_t n = static_cast<std::size_t>(max_horizon_);
    while (n > 0 && !std::isfinite(record[kSlotHeader + n - 1])) --n;
    writer.putInt(static_cast<int64_t>(record[0])).putDouble(record[1]);
    writer.putInt(static_cast<int64_t>(n));
    for (std::size_t i = 0; i < n; ++i) writer.putDouble(record[kSlotHeader + i]);
  }
  for (const Horizon& horizon : horizons_) {
    writer.putInt(horizon.count).putDouble(horizon.abs_sum).putDouble(horizon.abs_weight);
    for (double q : horizon.q) writer.putDouble(q);
  }
  writer.putDouble(one_abs_).putDouble(one_sq_).putDouble(one_weight_);
}

namespace {

/// The shape both formats share: sizes, the step, and the remembered paths.
struct Header {
  int max_horizon = 1;
  int window = 2;
  int stride = 1;
  int64_t step = -1;
};

Header readHeader(StateReader& reader) {
  Header h;
  h.max_horizon = static_cast<int>(reader.getInt(1, kMaxTrackedHorizon));
  h.window = static_cast<int>(reader.getInt(2, kMaxErrorWindow));
  h.stride = static_cast<int>(reader.getInt(1, kMaxTrackedHorizon));
  h.step = reader.getInt(-1, std::numeric_limits<int64_t>::max());
  return h;
}

bool finite(double v) {
  return std::isfinite(v);
}

}  // namespace

void HorizonErrorTracker::load(StateReader& reader) {
  const Header header = readHeader(reader);
  if (!reader.ok()) return;
  HorizonErrorTracker loaded(header.max_horizon, header.window, header.stride);
  loaded.seek(header.step);
  for (std::size_t slot = 0; slot < loaded.slots_ && reader.ok(); ++slot) {
    double* record = &loaded.origins_[slot * loaded.width()];
    record[0] = static_cast<double>(reader.getInt(-1, header.step));
    record[1] = reader.getDouble();
    const int64_t n = reader.getInt(0, header.max_horizon);
    for (int64_t i = 0; i < n && reader.ok(); ++i) {
      record[kSlotHeader + static_cast<std::size_t>(i)] = reader.getDouble();
    }
    if (reader.ok() && !(finite(record[1]) && record[1] >= 0)) {
      reader.fail("a negative or non-finite error scale");
    }
  }
  for (Horizon& horizon : loaded.horizons_) {
    horizon.count = static_cast<uint32_t>(reader.getInt(0, std::numeric_limits<uint32_t>::max()));
    horizon.abs_sum = reader.getDouble();
    horizon.abs_weight = reader.getDouble();
    bool ok = finite(horizon.abs_sum) && finite(horizon.abs_weight) && horizon.abs_weight >= 0;
    for (double& q : horizon.q) {
      q = reader.getDouble();
      ok = ok && finite(q);
    }
    if (!reader.ok()) return;
    if (!ok) {
      reader.fail("non-finite error quantiles");
      return;
    }
  }
  loaded.one_abs_ = reader.getDouble();
  loaded.one_sq_ = reader.getDouble();
  loaded.one_weight_ = reader.getDouble();
  if (reader.ok() && !(finite(loaded.one_abs_) && finite(loaded.one_sq_) &&
                       finite(loaded.one_weight_) && loaded.one_weight_ >= 0.0)) {
    reader.fail("non-finite error sums");
  }
  if (reader.ok()) *this = std::move(loaded);
}

void HorizonErrorTracker::loadWindows(StateReader& reader, double scale) {
  const Header header = readHeader(reader);
  if (!reader.ok()) return;
  const double unit = std::isfinite(scale) && scale > 0.0 ? scale : 1.0;
  HorizonErrorTracker loaded(header.max_horizon, header.window, header.stride);
  loaded.seek(header.step);
  for (std::size_t slot = 0; slot < loaded.slots_ && reader.ok(); ++slot) {
    double* record = &loaded.origins_[slot * loaded.width()];
    record[0] = static_cast<double>(reader.getInt(-1, header.step));
    const int64_t n = reader.getInt(0, header.max_horizon);
    record[1] = unit;
    for (int64_t i = 0; i < n && reader.ok(); ++i) {
      record[kSlotHeader + static_cast<std::size_t>(i)] = reader.getDouble();
    }
  }
  for (int h = 1; h <= header.max_horizon && reader.ok(); ++h) {
    const int64_t n = reader.getInt(0, header.window);
    std::vector<double> errors;
    for (int64_t i = 0; i < n && reader.ok(); ++i) errors.push_back(reader.getDouble());
    if (!reader.ok()) break;
    Horizon& horizon = loaded.horizons_[static_cast<std::size_t>(h - 1)];
    if (h == 1 && !errors.empty()) {
      for (double e : errors) {
        loaded.one_abs_ += std::abs(e);
        loaded.one_sq_ += e * e;
      }
      loaded.one_abs_ /= static_cast<double>(errors.size());
      loaded.one_sq_ /= static_cast<double>(errors.size());
      loaded.one_weight_ = 1.0;
    }
    if (errors.size() < kMinErrorsForQuantiles) continue;
    for (double& e : errors) e /= unit;
    double magnitude = 0.0;
    for (double e : errors) magnitude += std::abs(e);
    horizon.abs_sum = magnitude / static_cast<double>(errors.size());
    horizon.abs_weight = 1.0;
    horizon.count = static_cast<uint32_t>(errors.size());
    for (std::size_t k = 0; k < kLevels; ++k) {
      horizon.q[k] = empiricalQuantile(errors, kQuantileLevels[k]);
    }
  }
  // The old running sums, and how many errors they had taken since a recount.
  reader.getDouble();
  reader.getDouble();
  reader.getInt(0, header.window);
  if (reader.ok()) *this = std::move(loaded);
}

Forecast assembleForecast(std::string model, int64_t observations, int horizon, double coverage,
                          const HorizonErrorTracker& errors, double scale,
                          const std::function<void(std::vector<double>&)>& fill_points) {
  Forecast out;
  out.model = std::move(model);
  out.coverage = coverage;
  out.observations = observations;
  if (observations == 0 || horizon < 1) return out;
  out.point.resize(static_cast<std::size_t>(horizon));
  fill_points(out.point);
  errors.fillIntervals(out, coverage, scale);
  return out;
}

}  // namespace pso::controller::engine
