#include "controller/cycle/forecaster_warm_start.h"

#include <spdlog/spdlog.h>

#include <chrono>
#include <cmath>
#include <limits>

namespace pso::controller::cycle {

std::vector<double> stepMeans(const std::vector<store::Sample>& samples, int64_t end_ms,
                              int64_t step_ms, std::size_t steps) {
  std::vector<double> means(steps, std::numeric_limits<double>::quiet_NaN());
  if (step_ms <= 0) return means;
  std::vector<double> sums(steps, 0.0);
  std::vector<std::size_t> counts(steps, 0);
  const int64_t start_ms = end_ms - static_cast<int64_t>(steps) * step_ms;
  for (const store::Sample& sample : samples) {
    if (sample.ts_ms <= start_ms || sample.ts_ms > end_ms || !std::isfinite(sample.value)) {
      continue;
    }
    // (start + i x step, start + (i + 1) x step] is step i.
    const auto i = static_cast<std::size_t>((sample.ts_ms - start_ms - 1) / step_ms);
    sums[i] += sample.value;
    ++counts[i];
  }
  for (std::size_t i = 0; i < steps; ++i) {
    if (counts[i] > 0) means[i] = sums[i] / static_cast<double>(counts[i]);
  }
  return means;
}

std::size_t ForecasterWarmStart::warm(store::TelemetryStore& store, engine::DecisionEngine& engine,
                                      const std::vector<engine::SystemObservation>& systems,
                                      const std::string& metric, int64_t now_ms) {
  const int64_t step_ms = std::llround(engine.settings().step_s * 1000.0);
  if (step_ms <= 0) return 0;
  const auto steps = static_cast<std::size_t>(engine::DecisionEngine::warmStartSteps());
  // The cycle itself observes the step ending at now_ms; the history ends
  // where that step begins.
  const int64_t end_ms = now_ms - step_ms;
  using Clock = std::chrono::steady_clock;
  Clock::duration reading{};
  Clock::duration learning{};
  std::size_t warmed = 0;
  std::size_t learned = 0;
  std::size_t caught_up = 0;
  std::size_t caught_up_steps = 0;
  for (const engine::SystemObservation& system : systems) {
    const uint64_t epoch = engine.modelEpoch(system.system).value_or(0);
    if (auto [it, added] = met_.try_emplace(system.system, epoch); !added) {
      if (it->second == epoch) continue;
      it->second = epoch;
    }
    // A model that learned nothing learns the whole kept history; one loaded
    // from a saved state learns the steps since that state (catchUp()).
    const bool empty = engine.needsHistory(system.system);
    const std::size_t wanted = empty ? steps : engine.catchUpSteps(system.system, end_ms);
    if (wanted == 0) continue;
    const int64_t from_ms = end_ms - static_cast<int64_t>(wanted) * step_ms + 1;
    const auto read_started = Clock::now();
    auto samples = store.samples(system.system, metric, from_ms, end_ms + 1);
    reading += Clock::now() - read_started;
    if (!samples) {
      spdlog::warn(
          "{} of {}: reading its stored {} failed ({}); its forecaster goes on from where it was",
          empty ? "warm start" : "catch-up", system.system, metric, samples.error().message);
      continue;
    }
    const auto learn_started = Clock::now();
    const std::vector<double> means = stepMeans(samples.value(), end_ms, step_ms, wanted);
    if (!empty) {
      // Steps without samples are learned as gaps, so seasons keep their phase.
      const std::size_t learned_now = engine.catchUp(system.system, means, end_ms);
      learning += Clock::now() - learn_started;
      if (learned_now > 0) {
        ++caught_up;
        caught_up_steps += learned_now;
      }
      continue;
    }
    if (samples.value().empty()) continue;
    const std::size_t steps_learned = engine.warmStart(system.system, means, end_ms);
    learning += Clock::now() - learn_started;
    if (steps_learned == 0) continue;
    ++warmed;
    learned += steps_learned;
    spdlog::debug("warm start of {}: {} steps from {} stored samples", system.system, steps_learned,
                  samples.value().size());
  }
  if (caught_up > 0) {
    using Ms = std::chrono::duration<double, std::milli>;
    spdlog::info(
        "catch-up: {} forecasters learned the {} steps of stored {} since their saved state "
        "(reading {:.0f} ms, learning {:.0f} ms)",
        caught_up, caught_up_steps, metric, Ms(reading).count(), Ms(learning).count());
  }
  if (warmed > 0) {
    using Ms = std::chrono::duration<double, std::milli>;
    spdlog::info(
        "warm start: {} forecasters learned {} steps of stored {} (reading {:.0f} ms, learning "
        "{:.0f} ms)",
        warmed, learned, metric, Ms(reading).count(), Ms(learning).count());
  }
  return warmed + caught_up;
}

}  // namespace pso::controller::cycle
