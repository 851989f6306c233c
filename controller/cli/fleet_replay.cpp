#include "controller/cli/fleet_replay.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <limits>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>
#include <unordered_map>

#include "common/clock.h"
#include "common/config.h"
#include "common/sqlite.h"
#include "common/trace.h"
#include "controller/cli/failure.h"
#include "controller/cli/option_checks.h"
#include "controller/cli/table.h"
#include "controller/config/controller_config.h"
#include "controller/config/engine_inputs.h"
#include "controller/cycle/cycle_inputs.h"
#include "controller/cycle/forecaster_warm_start.h"
#include "controller/cycle/replay.h"
#include "controller/engine/decision_engine.h"
#include "controller/store/store.h"

namespace pso::cli {
namespace {

namespace engine = controller::engine;
namespace store = controller::store;

using controller::cycle::kDemandMetric;
// Rows read from the store at a time. One system's samples of the window are
// held while they are laid on the grid (a week at 5 s: 2 MB), never the
// fleet's.
constexpr int64_t kSamplePage = 100000;
constexpr int64_t kCyclePage = 2000;
// How far before the window a stored decision still tells the count the
// fleet started it with.
constexpr int64_t kStartLookbackMs = 24LL * 3600 * 1000;
// The most steps x systems one replay takes (7 days of 1,240 systems at 15 s).
constexpr int64_t kMaxSystemSteps = 50'000'000;

/// The system spec fields --set may change, each with its check.
Status setSpecField(engine::SystemSpec& spec, const std::string& field, const std::string& value,
                    const std::string& key) {
  const std::string option = "--set " + key;
  auto number = [&]() -> Result<double> {
    std::size_t used = 0;
    double v = std::numeric_limits<double>::quiet_NaN();
    try {
      v = std::stod(value, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    if (used == 0 || used != value.size()) {
      return makeError("invalid", option + ": expected a number, got '" + value + "'");
    }
    return v;
  };
  auto whole = [&](double low, double high) -> Result<int64_t> {
    auto v = number();
    if (!v) return v.error();
    if (auto st = checkBetween(option, *v, low, high); !st) return st.error();
    if (*v != std::floor(*v)) {
      return makeError("invalid", option + ": expected a whole number, got '" + value + "'");
    }
    return static_cast<int64_t>(*v);
  };
  if (field == "target_utilization") {
    auto v = number();
    if (!v) return v.error();
    if (auto st = checkAboveAtMost(option, *v, 0, 1); !st) return st;
    spec.target_utilization = *v;
  } else if (field == "capacity_per_replica") {
    auto v = number();
    if (!v) return v.error();
    if (auto st = checkAbove(option, *v, 0); !st) return st;
    spec.capacity_per_replica = *v;
  } else if (field == "min_replicas") {
    auto v = whole(0, 1000000);
    if (!v) return v.error();
    spec.min_replicas = *v;
  } else if (field == "max_replicas") {
    auto v = whole(1, 1000000);
    if (!v) return v.error();
    spec.max_replicas = *v;
  } else if (field == "priority") {
    auto v = whole(-1000000, 1000000);
    if (!v) return v.error();
    spec.priority = *v;
  } else if (field == "warmup") {
    // A duration ("45s", "2m") or seconds.
    auto duration = common::parseDuration(value);
    double seconds = 0.0;
    if (duration) {
      seconds = static_cast<double>(duration->count()) / 1000.0;
    } else {
      auto v = number();
      if (!v) {
        return makeError("invalid",
                         option + ": expected a duration (45s) or seconds, got '" + value + "'");
      }
      seconds = *v;
    }
    if (auto st = checkBetween(option, seconds, 0, 86400); !st) return st;
    spec.warmup_s = seconds;
  } else {
    return makeError("invalid", option + ": unknown system field '" + field +
                                    "'; one of target_utilization, capacity_per_replica, "
                                    "min_replicas, max_replicas, warmup, priority");
  }
  return Status();
}

/// The keys of the controller config's engine section, as it declares them.
std::vector<std::string> engineKeys() {
  std::vector<std::string> keys;
  for (const auto& section : controller::describeControllerConfig()) {
    if (section.path != "controller.engine") continue;
    for (const auto& key : section.keys) keys.push_back(key.name);
  }
  return keys;
}

std::string commaSeparated(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& item : items) out += (out.empty() ? "" : ", ") + item;
  return out;
}

std::string firstLine(const std::string& text) {
  return text.substr(0, text.find('\n'));
}

/// The controller's configuration with the engine keys of --set written into
/// its engine section, read back by the controller's own config reader, so
/// each key is checked exactly as in controller.yaml.
Result<controller::ControllerConfig> configWith(
    const std::string& path, const std::vector<std::pair<std::string, std::string>>& engine_sets) {
  std::string text;
  if (!path.empty()) {
    auto read = common::readConfigFile(path);
    if (!read) return makeError("invalid", "--config: " + firstLine(read.error().message));
    text = *read;
  }
  const std::string origin = path.empty() ? std::string("--set") : path;
  if (engine_sets.empty()) {
    auto parsed = controller::parseControllerConfig(text, origin);
    if (!parsed) return makeError("invalid", firstLine(parsed.error().message));
    return parsed;
  }
  std::string merged;
  try {
    YAML::Node root = text.empty() ? YAML::Node(YAML::NodeType::Map) : YAML::Load(text);
    if (!root.IsMap()) root = YAML::Node(YAML::NodeType::Map);
    for (const auto& [key, value] : engine_sets) root["controller"]["engine"][key] = value;
    std::ostringstream out;
    out << root;
    merged = out.str();
  } catch (const std::exception& e) {
    return makeError("invalid", "--config: " + firstLine(e.what()));
  }
  auto parsed = controller::parseControllerConfig(merged, origin);
  if (!parsed) {
    // Name the --set the reader refused, not the merged document's line.
    const std::string message = firstLine(parsed.error().message);
    for (const auto& [key, value] : engine_sets) {
      const std::string path = "controller.engine." + key + ": ";
      const auto at = message.find(path);
      if (at != std::string::npos) {
        return makeError("invalid", "--set engine." + key + "=" + value + ": " +
                                        message.substr(at + path.size()));
      }
    }
    return makeError("invalid", "--set: " + message);
  }
  return parsed;
}

/// --since relative to the window's end ("7d": seven days before it) or a
/// timestamp; --until a timestamp. A bare number is epoch seconds.
Result<int64_t> parseWindowTime(const std::string& option, const std::string& text,
                                int64_t until_ms) {
  const bool bare_number =
      !text.empty() &&
      std::all_of(text.begin(), text.end(), [](unsigned char c) { return std::isdigit(c) != 0; });
  if (!bare_number) {
    if (auto ago = common::parseDuration(text); ago.ok()) return until_ms - ago->count();
  }
  auto ts = common::parseTimestamp(text);
  if (!ts) {
    return makeError("invalid",
                     option + ": '" + text + "' is neither a duration (7d) nor a timestamp");
  }
  return *ts * 1000;
}

/// A database psoctl only reads: it must exist and hold the controller's
/// tables, or Store::open would create them in someone else's file.
Status checkControllerDatabase(const std::string& path) {
  // A PostgreSQL database is opened as the controller opens it.
  if (store::isPostgresqlUri(path)) return Status();
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec)) {
    return makeError("not_found", "--db: no database at " + path);
  }
  const std::string refusal = "--db: " + path + " is not a controller database";
  auto db = common::Database::open(path, /*read_only=*/true);
  if (!db) return makeError("invalid", refusal);
  auto statement = (*db)->prepare(
      "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name IN "
      "('systems', 'samples', 'cycles')");
  if (!statement) return makeError("invalid", refusal);
  auto row = common::firstRow<int64_t>(*statement, common::firstColumnInt64);
  if (!row || !*row || **row != 3 || (*db)->userVersion() < 1) {
    return makeError("invalid", refusal);
  }
  return Status();
}

/// One system on the replay's grid.
struct GridSystem {
  engine::SystemSpec stored;  ///< as its agent announced it
  engine::FleetSystem replay;
  int64_t samples = 0;
  std::vector<int64_t> actual;  ///< the count the controller decided per step (-1: none)
  bool actual_known = false;
};

/// Lays the stored demand on the grid: step i covers (since + i x step, since
/// + (i + 1) x step], the window the controller's cycle at its end averages;
/// its value is the mean of the samples in it, NaN when there is none (the
/// warm start's cycle::stepMeans).
Status loadDemand(store::Store& db, int64_t since_ms, int64_t step_ms, std::size_t steps,
                  GridSystem& system) {
  const int64_t end_ms = since_ms + static_cast<int64_t>(steps) * step_ms;
  std::vector<store::Sample> samples;
  int64_t from = since_ms + 1;
  for (;;) {
    auto page = db.samples(system.stored.name, kDemandMetric, from, end_ms + 1, kSamplePage);
    if (!page) return page.error();
    for (const auto& sample : *page) {
      if (std::isfinite(sample.value)) samples.push_back(sample);
    }
    if (static_cast<int64_t>(page->size()) < kSamplePage) break;
    from = page->back().ts_ms + 1;
  }
  system.samples = static_cast<int64_t>(samples.size());
  system.replay.demand = controller::cycle::stepMeans(samples, end_ms, step_ms, steps);
  return Status();
}

/// The decided counts of one stored cycle: (system, desired) pairs.
std::vector<std::pair<std::string, int64_t>> decidedCounts(const std::string& decisions_json) {
  std::vector<std::pair<std::string, int64_t>> out;
  const auto doc = nlohmann::json::parse(decisions_json, nullptr, /*allow_exceptions=*/false);
  if (!doc.is_array()) return out;
  for (const auto& decision : doc) {
    if (!decision.is_object()) continue;
    const auto system = decision.find("system");
    const auto desired = decision.find("desired");
    if (system == decision.end() || !system->is_string() || desired == decision.end() ||
        !desired->is_number_integer()) {
      continue;
    }
    out.emplace_back(system->get<std::string>(), desired->get<int64_t>());
  }
  return out;
}

/// What the controller decided: the stored cycles mapped to the grid step
/// whose end is nearest their time (a cycle's demand is the mean over the
/// interval before it); the last decision before the window is each system's
/// starting count. Returns the cycles read in the window.
Result<int64_t> loadActual(store::Store& db, int64_t since_ms, int64_t step_ms, std::size_t steps,
                           std::vector<GridSystem>& systems) {
  std::unordered_map<std::string, std::size_t> index;
  for (std::size_t s = 0; s < systems.size(); ++s) {
    index[systems[s].stored.name] = s;
    systems[s].actual.assign(steps, -1);
  }
  // The slot of step i ends at since + (i + 1) x step.
  auto slotOf = [&](int64_t ts_ms) {
    return static_cast<int64_t>(
               std::llround(static_cast<double>(ts_ms - since_ms) / static_cast<double>(step_ms))) -
           1;
  };
  const int64_t end_ms = since_ms + static_cast<int64_t>(steps) * step_ms + step_ms / 2;
  int64_t from = since_ms - kStartLookbackMs;
  int64_t in_window = 0;
  for (;;) {
    auto page = db.cyclesBetween(from, end_ms, kCyclePage);
    if (!page) return page.error();
    for (const auto& cycle : *page) {
      const int64_t slot = slotOf(cycle.ts_ms);
      if (slot >= static_cast<int64_t>(steps)) continue;
      if (slot >= 0) ++in_window;
      for (const auto& [name, desired] : decidedCounts(cycle.decisions_json)) {
        auto it = index.find(name);
        if (it == index.end()) continue;
        GridSystem& system = systems[it->second];
        if (slot < 0) {
          system.replay.initial_replicas = desired;
        } else {
          system.actual[static_cast<std::size_t>(slot)] = desired;
          system.actual_known = true;
        }
      }
    }
    if (static_cast<int64_t>(page->size()) < kCyclePage) break;
    from = page->back().ts_ms + 1;
  }
  return in_window;
}

/// The fleet's figures as the replay counts them: a step without a decision
/// keeps the count decided before it.
engine::SimulationSummary actualFigures(const GridSystem& system, double step_s) {
  engine::ReplicaLedger ledger(system.stored, step_s, system.replay.initial_replicas);
  int64_t count = system.replay.initial_replicas;
  for (std::size_t i = 0; i < system.actual.size(); ++i) {
    if (system.actual[i] >= 0) count = system.actual[i];
    ledger.record(system.replay.demand[i], count);
  }
  return ledger.summary();
}

nlohmann::json summaryJson(const engine::SimulationSummary& s) {
  return {{"steps", s.steps},
          {"overload_steps", s.overload_steps},
          {"overload_pct", s.overload_pct},
          {"replica_hours", s.replica_hours},
          {"oracle_replica_hours", s.oracle_replica_hours},
          {"scale_events", s.scale_events}};
}

std::string fixed(double value, int decimals) {
  char text[64];
  std::snprintf(text, sizeof text, "%.*f", decimals, value);
  return text;
}

}  // namespace

Result<FleetReplayReport> replayFleet(const FleetReplayArgs& args) {
  if (args.policy != "predictive" && args.policy != "reactive") {
    return makeError("invalid",
                     "--policy: expected predictive or reactive, got '" + args.policy + "'");
  }
  // --set: system fields now (checked against the database below), engine
  // keys through the controller's config reader.
  struct SpecSet {
    std::string key, system, field, value;
  };
  std::vector<SpecSet> spec_sets;
  std::vector<std::pair<std::string, std::string>> engine_sets;
  const std::vector<std::string> known_engine_keys = engineKeys();
  for (const auto& set : args.sets) {
    const auto eq = set.find('=');
    if (eq == std::string::npos || eq == 0) {
      return makeError("invalid", "--set " + set + ": expected key=value");
    }
    const std::string key = set.substr(0, eq);
    const std::string value = set.substr(eq + 1);
    if (key.rfind("engine.", 0) == 0) {
      const std::string name = key.substr(7);
      if (std::find(known_engine_keys.begin(), known_engine_keys.end(), name) ==
          known_engine_keys.end()) {
        return makeError("invalid", "--set " + key + ": unknown engine setting; one of " +
                                        commaSeparated(known_engine_keys));
      }
      engine_sets.emplace_back(name, value);
    } else if (key.rfind("systems.", 0) == 0 && key.rfind('.') > 8) {
      const auto dot = key.rfind('.');
      spec_sets.push_back({key, key.substr(8, dot - 8), key.substr(dot + 1), value});
    } else {
      return makeError("invalid", "--set " + key +
                                      ": unknown key; expected systems.<name>.<field> or "
                                      "engine.<setting>");
    }
  }
  auto config = configWith(args.config, engine_sets);
  if (!config) return config.error();

  FleetReplayReport report;
  int64_t step_ms = config->cycle_interval.count();
  if (!args.step.empty()) {
    auto step = common::parseDuration(args.step);
    if (!step || step->count() < 1000) {
      return makeError("invalid",
                       "--step: expected a duration of at least 1s, got '" + args.step + "'");
    }
    step_ms = step->count();
  }
  report.until_ms = common::wallMs();
  if (!args.until.empty()) {
    auto until = parseWindowTime("--until", args.until, report.until_ms);
    if (!until) return until.error();
    report.until_ms = *until;
  }
  auto since = parseWindowTime("--since", args.since, report.until_ms);
  if (!since) return since.error();
  report.since_ms = *since;
  report.step_ms = step_ms;
  if (report.until_ms - report.since_ms < step_ms) {
    return makeError("invalid", "the window from " + common::formatTimestamp(report.since_ms) +
                                    " to " + common::formatTimestamp(report.until_ms) +
                                    " is shorter than one step");
  }
  const auto steps = static_cast<std::size_t>((report.until_ms - report.since_ms) / step_ms);
  report.steps = static_cast<int64_t>(steps);

  if (auto st = checkControllerDatabase(args.db); !st) return st.error();
  auto opened = store::Store::open(args.db);
  if (!opened) return makeError("invalid", "--db: " + firstLine(opened.error().message));
  store::Store& db = **opened;
  auto stored = db.systems();
  if (!stored) return makeError("store", "reading systems: " + stored.error().message);
  if (stored->empty()) return makeError("invalid", "--db: " + args.db + " holds no systems");

  // About 40 bytes a system-step are held while replaying: a bound keeps a
  // mistyped window from taking the machine's memory.
  const int64_t system_steps = report.steps * static_cast<int64_t>(stored->size());
  if (system_steps > kMaxSystemSteps) {
    return makeError("invalid", "the window holds " + std::to_string(report.steps) + " steps for " +
                                    std::to_string(stored->size()) + " systems; at most " +
                                    std::to_string(kMaxSystemSteps) +
                                    " system-steps: shorten --since or raise --step");
  }
  std::vector<GridSystem> systems;
  systems.reserve(stored->size());
  for (const auto& record : *stored) {
    GridSystem system;
    system.stored = controller::specFrom(record.name, record.info);
    system.replay.spec = system.stored;
    system.replay.initial_replicas = std::max<int64_t>(system.stored.min_replicas, 1);
    systems.push_back(std::move(system));
  }
  for (const auto& set : spec_sets) {
    bool found = false;
    for (auto& system : systems) {
      if (set.system != "*" && system.stored.name != set.system) continue;
      found = true;
      if (auto st = setSpecField(system.replay.spec, set.field, set.value, set.key); !st) {
        return st.error();
      }
    }
    if (!found) {
      return makeError("invalid",
                       "--set " + set.key + ": no system '" + set.system + "' in the database");
    }
  }
  for (const auto& system : systems) {
    const auto& spec = system.replay.spec;
    if (auto st =
            checkOrdered("min_replicas of " + spec.name, static_cast<double>(spec.min_replicas),
                         "max_replicas", static_cast<double>(spec.max_replicas));
        !st) {
      return makeError("invalid", "--set: " + st.error().message);
    }
  }

  int64_t samples = 0;
  for (auto& system : systems) {
    if (auto st = loadDemand(db, report.since_ms, step_ms, steps, system); !st) {
      return makeError("store",
                       "reading demand of " + system.stored.name + ": " + st.error().message);
    }
    samples += system.samples;
  }
  if (samples == 0) {
    return makeError("invalid", "no demand samples from " +
                                    common::formatTimestamp(report.since_ms) + " to " +
                                    common::formatTimestamp(report.until_ms) + " in " + args.db);
  }
  auto cycles = loadActual(db, report.since_ms, step_ms, steps, systems);
  if (!cycles) return makeError("store", "reading cycles: " + cycles.error().message);
  report.cycles = *cycles;

  engine::FleetReplay fleet;
  fleet.step_s = static_cast<double>(step_ms) / 1000.0;
  fleet.start_ms = report.since_ms + step_ms;
  fleet.pools = controller::poolsFrom(*config);
  fleet.settings = controller::engineSettingsFrom(*config);
  fleet.settings.policy = args.policy;
  fleet.settings.forecast_only = false;
  fleet.keep_rows = false;
  fleet.systems.reserve(systems.size());
  for (auto& system : systems) fleet.systems.push_back(system.replay);
  if (auto valid = engine::DecisionEngine::validateSettings(fleet.settings); !valid) {
    return makeError("invalid", "engine settings: " + valid.error().message);
  }

  const auto started = std::chrono::steady_clock::now();
  auto replayed = controller::cycle::replayFleet(db, fleet);
  if (!replayed) return makeError("store", "replaying: " + replayed.error().message);
  report.replay_seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();

  std::vector<engine::SimulationSummary> actuals;
  for (std::size_t s = 0; s < systems.size(); ++s) {
    FleetSystemFigures figures;
    figures.name = systems[s].stored.name;
    figures.replay = replayed->systems[s].summary;
    figures.samples = systems[s].samples;
    figures.actual_known = systems[s].actual_known;
    if (figures.actual_known) {
      figures.actual = actualFigures(systems[s], fleet.step_s);
      actuals.push_back(figures.actual);
    }
    report.systems.push_back(std::move(figures));
  }
  report.replay_total = replayed->total;
  report.actual_total = engine::addSummaries(actuals);
  return report;
}

int runFleetReplayCommand(const FleetReplayArgs& args, bool json_output) {
  auto report = replayFleet(args);
  if (!report) return fail(report.error().message);
  const auto& r = *report;
  if (json_output) {
    nlohmann::json systems = nlohmann::json::array();
    for (const auto& s : r.systems) {
      systems.push_back({{"system", s.name},
                         {"samples", s.samples},
                         {"replay", summaryJson(s.replay)},
                         {"actual", s.actual_known ? summaryJson(s.actual) : nullptr}});
    }
    std::cout << nlohmann::json{{"policy", args.policy},
                                {"since", common::formatIso8601(r.since_ms)},
                                {"until", common::formatIso8601(r.until_ms)},
                                {"step_s", static_cast<double>(r.step_ms) / 1000.0},
                                {"steps", r.steps},
                                {"cycles", r.cycles},
                                {"systems", systems},
                                {"total",
                                 {{"replay", summaryJson(r.replay_total)},
                                  {"actual", r.actual_total.steps > 0 ? summaryJson(r.actual_total)
                                                                      : nlohmann::json(nullptr)}}},
                                {"replay_seconds", r.replay_seconds}}
                     .dump()
              << '\n';
    return 0;
  }
  Table table({"SYSTEM", "OVERLOAD%", "REPLICA-H", "EVENTS", "ACTUAL OVERLOAD%", "ACTUAL REPLICA-H",
               "ACTUAL EVENTS"});
  auto row = [&](const std::string& name, const engine::SimulationSummary& replay,
                 const engine::SimulationSummary* actual) {
    table.addRow({name, fixed(replay.overload_pct, 2), fixed(replay.replica_hours, 1),
                  std::to_string(replay.scale_events),
                  actual != nullptr ? fixed(actual->overload_pct, 2) : "-",
                  actual != nullptr ? fixed(actual->replica_hours, 1) : "-",
                  actual != nullptr ? std::to_string(actual->scale_events) : "-"});
  };
  for (const auto& s : r.systems) row(s.name, s.replay, s.actual_known ? &s.actual : nullptr);
  row("TOTAL", r.replay_total, r.actual_total.steps > 0 ? &r.actual_total : nullptr);
  std::cout << args.policy << " replay of " << r.systems.size() << " systems from "
            << common::formatTimestamp(r.since_ms) << " to " << common::formatTimestamp(r.until_ms)
            << ", " << r.steps << " steps of " << static_cast<double>(r.step_ms) / 1000.0
            << " s; actual from " << r.cycles << " stored cycles\n";
  table.print(std::cout, TableStyle{true, 160});
  std::cout << "replayed in " << fixed(r.replay_seconds, 2) << " s\n";
  return 0;
}

}  // namespace pso::cli
