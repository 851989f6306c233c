#include "controller/engine/holt_winters_model.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace pso::controller::engine {

namespace {

constexpr double kAlphaGrid[] = {0.02, 0.05, 0.1, 0.2, 0.3, 0.5, 0.7, 0.9};
constexpr double kGammaGrid[] = {0.0, 0.02, 0.05, 0.1, 0.2, 0.4};
constexpr double kDampedPhiGrid[] = {0.8, 0.9, 0.95, 0.98};
constexpr double kUndampedPhiGrid[] = {1.0};
constexpr double kBetaGrid[] = {0.0, 0.02, 0.1};

/// An error beyond this many running mean absolute errors is clipped.
constexpr double kClip = 3.5;
/// Consecutive clipped errors on one side taken as a level shift.
constexpr int kShiftRun = 3;
/// Rate of the running mean absolute error (about 50 steps).
constexpr double kScaleRate = 0.02;
/// A single error counts at most this many scales into the running scale.
constexpr double kScaleCap = 5.0;
/// The recent error must exceed the searched one by this factor to force an
/// early search.
constexpr double kDriftFactor = 1.5;

constexpr int64_t kMaxInt = std::numeric_limits<int64_t>::max();
constexpr int64_t kMaxPeriod = 10000000;
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

/// phi + phi^2 + ... + phi^h
double dampedSum(double phi, int h) {
  if (phi == 1.0) return h;
  return phi * (1.0 - std::pow(phi, h)) / (1.0 - phi);
}

}  // namespace

HoltWintersModel::HoltWintersModel(const ForecastModelParams& params)
    : params_(params),
      period_(std::max(1, params.season_period)),
      history_(static_cast<std::size_t>(std::max(3, params.fit_seasons)) *
               static_cast<std::size_t>(std::max(1, params.season_period))),
      errors_(params.max_horizon, params.error_window) {
  if (!params_.damped) params_hw_.phi = 1.0;
  state_.season.assign(static_cast<std::size_t>(period_), 0.0);
}

double HoltWintersModel::learn(const Smoothing& p, State& s, double value, std::size_t phase) {
  double& seasonal = s.season[phase];
  const double error = value - (s.level + p.phi * s.trend + seasonal);
  const double magnitude = std::abs(error);
  double used = error;
  const double bound = kClip * s.scale;
  if (s.scale > 0.0 && magnitude > bound) {
    const int side = error > 0 ? 1 : -1;
    s.run = s.run * side > 0 ? s.run + side : side;
    if (std::abs(s.run) >= kShiftRun) {
      // A level shift: the new level explains the value with the known
      // seasonal profile; the profile itself is not touched.
      s.level = value - seasonal;
      s.trend *= p.phi;
      s.run = 0;
      s.scale += kScaleRate * (std::min(magnitude, kScaleCap * s.scale) - s.scale);
      return error;
    }
    used = side * bound;
  } else {
    s.run = 0;
  }
  s.level += p.phi * s.trend + p.alpha * used;
  s.trend = p.phi * s.trend + p.alpha * p.beta * used;
  seasonal += p.gamma * (1.0 - p.alpha) * used;
  s.scale = s.scale > 0.0
                ? s.scale + kScaleRate * (std::min(magnitude, kScaleCap * s.scale) - s.scale)
                : magnitude;
  return error;
}

void HoltWintersModel::advance(const Smoothing& p, State& s) {
  s.level += p.phi * s.trend;
  s.trend *= p.phi;
}

bool HoltWintersModel::startState(std::size_t begin, State& out) const {
  const auto m = static_cast<std::size_t>(period_);
  if (begin + 2 * m > history_.size()) return false;
  double mean[2] = {0.0, 0.0};
  std::size_t count[2] = {0, 0};
  for (std::size_t k = 0; k < 2; ++k) {
    for (std::size_t j = 0; j < m; ++j) {
      const double v = history_[begin + k * m + j];
      if (!std::isfinite(v)) continue;
      mean[k] += v;
      ++count[k];
    }
    // A season mostly lost to gaps says too little to start from.
    if (count[k] == 0 || count[k] * 4 < m) return false;
    mean[k] /= static_cast<double>(count[k]);
  }
  const double md = static_cast<double>(m);
  const double trend = (mean[1] - mean[0]) / md;
  const int64_t first_step = step_ - static_cast<int64_t>(history_.size()) + 1;
  out.season.assign(m, 0.0);
  double profile_mean = 0.0;
  for (std::size_t j = 0; j < m; ++j) {
    double sum = 0.0;
    int n = 0;
    for (std::size_t k = 0; k < 2; ++k) {
      const double v = history_[begin + k * m + j];
      if (!std::isfinite(v)) continue;
      sum += v - (mean[k] + trend * (static_cast<double>(j) - (md - 1.0) / 2.0));
      ++n;
    }
    const auto phase = static_cast<std::size_t>((first_step + static_cast<int64_t>(begin + j)) %
                                                static_cast<int64_t>(m));
    out.season[phase] = n > 0 ? sum / n : 0.0;
    profile_mean += out.season[phase];
  }
  profile_mean /= md;
  for (double& s : out.season) s -= profile_mean;
  out.trend = trend;
  // The level just before history_[begin], so that the replay's first step
  // lands on the first season's mean line.
  out.level = mean[0] - trend * (md + 1.0) / 2.0;
  // The spread of the two seasons around line + profile starts the scale.
  double spread = 0.0;
  std::size_t n = 0;
  for (std::size_t i = 0; i < 2 * m; ++i) {
    const double v = history_[begin + i];
    if (!std::isfinite(v)) continue;
    const auto phase = static_cast<std::size_t>((first_step + static_cast<int64_t>(begin + i)) %
                                                static_cast<int64_t>(m));
    spread += std::abs(v - (out.level + trend * static_cast<double>(i + 1) + out.season[phase]));
    ++n;
  }
  out.scale = n > 0 ? spread / static_cast<double>(n) : 0.0;
  out.run = 0;
  return true;
}

double HoltWintersModel::replayScore(const Smoothing& p, const State& start) const {
  const auto m = static_cast<std::size_t>(period_);
  const std::size_t size = history_.size();
  State s = start;
  // Score out of sample when the window allows, else on the second season.
  const std::size_t score_from = size >= 3 * m ? 2 * m : m;
  const int horizon =
      std::min(params_.fit_horizon > 0 ? params_.fit_horizon : params_.max_horizon, period_);
  const double damping = dampedSum(p.phi, horizon);
  std::vector<double> ahead(static_cast<std::size_t>(horizon), kNaN);
  const int64_t first_step = step_ - static_cast<int64_t>(size) + 1;
  auto phase = static_cast<std::size_t>(first_step % static_cast<int64_t>(m));
  double sum = 0.0;
  std::size_t n = 0;
  for (std::size_t i = 0; i < size; ++i) {
    const double v = history_[i];
    double& slot = ahead[i % static_cast<std::size_t>(horizon)];
    if (std::isfinite(v)) {
      const double error = learn(p, s, v, phase);
      if (i >= score_from) {
        sum += std::abs(error);
        ++n;
        if (std::isfinite(slot)) {
          sum += std::abs(v - slot);
          ++n;
        }
      }
    } else {
      advance(p, s);
    }
    phase = phase + 1 == m ? 0 : phase + 1;
    slot =
        s.level + damping * s.trend + s.season[(phase + static_cast<std::size_t>(horizon) - 1) % m];
  }
  return n > 0 ? sum / static_cast<double>(n) : std::numeric_limits<double>::infinity();
}

void HoltWintersModel::search() {
  const auto m = static_cast<std::size_t>(period_);
  // Every replay starts from the same state, made once.
  State start;
  if (history_.size() < 2 * m + 1 || !startState(0, start)) return;
  Smoothing best = params_hw_;
  double best_score = replayScore(best, start);
  if (!std::isfinite(best_score)) return;
  auto tryGrid = [&](double Smoothing::*field, const double* grid, std::size_t n) {
    for (std::size_t i = 0; i < n; ++i) {
      if (best.*field == grid[i]) continue;
      Smoothing candidate = best;
      candidate.*field = grid[i];
      const double score = replayScore(candidate, start);
      if (score < best_score) {
        best_score = score;
        best = candidate;
      }
    }
  };
  tryGrid(&Smoothing::alpha, kAlphaGrid, std::size(kAlphaGrid));
  tryGrid(&Smoothing::gamma, kGammaGrid, std::size(kGammaGrid));
  if (params_.damped) {
    tryGrid(&Smoothing::phi, kDampedPhiGrid, std::size(kDampedPhiGrid));
  } else {
    tryGrid(&Smoothing::phi, kUndampedPhiGrid, std::size(kUndampedPhiGrid));
  }
  tryGrid(&Smoothing::beta, kBetaGrid, std::size(kBetaGrid));
  params_hw_ = best;
  searched_error_ = best_score;
  recent_error_ = best_score;
  since_search_ = 0;
}

void HoltWintersModel::initialise() {
  const auto m = static_cast<std::size_t>(period_);
  if (history_.size() < 2 * m) return;
  // The last two seasons start the state (earlier ones may have been sparse).
  const std::size_t begin = history_.size() - 2 * m;
  State start;
  if (!startState(begin, start)) return;
  search();
  const int64_t first_step = step_ - static_cast<int64_t>(history_.size()) + 1;
  for (std::size_t i = begin; i < history_.size(); ++i) {
    const auto phase =
        static_cast<std::size_t>((first_step + static_cast<int64_t>(i)) % static_cast<int64_t>(m));
    if (std::isfinite(history_[i])) {
      learn(params_hw_, start, history_[i], phase);
    } else {
      advance(params_hw_, start);
    }
  }
  state_ = std::move(start);
  initialized_ = true;
  since_search_ = 0;
}

double HoltWintersModel::pointAt(const State& s, const Smoothing& p, int64_t last_step,
                                 int h) const {
  return s.level + dampedSum(p.phi, h) * s.trend +
         s.season[static_cast<std::size_t>((last_step + h) % period_)];
}

double HoltWintersModel::seasonalAhead(int h) const {
  if (step_ < 0) return 0.0;
  return state_.season[static_cast<std::size_t>((step_ + h) % period_)];
}

void HoltWintersModel::pointForecast(std::vector<double>& out) const {
  if (!initialized_) {
    std::fill(out.begin(), out.end(), last_value_);
    return;
  }
  const auto m = static_cast<std::size_t>(period_);
  auto phase = static_cast<std::size_t>(step_ % period_);
  double damping = 0.0;
  double power = 1.0;
  for (double& v : out) {
    power *= params_hw_.phi;
    damping += power;
    phase = phase + 1 == m ? 0 : phase + 1;
    v = state_.level + damping * state_.trend + state_.season[phase];
  }
}

void HoltWintersModel::update(double value) {
  if (!std::isfinite(value)) {
    observeMissing();
    return;
  }
  if (params_.track_errors) errors_.observe(value);
  ++step_;
  ++observations_;
  last_value_ = value;
  history_.push(value);
  if (initialized_) {
    const double error =
        learn(params_hw_, state_, value, static_cast<std::size_t>(step_ % period_));
    recent_error_ += kScaleRate * (std::abs(error) - recent_error_);
    ++since_search_;
    const bool due = since_search_ >= static_cast<int64_t>(params_.refit_seasons) * period_;
    const bool drifted = since_search_ >= std::max<int64_t>(period_ / 4, 1) &&
                         searched_error_ > 0.0 && recent_error_ > kDriftFactor * searched_error_;
    if (due || drifted) search();
  } else if (step_ + 1 >= 2 * static_cast<int64_t>(period_)) {
    initialise();
  }
  if (params_.track_errors && errors_.wantsPath()) {
    path_.resize(static_cast<std::size_t>(errors_.maxHorizon()));
    pointForecast(path_);
    errors_.remember(path_);
  }
}

void HoltWintersModel::observeMissing() {
  if (params_.track_errors) errors_.skip();
  ++step_;
  history_.push(kNaN);
  if (initialized_) {
    advance(params_hw_, state_);
    ++since_search_;
  } else if (observations_ > 0 && step_ + 1 >= 2 * static_cast<int64_t>(period_)) {
    initialise();
  }
}

Forecast HoltWintersModel::forecast(int horizon, double coverage) const {
  return assembleForecast(name(), observations_, horizon, coverage, errors_,
                          [&](std::vector<double>& points) { pointForecast(points); });
}

std::string HoltWintersModel::saveState() const {
  StateWriter w;
  w.putText("holt-winters").putInt(1);
  w.putInt(params_.max_horizon)
      .putInt(params_.error_window)
      .putInt(params_.fit_seasons)
      .putInt(params_.refit_seasons)
      .putInt(params_.fit_horizon)
      .putInt(params_.damped ? 1 : 0)
      .putInt(params_.track_errors ? 1 : 0)
      .putInt(period_);
  w.putDouble(params_hw_.alpha)
      .putDouble(params_hw_.beta)
      .putDouble(params_hw_.gamma)
      .putDouble(params_hw_.phi);
  w.putDouble(state_.level).putDouble(state_.trend).putDouble(state_.scale).putInt(state_.run);
  for (double s : state_.season) w.putDouble(s);
  w.putInt(initialized_ ? 1 : 0)
      .putInt(step_)
      .putInt(observations_)
      .putDouble(last_value_)
      .putInt(since_search_)
      .putDouble(searched_error_)
      .putDouble(recent_error_);
  w.putInt(static_cast<int64_t>(history_.size()));
  for (std::size_t i = 0; i < history_.size(); ++i) w.putDouble(history_[i]);
  errors_.save(w);
  return w.str();
}

Status HoltWintersModel::loadState(const std::string& state) {
  StateReader r(state, "holt-winters model state");
  r.expectText("holt-winters");
  if (r.getInt() != 1 && r.ok()) r.fail("unsupported version");
  ForecastModelParams params = params_;
  params.max_horizon = static_cast<int>(r.getInt(1, 10000));
  params.error_window = static_cast<int>(r.getInt(2, 1000000));
  params.fit_seasons = static_cast<int>(r.getInt(3, 1000));
  params.refit_seasons = static_cast<int>(r.getInt(1, 1000));
  params.fit_horizon = static_cast<int>(r.getInt(0, 10000));
  params.damped = r.getInt(0, 1) == 1;
  params.track_errors = r.getInt(0, 1) == 1;
  params.season_period = static_cast<int>(r.getInt(1, kMaxPeriod));
  if (!r.ok()) return r.status();

  HoltWintersModel loaded(params);
  Smoothing& p = loaded.params_hw_;
  p.alpha = r.getDouble();
  p.beta = r.getDouble();
  p.gamma = r.getDouble();
  p.phi = r.getDouble();
  State& s = loaded.state_;
  s.level = r.getDouble();
  s.trend = r.getDouble();
  s.scale = r.getDouble();
  s.run = static_cast<int>(r.getInt(-kShiftRun, kShiftRun));
  for (double& v : s.season) v = r.getDouble();
  loaded.initialized_ = r.getInt(0, 1) == 1;
  loaded.step_ = r.getInt(-1, kMaxInt);
  loaded.observations_ = r.getInt(0, kMaxInt);
  loaded.last_value_ = r.getDouble();
  loaded.since_search_ = r.getInt(0, kMaxInt);
  loaded.searched_error_ = r.getDouble();
  loaded.recent_error_ = r.getDouble();
  const int64_t kept = r.getInt(0, static_cast<int64_t>(loaded.history_.capacity()));
  for (int64_t i = 0; i < kept && r.ok(); ++i) loaded.history_.push(r.getDouble());
  loaded.errors_.load(r);
  auto unit = [](double v) { return v >= 0.0 && v <= 1.0; };
  bool finite_state = std::isfinite(s.level) && std::isfinite(s.trend) && std::isfinite(s.scale);
  for (double v : s.season) finite_state = finite_state && std::isfinite(v);
  if (r.ok() && (!unit(p.alpha) || !unit(p.beta) || !unit(p.gamma) || !unit(p.phi) ||
                 !finite_state || s.scale < 0.0)) {
    r.fail("smoothing parameters outside [0, 1] or a non-finite state");
  }
  if (Status status = r.status(); !status.ok()) return status;
  *this = std::move(loaded);
  return {};
}

}  // namespace pso::controller::engine
