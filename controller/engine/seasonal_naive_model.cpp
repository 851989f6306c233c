#include "controller/engine/seasonal_naive_model.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace pso::controller::engine {

namespace {
constexpr int64_t kMaxPeriod = 10000000;
}

SeasonalNaiveModel::SeasonalNaiveModel(const ForecastModelParams& params)
    : by_phase_(static_cast<std::size_t>(std::max(1, params.season_period)),
                std::numeric_limits<double>::quiet_NaN()),
      track_errors_(params.track_errors),
      errors_(params.max_horizon, params.error_window) {}

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
  by_phase_[static_cast<std::size_t>(step_ % period())] = value;
  last_value_ = value;
  ++observations_;
  if (track_errors_ && errors_.wantsPath()) {
    path_.resize(static_cast<std::size_t>(errors_.maxHorizon()));
    pointForecast(path_);
    errors_.remember(path_);
  }
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
  return assembleForecast(name(), observations_, horizon, coverage, errors_,
                          [&](std::vector<double>& points) { points = pointPath(horizon); });
}

std::string SeasonalNaiveModel::saveState() const {
  StateWriter writer;
  writer.putText("seasonal-naive").putInt(1).putInt(period()).putInt(track_errors_ ? 1 : 0);
  for (double v : by_phase_) writer.putDouble(v);
  writer.putInt(step_).putDouble(last_value_).putInt(observations_);
  errors_.save(writer);
  return writer.str();
}

Status SeasonalNaiveModel::loadState(const std::string& state) {
  StateReader reader(state, "seasonal-naive model state");
  reader.expectText("seasonal-naive");
  if (reader.getInt() != 1 && reader.ok()) reader.fail("unsupported version");
  const int64_t period = reader.getInt(1, kMaxPeriod);
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
  loaded.errors_.load(reader);
  if (Status status = reader.status(); !status.ok()) return status;
  *this = std::move(loaded);
  return {};
}

}  // namespace pso::controller::engine
