#include "controller/engine/model_selector.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "controller/engine/season_detection.h"
#include "controller/engine/state_codec.h"
#include "controller/engine/statistics.h"

namespace pso::controller::engine {

namespace {

/// Forecasts are scored from every kScoreStride-th origin at least: errors
/// at neighbouring origins are nearly the same, and this divides the cost of
/// scoring every candidate at every step by the stride. Over long horizons
/// (a fine cycle with a long warm-up) the stride grows with the horizon
/// (BacktestScore::scoreStrideFor()).
constexpr int kScoreStride = 4;
/// Likewise only every kTargetStride-th value is scored against the kept
/// forecasts. Coprime with kScoreStride, so every horizon 1..H is scored in
/// turn. Scoring touches memory of every candidate, which is what an update
/// of the "auto" model mostly waits for.
constexpr int kTargetStride = 3;
/// Forgetting rate of the rolling backtest error per scored value (about 720
/// steps: days of 5-minute data, so one burst does not flip the choice).
constexpr double kScoreRate = static_cast<double>(kTargetStride) / 720.0;
/// Values a candidate must have scored before it can be chosen (about 24
/// steps' worth).
constexpr int64_t kMinScored = 24 / kTargetStride;
/// A challenger must beat the chosen candidate's error by this factor.
constexpr double kSwitchMargin = 0.98;
/// Seasons followed at most (e.g. daily and weekly).
constexpr std::size_t kMaxSeasons = 2;
/// Once the window is full, seasons are re-detected about every this many
/// windows (AutoModel::nextDetectionAfter()).
constexpr int64_t kRedetectWindows = 4;
/// First detection, in steps; it doubles up to the detection window.
constexpr int64_t kFirstDetection = 128;
constexpr int64_t kMaxCandidates = 64;

}  // namespace

// ---- BacktestScore ----

int BacktestScore::scoreStrideFor(int horizon) {
  int stride =
      std::max(kScoreStride, (std::max(1, horizon) + kMaxScoredPaths - 1) / kMaxScoredPaths);
  // Coprime with the target stride (3), so every horizon is scored in turn.
  if (stride % kTargetStride == 0) ++stride;
  return stride;
}

BacktestScore::BacktestScore(int horizon) : BacktestScore(horizon, scoreStrideFor(horizon)) {}

BacktestScore::BacktestScore(int horizon, int stride)
    : horizon_(std::max(1, horizon)),
      stride_(std::max(1, stride)),
      rows_(horizon_ / stride_ + 1),
      paths_(static_cast<std::size_t>(rows_) * static_cast<std::size_t>(horizon_), 0.0),
      stamps_(static_cast<std::size_t>(rows_), -1) {}

void BacktestScore::advance() {
  ++step_;
  if (++target_phase_ == kTargetStride) target_phase_ = 0;
  if (step_ == 0) {
    phase_ = 0;
    row_ = 0;
  } else if (++phase_ == stride_) {
    phase_ = 0;
    if (++row_ == static_cast<std::size_t>(rows_)) row_ = 0;
  }
}

bool BacktestScore::observe(double actual) {
  advance();
  if (step_ == 0 || target_phase_ != 0) return false;
  double sum = 0.0;
  int n = 0;
  const auto width = static_cast<std::size_t>(horizon_);
  const auto rows = static_cast<std::size_t>(rows_);
  // The scored origins (multiples of the stride) among step_-H .. step_-1,
  // newest first, with their rows walking down.
  int64_t origin = step_ - phase_;
  std::size_t row = row_;
  if (phase_ == 0) {
    origin -= stride_;
    row = row == 0 ? rows - 1 : row - 1;
  }
  for (; origin >= 0 && origin >= step_ - horizon_; origin -= stride_) {
    const std::size_t at = row;
    row = row == 0 ? rows - 1 : row - 1;
    if (stamps_[at] != origin) continue;
    const double predicted = paths_[at * width + static_cast<std::size_t>(step_ - origin - 1)];
    if (!std::isfinite(predicted)) continue;
    sum += std::abs(actual - predicted);
    ++n;
  }
  if (n == 0) return false;
  sum_ = (1.0 - kScoreRate) * sum_ + kScoreRate * (sum / n);
  weight_ = (1.0 - kScoreRate) * weight_ + kScoreRate;
  ++scored_;
  return true;
}

void BacktestScore::skip() {
  advance();
}

void BacktestScore::prefetch() const {
  // Only the steps that score read the kept forecasts.
  if (target_phase_ + 1 != kTargetStride) return;
  __builtin_prefetch(stamps_.data());
  constexpr std::size_t kPerLine = 64 / sizeof(double);
  for (std::size_t i = 0; i < paths_.size(); i += kPerLine) __builtin_prefetch(&paths_[i]);
}

bool BacktestScore::wantsPath() const {
  return step_ >= 0 && phase_ == 0;
}

void BacktestScore::remember(const std::vector<double>& path) {
  if (!wantsPath()) return;
  stamps_[row_] = step_;
  double* out = &paths_[row_ * static_cast<std::size_t>(horizon_)];
  for (int h = 0; h < horizon_; ++h) {
    out[h] = static_cast<std::size_t>(h) < path.size() ? path[static_cast<std::size_t>(h)] : kNaN;
  }
}

const double* BacktestScore::rememberedNow() const {
  if (!wantsPath() || stamps_[row_] != step_) return nullptr;
  return &paths_[row_ * static_cast<std::size_t>(horizon_)];
}

double BacktestScore::error() const {
  return weight_ > 0.0 ? sum_ / weight_ : kInf;
}

void BacktestScore::save(StateWriter& w) const {
  w.putInt(horizon_).putInt(stride_);
  w.putInt(step_).putDouble(sum_).putDouble(weight_).putInt(scored_);
  for (int64_t s : stamps_) w.putInt(s);
  for (double v : paths_) w.putDouble(v);
}

void BacktestScore::load(StateReader& r, bool with_stride) {
  const auto horizon = static_cast<int>(r.getInt(1, 10000));
  const auto stride = with_stride ? static_cast<int>(r.getInt(1, 10000)) : kScoreStride;
  if (!r.ok()) return;
  if (horizon != horizon_) {
    r.fail("backtest horizon " + std::to_string(horizon) + " differs from the model's " +
           std::to_string(horizon_));
    return;
  }
  BacktestScore loaded(horizon, stride);
  loaded.step_ = r.getInt(-1, kMaxInt);
  loaded.sum_ = r.getDouble();
  loaded.weight_ = r.getDouble();
  loaded.scored_ = r.getInt(0, kMaxInt);
  for (int64_t& s : loaded.stamps_) s = r.getInt(-1, kMaxInt);
  for (double& v : loaded.paths_) v = r.getDouble();
  if (!r.ok()) return;
  if (stride != stride_) {
    // Saved with another stride (stride 4 over a long horizon, by the
    // release before): the rolling error stays, the unscored forecasts go.
    BacktestScore kept(horizon_, stride_);
    kept.step_ = loaded.step_;
    kept.sum_ = loaded.sum_;
    kept.weight_ = loaded.weight_;
    kept.scored_ = loaded.scored_;
    loaded = std::move(kept);
  }
  if (loaded.step_ >= 0) {
    loaded.phase_ = static_cast<int>(loaded.step_ % loaded.stride_);
    loaded.row_ = static_cast<std::size_t>((loaded.step_ / loaded.stride_) % loaded.rows_);
    // advance() counts it from step -1, where it is 0.
    loaded.target_phase_ = static_cast<int>((loaded.step_ + 1) % kTargetStride);
  }
  *this = std::move(loaded);
}

// ---- AutoModel ----

struct AutoModel::Candidate {
  CandidateKey key;
  std::unique_ptr<ForecastModel> forecaster;
  BacktestScore score;

  Candidate(CandidateKey k, std::unique_ptr<ForecastModel> f, int horizon)
      : key(std::move(k)), forecaster(std::move(f)), score(horizon) {}

  std::string label() const {
    if (key.profile) return key.model + "/profile";
    if (key.period <= 1) return key.model;
    // Appended piece by piece: "literal" + std::string trips GCC 12's
    // -Wrestrict false positive at -O3 (a Release build).
    std::string out = key.model;
    out.append("/").append(std::to_string(key.period));
    if (key.second > 0) out.append("+").append(std::to_string(key.second));
    return out;
  }

  /// Starts loading what learn() is about to touch.
  void prefetch() const {
    __builtin_prefetch(forecaster.get());
    score.prefetch();
  }

  /// Learns the step ending at `end_ms`; `path` is scratch of the model's
  /// horizon. A profile candidate learns the value with the shape taken out
  /// and is scored on its forecast with the shape put back. Returns whether
  /// the rolling error changed.
  bool learn(double value, bool present, std::vector<double>& path, const AutoModel& owner,
             int64_t end_ms) {
    bool rescored = false;
    if (present) {
      rescored = score.observe(value);
      forecaster->update(key.profile ? owner.profile_->remove(value, end_ms - owner.step_ms_ / 2)
                                     : value);
    } else {
      score.skip();
      forecaster->observeMissing();
    }
    if (score.wantsPath()) {
      forecaster->pointForecast(path);
      owner.finishPath(key, end_ms, path);
      score.remember(path);
    }
    return rescored;
  }

  /// The one-step error scale in the series' units.
  double errorScale(const AutoModel& owner) const {
    const double scale = forecaster->errorScale();
    if (!key.profile || !owner.profile_->multiplicative()) return scale;
    return scale * owner.profile_->at(owner.last_ms_ - owner.step_ms_ / 2);
  }
};

AutoModel::AutoModel(const ForecastModelParams& params)
    : params_(params),
      horizon_(std::max(1, params.max_horizon)),
      history_(static_cast<std::size_t>(std::max(64, params.detection_window))),
      combination_score_(horizon_),
      scratch_(static_cast<std::size_t>(horizon_), 0.0),
      errors_(params.max_horizon, params.error_window, params.error_stride) {
  candidates_.push_back(makeCandidate({"naive", 1, 0}));
  candidates_.push_back(makeCandidate({"holt", 1, 0}));
  next_detection_ = nextDetectionAfter(0);
  setSeasons(
      params_.season_period > 1 ? std::vector<int>{params_.season_period} : std::vector<int>{},
      false);
}

AutoModel::~AutoModel() = default;
AutoModel::AutoModel(AutoModel&&) noexcept = default;
AutoModel& AutoModel::operator=(AutoModel&&) noexcept = default;

namespace {

/// The parameters of a candidate of an "auto" model with `params`: season
/// `period`, and `second` (0 = none) for the two-season model.
ForecastModelParams candidateParams(const ForecastModelParams& params, int period, int second) {
  ForecastModelParams p = params;
  p.season_period = period;
  p.second_season_period = second;
  p.seasonality = Seasonality::kAdditive;
  // The candidates' own interval trackers are unused (the auto model scores
  // them, and tracks the errors of what it issues): keep them minimal.
  p.max_horizon = 1;
  p.error_window = 2;
  p.track_errors = false;
  p.fit_horizon = std::max(1, params.max_horizon);
  // Holt's periodic search dominates its cost; as one candidate among
  // several (and with its own early search on a level shift) it searches an
  // eighth as often.
  p.refit_every = std::min(1000000, 8 * params.refit_every);
  // Holt-Winters' periodic search, likewise, at half the rate; a lasting rise
  // of its error still brings a search forward.
  p.refit_seasons = std::min(1000, 2 * params.refit_seasons);
  return p;
}

}  // namespace

std::unique_ptr<AutoModel::Candidate> AutoModel::makeCandidate(const CandidateKey& key) const {
  auto made = makeForecastModel(key.model, candidateParams(params_, key.period, key.second));
  // Only registered names with the checked params reach here.
  return std::make_unique<Candidate>(key, std::move(made).value(), horizon_);
}

std::vector<AutoModel::CandidateKey> AutoModel::candidatesFor(const std::vector<int>& seasons,
                                                              bool multiplicative) {
  std::vector<CandidateKey> out;
  for (int period : seasons) {
    // A longer season that repeats a shorter one (weekly on daily) gets the
    // two-season model, which learns both at once, in place of a
    // single-season one of its own.
    const auto shorter = std::find_if(seasons.begin(), seasons.end(), [&](int other) {
      return other < period && period % other == 0 && period >= 2 * other;
    });
    if (shorter != seasons.end()) {
      out.push_back({"holt-winters-2s", *shorter, period});
    } else {
      out.push_back({"holt-winters", period, 0});
    }
    out.push_back({"seasonal-naive", period, 0});
  }
  // Where the strongest season's amplitude grows with the level, a
  // multiplicative model competes too; the backtest decides whether it wins.
  if (multiplicative && !seasons.empty()) out.push_back({"holt-winters-mult", seasons[0], 0});
  // ETS with Fourier seasons: every season at once, each as a few harmonics;
  // without a season, ETS of the level (and trend) alone, which differs from
  // holt in what it fits (errors one and max_horizon steps ahead, error type
  // and trend by an information criterion).
  if (seasons.empty()) {
    out.push_back({"ets", 1, 0});
  } else {
    const auto [shortest, longest] = std::minmax_element(seasons.begin(), seasons.end());
    const bool nested = *longest % *shortest == 0 && *longest >= 2 * *shortest;
    out.push_back({"ets", *shortest, nested ? *longest : 0});
  }
  return out;
}

void AutoModel::setSeasons(const std::vector<int>& seasons, bool multiplicative) {
  const std::vector<CandidateKey> wanted = candidatesFor(seasons, multiplicative);
  // naive and holt stay; the others follow the seasons.
  std::erase_if(candidates_, [&](const std::unique_ptr<Candidate>& c) {
    const bool fixed = c->key.profile || c->key.model == "naive" || c->key.model == "holt";
    return !fixed && std::find(wanted.begin(), wanted.end(), c->key) == wanted.end();
  });
  for (const CandidateKey& key : wanted) {
    const bool known = std::any_of(candidates_.begin(), candidates_.end(),
                                   [&](const auto& c) { return c->key == key; });
    if (known) continue;
    auto candidate = makeCandidate(key);
    // Catch up on the kept history, scored like the others were.
    for (std::size_t i = 0; i < history_.size(); ++i) {
      candidate->learn(history_[i], std::isfinite(history_[i]), scratch_, *this, 0);
    }
    candidates_.push_back(std::move(candidate));
  }
  seasons_ = seasons;
  multiplicative_ = multiplicative;
  best_ = candidates_.size() + 1;  // re-choose without hysteresis
  choose();
}

void AutoModel::detectSeasons() {
  const std::vector<double> values = history_.toVector<double>();
  std::vector<int> found = detectSeasonPeriods(values);
  if (found.size() > kMaxSeasons) found.resize(kMaxSeasons);
  const bool multiplicative = !found.empty() && seasonalAmplitudeScales(values, found[0]);
  if (found != seasons_ || multiplicative != multiplicative_) setSeasons(found, multiplicative);
}

void AutoModel::choose() {
  const std::size_t n = candidates_.size();
  std::size_t a = n;
  std::size_t b = n;
  std::size_t c3 = n;
  for (std::size_t i = 0; i < n; ++i) {
    const Candidate& c = *candidates_[i];
    if (c.score.scored() < kMinScored) continue;
    const double e = c.score.error();
    if (a == n || e < candidates_[a]->score.error()) {
      c3 = b;
      b = a;
      a = i;
    } else if (b == n || e < candidates_[b]->score.error()) {
      c3 = b;
      b = i;
    } else if (c3 == n || e < candidates_[c3]->score.error()) {
      c3 = i;
    }
  }
  third_ = c3 == n ? kNone : c3;
  if (a == n) {
    // Nothing scored yet: the last value.
    best_ = 0;
    first_ = second_ = 0;
    return;
  }
  first_ = a;
  second_ = b == n ? a : b;
  std::size_t challenger = a;
  double challenger_error = candidates_[a]->score.error();
  if (b != n && combination_score_.scored() >= kMinScored &&
      combination_score_.error() < challenger_error) {
    challenger = n;
    challenger_error = combination_score_.error();
  }
  double current_error = kInf;
  if (best_ < n && candidates_[best_]->score.scored() >= kMinScored) {
    current_error = candidates_[best_]->score.error();
  } else if (best_ == n && b != n) {
    current_error = combination_score_.error();
  }
  if (challenger_error < kSwitchMargin * current_error) best_ = challenger;
}

void AutoModel::candidatePath(std::size_t index, std::vector<double>& out, bool now) const {
  auto single = [&](std::size_t i, std::vector<double>& into) {
    const double* kept = now ? candidates_[i]->score.rememberedNow() : nullptr;
    if (kept != nullptr) {
      std::copy_n(kept, into.size(), into.begin());
    } else {
      candidates_[i]->forecaster->pointForecast(into);
      finishPath(candidates_[i]->key, last_ms_, into);
    }
  };
  if (index < candidates_.size()) {
    single(index, out);
    return;
  }
  single(first_, out);
  std::vector<double> other(out.size());
  single(second_, other);
  if (third_ == kNone) {
    for (std::size_t i = 0; i < out.size(); ++i) out[i] = 0.5 * (out[i] + other[i]);
    return;
  }
  std::vector<double> third(out.size());
  single(third_, third);
  for (std::size_t i = 0; i < out.size(); ++i) {
    // The median of three.
    const double a = out[i], b = other[i], c = third[i];
    out[i] = std::max(std::min(a, b), std::min(std::max(a, b), c));
  }
}

void AutoModel::step(double value, bool present) {
  combination_score_.prefetch();
  errors_.prefetch();
  ++steps_;
  // Only a changed rolling error can change the choice.
  bool rescored = false;
  if (present) {
    ++observations_;
    errors_.observe(value);
    rescored = combination_score_.observe(value);
  } else {
    errors_.skip();
    combination_score_.skip();
  }
  history_.push(present ? nearestFloat(value) : std::numeric_limits<float>::quiet_NaN());
  last_ms_ = next_ms_ >= 0 ? next_ms_ : last_ms_ + step_ms_;
  next_ms_ = -1;
  // The candidates' states are far apart in memory, and an update of many
  // series in turn finds none of them in cache: ask for them all at once, so
  // the loads overlap instead of waiting one after another.
  for (const auto& c : candidates_) __builtin_prefetch(c.get());
  for (const auto& c : candidates_) c->prefetch();
  for (const auto& c : candidates_) c->forecaster->prefetch();
  for (auto& c : candidates_) {
    rescored = c->learn(value, present, scratch_, *this, last_ms_) || rescored;
  }
  if (params_.season_period <= 1 && steps_ >= next_detection_) {
    detectSeasons();
    next_detection_ = nextDetectionAfter(steps_);
  }
  if (rescored) choose();
  // The combination's forecast is scored like the candidates', chosen or not.
  if (combination_score_.wantsPath()) {
    candidatePath(candidates_.size(), scratch_, true);
    combination_score_.remember(scratch_);
  }
  // What this model issues is tracked for its intervals.
  if (errors_.wantsPath()) {
    candidatePath(best_, scratch_, true);
    errors_.remember(scratch_, errorScale());
  }
}

int64_t AutoModel::redetectionPeriod() const {
  const auto window = static_cast<int64_t>(history_.capacity());
  return kRedetectWindows * window - params_.refit_phase % window;
}

int64_t AutoModel::nextDetectionAfter(int64_t step) const {
  // Each level L (128, 256, ... the window) is detected at L less this
  // model's phase modulo L / 2: in (L / 2, L], so the levels stay in order
  // and a fleet started together spreads each level over L / 2 steps.
  const auto window = static_cast<int64_t>(history_.capacity());
  for (int64_t level = kFirstDetection;; level = std::min(2 * level, window)) {
    const int64_t at = level - params_.refit_phase % std::max<int64_t>(1, level / 2);
    if (at > step) return at;
    if (level == window) break;
  }
  return step + redetectionPeriod();
}

void AutoModel::update(double value) {
  if (!std::isfinite(value)) {
    observeMissing();
    return;
  }
  step(value, true);
}

void AutoModel::observeMissing() {
  step(kNaN, false);
}

std::string AutoModel::chosen() const {
  if (best_ < candidates_.size()) return candidates_[best_]->label();
  std::string out = third_ != kNone ? "median(" : "mean(";
  out.append(candidates_[first_]->label()).append("+").append(candidates_[second_]->label());
  if (third_ != kNone) out.append("+").append(candidates_[third_]->label());
  return out.append(")");
}

std::vector<std::pair<std::string, double>> AutoModel::candidateErrors() const {
  std::vector<std::pair<std::string, double>> out;
  for (const auto& c : candidates_) out.emplace_back(c->label(), c->score.error());
  out.emplace_back("median of the best three", combination_score_.error());
  return out;
}

double AutoModel::errorScale() const {
  if (best_ < candidates_.size()) return candidates_[best_]->errorScale(*this);
  double sum = candidates_[first_]->errorScale(*this) + candidates_[second_]->errorScale(*this);
  if (third_ == kNone) return 0.5 * sum;
  return (sum + candidates_[third_]->errorScale(*this)) / 3.0;
}

void AutoModel::setStepTime(int64_t end_ms, int64_t step_ms) {
  next_ms_ = end_ms;
  if (step_ms > 0) step_ms_ = step_ms;
}

void AutoModel::shapeAhead(int64_t end_ms, std::vector<double>& out) const {
  for (std::size_t h = 0; h < out.size(); ++h) {
    out[h] = profile_->at(end_ms + static_cast<int64_t>(h + 1) * step_ms_ - step_ms_ / 2);
  }
}

void AutoModel::finishPath(const CandidateKey& key, int64_t end_ms,
                           std::vector<double>& path) const {
  if (key.profile) {
    restoreShape(end_ms, path);
  } else if (key.period <= 1) {
    addDetailAhead(end_ms, path);
  }
}

void AutoModel::addDetailAhead(int64_t end_ms, std::vector<double>& path) const {
  if (!profile_ || !profile_->hasDetail() || step_ms_ <= 0) return;
  const bool multiplicative = profile_->multiplicative();
  // The change from the current step's centre to each forecast step's,
  // computed once per step for every candidate.
  if (detail_end_ms_ != end_ms || detail_ahead_.size() < path.size()) {
    detail_ahead_.resize(std::max(path.size(), static_cast<std::size_t>(horizon_)));
    const double now = profile_->detailAt(end_ms - step_ms_ / 2);
    for (std::size_t h = 0; h < detail_ahead_.size(); ++h) {
      const double ahead =
          profile_->detailAt(end_ms + static_cast<int64_t>(h + 1) * step_ms_ - step_ms_ / 2);
      detail_ahead_[h] = multiplicative ? (1.0 + ahead) / std::max(0.05, 1.0 + now) : ahead - now;
    }
    detail_end_ms_ = end_ms;
  }
  for (std::size_t h = 0; h < path.size(); ++h) {
    path[h] = multiplicative ? path[h] * detail_ahead_[h] : path[h] + detail_ahead_[h];
  }
}

void AutoModel::restoreShape(int64_t end_ms, std::vector<double>& path) const {
  // Both profile candidates restore at the same step: the shape is computed once.
  if (shape_end_ms_ != end_ms || shape_.size() < path.size()) {
    shape_.resize(std::max(path.size(), static_cast<std::size_t>(horizon_)));
    shapeAhead(end_ms, shape_);
    shape_end_ms_ = end_ms;
  }
  const bool multiplicative = profile_->multiplicative();
  for (std::size_t h = 0; h < path.size(); ++h) {
    path[h] = multiplicative ? path[h] * shape_[h] : path[h] + shape_[h];
  }
}

void AutoModel::setSeasonalProfile(std::optional<SeasonalProfile> profile) {
  shape_end_ms_ = std::numeric_limits<int64_t>::min();
  detail_end_ms_ = std::numeric_limits<int64_t>::min();
  if (!profile) {
    if (!profile_) return;
    profile_.reset();
    std::erase_if(candidates_, [](const std::unique_ptr<Candidate>& c) { return c->key.profile; });
    best_ = candidates_.size() + 1;
    choose();
    return;
  }
  const bool fresh = !profile_;
  profile_ = std::move(profile);
  if (!fresh) return;
  if (step_ms_ <= 0) {
    // The kept history has no times yet: nothing to start the candidates on.
    profile_.reset();
    return;
  }
  for (const char* model : {"holt", "ets"}) {
    auto candidate = makeCandidate({model, 1, 0, true});
    // Catch up on the kept history at its steps' times, scored like the others.
    const auto n = static_cast<int64_t>(history_.size());
    for (int64_t i = 0; i < n; ++i) {
      const double v = history_[static_cast<std::size_t>(i)];
      candidate->learn(v, std::isfinite(v), scratch_, *this, last_ms_ - (n - 1 - i) * step_ms_);
    }
    candidates_.push_back(std::move(candidate));
  }
  best_ = candidates_.size() + 1;
  choose();
}

void AutoModel::pointForecast(std::vector<double>& out) const {
  candidatePath(best_, out);
}

Forecast AutoModel::forecast(int horizon, double coverage) const {
  Forecast out =
      assembleForecast("auto: " + chosen(), observations_, horizon, coverage, errors_, errorScale(),
                       [&](std::vector<double>& points) { pointForecast(points); });
  widenForUsualEvents(out);
  return out;
}

void AutoModel::widenForUsualEvents(Forecast& forecast) const {
  if (!profile_ || !profile_->hasDetail() || step_ms_ <= 0) return;
  const bool multiplicative = profile_->multiplicative();
  const std::size_t n = std::min({forecast.point.size(), forecast.lo.size(), forecast.hi.size()});
  for (std::size_t h = 0; h < n; ++h) {
    const int64_t at = last_ms_ + static_cast<int64_t>(h + 1) * step_ms_ - step_ms_ / 2;
    // The point holds the detail here; the interval reaches from it to the
    // events around.
    const double here = profile_->detailAt(at);
    const auto [events_low, events_high] = profile_->eventRange(at);
    const double low = std::min(events_low, here);
    const double high = std::max(events_high, here);
    if (multiplicative) {
      const double base = std::max(0.05, 1.0 + here);
      forecast.hi[h] = std::max(forecast.hi[h], forecast.hi[h] * (1.0 + high) / base);
      forecast.lo[h] = std::min(forecast.lo[h], forecast.lo[h] * std::max(0.0, 1.0 + low) / base);
    } else {
      forecast.hi[h] += high - here;
      forecast.lo[h] -= here - low;
    }
  }
}

std::string AutoModel::saveState() const {
  StateWriter w;
  // Version 5 says whether a seasonal profile follows, saves the profile's
  // daily detail, and names each score's origin stride; 6 saves the
  // profile's usual events.
  w.putText("auto").putInt(6);
  w.putInt(params_.max_horizon)
      .putInt(params_.error_window)
      .putInt(params_.fit_window)
      .putInt(params_.warmup)
      .putInt(params_.refit_every)
      .putInt(params_.refit_phase)
      .putInt(params_.damped ? 1 : 0)
      .putInt(params_.track_errors ? 1 : 0)
      .putInt(params_.season_period)
      .putInt(params_.fit_seasons)
      .putInt(params_.refit_seasons)
      .putInt(params_.fit_horizon)
      .putInt(params_.detection_window);
  w.putInt(steps_).putInt(observations_).putInt(next_detection_);
  w.putInt(static_cast<int64_t>(seasons_.size()));
  for (int s : seasons_) w.putInt(s);
  w.putInt(multiplicative_ ? 1 : 0);
  w.putInt(profile_ ? 1 : 0);
  if (profile_) {
    w.putInt(last_ms_).putInt(step_ms_);
    profile_->save(w);
  }
  w.putInt(static_cast<int64_t>(history_.size()));
  for (std::size_t i = 0; i < history_.size(); ++i) w.putFloat(history_[i]);
  w.putInt(static_cast<int64_t>(candidates_.size()));
  for (const auto& c : candidates_) {
    w.putText(c->key.model)
        .putInt(c->key.period)
        .putInt(c->key.second)
        .putText(c->forecaster->saveState());
    if (profile_) w.putInt(c->key.profile ? 1 : 0);
    c->score.save(w);
  }
  combination_score_.save(w);
  w.putInt(static_cast<int64_t>(best_))
      .putInt(static_cast<int64_t>(first_))
      .putInt(static_cast<int64_t>(second_))
      .putInt(third_ == kNone ? -1 : static_cast<int64_t>(third_));
  errors_.save(w);
  return w.take();
}

Status AutoModel::loadState(const std::string& state) {
  StateReader r(state, "auto model state");
  r.expectText("auto");
  // Version 1 had no two-season or multiplicative candidates, 2 kept raw
  // error windows for its intervals; 4 adds the seasonal profile; 5 says
  // whether one follows (4 always had one), adds the profile's daily detail
  // and names the scores' strides; 6 adds the profile's usual events.
  const int64_t version = r.getInt(1, 6);
  ForecastModelParams p;
  p.max_horizon = static_cast<int>(r.getInt(1, 10000));
  p.error_window = static_cast<int>(r.getInt(2, 1000000));
  p.fit_window = static_cast<int>(r.getInt(4, 1000000));
  p.warmup = static_cast<int>(r.getInt(1, 1000000));
  p.refit_every = static_cast<int>(r.getInt(1, 1000000));
  p.refit_phase = static_cast<int>(r.getInt(0, 1000000));
  p.damped = r.getInt(0, 1) == 1;
  p.track_errors = r.getInt(0, 1) == 1;
  p.season_period = static_cast<int>(r.getInt(1, 10000000));
  p.fit_seasons = static_cast<int>(r.getInt(3, 1000));
  p.refit_seasons = static_cast<int>(r.getInt(1, 1000));
  p.fit_horizon = static_cast<int>(r.getInt(0, 10000));
  p.detection_window = static_cast<int>(r.getInt(64, 10000000));
  if (!r.ok()) return r.status();
  // Built without the configured season, whose candidates are in the state.
  ForecastModelParams bare = p;
  bare.season_period = 1;
  AutoModel loaded(bare);
  loaded.params_ = p;
  loaded.candidates_.clear();
  loaded.steps_ = r.getInt(0, kMaxInt);
  loaded.observations_ = r.getInt(0, kMaxInt);
  loaded.next_detection_ = r.getInt(0, kMaxInt);
  const int64_t season_count = r.getInt(0, static_cast<int64_t>(kMaxSeasons));
  for (int64_t i = 0; i < season_count && r.ok(); ++i) {
    loaded.seasons_.push_back(static_cast<int>(r.getInt(2, 10000000)));
  }
  if (version >= 2) loaded.multiplicative_ = r.getInt(0, 1) == 1;
  const bool has_profile = version >= 5 ? r.getInt(0, 1) == 1 : version == 4;
  if (has_profile) {
    loaded.last_ms_ = r.getInt();
    loaded.step_ms_ = r.getInt(1, kMaxInt);
    loaded.profile_ = SeasonalProfile::load(r, version >= 6   ? SeasonalProfile::Saved::kEvents
                                               : version == 5 ? SeasonalProfile::Saved::kDetail
                                                              : SeasonalProfile::Saved::kHarmonics);
  }
  const int64_t kept = r.getInt(0, static_cast<int64_t>(loaded.history_.capacity()));
  for (int64_t i = 0; i < kept && r.ok(); ++i) loaded.history_.push(r.getFloat());
  const int64_t count = r.getInt(1, kMaxCandidates);
  for (int64_t i = 0; i < count && r.ok(); ++i) {
    const std::string model = r.getText();
    const auto period = static_cast<int>(r.getInt(1, 10000000));
    const auto second = version >= 2 ? static_cast<int>(r.getInt(0, 10000000)) : 0;
    const std::string text = r.getText();
    const bool profile = has_profile && r.getInt(0, 1) == 1;
    if (!r.ok()) break;
    auto made = makeForecastModel(model, candidateParams(p, period, second));
    if (model == "auto" || !made.ok()) {
      r.fail("candidate model '" + model + "' is not a known single model");
      break;
    }
    if (Status st = made.value()->loadState(text); !st.ok()) {
      r.fail("candidate " + model + ": " + st.error().message);
      break;
    }
    auto c = std::make_unique<Candidate>(CandidateKey{model, period, second, profile},
                                         std::move(made).value(), p.max_horizon);
    c->score.load(r, version >= 5);
    loaded.candidates_.push_back(std::move(c));
  }
  loaded.combination_score_.load(r, version >= 5);
  const auto n = static_cast<int64_t>(loaded.candidates_.size());
  loaded.best_ = static_cast<std::size_t>(r.getInt(0, n));
  loaded.first_ = static_cast<std::size_t>(r.getInt(0, std::max<int64_t>(0, n - 1)));
  loaded.second_ = static_cast<std::size_t>(r.getInt(0, std::max<int64_t>(0, n - 1)));
  if (version >= 3) {
    const int64_t third = r.getInt(-1, std::max<int64_t>(0, n - 1));
    loaded.third_ = third < 0 ? kNone : static_cast<std::size_t>(third);
  }
  if (version >= 3) {
    loaded.errors_.load(r);
  } else {
    loaded.errors_.loadWindows(r, loaded.errorScale());
  }
  if (Status status = r.status(); !status.ok()) return status;
  *this = std::move(loaded);
  return {};
}

}  // namespace pso::controller::engine
