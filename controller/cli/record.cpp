#include "controller/cli/record.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <filesystem>
#include <iostream>
#include <nlohmann/json.hpp>

#include "controller/cycle/replay.h"
#include "controller/engine/replay.h"
#include "controller/scenarios/scenario.h"
#include "controller/scenarios/scenario_text.h"
#include "controller/store/store.h"

namespace pso::cli {
namespace {

namespace engine = controller::engine;
namespace scenarios = controller::scenarios;
namespace store = controller::store;

// The window of history a recorded scenario keeps; the builder trims further.
constexpr std::size_t kHistorySteps = 360;
// Scenarios per transaction: large enough to amortise the commit, small
// enough to keep the documents of one batch in memory.
constexpr std::size_t kBatch = 500;

struct Step {
  engine::SimulationRow row;
  engine::SystemDecision decision;
};

int64_t stepMs(const ReplayInput& input, std::size_t t) {
  return input.start_ms +
         static_cast<int64_t>(std::llround(static_cast<double>(t) * input.step_s * 1000.0));
}

}  // namespace

Result<RecordSummary> recordSimulation(const std::string& db_path, const ReplayInput& input) {
  if (input.spec.name.empty()) return makeError("invalid", "the replayed system needs a name");
  auto opened = store::Store::open(db_path);
  if (!opened) return opened.error();
  store::Store& db = **opened;
  auto run = db.nextCycleSeq();
  if (!run) return run.error();

  std::vector<Step> steps;
  steps.reserve(input.demand.size());
  auto replayed = controller::cycle::replayTrace(
      input.demand, input.step_s, input.spec, input.settings, input.initial_replicas,
      [&](const engine::SimulationRow& row, const engine::SystemDecision& decision) {
        steps.push_back({row, decision});
      },
      input.start_ms);
  if (!replayed) return replayed.error();

  RecordSummary summary;
  summary.run_id = "sim" + std::to_string(*run);
  const std::string& name = input.spec.name;
  std::vector<store::ScenarioRecord> batch;
  batch.reserve(kBatch);

  // As the live controller does: a step's document describes what changed.
  scenarios::DescribedSystems described;
  for (std::size_t t = 0; t < steps.size(); ++t) {
    const Step& step = steps[t];
    scenarios::CycleContext ctx;
    ctx.cycle_id = summary.run_id + "-" + std::to_string(t);
    ctx.ts_ms = step.row.now_ms;
    ctx.mode = "replay";
    ctx.step_s = input.step_s;
    ctx.decisions.now_ms = step.row.now_ms;
    ctx.decisions.systems = {step.decision};
    ctx.decisions.systems.front().system = name;
    ctx.specs[name] = input.spec;
    auto& history = ctx.history[name];
    for (std::size_t i = t + 1 > kHistorySteps ? t + 1 - kHistorySteps : 0; i <= t; ++i) {
      if (std::isfinite(input.demand[i])) history.push_back({stepMs(input, i), input.demand[i]});
    }
    const engine::SystemDecision& d = step.decision;
    if (d.dispatch && d.desired_replicas != d.current_replicas) {
      store::DirectiveRecord directive;
      directive.id = "d-" + ctx.cycle_id;
      directive.cycle_id = ctx.cycle_id;
      directive.system = name;
      directive.action = "scale";
      directive.replicas = d.desired_replicas;
      directive.reason = "replayed decision (" + d.rule + ")";
      directive.source = "engine";
      directive.status = "applied";
      directive.created_ms = ctx.ts_ms;
      directive.result_ms = ctx.ts_ms;
      directive.result_replicas = d.desired_replicas;
      directive.result_message = "applied by the replay; serving after the warm-up";
      ctx.directives.push_back(directive);
    }

    nlohmann::json doc = scenarios::buildScenario(ctx, &described);

    // What the trace says happened next: its demand, and the replicas the
    // replay launched (desired(u - 1) is what runs during step u).
    scenarios::ObservedOutcome observed;
    const std::size_t horizon = std::max<std::size_t>(d.forecast.point.size(), 1);
    auto& demand = observed.demand[name];
    auto& replicas = observed.replicas[name];
    for (std::size_t u = t + 1; u <= t + horizon && u < steps.size(); ++u) {
      if (std::isfinite(input.demand[u])) demand.push_back({stepMs(input, u), input.demand[u]});
      replicas.push_back(
          {stepMs(input, u), static_cast<double>(steps[u - 1].decision.desired_replicas)});
    }
    observed.directives = ctx.directives;
    scenarios::fillOutcome(doc, observed);

    ++summary.scenarios;
    ++summary.outcomes_filled;
    if (scenarios::boolAt(doc, "quiet")) ++summary.quiet;
    summary.questions += scenarios::memberAt(doc, "questions").size();
    const auto& outcome_systems =
        scenarios::memberAt(scenarios::memberAt(doc, "outcome"), "systems");
    const auto& held =
        scenarios::memberAt(scenarios::memberAt(outcome_systems, name), "forecast_held");
    if (held.is_boolean() && !held.get<bool>()) ++summary.forecasts_missed;
    ++summary.by_level[scenarios::textAt(doc, "level")];
    for (const auto& event : scenarios::stringsAt(doc, "events")) ++summary.by_event[event];

    batch.push_back(scenarios::toRecord(doc));
    if (batch.size() >= kBatch) {
      if (auto st = db.insertScenarios(batch); !st.ok()) return st.error();
      batch.clear();
    }
  }
  if (!batch.empty()) {
    if (auto st = db.insertScenarios(batch); !st.ok()) return st.error();
  }
  return summary;
}

std::string systemNameForTrace(const std::string& trace_path) {
  std::string name = std::filesystem::path(trace_path).stem().string();
  for (char& ch : name) {
    const bool safe =
        std::isalnum(static_cast<unsigned char>(ch)) || ch == '.' || ch == '_' || ch == '-';
    if (!safe) ch = '_';
  }
  return name.empty() ? "trace" : name;
}

int runRecordCommand(const std::string& db_path, const std::string& trace_path, ReplayInput input,
                     bool json_output, std::ostream& out) {
  input.spec.name = systemNameForTrace(trace_path);
  auto recorded = recordSimulation(db_path, input);
  if (!recorded) {
    std::cerr << "psoctl: --record " << db_path << ": " << recorded.error().message << '\n';
    return 1;
  }
  const RecordSummary& r = *recorded;
  if (json_output) {
    out << nlohmann::json{{"recorded", r.scenarios},
                          {"db", db_path},
                          {"run", r.run_id},
                          {"system", input.spec.name},
                          {"quiet", r.quiet},
                          {"questions", r.questions},
                          {"outcomes_filled", r.outcomes_filled},
                          {"forecasts_missed", r.forecasts_missed},
                          {"levels", r.by_level},
                          {"events", r.by_event}}
               .dump()
        << '\n';
    return 0;
  }
  std::string levels;
  for (const auto& [level, count] : r.by_level) {
    levels += (levels.empty() ? "" : ", ") + level + " " + std::to_string(count);
  }
  std::string events;
  for (const auto& [event, count] : r.by_event) {
    events += (events.empty() ? "" : ", ") + event + " " + std::to_string(count);
  }
  out << "recorded " << r.scenarios << " scenarios of " << input.spec.name << " (run " << r.run_id
      << ", " << r.quiet << " quiet, " << r.questions << " questions, " << r.outcomes_filled
      << " outcomes filled, " << r.forecasts_missed << " forecasts missed) in " << db_path
      << "; levels: " << (levels.empty() ? "none" : levels)
      << "; events: " << (events.empty() ? "none" : events) << '\n';
  return 0;
}

}  // namespace pso::cli
