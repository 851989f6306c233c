#include "controller/engine/ets_model.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numbers>
#include <optional>

#include "controller/engine/statistics.h"

namespace pso::controller::engine {

namespace {

constexpr double kEtsAlphaGrid[] = {0.02, 0.05, 0.1, 0.2, 0.35, 0.5, 0.7, 1.0};
constexpr double kEtsBetaGrid[] = {0.0, 0.02, 0.1};
constexpr double kPhiGrid[] = {0.8, 0.9, 0.95, 0.98};
/// Per-season gains of the harmonics (0 keeps the regression's profile).
constexpr double kSeasonGainGrid[] = {0.0, 0.05, 0.1, 0.2, 0.4};
/// The structure (error, trend, harmonics) is re-chosen at every this many
/// parameter searches.
constexpr int kRestructureEvery = 8;
/// The running error scale must exceed the searched one by this factor to
/// bring the next search forward.
constexpr double kEtsDriftFactor = 1.5;
/// Cycles of the longer season in the kept window, at most.
constexpr int kMaxFitCycles = 3;

}  // namespace

EtsModel::EtsModel(const ForecastModelParams& params)
    : params_(params),
      period_(std::max(1, params.season_period)),
      second_period_(params.second_season_period > std::max(1, params.season_period)
                         ? params.second_season_period
                         : 0),
      history_(1),
      errors_(params.max_horizon, params.error_window, params.error_stride) {
  params_.second_season_period = second_period_;
  if (!params_.damped) smoothing_.phi = 1.0;
  history_ = RingBuffer<double>(windowLength());
}

std::size_t EtsModel::windowLength() const {
  if (period_ <= 1 && second_period_ == 0) {
    return static_cast<std::size_t>(std::max(4, params_.fit_window));
  }
  // Three cycles at most: the regression and a replay after its first cycle
  // need no more, and every search replays the whole window.
  const auto cycles = static_cast<std::size_t>(std::clamp(params_.fit_seasons, 3, kMaxFitCycles));
  return std::max(cycles * static_cast<std::size_t>(period_),
                  2 * static_cast<std::size_t>(second_period_));
}

std::string EtsModel::describe() const {
  // Built by appending: "literal" + std::string trips GCC 12's -Wrestrict
  // false positive at -O3 (a Release build).
  std::string out = "ETS(";
  out.append(shape_.multiplicative ? "M," : "A,").append(shape_.trend ? "Ad," : "N,");
  if (shape_.k1 > 0 || shape_.k2 > 0) {
    out.append("F").append(std::to_string(shape_.k1));
    if (shape_.k2 > 0) out.append("+").append(std::to_string(shape_.k2));
  } else {
    out.append("N");
  }
  return out.append(")");
}

EtsModel::Harmonics EtsModel::harmonicsOf(const Shape& shape, const Smoothing& p) const {
  Harmonics h;
  auto add = [&](int count, int period, double gain) {
    for (int j = 1; j <= count; ++j) {
      const double lambda = 2.0 * std::numbers::pi * j / period;
      h.rot.push_back(std::cos(lambda));
      h.rot.push_back(std::sin(lambda));
      h.rot.push_back(gain * 2.0 / period);
    }
  };
  add(shape.k1, period_, p.g1);
  add(shape.k2, std::max(1, second_period_), p.g2);
  return h;
}

double EtsModel::seasonal(const State& s) const {
  double sum = 0.0;
  for (std::size_t j = 0; j < s.z.size(); j += 2) sum += s.z[j];
  return sum;
}

namespace {

/// Moves every harmonic one step on (z_j times exp(-i lambda_j)), after
/// adding `gain_times_error` times its gain to its real part.
void rotate(const std::vector<double>& rot, std::vector<double>& z, double gain_times_error) {
  double* state = z.data();
  const double* r = rot.data();
  const std::size_t count = z.size() / 2;
  for (std::size_t j = 0; j < count; ++j, state += 2, r += 3) {
    const double re = state[0] + r[2] * gain_times_error;
    const double im = state[1];
    state[0] = re * r[0] + im * r[1];
    state[1] = im * r[0] - re * r[1];
  }
}

}  // namespace

double EtsModel::learn(const Smoothing& p, const Shape& shape, const Harmonics& h, State& s,
                       double value, double* scored, double* base_out) {
  double season = 0.0;
  for (std::size_t j = 0; j < s.z.size(); j += 2) season += s.z[j];
  const double phi = shape.trend ? p.phi : 0.0;
  const double forecast = s.level + phi * s.trend + season;
  const double error = value - forecast;
  double used = 0.0;
  bool shift = false;
  bool clipped = false;
  if (shape.multiplicative) {
    // Relative to the forecast; a forecast at or below zero (only in a
    // replay of poor parameters on positive data) counts as a tiny one.
    const double base = std::max(forecast, 1e-9 * (1.0 + std::abs(s.level)));
    if (base_out != nullptr) *base_out = base;
    const OutlierScreen::Verdict v = s.screen.screen(error / base);
    used = v.used * base;
    shift = v.shift;
    clipped = v.clipped;
    if (scored != nullptr) *scored = v.scored;
  } else {
    const OutlierScreen::Verdict v = s.screen.screen(error);
    used = v.used;
    shift = v.shift;
    clipped = v.clipped;
    if (scored != nullptr) *scored = v.scored;
  }
  if (shift) {
    // The level that explains the value with the season as it is.
    s.level = value - season;
    s.trend *= phi;
    used = 0.0;
  } else {
    s.level += phi * s.trend + p.alpha * used;
    // A clipped error (a suspected outlier) says nothing about the slope.
    s.trend = shape.trend ? phi * s.trend + (clipped ? 0.0 : p.alpha * p.beta * used) : 0.0;
  }
  rotate(h.rot, s.z, used);
  return error;
}

void EtsModel::advance(const Smoothing& p, const Harmonics& h, State& s) {
  s.level += p.phi * s.trend;
  s.trend *= p.phi;
  rotate(h.rot, s.z, 0.0);
}

EtsModel::State EtsModel::startFor(const Shape& shape, int64_t step) const {
  const HarmonicFit& g = regression_;
  State s;
  const auto moved = static_cast<double>(step - g.first_step);
  const double line = g.line + g.slope * moved;
  s.trend = shape.trend ? g.slope : 0.0;
  // The state before `step`: its forecast of `step` is on the line.
  s.level = line - s.trend;
  for (std::size_t j = 0; j < g.re.size(); ++j) {
    const bool first = static_cast<int>(j) < shape.k1;
    const int period = first ? period_ : second_period_;
    const int harmonic = first ? static_cast<int>(j) + 1 : static_cast<int>(j) - shape.k1 + 1;
    const int64_t phase = ((step - g.first_step) % period + period) % period;
    const double angle = 2.0 * std::numbers::pi * harmonic * static_cast<double>(phase) / period;
    const double c = std::cos(angle), sn = std::sin(angle);
    s.z.push_back(g.re[j] * c + g.im[j] * sn);
    s.z.push_back(g.im[j] * c - g.re[j] * sn);
  }
  s.screen.start(shape.multiplicative ? g.relative_spread : g.spread);
  return s;
}

EtsModel::Score EtsModel::replay(const Smoothing& p, const Shape& shape, const State& start,
                                 State* end) const {
  const Harmonics h = harmonicsOf(shape, p);
  const std::size_t n = history_.size();
  const int horizon =
      std::max(1, params_.fit_horizon > 0 ? params_.fit_horizon : params_.max_horizon);
  const auto span = static_cast<std::size_t>(horizon);
  const double phi = shape.trend ? p.phi : 0.0;
  const double damping = shape.trend ? dampedSum(phi, horizon) : 0.0;
  // The rotation from the next step's seasonal part to the one h steps on.
  std::vector<double> far(2 * h.size());
  for (std::size_t j = 0; j < h.size(); ++j) {
    const double angle = std::atan2(h.rot[3 * j + 1], h.rot[3 * j]) * (horizon - 1);
    far[2 * j] = std::cos(angle);
    far[2 * j + 1] = std::sin(angle);
  }
  // Scored after the first cycle (the regression saw the whole window, the
  // replay's start needs a cycle to settle).
  const auto score_from =
      std::min(n / 2, static_cast<std::size_t>(std::max({longest(), horizon, 1})));
  State s = start;
  std::vector<double> ahead(span, kNaN);
  double own = 0.0, absolute = 0.0, log_base = 0.0;
  std::size_t count = 0;
  for (std::size_t i = 0; i < n; ++i) {
    const double v = history_[i];
    double& slot = ahead[i % span];
    if (std::isfinite(v)) {
      double scored = 0.0;
      double base = 0.0;
      const double error = learn(p, shape, h, s, v, &scored, &base);
      if (i >= score_from) {
        own += std::abs(scored);
        absolute += std::abs(error);
        if (shape.multiplicative) log_base += std::log(base);
        ++count;
        if (std::isfinite(slot)) {
          const double miss = v - slot;
          absolute += std::abs(miss);
          if (shape.multiplicative) {
            const double far_base = std::max(std::abs(slot), 1e-12);
            own += std::abs(miss) / far_base;
            log_base += std::log(far_base);
          } else {
            own += std::abs(miss);
          }
          ++count;
        }
      }
    } else {
      advance(p, h, s);
    }
    double season = 0.0;
    for (std::size_t j = 0; j < s.z.size(); j += 2)
      season += s.z[j] * far[j] + s.z[j + 1] * far[j + 1];
    slot = s.level + damping * s.trend + season;
  }
  if (end != nullptr) *end = s;
  Score score;
  if (count == 0 || !(own > 0.0)) return score;
  const auto m = static_cast<double>(count);
  score.own = own / m;
  score.absolute = absolute / m;
  // A Laplace likelihood of the errors (relative ones carry the Jacobian of
  // their base), as an AIC with the shape's parameter count.
  const double parameters =
      1.0 + (shape.k1 > 0 ? 1.0 : 0.0) + (shape.k2 > 0 ? 1.0 : 0.0) + (shape.trend ? 3.0 : 0.0);
  score.criterion = 2.0 * m * std::log(score.own) + 2.0 * log_base + 2.0 * parameters;
  return score;
}

double EtsModel::tune(const Shape& shape, const State& start, Smoothing& p, Tuning which) const {
  if (!shape.trend || !params_.damped) p.phi = 1.0;
  struct Grid {
    double Smoothing::*field;
    const double* values;
    std::size_t count;
  };
  // The parameters this shape has, in the order searches take them.
  std::vector<Grid> grids = {{&Smoothing::alpha, kEtsAlphaGrid, std::size(kEtsAlphaGrid)}};
  if (shape.k1 > 0) grids.push_back({&Smoothing::g1, kSeasonGainGrid, std::size(kSeasonGainGrid)});
  if (shape.k2 > 0) grids.push_back({&Smoothing::g2, kSeasonGainGrid, std::size(kSeasonGainGrid)});
  if (shape.trend && params_.damped)
    grids.push_back({&Smoothing::phi, kPhiGrid, std::size(kPhiGrid)});
  if (shape.trend) grids.push_back({&Smoothing::beta, kEtsBetaGrid, std::size(kEtsBetaGrid)});
  // The trend's parameters come last.
  const std::size_t trend_from = grids.size() - (shape.trend ? (params_.damped ? 2 : 1) : 0);
  double best = replay(p, shape, start, nullptr).own;
  for (std::size_t g = 0; g < grids.size(); ++g) {
    if (which.kind == Tuning::kTrend && g < trend_from) continue;
    if (which.kind == Tuning::kOne && g != which.index % grids.size()) continue;
    for (std::size_t i = 0; i < grids[g].count; ++i) {
      if (p.*grids[g].field == grids[g].values[i]) continue;
      Smoothing candidate = p;
      candidate.*grids[g].field = grids[g].values[i];
      const double score = replay(candidate, shape, start, nullptr).own;
      if (score < best) {
        best = score;
        p = candidate;
      }
    }
  }
  return best;
}

bool EtsModel::restructure(bool full) {
  std::optional<HarmonicFit> regression =
      fitHarmonics(history_.toVector(), windowStart(), period_, second_period_);
  if (!regression) return false;
  Shape base = shape_;
  base.k1 = regression->k1;
  base.k2 = regression->k2;
  const HarmonicFit kept = regression_;
  regression_ = *regression;
  const int64_t first = windowStart();
  // A multiplicative error needs positive data. A full choice tunes every
  // variant; a later check compares them at the parameters in use, and
  // tunes only a newly chosen one.
  Shape best_shape;
  Smoothing best_params;
  Smoothing tuned = smoothing_;
  Smoothing tuned_trend = smoothing_;
  double best_score = kInf;
  for (const bool multiplicative : {false, true}) {
    if (multiplicative && !std::isfinite(regression->relative_spread)) continue;
    for (const bool trend : {false, true}) {
      Shape shape = base;
      shape.multiplicative = multiplicative;
      shape.trend = trend;
      const State start = startFor(shape, first);
      // A full choice tunes the simplest variant, then only what a richer
      // one adds (the trend's parameters); a multiplicative error keeps its
      // additive twin's parameters.
      Smoothing p = smoothing_;
      if (full && !multiplicative) {
        if (!trend) {
          tune(shape, start, p, {Tuning::kAll, 0});
          tuned = p;
        } else {
          p = tuned;
          tune(shape, start, p, {Tuning::kTrend, 0});
          tuned_trend = p;
        }
      } else if (full) {
        p = trend ? tuned_trend : tuned;
      }
      const double score = replay(p, shape, start, nullptr).criterion;
      if (score < best_score) {
        best_score = score;
        best_shape = shape;
        best_params = p;
      }
    }
  }
  if (!std::isfinite(best_score)) {
    regression_ = kept;
    return false;
  }
  if (!full && best_shape == shape_) return true;
  if (!full) tune(best_shape, startFor(best_shape, first), best_params, {Tuning::kAll, 0});
  shape_ = best_shape;
  smoothing_ = best_params;
  harmonics_ = harmonicsOf(shape_, smoothing_);
  replay(smoothing_, shape_, startFor(shape_, first), &state_);
  return true;
}

void EtsModel::searchNow() {
  ++searches_;
  if (searches_ % kRestructureEvery == 0) {
    restructure(false);
  } else {
    // One parameter per search, in turn, replayed from the last regression
    // carried to the window's start; the state learned from the whole
    // history stays.
    tune(shape_, startFor(shape_, windowStart()), smoothing_,
         {Tuning::kOne, static_cast<std::size_t>(searches_)});
    harmonics_ = harmonicsOf(shape_, smoothing_);
  }
  since_search_ = 0;
  searched_scale_ = state_.screen.scale();
}

double EtsModel::errorScale() const {
  if (!started_) return 0.0;
  if (!shape_.multiplicative) return state_.screen.scale();
  const double next =
      state_.level + (shape_.trend ? smoothing_.phi * state_.trend : 0.0) + seasonal(state_);
  return state_.screen.scale() * std::abs(next);
}

void EtsModel::pointForecast(std::vector<double>& out) const {
  if (!started_) {
    std::fill(out.begin(), out.end(), last_value_);
    return;
  }
  const double phi = shape_.trend ? smoothing_.phi : 0.0;
  double damping = 0.0;
  double power = 1.0;
  for (double& v : out) {
    power *= phi;
    damping += power;
    v = state_.level + damping * state_.trend;
  }
  // Each harmonic's part of step h is its state rotated h - 1 steps on.
  for (std::size_t j = 0; j < harmonics_.size(); ++j) {
    double re = state_.z[2 * j];
    double im = state_.z[2 * j + 1];
    const double c = harmonics_.rot[3 * j];
    const double s = harmonics_.rot[3 * j + 1];
    for (double& v : out) {
      v += re;
      const double next = re * c + im * s;
      im = im * c - re * s;
      re = next;
    }
  }
}

void EtsModel::update(double value) {
  if (!std::isfinite(value)) {
    observeMissing();
    return;
  }
  if (params_.track_errors) errors_.observe(value);
  ++step_;
  ++observations_;
  last_value_ = value;
  history_.push(value);
  if (started_) {
    learn(smoothing_, shape_, harmonics_, state_, value, nullptr);
    ++since_search_;
    // Every refit_seasons cycles of the first season (at least one of the
    // second), or refit_every values without a season.
    const int64_t every =
        period_ > 1 ? std::max<int64_t>(int64_t{params_.refit_seasons} * period_, second_period_)
                    : int64_t{params_.refit_every};
    const bool due = since_search_ >= every;
    const bool drifted = since_search_ >= std::max<int64_t>(every / 16, 1) &&
                         searched_scale_ > 0.0 &&
                         state_.screen.scale() > kEtsDriftFactor * searched_scale_;
    if (due || drifted) searchNow();
  } else if (step_ >= next_attempt_) {
    // Two cycles of the longer season (or firstFitAt() values without one),
    // then a try every quarter cycle until the window allows a start.
    const int64_t needed = longest() > 1 ? 2 * int64_t{longest()} : firstFitAt(params_);
    if (step_ + 1 >= needed) {
      started_ = restructure(true);
      since_search_ = 0;
      searched_scale_ = state_.screen.scale();
      next_attempt_ = step_ + std::max<int64_t>(1, std::max(longest(), params_.warmup) / 4);
    }
  }
  if (params_.track_errors && errors_.wantsPath()) {
    path_.resize(static_cast<std::size_t>(errors_.maxHorizon()));
    pointForecast(path_);
    errors_.remember(path_, errorScale());
  }
}

void EtsModel::prefetch() const {
  prefetchBytes(this, sizeof(*this));
}

void EtsModel::observeMissing() {
  if (params_.track_errors) errors_.skip();
  ++step_;
  history_.push(kNaN);
  if (started_) {
    advance(smoothing_, harmonics_, state_);
    ++since_search_;
  }
}

Forecast EtsModel::forecast(int horizon, double coverage) const {
  return assembleForecast(started_ ? describe() : name(), observations_, horizon, coverage, errors_,
                          errorScale(),
                          [&](std::vector<double>& points) { pointForecast(points); });
}

std::string EtsModel::saveState() const {
  StateWriter w;
  w.putText("ets").putInt(1);
  w.putInt(params_.max_horizon)
      .putInt(params_.error_window)
      .putInt(params_.fit_window)
      .putInt(params_.warmup)
      .putInt(params_.refit_every)
      .putInt(params_.fit_seasons)
      .putInt(params_.refit_seasons)
      .putInt(params_.fit_horizon)
      .putInt(params_.damped ? 1 : 0)
      .putInt(params_.track_errors ? 1 : 0)
      .putInt(period_)
      .putInt(second_period_);
  w.putInt(shape_.multiplicative ? 1 : 0).putInt(shape_.trend ? 1 : 0);
  w.putInt(shape_.k1).putInt(shape_.k2);
  w.putDouble(smoothing_.alpha)
      .putDouble(smoothing_.beta)
      .putDouble(smoothing_.g1)
      .putDouble(smoothing_.g2)
      .putDouble(smoothing_.phi);
  w.putDouble(state_.level).putDouble(state_.trend);
  for (double v : state_.z) w.putDouble(v);
  state_.screen.save(w);
  const HarmonicFit& g = regression_;
  w.putInt(g.first_step).putDouble(g.line).putDouble(g.slope);
  w.putInt(static_cast<int64_t>(g.re.size()));
  for (std::size_t j = 0; j < g.re.size(); ++j) w.putDouble(g.re[j]).putDouble(g.im[j]);
  w.putDouble(g.spread).putDouble(g.relative_spread);
  w.putInt(started_ ? 1 : 0)
      .putInt(step_)
      .putInt(next_attempt_)
      .putInt(observations_)
      .putDouble(last_value_)
      .putInt(since_search_)
      .putInt(searches_)
      .putDouble(searched_scale_);
  w.putInt(static_cast<int64_t>(history_.size()));
  for (std::size_t i = 0; i < history_.size(); ++i) w.putDouble(history_[i]);
  errors_.save(w);
  return w.take();
}

Status EtsModel::loadState(const std::string& state) {
  StateReader r(state, "ets model state");
  r.expectText("ets");
  r.getInt(1, 1);
  ForecastModelParams params = params_;
  params.max_horizon = static_cast<int>(r.getInt(1, 10000));
  params.error_window = static_cast<int>(r.getInt(2, 1000000));
  params.fit_window = static_cast<int>(r.getInt(4, 1000000));
  params.warmup = static_cast<int>(r.getInt(1, 1000000));
  params.refit_every = static_cast<int>(r.getInt(1, 1000000));
  params.fit_seasons = static_cast<int>(r.getInt(3, 1000));
  params.refit_seasons = static_cast<int>(r.getInt(1, 1000));
  params.fit_horizon = static_cast<int>(r.getInt(0, 10000));
  params.damped = r.getInt(0, 1) == 1;
  params.track_errors = r.getInt(0, 1) == 1;
  params.season_period = static_cast<int>(r.getInt(1, kMaxSeasonPeriod));
  params.second_season_period = static_cast<int>(r.getInt(0, kMaxSeasonPeriod));
  if (!r.ok()) return r.status();
  EtsModel loaded(params);
  Shape& shape = loaded.shape_;
  shape.multiplicative = r.getInt(0, 1) == 1;
  shape.trend = r.getInt(0, 1) == 1;
  shape.k1 = static_cast<int>(r.getInt(0, maxHarmonics(loaded.period_)));
  shape.k2 = static_cast<int>(r.getInt(0, maxHarmonics(loaded.second_period_)));
  Smoothing& p = loaded.smoothing_;
  p.alpha = r.getDouble();
  p.beta = r.getDouble();
  p.g1 = r.getDouble();
  p.g2 = r.getDouble();
  p.phi = r.getDouble();
  State& s = loaded.state_;
  s.level = r.getDouble();
  s.trend = r.getDouble();
  bool finite = std::isfinite(s.level) && std::isfinite(s.trend);
  for (int j = 0; j < shape.k1 + shape.k2 && r.ok(); ++j) {
    s.z.push_back(r.getDouble());
    s.z.push_back(r.getDouble());
    finite = finite && std::isfinite(s.z[s.z.size() - 2]) && std::isfinite(s.z.back());
  }
  s.screen.load(r);
  HarmonicFit& g = loaded.regression_;
  g.k1 = shape.k1;
  g.k2 = shape.k2;
  g.first_step = r.getInt(0, kMaxInt);
  g.line = r.getDouble();
  g.slope = r.getDouble();
  const int64_t regressed = r.getInt(0, 2 * kMaxHarmonics);
  for (int64_t j = 0; j < regressed && r.ok(); ++j) {
    g.re.push_back(r.getDouble());
    g.im.push_back(r.getDouble());
    finite = finite && std::isfinite(g.re.back()) && std::isfinite(g.im.back());
  }
  g.spread = r.getDouble();
  g.relative_spread = r.getDouble();
  finite = finite && std::isfinite(g.line) && std::isfinite(g.slope) && std::isfinite(g.spread);
  loaded.started_ = r.getInt(0, 1) == 1;
  loaded.step_ = r.getInt(-1, kMaxInt);
  loaded.next_attempt_ = r.getInt(0, kMaxInt);
  loaded.observations_ = r.getInt(0, kMaxInt);
  loaded.last_value_ = r.getDouble();
  loaded.since_search_ = r.getInt(0, kMaxInt);
  loaded.searches_ = static_cast<int>(r.getInt(0, std::numeric_limits<int>::max()));
  loaded.searched_scale_ = r.getDouble();
  const int64_t kept = r.getInt(0, static_cast<int64_t>(loaded.history_.capacity()));
  for (int64_t i = 0; i < kept && r.ok(); ++i) loaded.history_.push(r.getDouble());
  loaded.errors_.load(r);
  if (r.ok() && regressed != (loaded.started_ ? shape.k1 + shape.k2 : regressed)) {
    r.fail("a regression of " + std::to_string(regressed) + " harmonics for " +
           std::to_string(shape.k1 + shape.k2) + " in use");
  }
  auto unit = [](double v) { return v >= 0.0 && v <= 1.0; };
  if (r.ok() &&
      (!unit(p.alpha) || !unit(p.beta) || !unit(p.g1) || !unit(p.g2) || !unit(p.phi) || !finite)) {
    r.fail("smoothing parameters outside [0, 1] or a non-finite state");
  }
  if (Status status = r.status(); !status.ok()) return status;
  loaded.harmonics_ = loaded.harmonicsOf(shape, p);
  *this = std::move(loaded);
  return {};
}

}  // namespace pso::controller::engine
