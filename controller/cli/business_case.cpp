#include "controller/cli/business_case.h"
#include "controller/cli/store_argument.h"

#include <filesystem>
#include <iostream>
#include <nlohmann/json.hpp>

#include "controller/cli/failure.h"
#include "controller/cli/option_checks.h"
#include "controller/scenarios/atomic_file.h"
#include "controller/scenarios/business_case.h"
#include "controller/scenarios/scenario.h"
#include "controller/store/store.h"

namespace pso::cli {
namespace {

namespace scenarios = controller::scenarios;
namespace store = controller::store;
using nlohmann::json;

json figuresJson(const std::vector<scenarios::BusinessPeriodFigures>& figures,
                 const BusinessCaseArgs& args) {
  json periods = json::array();
  for (const auto& f : figures) {
    json p = {{"period", f.label},
              {"start_ms", f.start_ms},
              {"end_ms", f.end_ms},
              {"cycles", f.cycles},
              {"system_cycles", f.system_cycles},
              {"predictive_replica_hours", f.predictive_replica_hours},
              {"baseline_replica_hours", f.baseline_replica_hours},
              {"saved_replica_hours", f.savedReplicaHours()},
              {"with_outcome", f.with_outcome},
              {"predictive_short", f.predictive_short},
              {"baseline_short", f.baseline_short},
              {"system_cycles_left_out", f.left_out},
              {"predictive_scale_events", f.predictive_scale_events},
              {"baseline_scale_events", f.baseline_scale_events}};
    if (args.cost_per_replica_hour > 0) {
      p["predictive_cost"] = f.predictive_replica_hours * args.cost_per_replica_hour;
      p["baseline_cost"] = f.baseline_replica_hours * args.cost_per_replica_hour;
      p["saved_cost"] = f.savedReplicaHours() * args.cost_per_replica_hour;
    }
    periods.push_back(std::move(p));
  }
  return {{"period", args.period},
          {"cost_per_replica_hour", args.cost_per_replica_hour},
          {"currency", args.currency},
          {"periods", periods}};
}

}  // namespace

void addBusinessCaseOptions(CLI::App* cmd, BusinessCaseArgs& args) {
  cmd->add_option("--db", args.db, "Controller database holding the scenarios")->required();
  cmd->add_option("--period", args.period, "One section per day or per ISO week (UTC)")
      ->check(CLI::IsMember({"day", "week"}))
      ->capture_default_str();
  cmd->add_option("--cost-per-replica-hour", args.cost_per_replica_hour,
                  "What one replica running one hour costs, in --currency (0: replica-hours only)")
      ->capture_default_str();
  cmd->add_option("--currency", args.currency, "The unit of --cost-per-replica-hour, e.g. EUR");
  cmd->add_option("--format", args.format, "markdown | html")
      ->check(CLI::IsMember({"markdown", "html"}))
      ->capture_default_str();
  cmd->add_option("--system", args.system,
                  "Only this system's figures, from the scenarios that include it");
  cmd->add_option("--out", args.out, "The lesson file; - for stdout")->capture_default_str();
}

int runBusinessCaseCommand(const BusinessCaseArgs& args, bool json_output) {
  auto period = scenarios::parseBusinessPeriod(args.period);
  if (!period) return fail("--period: " + period.error().message);
  if (auto st = checkAtLeast("--cost-per-replica-hour", args.cost_per_replica_hour, 0); !st.ok()) {
    return fail(st.error().message);
  }
  if (args.cost_per_replica_hour > 0 && args.currency.empty()) {
    return fail("--currency: say the unit of --cost-per-replica-hour (e.g. --currency EUR)");
  }
  auto opened = openExistingStore(args.db);
  if (!opened) return fail(opened.error().message);
  // Not the store's system filter: it lists the scenarios that describe a
  // system, and the case also counts those that name it unchanged.
  auto records = (*opened)->scenarios(store::ScenarioFilter{});
  if (!records) return fail("--db " + args.db + ": " + records.error().message);
  std::vector<json> documents;
  documents.reserve(records->size());
  for (const auto& record : *records) {
    json doc = json::parse(record.json, nullptr, false);
    if (!doc.is_object()) return fail("scenario '" + record.id + "' is stored as invalid JSON");
    if (!args.system.empty() && !scenarios::coversSystem(doc, args.system)) continue;
    documents.push_back(std::move(doc));
  }
  if (documents.empty()) return fail("--db " + args.db + ": no scenarios to build the case from");
  const auto figures = scenarios::businessCase(documents, *period, args.system);
  if (json_output) {
    std::cout << figuresJson(figures, args).dump(2) << '\n';
    return 0;
  }
  const scenarios::BusinessCaseCost cost{args.cost_per_replica_hour, args.currency};
  const std::string lesson = args.format == "html" ? scenarios::businessCaseHtml(figures, cost)
                                                   : scenarios::businessCaseMarkdown(figures, cost);
  if (args.out == "-") {
    std::cout << lesson;
    return 0;
  }
  if (auto st = scenarios::writeFileAtomic(args.out, lesson); !st.ok()) {
    return fail("--out: " + st.error().message);
  }
  std::cout << "wrote " << args.out << ": the business case of " << records->size()
            << " scenarios, per " << args.period << '\n';
  return 0;
}

}  // namespace pso::cli
