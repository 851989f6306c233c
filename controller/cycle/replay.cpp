#include "controller/cycle/replay.h"

#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <string>
#include <system_error>
#include <utility>

#include "controller/cycle/cycle_inputs.h"

namespace pso::controller::cycle {

namespace {

/// A directory made under the system's temporary directory, removed with
/// everything in it when the object goes.
class TemporaryDirectory {
 public:
  static Result<TemporaryDirectory> make(const std::string& prefix) {
    std::error_code error;
    const auto base = std::filesystem::temp_directory_path(error);
    if (error) return makeError("io", "no temporary directory: " + error.message());
    std::string pattern = (base / (prefix + "XXXXXX")).string();
    if (::mkdtemp(pattern.data()) == nullptr) {
      return makeError("io",
                       "creating a directory in " + base.string() + ": " + std::strerror(errno));
    }
    return TemporaryDirectory(std::move(pattern));
  }
  TemporaryDirectory(TemporaryDirectory&& other) noexcept : path_(std::exchange(other.path_, {})) {}
  TemporaryDirectory& operator=(TemporaryDirectory&&) = delete;
  TemporaryDirectory(const TemporaryDirectory&) = delete;
  ~TemporaryDirectory() {
    if (path_.empty()) return;
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  const std::string& path() const { return path_; }

 private:
  explicit TemporaryDirectory(std::string path) : path_(std::move(path)) {}
  std::string path_;
};

}  // namespace

Result<engine::FleetReplayResult> replayFleet(store::Store& store, const engine::FleetReplay& fleet,
                                              const engine::FleetObserver& observer) {
  engine::FleetReplay replay = fleet;
  CycleInputs inputs;
  replay.prepare = [&store, &inputs](engine::DecisionEngine& engine, engine::CycleInput& input) {
    return inputs.prepare(store, engine, input);
  };
  return engine::simulateFleet(replay, observer);
}

Result<engine::SimulationResult> replayTrace(const std::vector<double>& demand, double step_s,
                                             const engine::SystemSpec& spec,
                                             const engine::EngineSettings& settings,
                                             int64_t initial_replicas,
                                             const engine::SimulationObserver& observer,
                                             int64_t start_ms) {
  auto directory = TemporaryDirectory::make("pso-replay-");
  if (!directory) return directory.error();
  auto opened = store::Store::open(directory->path() + "/replay.db");
  if (!opened) return makeError("store", "the replay's store: " + opened.error().message);
  store::Store& db = **opened;

  const auto step_ms = static_cast<int64_t>(std::llround(step_s * 1000.0));
  std::vector<store::Sample> samples;
  samples.reserve(demand.size());
  for (std::size_t t = 0; t < demand.size(); ++t) {
    if (!std::isfinite(demand[t])) continue;
    const int64_t end_ms =
        start_ms + static_cast<int64_t>(std::llround(static_cast<double>(t) * step_s * 1000.0));
    samples.push_back({end_ms - step_ms / 2, demand[t]});
  }
  if (auto stored = db.importSamples(spec.name, kDemandMetric, samples); !stored) {
    return makeError("store", "storing the replay's demand: " + stored.error().message);
  }
  // Every bucket the samples reach is closed: the cycles read only those
  // that ended before their own time.
  const int64_t last_ms = samples.empty() ? start_ms : samples.back().ts_ms;
  if (auto rolled = db.rollup(last_ms + store::rollupBucketMs(store::RollupResolution::kHour));
      !rolled) {
    return makeError("store", "rolling up the replay's demand: " + rolled.error().message);
  }

  engine::FleetReplay fleet;
  fleet.step_s = step_s;
  fleet.start_ms = start_ms;
  fleet.systems.push_back({spec, demand, initial_replicas});
  fleet.settings = settings;
  engine::FleetObserver each;
  if (observer) {
    each = [&observer](std::size_t, const engine::SimulationRow& row,
                       const engine::SystemDecision& decision) { observer(row, decision); };
  }
  auto replayed = replayFleet(db, fleet, each);
  if (!replayed) return replayed.error();
  return std::move(replayed->systems.front());
}

}  // namespace pso::controller::cycle
