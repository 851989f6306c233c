#include "controller/engine/robust_level.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <limits>

namespace pso::controller::engine {

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
