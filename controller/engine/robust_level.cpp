#include "controller/engine/robust_level.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <limits>

namespace pso::controller::engine {

OutlierScreen::Verdict OutlierScreen::screen(double error) {
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

void OutlierScreen::start(double scale) {
  scale_ = std::max(0.0, scale);
  run_ = 0;
  run_errors_[0] = run_errors_[1] = 0.0;
  seen_ = kWarmErrors;
}

bool OutlierScreen::restore(double scale, int run, int64_t seen) {
  if (!std::isfinite(scale) || scale < 0.0 || std::abs(run) > kShiftRun || seen < 0) return false;
  scale_ = scale;
  run_ = run;
  seen_ = seen;
  run_errors_[0] = run_errors_[1] = 0.0;
  return true;
}

void OutlierScreen::save(StateWriter& writer) const {
  writer.putDouble(scale_).putInt(run_).putInt(seen_);
  writer.putDouble(run_errors_[0]).putDouble(run_errors_[1]);
}

void OutlierScreen::load(StateReader& reader) {
  const double scale = reader.getDouble();
  const auto run = static_cast<int>(reader.getInt(-kShiftRun, kShiftRun));
  const int64_t seen = reader.getInt(0, std::numeric_limits<int64_t>::max());
  const double older = reader.getDouble();
  const double newer = reader.getDouble();
  if (!reader.ok()) return;
  OutlierScreen loaded;
  if (!loaded.restore(scale, run, seen) || !std::isfinite(older) || !std::isfinite(newer)) {
    reader.fail("outlier screen: a negative or non-finite scale or error");
    return;
  }
  loaded.run_errors_[0] = older;
  loaded.run_errors_[1] = newer;
  *this = loaded;
}

}  // namespace pso::controller::engine
