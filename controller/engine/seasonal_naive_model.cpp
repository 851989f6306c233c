#include "controller/engine/seasonal_naive_model.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace pso::controller::engine {

SeasonalNaiveModel::SeasonalNaiveModel(const ForecastModelParams& params)
    : by_phase_(static_cast<std::size_t>(std::max(1, params.season_period)),
                std::numeric_limits<double>::quiet_NaN()),
      track_errors_(params.track_errors),
      robust_(params.robust),
      errors_(params.max_horizon, params.error_window, params.error_stride) {}

std::string SeasonalNaiveModel::name() const {
  return by_phase_.size() == 1 ? "naive" : "seasonal-naive";
}

void SeasonalNaiveModel::update(double value) {
  if (!std::isfinite(value)) {
    observeMissing();
    return;
  }
  if (track_errors_) errors_.observe(value);
  ++step_;
  const auto phase = static_cast<std::size_t>(step_ % period());
  bool accept = true;
  if (observations_ > 0) {
    // Screened either way: the screen's scale is the model's error scale.
    const double seasonal = by_phase_[phase];
    const OutlierScreen::Verdict verdict =
        screen_.screen(value - (std::isfinite(seasonal) ? seasonal : last_value_));
    if (robust_ && verdict.clipped) {
      accept = false;
      // Only the current run (one side) can turn out to be a shift, and only
      // its last values confirm one.
      if (std::abs(screen_.run()) == 1) held_.clear();
      if (held_.size() + 1 >= static_cast<std::size_t>(OutlierScreen::kShiftRun)) {
        held_.erase(held_.begin());
      }
      held_.push_back({step_, value});
    } else if (robust_ && verdict.shift) {
      for (const Held& h : held_) by_phase_[static_cast<std::size_t>(h.step % period())] = h.value;
    }
    if (accept) held_.clear();
  }
  if (accept) {
    by_phase_[phase] = value;
    last_value_ = value;
  }
  ++observations_;
  if (track_errors_ && errors_.wantsPath()) {
    path_.resize(static_cast<std::size_t>(errors_.maxHorizon()));
    pointForecast(path_);
    errors_.remember(path_, errorScale());
  }
}

void SeasonalNaiveModel::prefetch() const {
  prefetchBytes(this, sizeof(*this));
  // The phase update() reads (its error is against last season's value).
  __builtin_prefetch(&by_phase_[static_cast<std::size_t>((step_ + 1) % period())]);
}

void SeasonalNaiveModel::observeMissing() {
  if (track_errors_) errors_.skip();
  ++step_;
}

std::vector<double> SeasonalNaiveModel::pointPath(int horizon) const {
  std::vector<double> path(static_cast<std::size_t>(std::max(0, horizon)));
  for (int h = 1; h <= horizon; ++h) {
    const double seasonal = by_phase_[static_cast<std::size_t>((step_ + h) % period())];
    path[static_cast<std::size_t>(h - 1)] = std::isfinite(seasonal) ? seasonal : last_value_;
  }
  return path;
}

void SeasonalNaiveModel::pointForecast(std::vector<double>& out) const {
  for (std::size_t h = 0; h < out.size(); ++h) {
    const double seasonal =
        by_phase_[static_cast<std::size_t>((step_ + static_cast<int64_t>(h) + 1) % period())];
    out[h] = std::isfinite(seasonal) ? seasonal : last_value_;
  }
}

Forecast SeasonalNaiveModel::forecast(int horizon, double coverage) const {
  return assembleForecast(name(), observations_, horizon, coverage, errors_, errorScale(),
                          [&](std::vector<double>& points) { points = pointPath(horizon); });
}

std::string SeasonalNaiveModel::saveState() const {
  StateWriter writer;
  writer.putText("seasonal-naive").putInt(2).putInt(period()).putInt(track_errors_ ? 1 : 0);
  for (double v : by_phase_) writer.putDouble(v);
  writer.putInt(step_).putDouble(last_value_).putInt(observations_);
  writer.putInt(robust_ ? 1 : 0);
  screen_.save(writer);
  writer.putInt(static_cast<int64_t>(held_.size()));
  for (const Held& h : held_) writer.putInt(h.step).putDouble(h.value);
  errors_.save(writer);
  return writer.take();
}

Status SeasonalNaiveModel::loadState(const std::string& state) {
  StateReader reader(state, "seasonal-naive model state");
  reader.expectText("seasonal-naive");
  // Version 1 had no outlier screen: it loads robust, the screen cold.
  const int64_t version = reader.getInt(1, 2);
  const int64_t period = reader.getInt(1, kMaxSeasonPeriod);
  const bool track_errors = reader.getInt(0, 1) == 1;
  if (!reader.ok()) return reader.status();
  ForecastModelParams params;
  params.season_period = static_cast<int>(period);
  params.track_errors = track_errors;
  params.max_horizon = errors_.maxHorizon();
  SeasonalNaiveModel loaded(params);
  for (double& v : loaded.by_phase_) v = reader.getDouble();
  loaded.step_ = reader.getInt(-1, std::numeric_limits<int64_t>::max());
  loaded.last_value_ = reader.getDouble();
  loaded.observations_ = reader.getInt(0, std::numeric_limits<int64_t>::max());
  if (version >= 2) {
    loaded.robust_ = reader.getInt(0, 1) == 1;
    loaded.screen_.load(reader);
    const int64_t held = reader.getInt(0, OutlierScreen::kShiftRun - 1);
    for (int64_t i = 0; i < held && reader.ok(); ++i) {
      const int64_t step = reader.getInt(0, loaded.step_);
      loaded.held_.push_back({step, reader.getDouble()});
    }
  }
  if (version >= 2) {
    loaded.errors_.load(reader);
  } else {
    loaded.errors_.loadWindows(reader, 0.0);
    const double mae = loaded.errors_.oneStepMae();
    if (std::isfinite(mae)) loaded.screen_.start(mae);
  }
  if (Status status = reader.status(); !status.ok()) return status;
  *this = std::move(loaded);
  return {};
}

}  // namespace pso::controller::engine
