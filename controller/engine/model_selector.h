#pragma once

#include <cstdint>
#include <limits>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "controller/engine/forecast_model.h"
#include "controller/engine/horizon_errors.h"
#include "controller/engine/ring_buffer.h"
#include "controller/engine/seasonal_profile.h"

namespace pso::controller::engine {

/// Rolling backtest error of one forecaster: the mean absolute error over
/// horizons 1..H of the forecasts it made from every stride-th step
/// (scoreStrideFor(H): 4, or more for horizons over kMaxScoredPaths x 4),
/// scored as every 3rd actual value arrives (the stride is never a multiple
/// of 3, so each horizon is scored in turn) and averaged with exponential
/// forgetting (bias-corrected, so a young score is comparable to an old
/// one). It keeps at most kMaxScoredPaths + 1 forecasts of H points, so its
/// memory grows with H, not with H squared. O(H / stride) every 3rd step,
/// O(1) else.
class BacktestScore {
 public:
  /// Forecasts kept for scoring at most (less one): past it the stride grows.
  static constexpr int kMaxScoredPaths = 16;
  /// The origin stride of a score over horizons 1..`horizon`: 4 up to 64
  /// steps, then ceil(horizon / kMaxScoredPaths), never a multiple of 3.
  static int scoreStrideFor(int horizon);

  explicit BacktestScore(int horizon);
  /// A value arrived: scores the remembered forecasts that targeted it;
  /// whether the rolling error changed.
  bool observe(double actual);
  /// A step without a value.
  void skip();
  /// Starts loading the memory the next observe() reads (a hint only).
  void prefetch() const;
  /// Whether the current step's forecast is scored (remember() uses it).
  bool wantsPath() const;
  /// The forecast for steps 1..H made now, after the current step; ignored
  /// unless wantsPath().
  void remember(const std::vector<double>& path);
  /// The H points remember() kept at the current step; nullptr when it kept
  /// none now.
  const double* rememberedNow() const;
  /// The rolling mean absolute error; +inf before any forecast was scored.
  double error() const;
  /// Values scored so far.
  int64_t scored() const { return scored_; }
  /// Every how many steps a forecast is remembered for scoring.
  int stride() const { return stride_; }
  /// Forecasts kept (the scored origins within the last horizon steps).
  int keptPaths() const { return rows_; }

  /// `with_stride`: the saved form names its stride (the auto model's state
  /// version 5); without, it was saved with stride 4. A score loaded with
  /// another stride than its horizon now takes keeps its rolling error and
  /// drops the forecasts not scored yet.
  void save(StateWriter& writer) const;
  void load(StateReader& reader, bool with_stride);

 private:
  BacktestScore(int horizon, int stride);

  int horizon_;
  int stride_;
  int rows_;  ///< scored origins kept: those within the last horizon steps
  /// Moves to the next step, keeping phase_ and row_ in step with step_.
  void advance();

  int64_t step_ = -1;
  int phase_ = 0;                ///< step_ % stride, kept without a division
  int target_phase_ = 0;         ///< step_ % target stride: values are scored at 0
  std::size_t row_ = 0;          ///< (step_ / stride) % rows_, likewise
  std::vector<double> paths_;    ///< rows_ x horizon, row = (origin / stride) % rows_
  std::vector<int64_t> stamps_;  ///< origin step of each row, -1 = empty
  double sum_ = 0.0;
  double weight_ = 0.0;
  int64_t scored_ = 0;
};

/// "auto": per-series model selection by rolling backtest error.
///
/// It keeps the recent values (detection_window of them), finds the series'
/// seasons in them (season_detection.h: at 128, 256, ... values, then every
/// four windows; a configured season_period > 1 overrides detection), and runs
/// these candidates side by side, all online: holt and naive always; per
/// season (at most two, e.g. daily and weekly) seasonal-naive and
/// holt-winters, where a season that repeats a shorter one gets the
/// two-season holt-winters-2s (both seasons at once) instead; when the
/// strongest season's amplitude grows with the level
/// (seasonalAmplitudeScales()), holt-winters-mult too; and ets (ets_model.h)
/// with every season as Fourier harmonics, or without a season its level
/// and trend alone. Each is started by replaying the kept values as soon as
/// the season is known; and the combination of the best three (per step the
/// median of their forecasts; the mean of two while only two are scored),
/// which is robust to one of them going astray. Every
/// candidate learns through the shared outlier screen (robust_level.h). Each
/// candidate's forecasts for steps 1..max_horizon are scored as values arrive
/// (BacktestScore), and the forecast comes from the candidate with the lowest
/// rolling error (a new one must be 2% better to take over). Forecast.model
/// names the choice ("auto: holt-winters/288"); intervals come from the errors
/// of the forecasts this model itself issued (every error_stride-th), relative
/// to the chosen candidate's error scale, as quantiles per horizon step and
/// side (horizon_errors.h).
///
/// With a seasonal profile (setSeasonalProfile(): the daily and weekly shape
/// learned from coarse bucket means, for a step too fine for the detector),
/// two more candidates run: holt and ets on the series with the shape taken
/// out at each step's time, their forecasts with the shape put back at each
/// future step's time ("holt/profile", "ets/profile"). They are scored and
/// chosen like any other, so the shape is used only where it wins, and the
/// intervals of a chosen one come from the errors of that combined forecast.
/// A profile's daily detail (a recurring event the hourly harmonics blur,
/// SeasonalProfile::fitDailyDetail) is added to the forecasts of the
/// candidates without a season as well (naive, holt, ets alone), as its
/// change from the current step to each forecast step: it recurs on the
/// days it was fitted from, and a candidate chosen on the quiet hours
/// before the event must not miss it.
/// Without a profile nothing differs from a model that never had one.
class AutoModel final : public ForecastModel {
 public:
  explicit AutoModel(const ForecastModelParams& params);
  ~AutoModel() override;
  AutoModel(AutoModel&&) noexcept;
  AutoModel& operator=(AutoModel&&) noexcept;

  std::string name() const override { return "auto"; }
  void update(double value) override;
  void observeMissing() override;
  void setErrorStride(int stride) override { errors_.setStride(stride); }
  int trackedHorizon() const override { return errors_.maxHorizon(); }
  Forecast forecast(int horizon, double coverage) const override;
  void pointForecast(std::vector<double>& out) const override;
  int64_t observations() const override { return observations_; }
  /// The chosen candidate's error scale (the mean of the two when combined).
  double errorScale() const override;
  std::string saveState() const override;
  [[nodiscard]] Status loadState(const std::string& state) override;

  /// The candidate whose forecast is used, e.g. "holt-winters/288".
  std::string chosen() const;
  /// Seasons in use (configured or detected), strongest first.
  const std::vector<int>& seasons() const { return seasons_; }
  /// The step count at which seasons are detected next
  /// (nextDetectionAfter() of the last detection's).
  int64_t nextDetectionStep() const { return next_detection_; }
  /// Between re-detections once the window is full: four windows less this
  /// model's share of one (params.refit_phase modulo the window), so that the
  /// models of a fleet started together detect in different steps.
  int64_t redetectionPeriod() const;
  /// The detection after one at `step`: at 128, 256, ... up to the window,
  /// each level L less this model's phase modulo L / 2 (so within (L / 2,
  /// L]), then every redetectionPeriod() steps.
  int64_t nextDetectionAfter(int64_t step) const;
  /// Every candidate's label and rolling backtest error (+inf if unscored).
  std::vector<std::pair<std::string, double>> candidateErrors() const;

  /// The time (epoch ms, the end of the step) of the step the next update()
  /// or observeMissing() learns, and the step length in ms. The profile
  /// candidates read the shape at each step's centre; without a call the
  /// clock advances by the last step length. Changes nothing by itself.
  void setStepTime(int64_t end_ms, int64_t step_ms);
  /// Sets (or with nullopt removes) the seasonal profile. The first profile
  /// starts the profile candidates by replaying the kept history (only once
  /// setStepTime() has given the steps a time); a later one replaces the
  /// shape under the running candidates (a refit).
  void setSeasonalProfile(std::optional<SeasonalProfile> profile);
  const std::optional<SeasonalProfile>& seasonalProfile() const { return profile_; }

 private:
  /// Which model a candidate is: registry name, season (1 = none) and second
  /// season (0 = none, for "holt-winters-2s").
  struct CandidateKey {
    std::string model;
    int period = 1;
    int second = 0;
    bool profile = false;  ///< runs on the deseasonalised series
    bool operator==(const CandidateKey&) const = default;
  };
  struct Candidate;

  /// The candidates besides naive and holt for `seasons` (strongest first;
  /// none is a season too).
  static std::vector<CandidateKey> candidatesFor(const std::vector<int>& seasons,
                                                 bool multiplicative);
  void step(double value, bool present);
  void detectSeasons();
  void setSeasons(const std::vector<int>& seasons, bool multiplicative);
  std::unique_ptr<Candidate> makeCandidate(const CandidateKey& key) const;
  void choose();
  /// The point forecast of candidate `index` (the combination at
  /// candidates_.size()) into `out`; with `now` (horizon_ points, inside
  /// step()), from what the candidates' scores kept at this step where they
  /// did, so no forecast is made twice.
  void candidatePath(std::size_t index, std::vector<double>& out, bool now = false) const;
  /// The shape at the centres of steps 1..out.size() after the step ending
  /// at `end_ms` (profile_ set).
  void shapeAhead(int64_t end_ms, std::vector<double>& out) const;
  /// Makes candidate `key`'s own forecast (of what it learns) the forecast
  /// of the series after the step ending at `end_ms`: the shape put back on
  /// a profile candidate's, the daily detail ahead added to a candidate's
  /// without a season; a seasonal candidate's as it is.
  void finishPath(const CandidateKey& key, int64_t end_ms, std::vector<double>& path) const;
  /// Puts the shape back on a profile candidate's forecast made after the
  /// step ending at `end_ms`.
  void restoreShape(int64_t end_ms, std::vector<double>& path) const;
  /// Adds the profile's daily detail ahead (its change from the step ending
  /// at `end_ms` to each forecast step) to a candidate's forecast that runs
  /// on the series as it is and follows no season of its own (naive, holt,
  /// ets without a season): a job at 02:00 each night is known to them, not
  /// only to the profile ones. A seasonal candidate (seasonal-naive/240 of
  /// an hourly pattern at 15 s) draws the series' shape itself; the detail
  /// on top would count it twice. Nothing without detail.
  void addDetailAhead(int64_t end_ms, std::vector<double>& path) const;
  /// Widens a forecast's interval at each step to the profile's usual
  /// events in the slots less than half a detail slot from it
  /// (SeasonalProfile::eventRange()): the slots a nightly job fills on most
  /// nights but not on every night but one (it starts five minutes early on
  /// some) are in the interval, so in the plan, though the point keeps to
  /// the detail; and a step in a slot's first or last half has that slot's
  /// event whole, not the detail's line from the slot before. Nothing
  /// without a detail.
  void widenForUsualEvents(Forecast& forecast) const;

  ForecastModelParams params_;
  int horizon_;
  int64_t steps_ = 0;
  int64_t observations_ = 0;
  int64_t next_detection_ = 128;
  std::vector<int> seasons_;
  bool multiplicative_ = false;  ///< the strongest season's amplitude grows with the level
  /// NaN for missing steps. Kept as floats: the history serves season
  /// detection and the catch-up of a candidate started late, for which a
  /// float's seven digits are plenty, and 4,096 steps of it are most of an
  /// auto model's memory (16 KB instead of 32, docs/scale.md "Memory").
  RingBuffer<float> history_;
  std::vector<std::unique_ptr<Candidate>> candidates_;
  BacktestScore combination_score_;
  std::size_t best_ = 0;  ///< chosen candidate; == candidates_.size() for the combination
  /// The three best single candidates, combined (kNone: fewer are scored).
  std::size_t first_ = 0;
  std::size_t second_ = 0;
  std::size_t third_ = kNone;
  static constexpr std::size_t kNone = static_cast<std::size_t>(-1);
  std::vector<double> scratch_;
  HorizonErrorTracker errors_;
  std::optional<SeasonalProfile> profile_;
  int64_t last_ms_ = 0;                ///< end of the last step learned
  int64_t next_ms_ = -1;               ///< end of the next step, when set; -1 = last_ms_ + step_ms_
  int64_t step_ms_ = 0;                ///< 0 until setStepTime()
  mutable std::vector<double> shape_;  ///< the shape ahead of shape_end_ms_ (a cache)
  mutable int64_t shape_end_ms_ = 0;
  /// The detail's change ahead of detail_end_ms_ (a cache; empty without).
  mutable std::vector<double> detail_ahead_;
  mutable int64_t detail_end_ms_ = std::numeric_limits<int64_t>::min();
};

}  // namespace pso::controller::engine
