// Compaction is storage only: scenarios read back from compact blocks, and
// every export of them, are byte for byte what they were before.

#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "controller/engine/replay.h"
#include "controller/scenarios/exporter.h"
#include "controller/scenarios/lesson.h"
#include "controller/scenarios/scenario.h"
#include "controller/store/store.h"
#include "tests/support/process.h"

namespace pso::controller::scenarios {
namespace {

// Scenarios of a replayed ramp with bursts (scale-ups, quiet cycles, several
// levels), as the cycle builds them.
std::vector<store::ScenarioRecord> compactionReplayRecords() {
  engine::SystemSpec spec;
  spec.name = "web";
  spec.capacity_per_replica = 40;
  spec.target_utilization = 0.7;
  spec.min_replicas = 1;
  spec.max_replicas = 30;
  spec.warmup_s = 30;
  engine::EngineSettings settings;
  settings.forecast_model = "auto";
  std::vector<double> demand;
  for (int t = 0; t < 90; ++t) demand.push_back(100.0 + 5.5 * t + (t % 13 == 0 ? 170.0 : 0.0));
  std::vector<store::ScenarioRecord> records;
  int t = 0;
  engine::simulate(
      demand, 15.0, spec, settings, 3,
      [&](const engine::SimulationRow& row, const engine::SystemDecision& d) {
        CycleContext ctx;
        ctx.cycle_id = "c-" + std::to_string(t + 1);
        ctx.ts_ms = row.now_ms;
        ctx.step_s = 15.0;
        ctx.decisions.systems = {d};
        ctx.specs["web"] = spec;
        for (int i = std::max(0, t - 20); i <= t; ++i) {
          ctx.history["web"].push_back({row.now_ms - (t - i) * 15000, demand[i]});
        }
        records.push_back(toRecord(buildScenario(ctx)));
        ++t;
      },
      1700000000000);
  return records;
}

std::string compactionExport(const std::string& format,
                             const std::vector<store::ScenarioRecord>& records) {
  auto exporter = makeExporter(format);
  EXPECT_TRUE(exporter.ok());
  if (!exporter.ok()) return {};
  std::ostringstream out;
  auto written = (*exporter)->writeTo(records, out);
  EXPECT_TRUE(written.ok()) << format << ": " << (written.ok() ? "" : written.error().message);
  return out.str();
}

TEST(ScenarioCompaction, ReadsAndEveryExportAreTheSameAfterCompaction) {
  pso::testing::TempDir dir;
  auto opened = store::Store::open(dir.file("controller.db"));
  ASSERT_TRUE(opened.ok());
  store::Store& store = **opened;
  const auto records = compactionReplayRecords();
  ASSERT_GE(records.size(), 80u);
  ASSERT_TRUE(store.insertScenarios(records).ok());

  const auto before = store.scenarios({});
  ASSERT_TRUE(before.ok());
  ASSERT_EQ(before->size(), records.size());
  std::map<std::string, std::string> exports;
  for (const auto& format : exporterFormats()) exports[format] = compactionExport(format, *before);

  auto compacted = store.compactScenarios(records.back().ts_ms + 1, 0);
  ASSERT_TRUE(compacted.ok()) << compacted.error().message;
  EXPECT_EQ(compacted->records, static_cast<int64_t>(records.size()));
  EXPECT_LT(compacted->bytes_after * 10, compacted->bytes_before);

  const auto after = store.scenarios({});
  ASSERT_TRUE(after.ok());
  ASSERT_EQ(after->size(), before->size());
  for (std::size_t i = 0; i < after->size(); ++i) {
    EXPECT_EQ((*after)[i].json, (*before)[i].json) << (*after)[i].id;
    EXPECT_EQ((*after)[i].json, records[i].json) << (*after)[i].id;
    EXPECT_EQ(buildLesson(nlohmann::json::parse((*after)[i].json)).systems.size(),
              buildLesson(nlohmann::json::parse(records[i].json)).systems.size());
  }
  for (const auto& format : exporterFormats()) {
    EXPECT_EQ(compactionExport(format, *after), exports[format]) << format;
  }
  // One scenario alone, as a learner's attempt or the API reads it.
  auto one = store.scenario(records[41].id);
  ASSERT_TRUE(one.ok() && one->has_value());
  EXPECT_EQ((*one)->json, records[41].json);
}

}  // namespace
}  // namespace pso::controller::scenarios
