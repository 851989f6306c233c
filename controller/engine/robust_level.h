#pragma once

// The robust core every forecast model learns through: which part of a
// one-step forecast error a model may learn from, judged against a running
// error scale, so that an isolated outlier neither becomes the level nor is
// carried forward, while a lasting shift is followed as soon as it is
// confirmed.

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdlib>

#include "controller/engine/state_codec.h"

namespace pso::controller::engine {

/// Screens one-step forecast errors (Huber-clipped updates with level-shift
/// confirmation). O(1), a few doubles of state, copied freely (a parameter
/// search replays a copy).
///
/// - Scale: the running mean absolute error. The first kWarmErrors errors
///   set it as their plain mean; after that each error counts at most
///   kScaleCap scales (rate kScaleRate, about 50 errors), so a burst raises it
///   a little and a lasting rise of the noise raises it for good.
/// - Clipping: once warm, an error beyond kClip scales is clipped to that
///   bound before the model learns from it: the level moves towards an
///   outlier by at most the bound, whatever its size.
/// - Shift: when kShiftRun consecutive errors are clipped on the same side
///   and they agree with each other, the series has moved: the verdict says
///   so, and the model re-anchors its level on the value (its season and
///   trend are its own business). "Agree" means the middle one of the last
///   three lies within half the smallest of them of the line through the
///   outer two: a step or a ramp does, a burst of erratic values (1e7, then
///   6e6, then 1e8 on a level of 3e5) does not, and stays clipped until
///   the values settle.
class OutlierScreen {
 public:
  /// An error beyond this many running scales is clipped.
  static constexpr double kClip = 3.5;
  /// Consecutive clipped errors on one side that confirm a level shift.
  static constexpr int kShiftRun = 3;
  /// Rate of the running mean absolute error (about 50 steps).
  static constexpr double kScaleRate = 0.02;
  /// A single error counts at most this many scales into the running scale.
  static constexpr double kScaleCap = 5.0;
  /// Errors that set the scale as their plain mean before anything is clipped.
  static constexpr int64_t kWarmErrors = 10;

  struct Verdict {
    double used = 0.0;  ///< the error to learn from: clipped, or as it was
    /// The error clipped to the bound even on a shift: what a parameter
    /// search scores, so that a jump or a spike in its window does not decide
    /// the parameters (a Huber-type loss).
    double scored = 0.0;
    bool shift = false;  ///< a level shift is confirmed: re-anchor on the value
    bool clipped = false;
  };

  /// Judges `error` against the scale so far, then updates the scale and run.
  Verdict screen(double error);

  /// Starts warm with a known scale (e.g. the spread a model's start state
  /// was fitted with).
  void start(double scale);

  double scale() const { return scale_; }
  /// Consecutive clipped errors, signed by side (positive: above).
  int run() const { return run_; }
  bool warm() const { return seen_ >= kWarmErrors; }
  int64_t seen() const { return seen_; }
  /// Multiplies the scale (a model that rescales its units, e.g. renormalised
  /// multiplicative season factors).
  void rescale(double factor) {
    scale_ *= factor;
    run_errors_[0] *= factor;
    run_errors_[1] *= factor;
  }

  void save(StateWriter& writer) const;
  /// Reads what save() wrote into *this; check reader.ok() afterwards.
  void load(StateReader& reader);
  /// Restores the fields of states saved before the screen kept its run's
  /// errors; false when they are impossible (a negative or non-finite scale,
  /// a run beyond kShiftRun, a negative count).
  [[nodiscard]] bool restore(double scale, int run, int64_t seen);

 private:
  double scale_ = 0.0;
  int run_ = 0;
  int64_t seen_ = 0;
  double run_errors_[2] = {0.0, 0.0};
};

// Inline: every model screens every value, and parameter searches replay
// thousands of them.
inline OutlierScreen::Verdict OutlierScreen::screen(double error) {
  Verdict verdict;
  verdict.used = error;
  verdict.scored = error;
  const double magnitude = std::abs(error);
  if (!warm()) {
    // Too few errors to judge any of them: learn from all, and let them set
    // the scale as their plain mean.
    ++seen_;
    scale_ += (magnitude - scale_) / static_cast<double>(seen_);
    return verdict;
  }
  const double bound = kClip * scale_;
  if (scale_ > 0.0 && magnitude > bound) {
    const int side = error > 0.0 ? 1 : -1;
    verdict.scored = side * bound;
    if (run_ * side <= 0) {
      run_ = 0;
      run_errors_[0] = run_errors_[1] = 0.0;
    }
    // Saturates at kShiftRun: a long burst keeps testing its last three.
    if (std::abs(run_) < kShiftRun) run_ += side;
    const bool agree =
        std::abs(run_errors_[1] - 0.5 * (run_errors_[0] + error)) <=
        0.5 * std::min({std::abs(run_errors_[0]), std::abs(run_errors_[1]), magnitude});
    if (std::abs(run_) >= kShiftRun && agree) {
      run_ = 0;
      run_errors_[0] = run_errors_[1] = 0.0;
      verdict.shift = true;
    } else {
      run_errors_[0] = run_errors_[1];
      run_errors_[1] = error;
      verdict.used = side * bound;
      verdict.clipped = true;
    }
  } else {
    run_ = 0;
    run_errors_[0] = run_errors_[1] = 0.0;
  }
  scale_ = scale_ > 0.0 ? scale_ + kScaleRate * (std::min(magnitude, kScaleCap * scale_) - scale_)
                        : magnitude;
  ++seen_;
  return verdict;
}

}  // namespace pso::controller::engine
