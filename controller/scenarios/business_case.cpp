#include "controller/scenarios/business_case.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>
#include <sstream>

#include "controller/scenarios/html_exporter.h"
#include "controller/scenarios/progress.h"
#include "controller/scenarios/scenario_text.h"

namespace pso::controller::scenarios {
namespace {

using nlohmann::json;

constexpr int64_t kMsPerDay = 86'400'000;

int64_t floorDiv(int64_t a, int64_t b) {
  int64_t q = a / b;
  if (a % b != 0 && (a < 0) != (b < 0)) --q;
  return q;
}

// The first instant of the period holding ts_ms: a UTC day, or the Monday of
// an ISO week (1970-01-01, day 0, was a Thursday).
int64_t periodStart(int64_t ts_ms, BusinessPeriod period) {
  const int64_t day = floorDiv(ts_ms, kMsPerDay);
  if (period == BusinessPeriod::kDay) return day * kMsPerDay;
  const int64_t monday = day - ((day + 3) % 7 + 7) % 7;
  return monday * kMsPerDay;
}

void addTo(BusinessPeriodFigures& total, const BusinessPeriodFigures& f) {
  total.cycles += f.cycles;
  total.system_cycles += f.system_cycles;
  total.predictive_replica_hours += f.predictive_replica_hours;
  total.baseline_replica_hours += f.baseline_replica_hours;
  total.with_outcome += f.with_outcome;
  total.predictive_short += f.predictive_short;
  total.baseline_short += f.baseline_short;
  total.left_out += f.left_out;
  total.predictive_scale_events += f.predictive_scale_events;
  total.baseline_scale_events += f.baseline_scale_events;
}

// The two counts of a system's previous system-cycle, for scale events.
struct PreviousCounts {
  double desired = 0.0;
  double baseline = 0.0;
};

// One system-cycle of a scenario, when the document records both counts.
void addSystemCycle(const json& doc, const std::string& system, double step_h,
                    std::map<std::string, PreviousCounts>& previous, BusinessPeriodFigures& f) {
  const double desired = numberAt(memberAt(memberAt(doc, "rationale"), system), "desired_replicas");
  const double baseline =
      numberAt(memberAt(memberAt(doc, "reactive_baseline"), system), "replicas");
  if (!std::isfinite(desired) || !std::isfinite(baseline)) return;
  ++f.system_cycles;
  if (auto [last, first] = previous.try_emplace(system, PreviousCounts{desired, baseline});
      !first) {
    f.predictive_scale_events += desired != last->second.desired ? 1 : 0;
    f.baseline_scale_events += baseline != last->second.baseline ? 1 : 0;
    last->second = {desired, baseline};
  }
  f.predictive_replica_hours += desired * step_h;
  f.baseline_replica_hours += baseline * step_h;
  const json& outcome = memberAt(memberAt(memberAt(doc, "outcome"), "systems"), system);
  const double max_demand = numberAt(outcome, "max_demand");
  const double capacity =
      numberAt(memberAt(memberAt(doc, "situation"), system), "capacity_per_replica");
  if (!std::isfinite(max_demand) || !std::isfinite(capacity)) return;
  ++f.with_outcome;
  f.predictive_short += countFellShort(max_demand, desired, capacity) ? 1 : 0;
  f.baseline_short += countFellShort(max_demand, baseline, capacity) ? 1 : 0;
}

// A system-cycle a scenario covers as an earlier one describes it
// (`unchanged`): the same counts as that system's previous system-cycle, so
// no scale event; its outcome, once filled, says whether each count was
// short (fillOutcome). False when no earlier document of the selection gave
// its counts.
bool addUnchangedSystemCycle(const json& doc, const std::string& system, double step_h,
                             const std::map<std::string, PreviousCounts>& previous,
                             BusinessPeriodFigures& f) {
  auto last = previous.find(system);
  if (last == previous.end()) return false;
  ++f.system_cycles;
  f.predictive_replica_hours += last->second.desired * step_h;
  f.baseline_replica_hours += last->second.baseline * step_h;
  const json& outcome = memberAt(memberAt(memberAt(doc, "outcome"), "systems"), system);
  const json& engine_short = memberAt(outcome, "engine_short");
  const json& hpa_short = memberAt(outcome, "hpa_short");
  if (engine_short.is_boolean() && hpa_short.is_boolean()) {
    ++f.with_outcome;
    f.predictive_short += engine_short.get<bool>() ? 1 : 0;
    f.baseline_short += hpa_short.get<bool>() ? 1 : 0;
  }
  return true;
}

std::string money(double amount, const BusinessCaseCost& cost) {
  char text[64];
  std::snprintf(text, sizeof text, "%.2f", amount);
  return (cost.currency.empty() ? "" : cost.currency + " ") + text;
}

std::string share(double part, double whole) {
  if (!(whole > 0)) return "n/a";
  return formatNumber(std::round(part / whole * 1000.0) / 10.0) + "%";
}

// The period's case in sentences, from its figures only.
std::vector<std::string> sentences(const BusinessPeriodFigures& f, const BusinessCaseCost& cost) {
  std::vector<std::string> out;
  const double saved = f.savedReplicaHours();
  std::string spend = "Over " + std::to_string(f.cycles) + " decision cycles (" +
                      std::to_string(f.system_cycles) +
                      " system-cycles), the predictive engine's decisions ran " +
                      formatNumber(f.predictive_replica_hours) +
                      " replica-hours where the HPA rule recorded beside them would have run " +
                      formatNumber(f.baseline_replica_hours) + ": ";
  if (saved == 0.0) {
    spend += "the same.";
  } else {
    spend += formatNumber(std::fabs(saved)) + (saved > 0 ? " fewer" : " more") + " (" +
             share(std::fabs(saved), f.baseline_replica_hours) + " of the HPA rule's)";
    if (cost.cost_per_replica_hour > 0) {
      spend += ", " + money(std::fabs(saved) * cost.cost_per_replica_hour, cost) +
               (saved > 0 ? " saved" : " spent more") + " at " +
               money(cost.cost_per_replica_hour, cost) + " per replica-hour";
    }
    spend += ".";
  }
  out.push_back(spend);
  if (f.left_out > 0) {
    out.push_back("These figures leave out " + std::to_string(f.left_out) +
                  " system-cycles that the scenarios counted but did not describe (a scenario "
                  "of a large fleet describes the systems that teach most, and names a system "
                  "unchanged since an earlier scenario, which may be outside the selection); "
                  "they cover only the system-cycles described.");
  }
  if (cost.cost_per_replica_hour > 0) {
    out.push_back("The engine's replicas cost " +
                  money(f.predictive_replica_hours * cost.cost_per_replica_hour, cost) +
                  "; the HPA rule's would have cost " +
                  money(f.baseline_replica_hours * cost.cost_per_replica_hour, cost) + ".");
  }
  if (f.with_outcome == 0) {
    out.push_back("No outcome is recorded yet, so overload cannot be compared.");
  } else {
    out.push_back(
        "Of the " + std::to_string(f.with_outcome) +
        " system-cycles whose outcome is recorded, the highest demand that came was "
        "above the capacity of the engine's count in " +
        std::to_string(f.predictive_short) + " (" +
        share(static_cast<double>(f.predictive_short), static_cast<double>(f.with_outcome)) +
        ") and above that of the HPA rule's count in " + std::to_string(f.baseline_short) + " (" +
        share(static_cast<double>(f.baseline_short), static_cast<double>(f.with_outcome)) + ").");
  }
  if (f.system_cycles > 0) {
    out.push_back("The engine changed a system's count " +
                  std::to_string(f.predictive_scale_events) +
                  " times from one cycle to the next; the HPA rule's count changed " +
                  std::to_string(f.baseline_scale_events) + " times.");
  }
  return out;
}

std::vector<std::string> tableHeader(const BusinessCaseCost& cost) {
  std::vector<std::string> header = {"Period", "Cycles", "Engine replica-hours",
                                     "HPA replica-hours", "Saved replica-hours"};
  if (cost.cost_per_replica_hour > 0) header.push_back("Saved (" + cost.currency + ")");
  header.insert(header.end(),
                {"Engine short", "HPA short", "Engine scale events", "HPA scale events"});
  return header;
}

std::vector<std::string> figuresRow(const BusinessPeriodFigures& f, const BusinessCaseCost& cost) {
  std::vector<std::string> row = {
      f.label, std::to_string(f.cycles), formatNumber(f.predictive_replica_hours),
      formatNumber(f.baseline_replica_hours), formatNumber(f.savedReplicaHours())};
  if (cost.cost_per_replica_hour > 0) {
    char text[64];
    std::snprintf(text, sizeof text, "%.2f", f.savedReplicaHours() * cost.cost_per_replica_hour);
    row.push_back(text);
  }
  row.push_back(std::to_string(f.predictive_short) + "/" + std::to_string(f.with_outcome));
  row.push_back(std::to_string(f.baseline_short) + "/" + std::to_string(f.with_outcome));
  row.push_back(std::to_string(f.predictive_scale_events));
  row.push_back(std::to_string(f.baseline_scale_events));
  return row;
}

const char* kMethod =
    "Each decision holds for one cycle step. The engine's count is the desired replicas of its "
    "decision; the HPA rule's is the count the Kubernetes HPA algorithm would have set on the "
    "same observation, recorded in the same scenario. A count is short when the highest demand "
    "observed after the decision exceeds replicas x capacity per replica. A scale event is a "
    "change of a system's count from one cycle to the next.";

}  // namespace

Result<BusinessPeriod> parseBusinessPeriod(const std::string& text) {
  if (text == "day") return BusinessPeriod::kDay;
  if (text == "week") return BusinessPeriod::kWeek;
  return makeError("invalid", "a period is day or week, not '" + text + "'");
}

std::vector<BusinessPeriodFigures> businessCase(const std::vector<json>& scenarios,
                                                BusinessPeriod period, const std::string& system) {
  // In time order, so each system-cycle is compared with the one before it.
  std::vector<const json*> ordered;
  ordered.reserve(scenarios.size());
  for (const auto& doc : scenarios) {
    if (doc.is_object()) ordered.push_back(&doc);
  }
  std::stable_sort(ordered.begin(), ordered.end(), [](const json* a, const json* b) {
    return integerAt(*a, "ts_ms") < integerAt(*b, "ts_ms");
  });
  std::map<int64_t, BusinessPeriodFigures> by_start;
  std::map<std::string, PreviousCounts> previous;
  for (const json* ordered_doc : ordered) {
    const json& doc = *ordered_doc;
    const int64_t ts_ms = integerAt(doc, "ts_ms");
    const int64_t start = periodStart(ts_ms, period);
    BusinessPeriodFigures& f = by_start[start];
    if (f.cycles == 0) {
      f.start_ms = start;
      f.end_ms = start + (period == BusinessPeriod::kDay ? kMsPerDay : 7 * kMsPerDay);
      f.label = period == BusinessPeriod::kDay ? utcDate(start) : "week of " + utcDate(start);
    }
    ++f.cycles;
    const double step_h = numberAt(doc, "step_s", 15.0) / 3600.0;
    for (const auto& name : stringsAt(doc, "systems")) {
      if (system.empty() || name == system) addSystemCycle(doc, name, step_h, previous, f);
    }
    for (const auto& name : namedUnchangedOnly(doc)) {
      if (!system.empty() && name != system) continue;
      if (!addUnchangedSystemCycle(doc, name, step_h, previous, f)) ++f.left_out;
    }
    // The whole fleet's case says what the documents counted and left out.
    if (system.empty()) {
      const json& left_out = memberAt(doc, "systems_left_out");
      for (const char* kind : {"notable", "quiet"}) {
        f.left_out += static_cast<std::size_t>(std::max<int64_t>(0, integerAt(left_out, kind)));
      }
    }
  }
  std::vector<BusinessPeriodFigures> out;
  BusinessPeriodFigures total;
  total.label = "total";
  for (auto& [start, f] : by_start) {
    if (out.empty()) total.start_ms = f.start_ms;
    total.end_ms = f.end_ms;
    addTo(total, f);
    out.push_back(std::move(f));
  }
  if (out.size() > 1) out.push_back(std::move(total));
  return out;
}

std::string businessCaseMarkdown(const std::vector<BusinessPeriodFigures>& figures,
                                 const BusinessCaseCost& cost) {
  std::ostringstream out;
  out << "# The business case of predictive scaling\n\n" << kMethod << "\n";
  for (const auto& f : figures) {
    out << "\n## " << (f.label == "total" ? "All periods" : f.label) << "\n\n";
    for (const auto& sentence : sentences(f, cost)) out << sentence << "\n";
  }
  out << "\n";
  const auto header = tableHeader(cost);
  out << "|";
  for (const auto& cell : header) out << " " << cell << " |";
  out << "\n|";
  for (std::size_t i = 0; i < header.size(); ++i) out << " --- |";
  out << "\n";
  for (const auto& f : figures) {
    out << "|";
    for (const auto& cell : figuresRow(f, cost)) out << " " << cell << " |";
    out << "\n";
  }
  return out.str();
}

std::string businessCaseHtml(const std::vector<BusinessPeriodFigures>& figures,
                             const BusinessCaseCost& cost) {
  std::ostringstream out;
  out << "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
      << "<title>The business case of predictive scaling</title>\n</head>\n<body>\n"
      << "<h1>The business case of predictive scaling</h1>\n<p>" << htmlEscape(kMethod) << "</p>\n";
  for (const auto& f : figures) {
    out << "<h2>" << htmlEscape(f.label == "total" ? "All periods" : f.label) << "</h2>\n";
    for (const auto& sentence : sentences(f, cost))
      out << "<p>" << htmlEscape(sentence) << "</p>\n";
  }
  out << "<table>\n<tr>";
  for (const auto& cell : tableHeader(cost)) out << "<th>" << htmlEscape(cell) << "</th>";
  out << "</tr>\n";
  for (const auto& f : figures) {
    out << "<tr>";
    for (const auto& cell : figuresRow(f, cost)) out << "<td>" << htmlEscape(cell) << "</td>";
    out << "</tr>\n";
  }
  out << "</table>\n</body>\n</html>\n";
  return out.str();
}

}  // namespace pso::controller::scenarios
