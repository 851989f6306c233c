#include "controller/engine/holt_winters_model.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "controller/engine/statistics.h"

namespace pso::controller::engine {

namespace {

constexpr double kHoltWintersAlphaGrid[] = {0.02, 0.05, 0.1, 0.2, 0.3, 0.5, 0.7, 0.9};
constexpr double kGammaGrid[] = {0.0, 0.02, 0.05, 0.1, 0.2, 0.4};
constexpr double kHoltWintersDampedPhiGrid[] = {0.8, 0.9, 0.95, 0.98};
constexpr double kHoltWintersUndampedPhiGrid[] = {1.0};
constexpr double kHoltWintersBetaGrid[] = {0.0, 0.02, 0.1};

/// The recent error must exceed the searched one by this factor to force an
/// early search.
constexpr double kHoltWintersDriftFactor = 1.5;
/// A multiplicative season needs the level to stand this many running mean
/// absolute errors (of the values) above zero: below that, value / level
/// swings by more than half its size from noise alone, and factors
/// estimated from such ratios describe the noise, not the season. (Errors in
/// level units would not do: divided by a small night-time factor, the
/// night's ordinary noise looks like a level near zero.)
constexpr double kMinLevelToNoise = 2.0;
/// Multiplicative factors are kept within these bounds: a numerical guard
/// (a factor near zero would turn the next error into a huge level step),
/// far outside any season a positive series shows.
constexpr double kMinFactor = 1e-3;
constexpr double kMaxFactor = 1e3;

/// Why a multiplicative model runs additively (saved as these codes).
constexpr int kFallbackStart = 1;
constexpr int kFallbackLevel = 2;

/// The second season params ask for, when they describe a usable one: a
/// multiple (at least twice) of a first season of 2 or more steps, with an
/// additive season (makeForecastModel() refuses anything else).
int secondPeriodOf(const ForecastModelParams& p) {
  const int s1 = p.season_period;
  const int s2 = p.second_season_period;
  if (s2 <= 0 || s1 < 2 || s2 < 2 * s1 || s2 % s1 != 0) return 0;
  if (p.seasonality == Seasonality::kMultiplicative) return 0;
  return s2;
}

std::size_t historyCapacity(const ForecastModelParams& p) {
  const std::size_t seasons = static_cast<std::size_t>(std::max(3, p.fit_seasons)) *
                              static_cast<std::size_t>(std::max(1, p.season_period));
  return std::max(seasons, 2 * static_cast<std::size_t>(secondPeriodOf(p)));
}

double meanOf(const std::vector<double>& v) {
  double sum = 0.0;
  for (double x : v) sum += x;
  return v.empty() ? 0.0 : sum / static_cast<double>(v.size());
}

}  // namespace

HoltWintersModel::HoltWintersModel(const ForecastModelParams& params)
    : params_(params),
      period_(std::max(1, params.season_period)),
      second_period_(secondPeriodOf(params)),
      multiplicative_(params.seasonality == Seasonality::kMultiplicative),
      history_(historyCapacity(params)),
      errors_(params.max_horizon, params.error_window, params.error_stride) {
  params_.second_season_period = second_period_;
  if (!params_.damped) params_hw_.phi = 1.0;
  state_.season.assign(static_cast<std::size_t>(period_), multiplicative_ ? 1.0 : 0.0);
}

std::string HoltWintersModel::name() const {
  if (multiplicative_) return "holt-winters-mult";
  return second_period_ > 0 ? "holt-winters-2s" : "holt-winters";
}

std::string HoltWintersModel::fallbackReason() const {
  switch (fallback_) {
    case kFallbackStart:
      return "the level of the first seasons is not clearly above the noise";
    case kFallbackLevel:
      return "the level fell to within " + std::to_string(static_cast<int>(kMinLevelToNoise)) +
             " running errors of zero";
    default:
      return "";
  }
}

std::size_t HoltWintersModel::cycle(const Shape& shape) const {
  return static_cast<std::size_t>(shape.two ? second_period_ : period_);
}

double HoltWintersModel::learn(const Smoothing& p, State& s, const Shape& shape, double value,
                               std::size_t phase, std::size_t phase2) {
  double& seasonal = s.season[phase];
  double* seasonal2 = shape.two ? &s.season2[phase2] : nullptr;
  const double base = s.level + p.phi * s.trend;
  double error = 0.0;
  double unit = 0.0;  // the error in level units
  if (shape.multiplicative) {
    error = value - base * seasonal;
    unit = error / seasonal;
  } else {
    error = value - (base + seasonal + (seasonal2 != nullptr ? *seasonal2 : 0.0));
    unit = error;
  }
  const OutlierScreen::Verdict verdict = s.screen.screen(unit);
  if (verdict.shift) {
    // A level shift: the new level explains the value with the known
    // seasonal profile; the profile itself is not touched.
    if (shape.multiplicative) {
      s.level = value / seasonal;
    } else {
      s.level = value - seasonal - (seasonal2 != nullptr ? *seasonal2 : 0.0);
    }
    s.trend *= p.phi;
    return error;
  }
  const double used = verdict.used;
  s.level += p.phi * s.trend + p.alpha * used;
  // A clipped error (a suspected outlier) says nothing about the slope.
  s.trend = p.phi * s.trend + (verdict.clipped ? 0.0 : p.alpha * p.beta * used);
  if (shape.multiplicative) {
    // The factor moves by the error relative to the level it multiplies; a
    // non-positive base (only in a replay of poor parameters) teaches nothing.
    if (base > 0.0) {
      seasonal = std::clamp(seasonal + p.gamma * (1.0 - p.alpha) * used * seasonal / base,
                            kMinFactor, kMaxFactor);
    }
  } else {
    seasonal += p.gamma * (1.0 - p.alpha) * used;
    if (seasonal2 != nullptr) *seasonal2 += p.gamma2 * (1.0 - p.alpha) * used;
  }
  if (shape.multiplicative) {
    const double raw = std::abs(error);
    constexpr double kRate = OutlierScreen::kScaleRate;
    constexpr double kCap = OutlierScreen::kScaleCap;
    s.raw_scale = s.raw_scale > 0.0
                      ? s.raw_scale + kRate * (std::min(raw, kCap * s.raw_scale) - s.raw_scale)
                      : raw;
  }
  return error;
}

void HoltWintersModel::advance(const Smoothing& p, State& s) {
  s.level += p.phi * s.trend;
  s.trend *= p.phi;
}

bool HoltWintersModel::startState(std::size_t begin, const Shape& shape, State& out) const {
  const std::size_t m = cycle(shape);
  const auto m1 = static_cast<std::size_t>(period_);
  if (begin + 2 * m > history_.size()) return false;
  // A multiplicative start skips a few values <= 0 like gaps (a dropped
  // sample, the tail of an outage): a ratio of zero would zero a factor for
  // good. More than a quarter of them, and the data is not positive data.
  auto usable = [&](double v) { return std::isfinite(v) && (!shape.multiplicative || v > 0.0); };
  double mean[2] = {0.0, 0.0};
  std::size_t count[2] = {0, 0};
  for (std::size_t k = 0; k < 2; ++k) {
    std::size_t present = 0;
    for (std::size_t j = 0; j < m; ++j) {
      const double v = history_[begin + k * m + j];
      present += std::isfinite(v) ? 1 : 0;
      if (!usable(v)) continue;
      mean[k] += v;
      ++count[k];
    }
    // A season mostly lost to gaps says too little to start from.
    if (count[k] == 0 || count[k] * 4 < m || 4 * (present - count[k]) > present) return false;
    mean[k] /= static_cast<double>(count[k]);
  }
  const double md = static_cast<double>(m);
  const double trend = (mean[1] - mean[0]) / md;
  const int64_t first_step = step_ - static_cast<int64_t>(history_.size()) + 1;
  auto phaseOf = [&](std::size_t i, std::size_t period) {
    return static_cast<std::size_t>((first_step + static_cast<int64_t>(i)) %
                                    static_cast<int64_t>(period));
  };
  // The profile over the cycle: each value against the line through the two
  // cycles' means (a difference, or a ratio when multiplicative).
  std::vector<double> profile(m, kNaN);
  for (std::size_t j = 0; j < m; ++j) {
    double sum = 0.0;
    int n = 0;
    for (std::size_t k = 0; k < 2; ++k) {
      const double v = history_[begin + k * m + j];
      if (!usable(v)) continue;
      const double line = mean[k] + trend * (static_cast<double>(j) - (md - 1.0) / 2.0);
      if (shape.multiplicative) {
        if (!(line > 0.0)) return false;
        sum += v / line;
      } else {
        sum += v - line;
      }
      ++n;
    }
    if (n > 0) profile[phaseOf(begin + j, m)] = sum / n;
  }
  const double neutral = shape.multiplicative ? 1.0 : 0.0;
  out.season.assign(m1, neutral);
  out.season2.clear();
  if (!shape.two) {
    for (std::size_t j = 0; j < m; ++j) {
      if (std::isfinite(profile[j])) out.season[j] = profile[j];
    }
  } else {
    // The profile's s1-periodic part is the first season; the rest (what
    // differs between, say, the days of a week) is the second.
    std::vector<double> sum(m1, 0.0);
    std::vector<int> n(m1, 0);
    for (std::size_t q = 0; q < m; ++q) {
      if (!std::isfinite(profile[q])) continue;
      sum[q % m1] += profile[q];
      ++n[q % m1];
    }
    for (std::size_t j = 0; j < m1; ++j) out.season[j] = n[j] > 0 ? sum[j] / n[j] : 0.0;
    const double centre = meanOf(out.season);
    for (double& a : out.season) a -= centre;
    out.season2.assign(m, 0.0);
    for (std::size_t q = 0; q < m; ++q) {
      if (std::isfinite(profile[q])) out.season2[q] = profile[q] - centre - out.season[q % m1];
    }
  }
  const double profile_mean = meanOf(out.season);
  for (double& s : out.season) {
    s = shape.multiplicative ? std::clamp(s / profile_mean, kMinFactor, kMaxFactor)
                             : s - profile_mean;
  }
  if (shape.two) {
    // Each second-season offset starts from two values only, so it carries
    // most of their noise; what differs between the days of a week changes
    // over hours, not steps: a centred circular moving average over 1/24 of
    // the first season (an hour of a day) cuts that noise by its square root.
    const std::size_t width = std::max<std::size_t>(1, m1 / 24) | 1;
    if (width > 1) {
      const std::vector<double> raw = out.season2;
      const std::size_t half = width / 2;
      double sum = 0.0;
      for (std::size_t j = 0; j < width; ++j) sum += raw[(m - half + j) % m];
      for (std::size_t q = 0; q < m; ++q) {
        out.season2[q] = sum / static_cast<double>(width);
        sum += raw[(q + half + 1) % m] - raw[(q + m - half) % m];
      }
    }
    const double centre2 = meanOf(out.season2);
    for (double& b : out.season2) b -= centre2;
  }
  out.trend = trend;
  // The level just before history_[begin], so that the replay's first step
  // lands on the first season's mean line.
  out.level = mean[0] - trend * (md + 1.0) / 2.0;
  // The spread of the two seasons around line + profile starts the scale.
  double spread = 0.0;
  double raw_spread = 0.0;
  std::size_t n = 0;
  for (std::size_t i = 0; i < 2 * m; ++i) {
    const double v = history_[begin + i];
    if (!usable(v)) continue;
    const double line = out.level + trend * static_cast<double>(i + 1);
    const double a = out.season[phaseOf(begin + i, m1)];
    if (shape.multiplicative) {
      spread += std::abs(v - line * a) / a;
      raw_spread += std::abs(v - line * a);
    } else {
      const double b = shape.two ? out.season2[phaseOf(begin + i, m)] : 0.0;
      spread += std::abs(v - (line + a + b));
    }
    ++n;
  }
  out.screen.start(n > 0 ? spread / static_cast<double>(n) : 0.0);
  out.raw_scale = n > 0 ? raw_spread / static_cast<double>(n) : 0.0;
  if (shape.multiplicative && !(std::min(mean[0], mean[1]) > kMinLevelToNoise * out.raw_scale)) {
    return false;
  }
  return true;
}

std::size_t HoltWintersModel::windowBegin(const Shape& shape) const {
  const std::size_t length = shape.two
                                 ? 2 * static_cast<std::size_t>(second_period_)
                                 : static_cast<std::size_t>(std::max(3, params_.fit_seasons)) *
                                       static_cast<std::size_t>(period_);
  return history_.size() > length ? history_.size() - length : 0;
}

double HoltWintersModel::replayScore(const Smoothing& p, const Shape& shape, const State& start,
                                     std::size_t begin) const {
  const std::size_t m = cycle(shape);
  const auto m1 = static_cast<std::size_t>(period_);
  const auto m2 = static_cast<std::size_t>(std::max(1, second_period_));
  const std::size_t size = history_.size();
  State s = start;
  // Score out of sample when the window allows, else on the second cycle.
  const std::size_t length = size - begin;
  const std::size_t score_from = length >= 3 * m ? 2 * m : m;
  const int horizon =
      std::min(params_.fit_horizon > 0 ? params_.fit_horizon : params_.max_horizon, period_);
  const auto h = static_cast<std::size_t>(horizon);
  const double damping = dampedSum(p.phi, horizon);
  std::vector<double> ahead(h, kNaN);
  const int64_t first_step = step_ - static_cast<int64_t>(size) + 1 + static_cast<int64_t>(begin);
  auto phase = static_cast<std::size_t>(first_step % static_cast<int64_t>(m1));
  auto phase2 = static_cast<std::size_t>(first_step % static_cast<int64_t>(m2));
  double sum = 0.0;
  std::size_t n = 0;
  for (std::size_t i = 0; i < length; ++i) {
    const double v = history_[begin + i];
    double& slot = ahead[i % h];
    if (std::isfinite(v)) {
      const double error = learn(p, s, shape, v, phase, phase2);
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
    phase = phase + 1 == m1 ? 0 : phase + 1;
    phase2 = phase2 + 1 == m2 ? 0 : phase2 + 1;
    const double base = s.level + damping * s.trend;
    const double a = s.season[(phase + h - 1) % m1];
    if (shape.multiplicative) {
      slot = base * a;
    } else if (shape.two) {
      slot = base + a + s.season2[(phase2 + h - 1) % m2];
    } else {
      slot = base + a;
    }
  }
  return n > 0 ? sum / static_cast<double>(n) : std::numeric_limits<double>::infinity();
}

void HoltWintersModel::search(const Shape& shape) {
  const std::size_t m = cycle(shape);
  const std::size_t begin = windowBegin(shape);
  // Every replay starts from the same state, made once.
  State start;
  if (history_.size() < begin + 2 * m + 1 || !startState(begin, shape, start)) return;
  Smoothing best = params_hw_;
  double best_score = replayScore(best, shape, start, begin);
  if (!std::isfinite(best_score)) return;
  auto tryGrid = [&](double Smoothing::*field, const double* grid, std::size_t n) {
    for (std::size_t i = 0; i < n; ++i) {
      if (best.*field == grid[i]) continue;
      Smoothing candidate = best;
      candidate.*field = grid[i];
      const double score = replayScore(candidate, shape, start, begin);
      if (score < best_score) {
        best_score = score;
        best = candidate;
      }
    }
  };
  tryGrid(&Smoothing::alpha, kHoltWintersAlphaGrid, std::size(kHoltWintersAlphaGrid));
  tryGrid(&Smoothing::gamma, kGammaGrid, std::size(kGammaGrid));
  if (shape.two) tryGrid(&Smoothing::gamma2, kGammaGrid, std::size(kGammaGrid));
  if (params_.damped) {
    tryGrid(&Smoothing::phi, kHoltWintersDampedPhiGrid, std::size(kHoltWintersDampedPhiGrid));
  } else {
    tryGrid(&Smoothing::phi, kHoltWintersUndampedPhiGrid, std::size(kHoltWintersUndampedPhiGrid));
  }
  tryGrid(&Smoothing::beta, kHoltWintersBetaGrid, std::size(kHoltWintersBetaGrid));
  params_hw_ = best;
  searched_error_ = best_score;
  since_search_ = 0;
}

bool HoltWintersModel::rebuild(const Shape& shape) {
  const std::size_t m = cycle(shape);
  if (history_.size() < 2 * m) return false;
  // The last two cycles start the state (earlier ones may have been sparse).
  const std::size_t begin = history_.size() - 2 * m;
  State start;
  if (!startState(begin, shape, start)) return false;
  search(shape);
  const int64_t first_step = step_ - static_cast<int64_t>(history_.size()) + 1;
  for (std::size_t i = begin; i < history_.size(); ++i) {
    const int64_t at = first_step + static_cast<int64_t>(i);
    if (std::isfinite(history_[i])) {
      const auto phase2 =
          shape.two ? static_cast<std::size_t>(at % static_cast<int64_t>(second_period_)) : 0;
      learn(params_hw_, start, shape, history_[i], static_cast<std::size_t>(at % period_), phase2);
    } else {
      advance(params_hw_, start);
    }
  }
  state_ = std::move(start);
  since_search_ = 0;
  searched_scale_ = state_.screen.scale();
  return true;
}

void HoltWintersModel::initialise() {
  const Shape one = shape();
  if (rebuild(one)) {
    initialized_ = true;
    return;
  }
  // Multiplicative, but the first seasons do not allow it (the level is not
  // clearly positive): additive, if they allow that.
  if (one.multiplicative && rebuild(Shape{false, false})) {
    fallback_ = kFallbackStart;
    initialized_ = true;
  }
}

void HoltWintersModel::fallBack(int reason) {
  // The factors become the offsets they stand for at the level: the current
  // one, or the one of the last renormalisation when the level has just
  // dropped (an outage), so the season is not lost with it.
  const double level = std::max({state_.level, state_.reference, 0.0});
  for (double& s : state_.season) s = (s - 1.0) * level;
  fallback_ = reason;
}

void HoltWintersModel::maintain() {
  const Shape now = shape();
  // Renormalise the profiles once per period so that they cannot drift
  // against the level (neither changes the forecast: the level takes the
  // difference, and a factor change rescales the level units throughout).
  if (now.multiplicative || now.two) {
    if ((step_ + 1) % period_ == 0) {
      const double centre = meanOf(state_.season);
      if (now.multiplicative && centre > 0.0) {
        for (double& s : state_.season) s /= centre;
        state_.level *= centre;
        state_.reference = state_.level;
        state_.trend *= centre;
        state_.screen.rescale(centre);
        searched_scale_ *= centre;
      } else if (!now.multiplicative) {
        for (double& s : state_.season) s -= centre;
        state_.level += centre;
      }
    }
    if (now.two && (step_ + 1) % second_period_ == 0) {
      const double centre = meanOf(state_.season2);
      for (double& s : state_.season2) s -= centre;
      state_.level += centre;
    }
  }
  if (now.multiplicative &&
      !(state_.level + params_hw_.phi * state_.trend > kMinLevelToNoise * state_.raw_scale)) {
    fallBack(kFallbackLevel);
  }
  // The second season starts once two of its cycles are kept; tried once per
  // first season, so a sparse start costs O(s2) a day, not a step.
  if (second_period_ > 0 && !two_active_ && step_ + 1 >= 2 * int64_t{second_period_} &&
      (step_ + 1) % period_ == 0) {
    if (rebuild(Shape{false, true})) two_active_ = true;
  }
}

void HoltWintersModel::searchNow() {
  if (multiplicative_ && fallback_ != 0) {
    // Back to multiplicative when the kept window allows it again.
    const int reason = fallback_;
    fallback_ = 0;
    if (!rebuild(shape())) {
      fallback_ = reason;
      search(shape());
    }
  } else {
    search(shape());
  }
  searched_scale_ = state_.screen.scale();
}

double HoltWintersModel::errorScale() const {
  if (!initialized_) return 0.0;
  return multiplicativeNow() ? state_.raw_scale : state_.screen.scale();
}

double HoltWintersModel::seasonalAhead(int h) const {
  if (step_ < 0) return multiplicativeNow() ? 1.0 : 0.0;
  const int64_t at = step_ + h;
  const double a = state_.season[static_cast<std::size_t>(at % period_)];
  if (two_active_) return a + state_.season2[static_cast<std::size_t>(at % second_period_)];
  return a;
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
  if (two_active_) {
    const auto m2 = static_cast<std::size_t>(second_period_);
    auto phase2 = static_cast<std::size_t>(step_ % second_period_);
    for (double& v : out) {
      power *= params_hw_.phi;
      damping += power;
      phase = phase + 1 == m ? 0 : phase + 1;
      phase2 = phase2 + 1 == m2 ? 0 : phase2 + 1;
      v = state_.level + damping * state_.trend + state_.season[phase] + state_.season2[phase2];
    }
    return;
  }
  const bool multiplicative = multiplicativeNow();
  for (double& v : out) {
    power *= params_hw_.phi;
    damping += power;
    phase = phase + 1 == m ? 0 : phase + 1;
    v = multiplicative ? (state_.level + damping * state_.trend) * state_.season[phase]
                       : state_.level + damping * state_.trend + state_.season[phase];
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
    const auto phase2 =
        two_active_ ? static_cast<std::size_t>(step_ % second_period_) : std::size_t{0};
    learn(params_hw_, state_, shape(), value, static_cast<std::size_t>(step_ % period_), phase2);
    maintain();
    ++since_search_;
    // Drift is judged on the running scale, whose errors are capped: a burst
    // or a holiday is not drift, a lasting rise of the error is. With two
    // seasons a search replays two long seasons, so it runs at most once per
    // long season (and drift at most once per short one).
    const int64_t every =
        two_active_ ? std::max<int64_t>(int64_t{params_.refit_seasons} * period_, second_period_)
                    : int64_t{params_.refit_seasons} * period_;
    const int64_t gap = two_active_ ? period_ : std::max<int64_t>(period_ / 4, 1);
    const bool due = since_search_ >= every;
    const bool drifted = since_search_ >= gap && searched_scale_ > 0.0 &&
                         state_.screen.scale() > kHoltWintersDriftFactor * searched_scale_;
    if (due || drifted) searchNow();
  } else if (step_ + 1 >= 2 * static_cast<int64_t>(period_)) {
    initialise();
  }
  if (params_.track_errors && errors_.wantsPath()) {
    path_.resize(static_cast<std::size_t>(errors_.maxHorizon()));
    pointForecast(path_);
    errors_.remember(path_, errorScale());
  }
}

void HoltWintersModel::prefetch() const {
  prefetchBytes(this, sizeof(*this));
}

void HoltWintersModel::observeMissing() {
  if (params_.track_errors) errors_.skip();
  ++step_;
  history_.push(kNaN);
  if (initialized_) {
    advance(params_hw_, state_);
    maintain();
    ++since_search_;
  } else if (observations_ > 0 && step_ + 1 >= 2 * static_cast<int64_t>(period_)) {
    initialise();
  }
}

Forecast HoltWintersModel::forecast(int horizon, double coverage) const {
  std::string label = name();
  if (fallback_ != 0) {
    label += " (additive: " + fallbackReason() + ")";
  } else if (second_period_ > 0 && !two_active_) {
    label += " (one season until two of " + std::to_string(second_period_) + " steps are seen)";
  }
  return assembleForecast(std::move(label), observations_, horizon, coverage, errors_, errorScale(),
                          [&](std::vector<double>& points) { pointForecast(points); });
}

std::string HoltWintersModel::saveState() const {
  StateWriter w;
  w.putText("holt-winters").putInt(3);
  w.putInt(params_.max_horizon)
      .putInt(params_.error_window)
      .putInt(params_.fit_seasons)
      .putInt(params_.refit_seasons)
      .putInt(params_.fit_horizon)
      .putInt(params_.damped ? 1 : 0)
      .putInt(params_.track_errors ? 1 : 0)
      .putInt(period_)
      .putInt(multiplicative_ ? 1 : 0)
      .putInt(second_period_);
  w.putDouble(params_hw_.alpha)
      .putDouble(params_hw_.beta)
      .putDouble(params_hw_.gamma)
      .putDouble(params_hw_.phi)
      .putDouble(params_hw_.gamma2);
  w.putDouble(state_.level).putDouble(state_.trend);
  state_.screen.save(w);
  for (double s : state_.season) w.putDouble(s);
  w.putInt(fallback_)
      .putInt(two_active_ ? 1 : 0)
      .putDouble(state_.reference)
      .putDouble(state_.raw_scale);
  w.putInt(static_cast<int64_t>(state_.season2.size()));
  for (double s : state_.season2) w.putDouble(s);
  w.putInt(initialized_ ? 1 : 0)
      .putInt(step_)
      .putInt(observations_)
      .putDouble(last_value_)
      .putInt(since_search_)
      .putDouble(searched_error_)
      .putDouble(searched_scale_);
  w.putInt(static_cast<int64_t>(history_.size()));
  for (std::size_t i = 0; i < history_.size(); ++i) w.putDouble(history_[i]);
  errors_.save(w);
  return w.take();
}

Status HoltWintersModel::loadState(const std::string& state) {
  StateReader r(state, "holt-winters model state");
  r.expectText("holt-winters");
  // Versions 1 (one additive season) and 2 (a screen without its run's
  // errors) are still read, so saved engines resume.
  const int64_t version = r.getInt(1, 3);
  ForecastModelParams params = params_;
  params.max_horizon = static_cast<int>(r.getInt(1, 10000));
  params.error_window = static_cast<int>(r.getInt(2, 1000000));
  params.fit_seasons = static_cast<int>(r.getInt(3, 1000));
  params.refit_seasons = static_cast<int>(r.getInt(1, 1000));
  params.fit_horizon = static_cast<int>(r.getInt(0, 10000));
  params.damped = r.getInt(0, 1) == 1;
  params.track_errors = r.getInt(0, 1) == 1;
  params.season_period = static_cast<int>(r.getInt(1, kMaxSeasonPeriod));
  params.seasonality = Seasonality::kAdditive;
  params.second_season_period = 0;
  if (version >= 2) {
    params.seasonality =
        r.getInt(0, 1) == 1 ? Seasonality::kMultiplicative : Seasonality::kAdditive;
    params.second_season_period = static_cast<int>(r.getInt(0, kMaxSeasonPeriod));
  }
  if (!r.ok()) return r.status();
  if (secondPeriodOf(params) != params.second_season_period) {
    r.fail("second season " + std::to_string(params.second_season_period) +
           " does not fit the first season or the seasonality");
    return r.status();
  }

  HoltWintersModel loaded(params);
  Smoothing& p = loaded.params_hw_;
  p.alpha = r.getDouble();
  p.beta = r.getDouble();
  p.gamma = r.getDouble();
  p.phi = r.getDouble();
  if (version >= 2) p.gamma2 = r.getDouble();
  State& s = loaded.state_;
  s.level = r.getDouble();
  s.trend = r.getDouble();
  if (version >= 3) {
    s.screen.load(r);
  } else {
    const double scale = r.getDouble();
    const auto run =
        static_cast<int>(r.getInt(-OutlierScreen::kShiftRun, OutlierScreen::kShiftRun));
    // The screen of a started state is warm (its start spread set the scale).
    if (r.ok() && !s.screen.restore(scale, run, OutlierScreen::kWarmErrors)) {
      r.fail("a negative or non-finite error scale");
    }
  }
  for (double& v : s.season) v = r.getDouble();
  if (version >= 2) {
    loaded.fallback_ = static_cast<int>(r.getInt(0, loaded.multiplicative_ ? kFallbackLevel : 0));
    loaded.two_active_ = r.getInt(0, loaded.second_period_ > 0 ? 1 : 0) == 1;
    s.reference = r.getDouble();
    s.raw_scale = r.getDouble();
    const int64_t kept2 = r.getInt(0, loaded.second_period_);
    if (r.ok() && kept2 != (loaded.two_active_ ? loaded.second_period_ : 0)) {
      r.fail("second season profile of " + std::to_string(kept2) + " values");
    }
    if (r.ok()) s.season2.resize(static_cast<std::size_t>(kept2));
    for (double& v : s.season2) v = r.getDouble();
  }
  loaded.initialized_ = r.getInt(0, 1) == 1;
  loaded.step_ = r.getInt(-1, kMaxInt);
  loaded.observations_ = r.getInt(0, kMaxInt);
  loaded.last_value_ = r.getDouble();
  loaded.since_search_ = r.getInt(0, kMaxInt);
  loaded.searched_error_ = r.getDouble();
  loaded.searched_scale_ = r.getDouble();
  const int64_t kept = r.getInt(0, static_cast<int64_t>(loaded.history_.capacity()));
  for (int64_t i = 0; i < kept && r.ok(); ++i) loaded.history_.push(r.getDouble());
  if (version >= 3) {
    loaded.errors_.load(r);
  } else {
    loaded.errors_.loadWindows(r, loaded.errorScale());
  }
  auto unit = [](double v) { return v >= 0.0 && v <= 1.0; };
  bool finite_state = std::isfinite(s.level) && std::isfinite(s.trend) &&
                      std::isfinite(s.reference) && std::isfinite(s.raw_scale) &&
                      s.raw_scale >= 0.0;
  for (double v : s.season) finite_state = finite_state && std::isfinite(v);
  for (double v : s.season2) finite_state = finite_state && std::isfinite(v);
  if (loaded.multiplicativeNow()) {
    for (double v : s.season) finite_state = finite_state && v > 0.0;
  }
  if (r.ok() && (!unit(p.alpha) || !unit(p.beta) || !unit(p.gamma) || !unit(p.gamma2) ||
                 !unit(p.phi) || !finite_state)) {
    r.fail("smoothing parameters outside [0, 1] or a non-finite state");
  }
  if (Status status = r.status(); !status.ok()) return status;
  *this = std::move(loaded);
  return {};
}

}  // namespace pso::controller::engine
