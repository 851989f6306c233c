#include "controller/engine/horizon_errors.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "controller/engine/statistics.h"

namespace pso::controller::engine {

namespace {
constexpr int64_t kMaxTrackedHorizon = 10000;
constexpr int64_t kMaxErrorWindow = 100000;
}  // namespace

HorizonErrorTracker::HorizonErrorTracker(int max_horizon, int window, int stride)
    : max_horizon_(std::max(1, max_horizon)),
      window_(std::max(2, window)),
      stride_(std::max(1, stride)),
      origins_(static_cast<std::size_t>(max_horizon_ / stride_ + 1)),
      errors_(static_cast<std::size_t>(max_horizon_),
              RingBuffer<double>(static_cast<std::size_t>(window_))) {}

void HorizonErrorTracker::observe(double actual) {
  ++step_;
  if (step_ == 0) return;
  // The kept origins (multiples of the stride) among step_ - max_horizon ..
  // step_ - 1, newest first; the slot index walks down without a division
  // per origin.
  const int64_t newest = (step_ - 1) - (step_ - 1) % stride_;
  const auto slots = origins_.size();
  std::size_t slot_index =
      static_cast<std::size_t>((newest / stride_) % static_cast<int64_t>(slots));
  for (int64_t origin = newest; origin >= 0 && origin >= step_ - max_horizon_; origin -= stride_) {
    const auto h = static_cast<int>(step_ - origin);
    const Origin& slot = origins_[slot_index];
    slot_index = slot_index == 0 ? slots - 1 : slot_index - 1;
    if (slot.step != origin || slot.path.size() < static_cast<std::size_t>(h)) continue;
    const double predicted = slot.path[static_cast<std::size_t>(h - 1)];
    if (!std::isfinite(predicted)) continue;
    const double error = actual - predicted;
    double evicted = 0.0;
    RingBuffer<double>& errors = errors_[static_cast<std::size_t>(h - 1)];
    const bool full = errors.full();
    errors.push(error, &evicted);
    if (h == 1) {
      one_abs_ += std::abs(error) - (full ? std::abs(evicted) : 0.0);
      one_sq_ += error * error - (full ? evicted * evicted : 0.0);
      // Running sums drift by rounding: recount them once per window.
      if (++one_pushes_ >= errors.capacity()) recountOneStep();
    }
  }
}

void HorizonErrorTracker::recountOneStep() {
  const RingBuffer<double>& one = errors_[0];
  one_abs_ = 0.0;
  one_sq_ = 0.0;
  for (std::size_t i = 0; i < one.size(); ++i) {
    one_abs_ += std::abs(one[i]);
    one_sq_ += one[i] * one[i];
  }
  one_pushes_ = 0;
}

void HorizonErrorTracker::skip() {
  ++step_;
}

void HorizonErrorTracker::remember(const std::vector<double>& path) {
  if (step_ < 0 || step_ % stride_ != 0) return;
  Origin& slot =
      origins_[static_cast<std::size_t>((step_ / stride_) % static_cast<int64_t>(origins_.size()))];
  slot.step = step_;
  const std::size_t n = std::min(path.size(), static_cast<std::size_t>(max_horizon_));
  slot.path.assign(path.begin(), path.begin() + static_cast<std::ptrdiff_t>(n));
}

std::size_t HorizonErrorTracker::count(int h) const {
  if (h < 1 || h > max_horizon_) return 0;
  return errors_[static_cast<std::size_t>(h - 1)].size();
}

double HorizonErrorTracker::oneStepMae() const {
  const RingBuffer<double>& one = errors_[0];
  if (one.empty()) return std::numeric_limits<double>::quiet_NaN();
  return std::max(0.0, one_abs_) / static_cast<double>(one.size());
}

double HorizonErrorTracker::oneStepRms() const {
  const RingBuffer<double>& one = errors_[0];
  if (one.empty()) return 0.0;
  return std::sqrt(std::max(0.0, one_sq_) / static_cast<double>(one.size()));
}

std::pair<double, double> HorizonErrorTracker::offsets(int h, double coverage) const {
  const RingBuffer<double>& errors = errors_[static_cast<std::size_t>(h - 1)];
  if (errors.size() >= kMinErrorsForQuantiles) {
    std::vector<double> scratch = errors.toVector();
    const double tail = (1.0 - std::clamp(coverage, 0.0, 1.0)) / 2.0;
    const double lo = empiricalQuantile(scratch, tail);
    const double hi = empiricalQuantile(scratch, 1.0 - tail);
    // A biased model can have both quantiles on one side of zero; the interval
    // still follows the errors, but never excludes the point forecast itself.
    return {std::min(lo, 0.0), std::max(hi, 0.0)};
  }
  // Too few errors at this horizon: random-walk growth of the one-step spread.
  const double half = centralZ(coverage) * oneStepRms() * std::sqrt(static_cast<double>(h));
  return {-half, half};
}

void HorizonErrorTracker::fillIntervals(Forecast& forecast, double coverage) const {
  forecast.coverage = coverage;
  forecast.backtest_mae = oneStepMae();
  const std::size_t n = forecast.point.size();
  forecast.lo.resize(n);
  forecast.hi.resize(n);
  std::vector<std::pair<double, double>> tracked;
  tracked.reserve(std::min<std::size_t>(n, static_cast<std::size_t>(max_horizon_)));
  for (std::size_t i = 0; i < n && i < static_cast<std::size_t>(max_horizon_); ++i) {
    tracked.push_back(offsets(static_cast<int>(i) + 1, coverage));
  }
  for (std::size_t i = 0; i < n; ++i) {
    std::pair<double, double> offset;
    if (i < tracked.size()) {
      offset = tracked[i];
    } else {
      const double scale = std::sqrt(static_cast<double>(i + 1) / max_horizon_);
      offset = {tracked.back().first * scale, tracked.back().second * scale};
    }
    forecast.lo[i] = forecast.point[i] + offset.first;
    forecast.hi[i] = forecast.point[i] + offset.second;
  }
}

void HorizonErrorTracker::save(StateWriter& writer) const {
  writer.putInt(max_horizon_).putInt(window_).putInt(stride_).putInt(step_);
  for (const Origin& origin : origins_) {
    writer.putInt(origin.step).putInt(static_cast<int64_t>(origin.path.size()));
    for (double v : origin.path) writer.putDouble(v);
  }
  for (const RingBuffer<double>& errors : errors_) {
    writer.putInt(static_cast<int64_t>(errors.size()));
    for (std::size_t i = 0; i < errors.size(); ++i) writer.putDouble(errors[i]);
  }
  // The running one-step sums as they are, so a restored tracker reports the
  // very same figures (a recount could differ in the last bits).
  writer.putDouble(one_abs_).putDouble(one_sq_).putInt(static_cast<int64_t>(one_pushes_));
}

void HorizonErrorTracker::load(StateReader& reader) {
  const auto max_horizon = static_cast<int>(reader.getInt(1, kMaxTrackedHorizon));
  const auto window = static_cast<int>(reader.getInt(2, kMaxErrorWindow));
  const auto stride = static_cast<int>(reader.getInt(1, kMaxTrackedHorizon));
  const int64_t step = reader.getInt(-1, std::numeric_limits<int64_t>::max());
  if (!reader.ok()) return;
  HorizonErrorTracker loaded(max_horizon, window, stride);
  loaded.step_ = step;
  for (Origin& origin : loaded.origins_) {
    origin.step = reader.getInt(-1, step);
    const int64_t n = reader.getInt(0, max_horizon);
    for (int64_t i = 0; i < n && reader.ok(); ++i) origin.path.push_back(reader.getDouble());
  }
  for (RingBuffer<double>& errors : loaded.errors_) {
    const int64_t n = reader.getInt(0, window);
    for (int64_t i = 0; i < n && reader.ok(); ++i) errors.push(reader.getDouble());
  }
  loaded.one_abs_ = reader.getDouble();
  loaded.one_sq_ = reader.getDouble();
  loaded.one_pushes_ = static_cast<std::size_t>(reader.getInt(0, window));
  if (reader.ok() && !(std::isfinite(loaded.one_abs_) && std::isfinite(loaded.one_sq_))) {
    reader.fail("non-finite error sums");
  }
  if (reader.ok()) *this = std::move(loaded);
}

Forecast assembleForecast(std::string model, int64_t observations, int horizon, double coverage,
                          const HorizonErrorTracker& errors,
                          const std::function<void(std::vector<double>&)>& fill_points) {
  Forecast out;
  out.model = std::move(model);
  out.coverage = coverage;
  out.observations = observations;
  if (observations == 0 || horizon < 1) return out;
  out.point.resize(static_cast<std::size_t>(horizon));
  fill_points(out.point);
  errors.fillIntervals(out, coverage);
  return out;
}

}  // namespace pso::controller::engine
