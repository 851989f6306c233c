#include "controller/engine/holt_model.h"

#include <cmath>
#include <limits>

#include "controller/engine/statistics.h"

namespace pso::controller::engine {

namespace {

constexpr double kHoltAlphaGrid[] = {0.05, 0.1, 0.2, 0.3, 0.45, 0.6, 0.8, 1.0};
constexpr double kHoltBetaGrid[] = {0.01, 0.05, 0.1, 0.2, 0.4};
// Undamped first: on a tie (an exact line) the plain trend wins.
constexpr double kHoltDampedPhiGrid[] = {1.0, 0.98, 0.9, 0.8};
constexpr double kHoltUndampedPhiGrid[] = {1.0};

constexpr int64_t kMaxParam = 1000000;

}  // namespace

double HoltModel::Smoother::learn(double value) {
  ++since_seen;
  double scored = kNaN;
  if (seen == 0) {
    level = value;
    trend = 0.0;
  } else if (seen == 1) {
    // The first slope spans any gap between the first two values.
    trend = (value - level) / static_cast<double>(since_seen);
    level = value;
  } else {
    const double predicted = level + phi * trend;
    const OutlierScreen::Verdict verdict = screen.screen(value - predicted);
    scored = verdict.scored;
    if (verdict.shift) {
      // The series has moved: the level re-anchors on the value; the trend
      // learned before is kept (damped), not rebuilt from the jump.
      level = value;
      trend *= phi;
      shifted = true;
    } else {
      // Error-correction form of Holt's update, with the screened error; a
      // clipped one (a suspected outlier) says nothing about the slope.
      level = predicted + alpha * verdict.used;
      trend = phi * trend + (verdict.clipped ? 0.0 : alpha * beta * verdict.used);
    }
  }
  ++seen;
  since_seen = 0;
  return scored;
}

void HoltModel::Smoother::advance() {
  if (seen == 0) return;
  ++since_seen;
  if (seen == 1) return;  // no slope known yet: the level stays
  level += phi * trend;
  trend *= phi;
}

double HoltModel::Smoother::pointAt(int h) const {
  if (phi == 1.0) return level + static_cast<double>(h) * trend;
  // phi + phi^2 + ... + phi^h
  const double damping = phi * (1.0 - std::pow(phi, h)) / (1.0 - phi);
  return level + damping * trend;
}

HoltModel::HoltModel(const ForecastModelParams& params)
    : params_(params),
      history_(static_cast<std::size_t>(std::max(4, params.fit_window))),
      errors_(params.max_horizon, params.error_window, params.error_stride) {}

void HoltModel::update(double value) {
  if (!std::isfinite(value)) {
    observeMissing();
    return;
  }
  if (params_.track_errors) errors_.observe(value);
  smoother_.shifted = false;
  smoother_.learn(value);
  history_.push(value);
  ++observations_;
  ++since_refit_;
  // A confirmed level shift also brings the parameter search forward: what
  // suited the old regime may not suit the new one.
  const bool due =
      fitted_ ? since_refit_ >= params_.refit_every : observations_ >= firstFitAt(params_);
  if (due || smoother_.shifted) refit(smoother_.shifted);
  if (params_.track_errors && errors_.wantsPath()) {
    path_.resize(static_cast<std::size_t>(errors_.maxHorizon()));
    pointForecast(path_);
    errors_.remember(path_, errorScale());
  }
}

void HoltModel::prefetch() const {
  prefetchBytes(this, sizeof(*this));
  __builtin_prefetch(history_.nextSlot());
}

void HoltModel::observeMissing() {
  if (params_.track_errors) errors_.skip();
  smoother_.advance();
  history_.push(kNaN);
}

void HoltModel::refit(bool shift) {
  std::size_t finite_values = 0;
  for (std::size_t i = 0; i < history_.size(); ++i) {
    if (std::isfinite(history_[i])) ++finite_values;
  }
  if (finite_values < 3) return;

  const bool damped = params_.damped;
  const double* phis = damped ? kHoltDampedPhiGrid : kHoltUndampedPhiGrid;
  const std::size_t phi_count =
      damped ? std::size(kHoltDampedPhiGrid) : std::size(kHoltUndampedPhiGrid);

  auto replay = [&](double alpha, double beta, double phi, double& sse) {
    Smoother candidate;
    candidate.alpha = alpha;
    candidate.beta = beta;
    candidate.phi = phi;
    sse = 0.0;
    for (std::size_t i = 0; i < history_.size(); ++i) {
      const double value = history_[i];
      if (!std::isfinite(value)) {
        candidate.advance();
        continue;
      }
      // The screened error: a jump or a spike in the window does not
      // decide the parameters.
      const double error = candidate.learn(value);
      if (std::isfinite(error)) sse += error * error;
    }
    return candidate;
  };

  Smoother best;
  double best_sse = std::numeric_limits<double>::infinity();
  auto consider = [&](double alpha, double beta, double phi) {
    double sse = 0.0;
    Smoother candidate = replay(alpha, beta, phi, sse);
    // Strictly smaller: ties keep the earlier (smoother, or current) point.
    if (sse < best_sse) {
      best_sse = sse;
      best = candidate;
    }
  };
  if (!fitted_) {
    // The first search (on firstFitAt() values, cheap) covers the whole grid.
    for (double alpha : kHoltAlphaGrid) {
      for (double beta : kHoltBetaGrid) {
        for (std::size_t p = 0; p < phi_count; ++p) consider(alpha, beta, phis[p]);
      }
    }
  } else {
    // Later searches move one parameter at a time from the current ones
    // (coordinate descent): a tenth of the replays of the full grid, which
    // keeps the amortised cost per update small for thousands of series.
    consider(smoother_.alpha, smoother_.beta, smoother_.phi);
    // A periodic search moves one parameter, each in turn (a third of the
    // replays); a level shift moves all three.
    const int which = shift ? -1 : static_cast<int>(refits_ % 3);
    if (which < 0 || which == 0) {
      for (double alpha : kHoltAlphaGrid) consider(alpha, best.beta, best.phi);
    }
    if (which < 0 || which == 1) {
      for (double beta : kHoltBetaGrid) consider(best.alpha, beta, best.phi);
    }
    if (which < 0 || which == 2) {
      for (std::size_t p = 0; p < phi_count; ++p) consider(best.alpha, best.beta, phis[p]);
    }
  }
  // The replay ends at the present, so its final state is the current state
  // under the chosen parameters, learned from the window only.
  smoother_ = best;
  // The first fit starts the refit schedule part-way through its period
  // (refit_phase), so that systems that start together do not all refit in the
  // same cycle afterwards.
  since_refit_ = fitted_ ? 0 : params_.refit_phase % std::max(1, params_.refit_every);
  fitted_ = true;
  ++refits_;
}

std::vector<double> HoltModel::pointPath(int horizon) const {
  std::vector<double> path(static_cast<std::size_t>(std::max(0, horizon)));
  pointForecast(path);
  return path;
}

void HoltModel::pointForecast(std::vector<double>& out) const {
  if (smoother_.phi == 1.0) {
    for (std::size_t h = 0; h < out.size(); ++h)
      out[h] = smoother_.pointAt(static_cast<int>(h) + 1);
    return;
  }
  // phi + phi^2 + ... + phi^h, accumulated rather than a pow() per step.
  double damping = 0.0;
  double power = 1.0;
  for (double& v : out) {
    power *= smoother_.phi;
    damping += power;
    v = smoother_.level + damping * smoother_.trend;
  }
}

Forecast HoltModel::forecast(int horizon, double coverage) const {
  return assembleForecast(name(), observations_, horizon, coverage, errors_, errorScale(),
                          [&](std::vector<double>& points) { points = pointPath(horizon); });
}

std::string HoltModel::saveState() const {
  StateWriter writer;
  writer.putText("holt").putInt(2);
  writer.putInt(params_.max_horizon)
      .putInt(params_.error_window)
      .putInt(params_.fit_window)
      .putInt(params_.warmup)
      .putInt(params_.refit_every)
      .putInt(params_.damped ? 1 : 0);
  writer.putDouble(smoother_.alpha)
      .putDouble(smoother_.beta)
      .putDouble(smoother_.phi)
      .putDouble(smoother_.level)
      .putDouble(smoother_.trend)
      .putInt(smoother_.seen)
      .putInt(smoother_.since_seen);
  smoother_.screen.save(writer);
  writer.putInt(observations_).putInt(since_refit_).putInt(fitted_ ? 1 : 0);
  writer.putInt(params_.track_errors ? 1 : 0).putInt(refits_);
  writer.putInt(static_cast<int64_t>(history_.size()));
  for (std::size_t i = 0; i < history_.size(); ++i) writer.putDouble(history_[i]);
  errors_.save(writer);
  return writer.take();
}

Status HoltModel::loadState(const std::string& state) {
  StateReader reader(state, "holt model state");
  reader.expectText("holt");
  // Version 1 had no outlier screen (it starts cold) and kept a run of large
  // errors of its own (read and dropped).
  const int64_t version = reader.getInt(1, 2);
  ForecastModelParams params = params_;
  params.max_horizon = static_cast<int>(reader.getInt(1, 10000));
  params.error_window = static_cast<int>(reader.getInt(2, kMaxParam));
  params.fit_window = static_cast<int>(reader.getInt(4, kMaxParam));
  params.warmup = static_cast<int>(reader.getInt(1, kMaxParam));
  params.refit_every = static_cast<int>(reader.getInt(1, kMaxParam));
  params.damped = reader.getInt(0, 1) == 1;
  if (!reader.ok()) return reader.status();

  HoltModel loaded(params);
  loaded.smoother_.alpha = reader.getDouble();
  loaded.smoother_.beta = reader.getDouble();
  loaded.smoother_.phi = reader.getDouble();
  loaded.smoother_.level = reader.getDouble();
  loaded.smoother_.trend = reader.getDouble();
  loaded.smoother_.seen = reader.getInt(0, std::numeric_limits<int64_t>::max());
  loaded.smoother_.since_seen = reader.getInt(0, std::numeric_limits<int64_t>::max());
  if (version >= 2) loaded.smoother_.screen.load(reader);
  loaded.observations_ = reader.getInt(0, std::numeric_limits<int64_t>::max());
  loaded.since_refit_ = reader.getInt(0, std::numeric_limits<int64_t>::max());
  loaded.fitted_ = reader.getInt(0, 1) == 1;
  if (version == 1) {
    reader.getInt(-3, 3);
  } else {
    // Without its own tracking (a candidate of "auto") the tracker stays idle.
    loaded.params_.track_errors = reader.getInt(0, 1) == 1;
    loaded.refits_ = reader.getInt(0, std::numeric_limits<int64_t>::max());
  }
  const int64_t kept = reader.getInt(0, static_cast<int64_t>(loaded.history_.capacity()));
  for (int64_t i = 0; i < kept && reader.ok(); ++i) loaded.history_.push(reader.getDouble());
  if (version >= 2) {
    loaded.errors_.load(reader);
  } else {
    // The screen starts from the kept one-step errors, the quantiles from
    // all kept errors relative to it.
    loaded.errors_.loadWindows(reader, 0.0);
    const double mae = loaded.errors_.oneStepMae();
    if (std::isfinite(mae)) loaded.smoother_.screen.start(mae);
  }
  const Smoother& sm = loaded.smoother_;
  auto unit = [](double v) { return v > 0.0 && v <= 1.0; };
  if (reader.ok() && (!unit(sm.alpha) || !unit(sm.beta) || !unit(sm.phi) ||
                      !std::isfinite(sm.level) || !std::isfinite(sm.trend))) {
    reader.fail("smoothing parameters outside (0, 1] or a non-finite level or trend");
  }
  if (Status status = reader.status(); !status.ok()) return status;
  *this = std::move(loaded);
  return {};
}

}  // namespace pso::controller::engine
