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
      origin_steps_(static_cast<std::size_t>(max_horizon_ / stride_ + 1), -1),
      origin_lengths_(origin_steps_.size(), 0),
      origin_paths_(origin_steps_.size() * static_cast<std::size_t>(max_horizon_), 0.0),
      errors_(static_cast<std::size_t>(max_horizon_) * static_cast<std::size_t>(window_), 0.0),
      error_heads_(static_cast<std::size_t>(max_horizon_), 0),
      error_sizes_(static_cast<std::size_t>(max_horizon_), 0) {}

void HorizonErrorTracker::advance() {
  ++step_;
  if (step_ == 0) {
    phase_ = 0;
    slot_ = 0;
  } else if (++phase_ == stride_) {
    phase_ = 0;
    if (++slot_ == origin_steps_.size()) slot_ = 0;
  }
}

bool HorizonErrorTracker::pushError(int h, double error, double& evicted) {
  const auto row = static_cast<std::size_t>(h - 1);
  const auto window = static_cast<uint32_t>(window_);
  double* ring = &errors_[row * static_cast<std::size_t>(window_)];
  uint32_t& head = error_heads_[row];
  uint32_t& size = error_sizes_[row];
  if (size == window) {
    evicted = ring[head];
    ring[head] = error;
    if (++head == window) head = 0;
    return true;
  }
  const uint32_t at = head + size;
  ring[at >= window ? at - window : at] = error;
  ++size;
  return false;
}

double HorizonErrorTracker::errorAt(int h, std::size_t i) const {
  const auto row = static_cast<std::size_t>(h - 1);
  const auto window = static_cast<std::size_t>(window_);
  const std::size_t at = error_heads_[row] + i;
  return errors_[row * window + (at >= window ? at - window : at)];
}

std::vector<double> HorizonErrorTracker::errorsAt(int h) const {
  std::vector<double> out(count(h));
  for (std::size_t i = 0; i < out.size(); ++i) out[i] = errorAt(h, i);
  return out;
}

void HorizonErrorTracker::observe(double actual) {
  advance();
  if (step_ == 0) return;
  // The kept origins (multiples of the stride) among step_ - max_horizon ..
  // step_ - 1, newest first, with their slots walking down.
  const std::size_t slots = origin_steps_.size();
  const auto width = static_cast<std::size_t>(max_horizon_);
  int64_t newest = step_ - phase_;
  std::size_t slot = slot_;
  if (phase_ == 0) {
    newest -= stride_;
    slot = slot == 0 ? slots - 1 : slot - 1;
  }
  for (int64_t origin = newest; origin >= 0 && origin >= step_ - max_horizon_; origin -= stride_) {
    const auto h = static_cast<int>(step_ - origin);
    const std::size_t at = slot;
    slot = slot == 0 ? slots - 1 : slot - 1;
    if (origin_steps_[at] != origin || origin_lengths_[at] < h) continue;
    const double predicted = origin_paths_[at * width + static_cast<std::size_t>(h - 1)];
    if (!std::isfinite(predicted)) continue;
    const double error = actual - predicted;
    double evicted = 0.0;
    const bool full = pushError(h, error, evicted);
    if (h == 1) {
      one_abs_ += std::abs(error) - (full ? std::abs(evicted) : 0.0);
      one_sq_ += error * error - (full ? evicted * evicted : 0.0);
      // Running sums drift by rounding: recount them once per window.
      if (++one_pushes_ >= static_cast<std::size_t>(window_)) recountOneStep();
    }
  }
}

void HorizonErrorTracker::recountOneStep() {
  one_abs_ = 0.0;
  one_sq_ = 0.0;
  for (std::size_t i = 0; i < error_sizes_[0]; ++i) {
    const double e = errorAt(1, i);
    one_abs_ += std::abs(e);
    one_sq_ += e * e;
  }
  one_pushes_ = 0;
}

void HorizonErrorTracker::skip() {
  advance();
}

void HorizonErrorTracker::remember(const std::vector<double>& path) {
  if (!wantsPath()) return;
  const std::size_t n = std::min(path.size(), static_cast<std::size_t>(max_horizon_));
  origin_steps_[slot_] = step_;
  origin_lengths_[slot_] = static_cast<int>(n);
  std::copy_n(path.begin(), n,
              origin_paths_.begin() +
                  static_cast<std::ptrdiff_t>(slot_ * static_cast<std::size_t>(max_horizon_)));
}

std::size_t HorizonErrorTracker::count(int h) const {
  if (h < 1 || h > max_horizon_) return 0;
  return error_sizes_[static_cast<std::size_t>(h - 1)];
}

double HorizonErrorTracker::oneStepMae() const {
  const std::size_t n = count(1);
  if (n == 0) return std::numeric_limits<double>::quiet_NaN();
  return std::max(0.0, one_abs_) / static_cast<double>(n);
}

double HorizonErrorTracker::oneStepRms() const {
  const std::size_t n = count(1);
  if (n == 0) return 0.0;
  return std::sqrt(std::max(0.0, one_sq_) / static_cast<double>(n));
}

std::pair<double, double> HorizonErrorTracker::offsets(int h, double coverage) const {
  if (count(h) >= kMinErrorsForQuantiles) {
    std::vector<double> scratch = errorsAt(h);
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
  const auto width = static_cast<std::size_t>(max_horizon_);
  for (std::size_t slot = 0; slot < origin_steps_.size(); ++slot) {
    writer.putInt(origin_steps_[slot]).putInt(origin_lengths_[slot]);
    for (int i = 0; i < origin_lengths_[slot]; ++i) {
      writer.putDouble(origin_paths_[slot * width + static_cast<std::size_t>(i)]);
    }
  }
  for (int h = 1; h <= max_horizon_; ++h) {
    writer.putInt(static_cast<int64_t>(count(h)));
    for (std::size_t i = 0; i < count(h); ++i) writer.putDouble(errorAt(h, i));
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
  if (step >= 0) {
    loaded.phase_ = static_cast<int>(step % stride);
    loaded.slot_ = static_cast<std::size_t>((step / stride) %
                                            static_cast<int64_t>(loaded.origin_steps_.size()));
  }
  const auto width = static_cast<std::size_t>(max_horizon);
  for (std::size_t slot = 0; slot < loaded.origin_steps_.size() && reader.ok(); ++slot) {
    loaded.origin_steps_[slot] = reader.getInt(-1, step);
    const int64_t n = reader.getInt(0, max_horizon);
    loaded.origin_lengths_[slot] = static_cast<int>(n);
    for (int64_t i = 0; i < n && reader.ok(); ++i) {
      loaded.origin_paths_[slot * width + static_cast<std::size_t>(i)] = reader.getDouble();
    }
  }
  for (int h = 1; h <= max_horizon && reader.ok(); ++h) {
    const int64_t n = reader.getInt(0, window);
    double evicted = 0.0;
    for (int64_t i = 0; i < n && reader.ok(); ++i) loaded.pushError(h, reader.getDouble(), evicted);
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
