#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "agent/demand_source.h"
#include "common/trace.h"

namespace pso::agent {

/// Plays a recorded trace as demand, for rehearsals, training and demos.
/// Trace time advances `speed` times as fast as wall time from `start_ms`; the
/// value at a moment is the last trace point at or before it (step-hold),
/// multiplied by `scale`. The trace lasts from its first point to one step past
/// its last; past that it starts again when `loop`, else read() reports that
/// the trace has ended.
class ReplayDemandSource final : public DemandSource {
 public:
  /// Refuses an empty trace or a speed that is not positive (code "invalid").
  [[nodiscard]] static Result<std::unique_ptr<ReplayDemandSource>> create(common::Trace trace,
                                                                          double speed, bool loop,
                                                                          double scale,
                                                                          int64_t start_ms,
                                                                          std::string origin);

  const char* kind() const override { return "replay"; }
  [[nodiscard]] Result<double> read(int64_t now_ms) override;

  /// Seconds of trace time from the first point to the end of the last step.
  int64_t spanSeconds() const { return span_s_; }

 private:
  ReplayDemandSource(common::Trace trace, double speed, bool loop, double scale, int64_t start_ms,
                     std::string origin);

  common::Trace trace_;
  double speed_;
  bool loop_;
  double scale_;
  int64_t start_ms_;
  std::string origin_;
  int64_t span_s_ = 0;
};

/// Registers source "replay" (keys file, speed, loop, scale).
void registerReplayDemandSource(DemandSourceRegistry& registry);

}  // namespace pso::agent
