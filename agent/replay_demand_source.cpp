#include "agent/replay_demand_source.h"

#include <algorithm>
#include <cmath>
#include <utility>

namespace pso::agent {

Result<std::unique_ptr<ReplayDemandSource>> ReplayDemandSource::create(common::Trace trace,
                                                                       double speed, bool loop,
                                                                       double scale,
                                                                       int64_t start_ms,
                                                                       std::string origin) {
  if (trace.points.empty()) {
    return makeError("invalid", origin + ": replay trace has no points");
  }
  if (!(speed > 0.0) || !std::isfinite(speed)) {
    return makeError("invalid", origin + ": replay speed must be a positive number");
  }
  if (!std::isfinite(scale)) {
    return makeError("invalid", origin + ": replay scale must be a finite number");
  }
  return std::unique_ptr<ReplayDemandSource>(
      new ReplayDemandSource(std::move(trace), speed, loop, scale, start_ms, std::move(origin)));
}

ReplayDemandSource::ReplayDemandSource(common::Trace trace, double speed, bool loop, double scale,
                                       int64_t start_ms, std::string origin)
    : trace_(std::move(trace)),
      speed_(speed),
      loop_(loop),
      scale_(scale),
      start_ms_(start_ms),
      origin_(std::move(origin)) {
  // The last point holds for one step, so a looped trace repeats with the same
  // spacing it has inside.
  int64_t step = trace_.step_s > 0 ? trace_.step_s : 1;
  span_s_ = trace_.points.back().ts_s - trace_.points.front().ts_s + step;
}

Result<double> ReplayDemandSource::read(int64_t now_ms) {
  double elapsed_s = static_cast<double>(std::max<int64_t>(0, now_ms - start_ms_)) / 1000.0;
  double offset_s = elapsed_s * speed_;
  double span = static_cast<double>(span_s_);
  if (offset_s >= span) {
    if (!loop_) {
      return makeError("ended", origin_ + ": replay trace ended after " + std::to_string(span_s_) +
                                    " s of trace time");
    }
    offset_s = std::fmod(offset_s, span);
  }
  double trace_time = static_cast<double>(trace_.points.front().ts_s) + offset_s;
  auto after = std::upper_bound(trace_.points.begin(), trace_.points.end(), trace_time,
                                [](double t, const common::TracePoint& point) {
                                  return t < static_cast<double>(point.ts_s);
                                });
  // trace_time >= the first point, so `after` is never the first element.
  return std::prev(after)->value * scale_;
}

namespace {

Result<std::unique_ptr<DemandSource>> buildReplay(const DemandSourceConfig& config,
                                                  const DemandSourceContext& context) {
  const std::string origin = "system " + context.system;
  Result<common::Trace> trace = common::readTrace(config.file);
  if (!trace) return makeError(trace.error().code, origin + ": " + trace.error().message);
  auto source =
      ReplayDemandSource::create(std::move(trace).value(), config.speed, config.loop, config.scale,
                                 context.start_ms, origin + ": " + config.file);
  if (!source) return source.error();
  return std::unique_ptr<DemandSource>(std::move(source).value());
}

}  // namespace

void registerReplayDemandSource(DemandSourceRegistry& registry) {
  using D = DemandSourceConfig;
  using Key = common::ConfigKey<D>;
  namespace checks = common::checks;
  registry.add(DemandSourceKind{
      .name = "replay",
      .keys = {Key::path("file", &D::file, "trace CSV \"timestamp,value\"", checks::required()),
               Key("speed", &D::speed, "trace seconds played per wall second", checks::positive()),
               Key("loop", &D::loop, "start again at the end of the trace"),
               Key("scale", &D::scale, "multiply every value")},
      .build = &buildReplay,
  });
}

}  // namespace pso::agent
