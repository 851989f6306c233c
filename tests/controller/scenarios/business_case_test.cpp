#include "controller/scenarios/business_case.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace pso::controller::scenarios {
namespace {

using nlohmann::json;

// 2026-11-29T12:00:00Z, a Sunday; the next day starts ISO week 2026-11-30.
constexpr int64_t kSundayNoon = 1'795'953'600'000LL;
constexpr int64_t kDayMs = 86'400'000;

// One scenario of system "web" as the recorder writes the fields the case reads.
json scenario(int64_t ts_ms, double step_s, int engine, int hpa, double max_demand) {
  json doc = {{"ts_ms", ts_ms},
              {"step_s", step_s},
              {"systems", {"web"}},
              {"situation", {{"web", {{"capacity_per_replica", 40.0}}}}},
              {"rationale", {{"web", {{"desired_replicas", engine}}}}},
              {"reactive_baseline", {{"web", {{"replicas", hpa}}}}},
              {"outcome", {{"systems", {{"web", {{"max_demand", max_demand}}}}}}}};
  if (max_demand < 0) doc["outcome"] = {{"filled", false}};
  return doc;
}

TEST(BusinessCase, AnUnchangedSystemCountsWithTheCountsOfTheScenarioThatDescribesIt) {
  // web described at noon (engine 6, HPA 4), then named unchanged for two
  // cycles; the third names it unchanged since a scenario not selected.
  json unchanged = {{"ts_ms", kSundayNoon + 900'000},
                    {"step_s", 900},
                    {"systems", json::array()},
                    {"unchanged", {{"web", "s-c-1"}}}};
  json again = unchanged;
  again["ts_ms"] = kSundayNoon + 1'800'000;
  // Its outcome filled: the HPA rule's count was short, the engine's not.
  again["outcome"] = {{"systems", {{"web", {{"engine_short", false}, {"hpa_short", true}}}}}};
  // Before its outcome is filled a system named unchanged is also described:
  // counted once.
  json unfilled = scenario(kSundayNoon + 2'700'000, 900, 6, 4, -1);
  unfilled["unchanged"] = {{"web", "s-c-1"}};
  const std::vector<json> docs = {scenario(kSundayNoon, 900, 6, 4, 100), unchanged, again,
                                  unfilled};
  const auto figures = businessCase(docs, BusinessPeriod::kDay);
  ASSERT_EQ(figures.size(), 1u);
  EXPECT_EQ(figures[0].system_cycles, 4u);
  EXPECT_DOUBLE_EQ(figures[0].predictive_replica_hours, 4 * 6 * 0.25);
  EXPECT_DOUBLE_EQ(figures[0].baseline_replica_hours, 4 * 4 * 0.25);
  EXPECT_EQ(figures[0].predictive_scale_events, 0u);
  EXPECT_EQ(figures[0].with_outcome, 2u);
  EXPECT_EQ(figures[0].predictive_short, 0u);
  EXPECT_EQ(figures[0].baseline_short, 1u);
  EXPECT_EQ(figures[0].left_out, 0u);
  for (const std::string& system : {std::string(), std::string("web")}) {
    const auto alone = businessCase({unchanged, again}, BusinessPeriod::kDay, system);
    ASSERT_EQ(alone.size(), 1u);
    EXPECT_EQ(alone[0].system_cycles, 0u);
    EXPECT_EQ(alone[0].left_out, 2u) << "system '" << system << "'";
  }
}

TEST(BusinessCase, FiguresPerDayAndWeekFromTheRecordedCounts) {
  const std::vector<json> docs = {
      // Sunday: 10 vs 12 replicas for 1 h; 450 demand: engine short (400), HPA not (480).
      scenario(kSundayNoon, 3600, 10, 12, 450),
      // Monday: 6 vs 4 replicas for 30 min; 200 demand: HPA short (160).
      scenario(kSundayNoon + kDayMs, 1800, 6, 4, 200),
      // Monday again, no outcome yet: counted in replica-hours only.
      scenario(kSundayNoon + kDayMs + 1000, 1800, 2, 2, -1),
      // Not an object: skipped.
      json("noise")};
  const auto days = businessCase(docs, BusinessPeriod::kDay);
  ASSERT_EQ(days.size(), 3u);
  EXPECT_EQ(days[0].label, "2026-11-29");
  EXPECT_EQ(days[0].cycles, 1u);
  EXPECT_DOUBLE_EQ(days[0].predictive_replica_hours, 10.0);
  EXPECT_DOUBLE_EQ(days[0].baseline_replica_hours, 12.0);
  EXPECT_DOUBLE_EQ(days[0].savedReplicaHours(), 2.0);
  EXPECT_EQ(days[0].predictive_short, 1u);
  EXPECT_EQ(days[0].baseline_short, 0u);
  EXPECT_EQ(days[1].label, "2026-11-30");
  EXPECT_EQ(days[1].cycles, 2u);
  EXPECT_DOUBLE_EQ(days[1].predictive_replica_hours, 3.0 + 1.0);
  EXPECT_DOUBLE_EQ(days[1].baseline_replica_hours, 2.0 + 1.0);
  EXPECT_EQ(days[1].with_outcome, 1u);
  EXPECT_EQ(days[1].baseline_short, 1u);
  EXPECT_EQ(days[2].label, "total");
  EXPECT_DOUBLE_EQ(days[2].savedReplicaHours(), 1.0);

  const auto weeks = businessCase(docs, BusinessPeriod::kWeek);
  ASSERT_EQ(weeks.size(), 3u);
  EXPECT_EQ(weeks[0].label, "week of 2026-11-23");
  EXPECT_EQ(weeks[1].label, "week of 2026-11-30");
  EXPECT_EQ(weeks[1].start_ms, kSundayNoon + 12 * 3'600'000LL);

  const std::string md = businessCaseMarkdown(days, {0.5, "EUR"});
  EXPECT_NE(md.find("ran 10 replica-hours where the HPA rule recorded beside them would have "
                    "run 12: 2 fewer (16.7% of the HPA rule's), EUR 1.00 saved at EUR 0.50 per "
                    "replica-hour."),
            std::string::npos)
      << md;
  EXPECT_NE(md.find("ran 4 replica-hours where the HPA rule recorded beside them would have run 3: "
                    "1 more (33.3% of the HPA rule's)"),
            std::string::npos)
      << md;
  EXPECT_NE(md.find("| 2026-11-30 | 2 | 4 | 3 | -1 | -0.50 | 0/1 | 1/1 |"), std::string::npos)
      << md;
  EXPECT_EQ(businessCaseMarkdown(days, {}).find("EUR"), std::string::npos);
  EXPECT_FALSE(parseBusinessPeriod("month").ok());
}

TEST(BusinessCase, SystemCyclesAScenarioCountedButLeftOutAreNamedNotCounted) {
  // A large fleet's scenario describes "web" and counts 37 notable and 12 quiet
  // systems it left out; a second day describes all its systems.
  json large = scenario(kSundayNoon, 3600, 10, 12, 450);
  large["systems_left_out"] = {{"notable", 37}, {"quiet", 12}};
  const std::vector<json> docs = {large, scenario(kSundayNoon + kDayMs, 3600, 3, 3, 10)};
  const auto days = businessCase(docs, BusinessPeriod::kDay);
  ASSERT_EQ(days.size(), 3u);
  EXPECT_EQ(days[0].left_out, 49u);
  EXPECT_EQ(days[0].system_cycles, 1u);
  EXPECT_DOUBLE_EQ(days[0].predictive_replica_hours, 10.0);
  EXPECT_EQ(days[1].left_out, 0u);
  EXPECT_EQ(days[2].left_out, 49u);
  const std::string md = businessCaseMarkdown(days, {});
  EXPECT_NE(md.find("These figures leave out 49 system-cycles"), std::string::npos) << md;
  // Said once for the day and once for the total, not for the day without any.
  EXPECT_EQ(md.find("leave out", md.find("## 2026-11-30")),
            md.find("leave out", md.find("## All")));
}

TEST(BusinessCase, ScaleEventsCountChangesOfEachCountFromOneCycleToTheNext) {
  // Given out of time order; per system in time order the engine's counts are
  // 2, 2, 3, 3 (one change) and the HPA rule's 2, 3, 2, 3 (three).
  std::vector<json> docs = {
      scenario(kSundayNoon + 3000, 60, 3, 3, 10), scenario(kSundayNoon, 60, 2, 2, 10),
      scenario(kSundayNoon + 2000, 60, 3, 2, 10), scenario(kSundayNoon + 1000, 60, 2, 3, 10)};
  // A second system changes both counts once.
  json api = scenario(kSundayNoon + 1500, 60, 5, 5, 10);
  api["systems"] = {"api"};
  api["rationale"] = {{"api", {{"desired_replicas", 5}}}};
  api["reactive_baseline"] = {{"api", {{"replicas", 5}}}};
  docs.push_back(api);
  api["ts_ms"] = kSundayNoon + 2500;
  api["rationale"]["api"]["desired_replicas"] = 4;
  api["reactive_baseline"]["api"]["replicas"] = 6;
  docs.push_back(api);
  const auto days = businessCase(docs, BusinessPeriod::kDay);
  ASSERT_EQ(days.size(), 1u);
  EXPECT_EQ(days[0].system_cycles, 6u);
  EXPECT_EQ(days[0].predictive_scale_events, 2u);
  EXPECT_EQ(days[0].baseline_scale_events, 4u);
  const std::string md = businessCaseMarkdown(days, {});
  EXPECT_NE(md.find("The engine changed a system's count 2 times from one cycle to the next; the "
                    "HPA rule's count changed 4 times."),
            std::string::npos)
      << md;
  EXPECT_NE(md.find("| 0/4 | 0/4 | 2 | 4 |"), std::string::npos) << md;  // api has no outcome

  // One system's figures only.
  const auto api_only = businessCase(docs, BusinessPeriod::kDay, "api");
  ASSERT_EQ(api_only.size(), 1u);
  EXPECT_EQ(api_only[0].cycles, 6u);
  EXPECT_EQ(api_only[0].system_cycles, 2u);
  EXPECT_EQ(api_only[0].predictive_scale_events, 1u);
  EXPECT_EQ(api_only[0].baseline_scale_events, 1u);
  EXPECT_DOUBLE_EQ(api_only[0].predictive_replica_hours, (5.0 + 4.0) / 60.0);
}

}  // namespace
}  // namespace pso::controller::scenarios
