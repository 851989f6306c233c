#pragma once

// The business case of predictive scaling from the fleet's own record: per
// period (UTC day or ISO week), the replica-hours the engine's decisions ran
// against those the HPA rule recorded beside each of them would have run,
// what the difference costs in the user's unit, and how often each choice
// was short of the demand that came. Pure: scenario documents in, figures
// and a lesson out; `psoctl scenarios business-case` reads the documents.

#include <cstddef>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "common/result.h"

namespace pso::controller::scenarios {

enum class BusinessPeriod { kDay, kWeek };

/// "day" | "week"; anything else is code "invalid".
[[nodiscard]] Result<BusinessPeriod> parseBusinessPeriod(const std::string& text);

/// One period's figures. A system-cycle is one system in one scenario that
/// records both the engine's desired count (rationale.<system>.desired_replicas)
/// and the HPA rule's (reactive_baseline.<system>.replicas); each holds for
/// the scenario's step (step_s).
struct BusinessPeriodFigures {
  std::string label;                      ///< "2026-12-01" (a day) or "week of 2026-11-30" (Monday)
  int64_t start_ms = 0;                   ///< the period's first instant (UTC)
  int64_t end_ms = 0;                     ///< the first instant after it
  std::size_t cycles = 0;                 ///< scenarios in the period
  std::size_t system_cycles = 0;          ///< system-cycles compared
  double predictive_replica_hours = 0.0;  ///< sum of desired replicas x step_s / 3600
  double baseline_replica_hours = 0.0;    ///< sum of HPA replicas x step_s / 3600
  /// System-cycles whose outcome is recorded (outcome.systems.<system>.max_demand,
  /// or engine_short and hpa_short for a system named unchanged).
  std::size_t with_outcome = 0;
  /// Of those, how many had the highest demand of the cycle above the
  /// capacity of the engine's count (replicas x capacity_per_replica) ...
  std::size_t predictive_short = 0;
  /// ... and above the capacity of the HPA rule's count.
  std::size_t baseline_short = 0;
  /// System-cycles a scenario counted but did not describe (a scenario of a
  /// large fleet describes the systems that teach most and counts the rest,
  /// systems_left_out), or named unchanged since a document outside the
  /// selection: not in any figure above, and said so in the lesson. A system
  /// named unchanged since a document of the selection counts with the
  /// counts that document gave it.
  std::size_t left_out = 0;
  /// System-cycles whose engine count differs from the same system's in its
  /// previous scenario (by time; the first of each system is no event) ...
  std::size_t predictive_scale_events = 0;
  /// ... and whose HPA rule's count differs from its previous one.
  std::size_t baseline_scale_events = 0;
  /// Replica-hours the engine saved against the HPA rule (negative: spent more).
  double savedReplicaHours() const { return baseline_replica_hours - predictive_replica_hours; }
};

/// A count was short when the highest demand observed after its cycle
/// exceeded what it serves at full capacity: the business case's overload,
/// and what a settled scenario keeps of its outcome (scenario.h fillOutcome).
inline bool countFellShort(double max_demand, double replicas, double capacity_per_replica) {
  return max_demand > replicas * capacity_per_replica;
}

/// The figures per period, oldest first (periods without scenarios left out),
/// and their total as the last element labelled "total" when there is more
/// than one period. Documents that are not objects are skipped. With
/// `system`, only that system's system-cycles are counted (cycles still
/// counts every scenario given).
std::vector<BusinessPeriodFigures> businessCase(const std::vector<nlohmann::json>& scenarios,
                                                BusinessPeriod period,
                                                const std::string& system = "");

/// How money is shown: replica-hours x cost_per_replica_hour in `currency`
/// (e.g. "EUR"). A cost of 0 leaves money out: figures in replica-hours only.
struct BusinessCaseCost {
  double cost_per_replica_hour = 0.0;
  std::string currency;
};

/// The lesson: one section per period stating the case in sentences from the
/// figures, then a table of every period. Markdown or a standalone HTML page.
std::string businessCaseMarkdown(const std::vector<BusinessPeriodFigures>& figures,
                                 const BusinessCaseCost& cost);
std::string businessCaseHtml(const std::vector<BusinessPeriodFigures>& figures,
                             const BusinessCaseCost& cost);

}  // namespace pso::controller::scenarios
