// psoctl forecast and simulate, run as the real binary on trace files.

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "tests/support/process.h"

namespace pso::testing {
namespace {

/// Point i of writeTrace()'s trace, before any bump.
double traceValue(int i) {
  return 200 + 80 * std::sin(2 * M_PI * i / 48.0) + (i % 7) * 3;
}

/// A seasonal trace with a gap, as epoch seconds, 5-minute steps.
void writeTrace(const std::string& path, int points, int gap_at = -1, double bump_after = -1,
                int bump_from = 1 << 30) {
  std::ofstream out(path);
  out << "timestamp,value\n";
  for (int i = 0; i < points; ++i) {
    if (i == gap_at) continue;
    double v = traceValue(i);
    if (i >= bump_from) v += bump_after;
    out << 1600000000 + 300 * i << ',' << v << '\n';
  }
}

std::vector<std::vector<std::string>> readCsv(const std::string& path, std::string* header) {
  std::ifstream in(path);
  std::string line;
  std::getline(in, *header);
  std::vector<std::vector<std::string>> rows;
  while (std::getline(in, line)) {
    std::vector<std::string> cells;
    std::stringstream ss(line);
    std::string cell;
    while (std::getline(ss, cell, ',')) cells.push_back(cell);
    if (!line.empty() && line.back() == ',') cells.emplace_back();
    rows.push_back(cells);
  }
  return rows;
}

CommandOutput runPsoctl(const std::vector<std::string>& args) {
  std::vector<std::string> argv{PSOCTL_BIN};
  argv.insert(argv.end(), args.begin(), args.end());
  return runCommand(argv);
}

TEST(PsoctlForecast, WritesEveryOriginAndStepWithOrderedIntervals) {
  TempDir dir;
  writeTrace(dir.file("t.csv"), 200, /*gap_at=*/100);
  auto r = runPsoctl({"forecast", "--trace", dir.file("t.csv"), "--horizon", "6", "--every", "4",
                      "--out", dir.file("f.csv")});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::string header;
  auto rows = readCsv(dir.file("f.csv"), &header);
  EXPECT_EQ(header, "origin,step,timestamp,point,lo,hi");
  ASSERT_FALSE(rows.empty());
  std::map<int, int> steps_per_origin;
  int previous_origin = -1;
  for (const auto& row : rows) {
    ASSERT_EQ(row.size(), 6u);
    const int origin = std::stoi(row[0]);
    const int step = std::stoi(row[1]);
    EXPECT_GE(step, 1);
    EXPECT_LE(step, 6);
    EXPECT_LE(std::stod(row[4]), std::stod(row[3]));
    EXPECT_GE(std::stod(row[5]), std::stod(row[3]));
    if (origin != previous_origin && previous_origin >= 0) {
      EXPECT_EQ(origin - previous_origin, 4);
    }
    previous_origin = origin;
    ++steps_per_origin[origin];
  }
  for (const auto& [origin, count] : steps_per_origin) EXPECT_EQ(count, 6) << origin;
  // The trace's last slot is 199 (the gap keeps its slot): origins run to the end.
  EXPECT_GE(steps_per_origin.rbegin()->first, 199 - 3);
  // Timestamps are the forecast target's time: origin + step slots after the start.
  const auto& first = rows.front();
  const int target = std::stoi(first[0]) + std::stoi(first[1]);
  auto ts = runCommand({"/bin/date", "-u", "-d", "@" + std::to_string(1600000000 + 300 * target),
                        "+%Y-%m-%d %H:%M:%S"});
  EXPECT_EQ(first[2] + "\n", ts.out);
}

TEST(PsoctlForecast, ChangingLaterDataChangesNoEarlierForecast) {
  TempDir dir;
  writeTrace(dir.file("a.csv"), 150);
  writeTrace(dir.file("b.csv"), 150, -1, /*bump_after=*/500, /*bump_from=*/100);
  for (const char* name : {"a", "b"}) {
    auto r = runPsoctl({"forecast", "--trace", dir.file(std::string(name) + ".csv"), "--horizon",
                        "4", "--out", dir.file(std::string(name) + "-f.csv")});
    ASSERT_EQ(r.exit_code, 0) << r.err;
  }
  std::string header;
  auto a = readCsv(dir.file("a-f.csv"), &header);
  auto b = readCsv(dir.file("b-f.csv"), &header);
  ASSERT_EQ(a.size(), b.size());
  bool later_differs = false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (std::stoi(a[i][0]) < 100) {
      EXPECT_EQ(a[i], b[i]) << "row " << i;
    } else if (a[i] != b[i]) {
      later_differs = true;
    }
  }
  EXPECT_TRUE(later_differs);
}

TEST(PsoctlSimulate, ReadyIsTheMinimumOfTheLastKDecisionsAndOverloadFollows) {
  TempDir dir;
  writeTrace(dir.file("t.csv"), 300);
  const int k = 3;
  auto r =
      runPsoctl({"--json", "simulate", "--trace", dir.file("t.csv"), "--capacity", "40",
                 "--warmup-steps", std::to_string(k), "--min", "2", "--out", dir.file("s.csv")});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto summary = nlohmann::json::parse(r.out);
  std::string header;
  auto rows = readCsv(dir.file("s.csv"), &header);
  EXPECT_EQ(header.rfind("timestamp,demand,desired,ready", 0), 0u) << header;
  ASSERT_EQ(rows.size(), 300u);
  std::vector<long> desired;
  long overload = 0;
  double replica_steps = 0;
  for (std::size_t t = 0; t < rows.size(); ++t) {
    long expected_ready = 1 << 30;
    for (int j = 1; j <= k; ++j) {
      const long d = static_cast<long>(t) - j >= 0 ? desired[t - j] : 2;  // initial = --min
      expected_ready = std::min(expected_ready, d);
    }
    EXPECT_EQ(std::stol(rows[t][3]), expected_ready) << "step " << t;
    replica_steps += t == 0 ? 2 : desired[t - 1];
    if (std::stod(rows[t][1]) > expected_ready * 40.0) ++overload;
    desired.push_back(std::stol(rows[t][2]));
    EXPECT_GE(desired.back(), 2);
  }
  EXPECT_EQ(summary["steps"].get<long>(), 300);
  EXPECT_EQ(summary["overload_steps"].get<long>(), overload);
  EXPECT_NEAR(summary["replica_hours"].get<double>(), replica_steps * 300 / 3600.0, 1e-6);
}

TEST(PsoctlSimulate, AStepFinerThanTheTracesReplaysItLinearBetweenItsValues) {
  TempDir dir;
  writeTrace(dir.file("t.csv"), 100, /*gap_at=*/50);
  auto r = runPsoctl({"--json", "simulate", "--trace", dir.file("t.csv"), "--capacity", "40",
                      "--step", "15s", "--warmup-steps", "40", "--out", dir.file("s.csv")});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::string header;
  auto rows = readCsv(dir.file("s.csv"), &header);
  const std::size_t factor = 300 / 15;
  ASSERT_EQ(rows.size(), 99 * factor + 1);
  EXPECT_EQ(nlohmann::json::parse(r.out)["steps"].get<std::size_t>(), rows.size());
  const auto at = [&](std::size_t row) { return std::stod(rows[row][1]); };
  // Every trace value on its own step (as the CSV wrote it, six digits), the
  // points between linear, and no value made up next to the gap at point 50.
  for (int i = 0; i + 1 < 100; ++i) {
    const std::size_t base = static_cast<std::size_t>(i) * factor;
    if (i != 50) {
      EXPECT_NEAR(at(base), traceValue(i), 1e-3) << i;
    }
    for (std::size_t k = 1; k < factor; ++k) {
      if (i == 49 || i == 50) {
        EXPECT_TRUE(rows[base + k][1].empty()) << "point " << i << " + " << k;
        continue;
      }
      const double w = static_cast<double>(k) / static_cast<double>(factor);
      EXPECT_NEAR(at(base + k), at(base) + w * (at(base + factor) - at(base)), 2e-6)
          << "point " << i << " + " << k;
    }
  }
  EXPECT_TRUE(rows[50 * factor][1].empty());
  // The engine decides at the 15 s step: a launched replica costs 15 s
  // (the summary's replica-hours), and the 40-step warm-up is 10 minutes.
  double replica_steps = 0.0;
  for (std::size_t t = 1; t < rows.size(); ++t) replica_steps += std::stod(rows[t - 1][2]);
  EXPECT_NEAR(nlohmann::json::parse(r.out)["replica_hours"].get<double>(),
              (1.0 + replica_steps) * 15.0 / 3600.0, 1e-6);
  // Timestamps 15 s apart from the trace's first.
  auto first = runCommand({"/bin/date", "-u", "-d", "@1600000000", "+%Y-%m-%d %H:%M:%S"});
  auto second = runCommand({"/bin/date", "-u", "-d", "@1600000015", "+%Y-%m-%d %H:%M:%S"});
  EXPECT_EQ(rows[0][0] + "\n", first.out);
  EXPECT_EQ(rows[1][0] + "\n", second.out);

  // Steps that are not a divisor of the trace's, in whole seconds, or no step.
  for (const std::string step : {"7s", "600s", "1500ms", "0s", "-15s", "abc"}) {
    auto refused = runPsoctl({"simulate", "--trace", dir.file("t.csv"), "--capacity", "40",
                              "--step", step, "--out", dir.file("u.csv")});
    EXPECT_EQ(refused.exit_code, 1) << step;
    EXPECT_NE(refused.err.find("--step"), std::string::npos) << refused.err;
    EXPECT_EQ(std::count(refused.err.begin(), refused.err.end(), '\n'), 1) << refused.err;
  }
  auto uneven = runPsoctl({"simulate", "--trace", dir.file("t.csv"), "--capacity", "40", "--step",
                           "7s", "--out", dir.file("u.csv")});
  EXPECT_NE(uneven.err.find("300 s"), std::string::npos) << uneven.err;
}

TEST(PsoctlSimulate, ResampleHoldKeepsEachValueForItsWholeStep) {
  TempDir dir;
  writeTrace(dir.file("t.csv"), 100, /*gap_at=*/50);
  auto r =
      runPsoctl({"--json", "simulate", "--trace", dir.file("t.csv"), "--capacity", "40", "--step",
                 "15s", "--resample", "hold", "--warmup-steps", "40", "--out", dir.file("s.csv")});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::string header;
  auto rows = readCsv(dir.file("s.csv"), &header);
  const std::size_t factor = 300 / 15;
  // The last value is held for its whole step too.
  ASSERT_EQ(rows.size(), 100 * factor);
  for (int i = 0; i < 100; ++i) {
    for (std::size_t k = 0; k < factor; ++k) {
      const auto& cell = rows[static_cast<std::size_t>(i) * factor + k][1];
      if (i == 50) {
        EXPECT_TRUE(cell.empty()) << "point " << i << " + " << k;
      } else {
        EXPECT_NEAR(std::stod(cell), traceValue(i), 1e-3) << "point " << i << " + " << k;
      }
    }
  }
  auto refused = runPsoctl({"simulate", "--trace", dir.file("t.csv"), "--capacity", "40", "--step",
                            "15s", "--resample", "cubic", "--out", dir.file("u.csv")});
  EXPECT_NE(refused.exit_code, 0);
  EXPECT_NE(refused.err.find("--resample"), std::string::npos) << refused.err;
  // Without a finer step there is nothing to resample.
  auto alone = runPsoctl({"simulate", "--trace", dir.file("t.csv"), "--capacity", "40",
                          "--resample", "hold", "--out", dir.file("u.csv")});
  EXPECT_NE(alone.exit_code, 0);
  EXPECT_NE(alone.err.find("--step"), std::string::npos) << alone.err;
}

TEST(PsoctlSimulate, ReactivePolicyDiffersFromPredictive) {
  TempDir dir;
  writeTrace(dir.file("t.csv"), 300);
  std::string outputs[2];
  int i = 0;
  for (const char* policy : {"predictive", "reactive"}) {
    auto r = runPsoctl({"simulate", "--trace", dir.file("t.csv"), "--capacity", "40", "--policy",
                        policy, "--out", dir.file(std::string(policy) + ".csv")});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_NE(r.out.find(std::string(policy) + ": 300 steps"), std::string::npos) << r.out;
    outputs[i++] = readFile(dir.file(std::string(policy) + ".csv"));
  }
  EXPECT_NE(outputs[0], outputs[1]);
}

TEST(PsoctlOffline, BadInputGetsOneLineAndNonZeroExit) {
  TempDir dir;
  auto missing = runPsoctl(
      {"simulate", "--trace", dir.file("nope.csv"), "--capacity", "1", "--out", dir.file("o.csv")});
  EXPECT_EQ(missing.exit_code, 1);
  EXPECT_NE(missing.err.find("nope.csv"), std::string::npos) << missing.err;
  EXPECT_EQ(std::count(missing.err.begin(), missing.err.end(), '\n'), 1);

  std::ofstream(dir.file("bad.csv")) << "timestamp,value\n1600000000,1\n1600000300,abc\n";
  auto bad = runPsoctl(
      {"forecast", "--trace", dir.file("bad.csv"), "--horizon", "2", "--out", dir.file("o.csv")});
  EXPECT_EQ(bad.exit_code, 1);
  EXPECT_NE(bad.err.find("bad.csv:3"), std::string::npos) << bad.err;

  auto usage = runPsoctl({"simulate", "--trace", dir.file("bad.csv")});
  EXPECT_EQ(usage.exit_code, 2);
}

}  // namespace
}  // namespace pso::testing
