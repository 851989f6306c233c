// psoctl scenarios business-case on a recorded replay, with the real psoctl
// and a real database: its figures per day and per week are recomputed here
// from the stored scenarios' own numbers (the engine's desired replicas, the
// HPA rule's replicas, the step, the highest demand after the decision and
// the capacity per replica) and compared; the lesson states them.

#include <gtest/gtest.h>

#include <cmath>
#include <ctime>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "controller/store/store.h"
#include "tests/support/process.h"

namespace pso::testing {
namespace {

using nlohmann::json;
namespace store = controller::store;

CommandOutput psoctl(const std::vector<std::string>& args) {
  std::vector<std::string> argv{PSOCTL_BIN};
  argv.insert(argv.end(), args.begin(), args.end());
  return runCommand(argv, {}, std::chrono::seconds(300));
}

struct Expected {
  std::size_t cycles = 0;
  std::size_t system_cycles = 0;
  double predictive_h = 0;
  double baseline_h = 0;
  std::size_t with_outcome = 0;
  std::size_t predictive_short = 0;
  std::size_t baseline_short = 0;
};

// The UTC date of a time, and of the Monday of its week, by gmtime.
std::string dateOf(int64_t ts_ms, bool monday) {
  std::time_t t = static_cast<std::time_t>(ts_ms / 1000);
  std::tm tm{};
  gmtime_r(&t, &tm);
  if (monday) {
    t -= static_cast<std::time_t>(((tm.tm_wday + 6) % 7) * 86400);
    gmtime_r(&t, &tm);
  }
  char text[16];
  std::strftime(text, sizeof text, "%Y-%m-%d", &tm);
  return text;
}

std::map<std::string, Expected> expectedPerPeriod(const std::vector<json>& docs, bool weekly) {
  std::map<std::string, Expected> out;
  for (const auto& doc : docs) {
    const int64_t ts = doc["ts_ms"].get<int64_t>();
    Expected& e = out[(weekly ? "week of " : "") + dateOf(ts, weekly)];
    ++e.cycles;
    const double step_s = doc["step_s"].get<double>();
    for (const auto& system_json : doc["systems"]) {
      const std::string system = system_json.get<std::string>();
      if (!doc["rationale"].contains(system) || !doc["reactive_baseline"].contains(system))
        continue;
      const double engine = doc["rationale"][system]["desired_replicas"].get<double>();
      const double hpa = doc["reactive_baseline"][system]["replicas"].get<double>();
      ++e.system_cycles;
      e.predictive_h += engine * step_s / 3600.0;
      e.baseline_h += hpa * step_s / 3600.0;
      const json& outcome = doc["outcome"]["systems"].value(system, json::object());
      if (!outcome.contains("max_demand") || !outcome["max_demand"].is_number()) continue;
      const double demand = outcome["max_demand"].get<double>();
      const double capacity = doc["situation"][system]["capacity_per_replica"].get<double>();
      ++e.with_outcome;
      if (demand > engine * capacity) ++e.predictive_short;
      if (demand > hpa * capacity) ++e.baseline_short;
    }
  }
  return out;
}

class PsoctlBusinessCaseTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new TempDir();
    // Hourly demand over 16 days (2026-11-25 00:00 UTC on, Wednesday): a daily
    // shape with a surge on day 9 the forecast cannot see coming.
    std::ofstream trace(dir_->file("web.csv"));
    trace << "timestamp,value\n";
    for (int i = 0; i < 16 * 24; ++i) {
      double v = 200 + 120 * std::sin(2 * M_PI * i / 24.0);
      if (i >= 9 * 24 + 10 && i < 9 * 24 + 14) v *= 2.5;
      trace << 1795564800 + 3600 * i << ',' << v << '\n';
    }
    trace.close();
    record_ = psoctl({"simulate", "--trace", dir_->file("web.csv"), "--capacity", "40", "--out",
                      dir_->file("sim.csv"), "--record", dir_->file("fleet.db")});
  }
  static void TearDownTestSuite() {
    delete dir_;
    dir_ = nullptr;
  }
  void SetUp() override { ASSERT_EQ(record_.exit_code, 0) << record_.err; }

  static std::vector<json> storedScenarios() {
    auto opened = store::Store::open(dir_->file("fleet.db"));
    EXPECT_TRUE(opened.ok());
    std::vector<json> docs;
    if (!opened.ok()) return docs;
    auto records = (*opened)->scenarios({});
    EXPECT_TRUE(records.ok());
    for (const auto& r : *records) docs.push_back(json::parse(r.json));
    return docs;
  }

  static void expectFigures(const json& reported, const std::map<std::string, Expected>& expected) {
    const json& periods = reported["periods"];
    ASSERT_EQ(periods.size(), expected.size() + (expected.size() > 1 ? 1 : 0));
    Expected total;
    std::size_t i = 0;
    for (const auto& [label, e] : expected) {
      const json& p = periods[i++];
      EXPECT_EQ(p["period"], label);
      EXPECT_EQ(p["cycles"], e.cycles) << label;
      EXPECT_EQ(p["system_cycles"], e.system_cycles) << label;
      EXPECT_NEAR(p["predictive_replica_hours"].get<double>(), e.predictive_h, 1e-9) << label;
      EXPECT_NEAR(p["baseline_replica_hours"].get<double>(), e.baseline_h, 1e-9) << label;
      EXPECT_NEAR(p["saved_replica_hours"].get<double>(), e.baseline_h - e.predictive_h, 1e-9);
      EXPECT_EQ(p["with_outcome"], e.with_outcome) << label;
      EXPECT_EQ(p["predictive_short"], e.predictive_short) << label;
      EXPECT_EQ(p["baseline_short"], e.baseline_short) << label;
      EXPECT_NEAR(p["saved_cost"].get<double>(), (e.baseline_h - e.predictive_h) * 0.12, 1e-9);
      total.cycles += e.cycles;
      total.predictive_h += e.predictive_h;
      total.baseline_h += e.baseline_h;
      total.predictive_short += e.predictive_short;
      total.baseline_short += e.baseline_short;
    }
    if (expected.size() > 1) {
      const json& t = periods.back();
      EXPECT_EQ(t["period"], "total");
      EXPECT_EQ(t["cycles"], total.cycles);
      EXPECT_NEAR(t["predictive_replica_hours"].get<double>(), total.predictive_h, 1e-9);
      EXPECT_NEAR(t["baseline_replica_hours"].get<double>(), total.baseline_h, 1e-9);
      EXPECT_EQ(t["predictive_short"], total.predictive_short);
      EXPECT_EQ(t["baseline_short"], total.baseline_short);
    }
  }

  static TempDir* dir_;
  static CommandOutput record_;
};

TempDir* PsoctlBusinessCaseTest::dir_ = nullptr;
CommandOutput PsoctlBusinessCaseTest::record_;

TEST_F(PsoctlBusinessCaseTest, DailyAndWeeklyFiguresMatchTheStoredScenarios) {
  const auto docs = storedScenarios();
  ASSERT_EQ(docs.size(), 16u * 24u);
  for (const bool weekly : {false, true}) {
    auto r = psoctl({"-o", "json", "scenarios", "business-case", "--db", dir_->file("fleet.db"),
                     "--period", weekly ? "week" : "day", "--cost-per-replica-hour", "0.12",
                     "--currency", "EUR"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    const auto expected = expectedPerPeriod(docs, weekly);
    // 16 days from a Wednesday: 16 days, and 3 ISO weeks (Monday 2026-11-23 on).
    EXPECT_EQ(expected.size(), weekly ? 3u : 16u);
    if (weekly) {
      EXPECT_EQ(expected.begin()->first, "week of 2026-11-23");
    }
    expectFigures(json::parse(r.out), expected);
  }
}

TEST_F(PsoctlBusinessCaseTest, TheLessonStatesTheFiguresInTheUsersCostUnit) {
  const auto expected = expectedPerPeriod(storedScenarios(), true);
  Expected total;
  for (const auto& [label, e] : expected) {
    total.predictive_h += e.predictive_h;
    total.baseline_h += e.baseline_h;
  }
  const double saved = total.baseline_h - total.predictive_h;
  char money[64];
  std::snprintf(money, sizeof money, "EUR %.2f %s at EUR 0.12 per replica-hour",
                std::fabs(saved) * 0.12, saved > 0 ? "saved" : "spent more");

  auto md = psoctl({"scenarios", "business-case", "--db", dir_->file("fleet.db"), "--period",
                    "week", "--cost-per-replica-hour", "0.12", "--currency", "EUR"});
  ASSERT_EQ(md.exit_code, 0) << md.err;
  EXPECT_EQ(md.out.rfind("# The business case of predictive scaling\n", 0), 0u) << md.out;
  EXPECT_NE(md.out.find("## week of 2026-11-23"), std::string::npos) << md.out;
  EXPECT_NE(md.out.find("## All periods"), std::string::npos) << md.out;
  EXPECT_NE(md.out.find(money), std::string::npos) << money << "\n" << md.out;

  auto html = psoctl({"scenarios", "business-case", "--db", dir_->file("fleet.db"), "--period",
                      "day", "--cost-per-replica-hour", "0.12", "--currency", "EUR", "--format",
                      "html", "--out", dir_->file("case.html")});
  ASSERT_EQ(html.exit_code, 0) << html.err;
  const std::string page = readFile(dir_->file("case.html"));
  EXPECT_EQ(page.rfind("<!DOCTYPE html>", 0), 0u);
  EXPECT_NE(page.find("<h2>2026-11-25</h2>"), std::string::npos);
  EXPECT_NE(page.find(money), std::string::npos) << money;

  // Without a cost, replica-hours only; a cost needs its unit.
  auto plain = psoctl({"scenarios", "business-case", "--db", dir_->file("fleet.db")});
  ASSERT_EQ(plain.exit_code, 0) << plain.err;
  EXPECT_EQ(plain.out.find("EUR"), std::string::npos);
  auto no_unit = psoctl({"scenarios", "business-case", "--db", dir_->file("fleet.db"),
                         "--cost-per-replica-hour", "0.12"});
  EXPECT_EQ(no_unit.exit_code, 1);
  EXPECT_NE(no_unit.err.find("--currency"), std::string::npos) << no_unit.err;
  auto bad_period =
      psoctl({"scenarios", "business-case", "--db", dir_->file("fleet.db"), "--period", "month"});
  EXPECT_NE(bad_period.exit_code, 0);
}

}  // namespace
}  // namespace pso::testing
