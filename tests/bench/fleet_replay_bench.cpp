// The fleet replay at its budget: psoctl simulate --db over a week of 100
// systems at 15 s steps must finish within 60 s on a 2-core machine. Builds
// a real SQLite controller database through the store (systems announced in
// hellos, a demand sample per 15 s per system, ten pools of ten systems and
// a dependency chain in a controller.yaml, and a stored cycle per step with
// each system's decided count), then runs the command's code (replayFleet:
// reading the window, laying it on the grid, the replay through one engine,
// the actual figures from the cycles) and prints where the time went.
//
// Usage: fleet_replay_bench [--systems N] [--days D] [--no-cycles] [--keep DIR]
// (--keep: write controller.db and controller.yaml into DIR, a new directory,
// and leave them there for `psoctl simulate --db` by hand).

#include <sys/stat.h>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "controller/cli/fleet_replay.h"
#include "controller/store/store.h"
#include "protocol/messages.h"
#include "tests/support/process.h"

namespace {

using pso::controller::store::Store;

constexpr int64_t kStepMs = 15000;
constexpr int64_t kT0Ms = 1'700'006'400'000;  // a midnight, UTC
constexpr int64_t kStepsPerDay = 86400 * 1000 / kStepMs;

// A daily wave at a phase and level of its own per system, with noise-like
// ripples; a gap every few hours.
double demandAt(int system, int64_t step) {
  const double phase = static_cast<double>(system % 37) / 37.0 * 6.2832;
  const double level = 200.0 + 10.0 * (system % 11);
  const double t = static_cast<double>(step);
  return level + 0.6 * level * std::sin(t * 6.2832 / kStepsPerDay + phase) +
         0.05 * level * std::sin(t * 1.7 + phase * 3.1);
}

double secondsSince(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

std::string systemName(int s) {
  char name[32];
  std::snprintf(name, sizeof name, "svc-%03d", s);
  return name;
}

}  // namespace

int main(int argc, char** argv) {
  int systems = 100;
  int days = 7;
  bool with_cycles = true;
  std::string keep;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--systems" && i + 1 < argc) {
      systems = std::stoi(argv[++i]);
    } else if (a == "--days" && i + 1 < argc) {
      days = std::stoi(argv[++i]);
    } else if (a == "--no-cycles") {
      with_cycles = false;
    } else if (a == "--keep" && i + 1 < argc) {
      keep = argv[++i];
    } else {
      std::fprintf(
          stderr,
          "usage: fleet_replay_bench [--systems N] [--days D] [--no-cycles] [--keep DIR]\n");
      return 2;
    }
  }
  const int64_t steps = days * kStepsPerDay;
  pso::testing::TempDir temp;
  if (!keep.empty() && mkdir(keep.c_str(), 0755) != 0) {
    std::fprintf(stderr, "fleet_replay_bench: --keep %s: cannot create a new directory\n",
                 keep.c_str());
    return 1;
  }
  const std::string dir = keep.empty() ? temp.path() : keep;
  const std::string db_path = dir + "/controller.db";

  const auto setup_start = std::chrono::steady_clock::now();
  {
    auto opened = Store::open(db_path);
    if (!opened) {
      std::fprintf(stderr, "fleet_replay_bench: %s\n", opened.error().message.c_str());
      return 1;
    }
    Store& store = **opened;
    for (int s = 0; s < systems; ++s) {
      pso::protocol::Hello hello;
      hello.agent_id = "agent-" + systemName(s);
      pso::protocol::SystemInfo info;
      info.name = systemName(s);
      info.actuator = "exec";
      info.min_replicas = 1;
      info.max_replicas = 60;
      info.replicas = 4;
      info.capacity_per_replica = 40;
      info.warmup_ms = 30000;
      info.priority = s % 3;
      // Every tenth system calls the next one.
      if (s % 10 == 0 && s + 1 < systems) info.depends_on = {systemName(s + 1)};
      hello.systems.push_back(info);
      if (auto added = store.upsertAgent(hello, kT0Ms); !added) {
        std::fprintf(stderr, "fleet_replay_bench: %s\n", added.error().message.c_str());
        return 1;
      }
      std::vector<pso::controller::store::Sample> samples;
      samples.reserve(static_cast<std::size_t>(steps));
      for (int64_t k = 0; k < steps; ++k) {
        if (k % 1000 == 999) continue;
        samples.push_back({kT0Ms + k * kStepMs + 1000, demandAt(s, k)});
      }
      if (auto imported = store.importSamples(info.name, "demand", samples); !imported) {
        std::fprintf(stderr, "fleet_replay_bench: %s\n", imported.error().message.c_str());
        return 1;
      }
    }
    if (with_cycles) {
      // What "the controller" decided: the demand at 70% with a lag of a step.
      for (int64_t k = 0; k < steps; ++k) {
        nlohmann::json decisions = nlohmann::json::array();
        for (int s = 0; s < systems; ++s) {
          const auto desired =
              static_cast<int64_t>(std::ceil(demandAt(s, k > 0 ? k - 1 : 0) / (40 * 0.7)));
          decisions.push_back({{"system", systemName(s)}, {"desired", desired}});
        }
        pso::controller::store::CycleRecord cycle;
        cycle.seq = k + 1;
        cycle.id = "c-" + std::to_string(k + 1);
        cycle.ts_ms = kT0Ms + (k + 1) * kStepMs + 200;
        cycle.mode = "act";
        cycle.decisions_json = decisions.dump();
        if (auto inserted = store.insertCycle(cycle); !inserted) {
          std::fprintf(stderr, "fleet_replay_bench: %s\n", inserted.error().message.c_str());
          return 1;
        }
      }
    }
  }
  {
    std::ofstream config(dir + "/controller.yaml");
    config << "pools:\n";
    for (int p = 0; p * 10 < systems; ++p) {
      config << "  - name: pool-" << p << "\n    capacity_replicas: 120\n    systems: [";
      for (int s = p * 10; s < std::min(systems, p * 10 + 10); ++s) {
        config << (s > p * 10 ? ", " : "") << systemName(s);
      }
      config << "]\n";
    }
  }
  std::printf(
      "fleet_replay_bench: %d systems x %d days at 15 s (%lld samples, %s cycles) "
      "written in %.1f s\n",
      systems, days, static_cast<long long>(steps * systems),
      with_cycles ? std::to_string(steps).c_str() : "no", secondsSince(setup_start));

  pso::cli::FleetReplayArgs args;
  args.db = db_path;
  args.config = dir + "/controller.yaml";
  args.until = std::to_string((kT0Ms + steps * kStepMs) / 1000);
  args.since = std::to_string(days) + "d";
  const auto replay_start = std::chrono::steady_clock::now();
  auto report = pso::cli::replayFleet(args);
  const double total_s = secondsSince(replay_start);
  if (!report) {
    std::fprintf(stderr, "fleet_replay_bench: %s\n", report.error().message.c_str());
    return 1;
  }
  const auto& r = *report;
  // The machine may be shared (a build beside): the load says how much.
  std::string load = "?";
  if (std::ifstream loadavg("/proc/loadavg"); loadavg) std::getline(loadavg, load);
  std::printf(
      "fleet replay: %zu systems x %lld steps = %lld decisions: %.1f s in all "
      "(engine %.1f s, reading and accounting %.1f s), budget 60 s: %s (load %s)\n",
      r.systems.size(), static_cast<long long>(r.steps),
      static_cast<long long>(r.steps * static_cast<int64_t>(r.systems.size())), total_s,
      r.replay_seconds, total_s - r.replay_seconds, total_s <= 60.0 ? "within" : "OVER",
      load.c_str());
  std::printf(
      "  replay: overload %.2f%%, %.0f replica-hours, %lld scale events; actual: overload "
      "%.2f%%, %.0f replica-hours, %lld scale events (%lld cycles)\n",
      r.replay_total.overload_pct, r.replay_total.replica_hours,
      static_cast<long long>(r.replay_total.scale_events), r.actual_total.overload_pct,
      r.actual_total.replica_hours, static_cast<long long>(r.actual_total.scale_events),
      static_cast<long long>(r.cycles));
  if (!keep.empty()) {
    std::printf("kept: psoctl simulate --db %s --config %s --since %s --until %s\n",
                db_path.c_str(), args.config.c_str(), args.since.c_str(), args.until.c_str());
  }
  return total_s <= 60.0 ? 0 : 1;
}
