#include "controller/config/engine_inputs.h"

#include <algorithm>
#include <thread>

namespace pso::controller {

engine::EngineSettings engineSettingsFrom(const ControllerConfig& config) {
  engine::EngineSettings settings;
  settings.step_s = static_cast<double>(config.cycle_interval.count()) / 1000.0;
  settings.policy = "predictive";
  settings.scale_down_stabilization_s =
      static_cast<double>(config.engine.scale_down_stabilization.count()) / 1000.0;
  settings.max_step_up = config.engine.max_step_up;
  settings.max_step_down = config.engine.max_step_down;
  settings.cooldown_s = static_cast<double>(config.engine.cooldown.count()) / 1000.0;
  settings.actions_per_hour = config.actions_per_hour;
  settings.coverage = config.engine.interval_coverage;
  settings.risk = config.engine.risk;
  settings.scale_down_min_share = config.engine.scale_down_min_share;
  settings.plan_margin_s = static_cast<double>(config.engine.plan_margin.count()) / 1000.0;
  settings.forecast_only = config.mode == "forecast-only";
  // "One per core" stops at 4: past 4 threads the plans are no longer what a
  // cycle of 10,000 systems waits for (docs/scale.md "The decision cycle").
  settings.decide_threads =
      config.engine.decide_threads > 0
          ? static_cast<int>(config.engine.decide_threads)
          : static_cast<int>(std::clamp(std::thread::hardware_concurrency(), 1U, 4U));
  return settings;
}

std::vector<engine::PoolSpec> poolsFrom(const ControllerConfig& config) {
  std::vector<engine::PoolSpec> pools;
  pools.reserve(config.pools.size());
  for (const auto& pool : config.pools) {
    pools.push_back({pool.name, pool.capacity_replicas, pool.systems});
  }
  return pools;
}

engine::SystemSpec specFrom(const std::string& name, const protocol::SystemInfo& info) {
  engine::SystemSpec spec;
  spec.name = name;
  spec.capacity_per_replica = info.capacity_per_replica;
  spec.target_utilization = info.target_utilization;
  spec.min_replicas = info.min_replicas;
  spec.max_replicas = info.max_replicas;
  spec.warmup_s = static_cast<double>(info.warmup_ms) / 1000.0;
  spec.priority = info.priority;
  spec.depends_on = info.depends_on;
  return spec;
}

}  // namespace pso::controller
