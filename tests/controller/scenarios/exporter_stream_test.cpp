// Every export format written to a stream (what the HTTP API serves), the
// file form as a thin wrapper around it, and schema-1 documents still
// rendering.

#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "controller/engine/replay.h"
#include "controller/scenarios/exporter.h"
#include "controller/scenarios/gift_exporter.h"
#include "controller/scenarios/grading.h"
#include "controller/scenarios/html_exporter.h"
#include "controller/scenarios/lesson.h"
#include "controller/scenarios/lesson_directory.h"
#include "controller/scenarios/markdown_exporter.h"
#include "controller/scenarios/scenario.h"
#include "controller/scenarios/xapi.h"

namespace pso::controller::scenarios {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

// A replayed ramp with a burst: scale-ups, quiet steps and a few levels.
std::vector<store::ScenarioRecord> replayedRecords() {
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
  for (int t = 0; t < 60; ++t) demand.push_back(100.0 + 6.0 * t + (t % 17 == 0 ? 150.0 : 0.0));
  std::vector<store::ScenarioRecord> records;
  int t = 0;
  engine::simulate(
      demand, 15.0, spec, settings, 3,
      [&](const engine::SimulationRow& row, const engine::SystemDecision& d) {
        CycleContext ctx;
        ctx.cycle_id = "sim-" + std::to_string(t);
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

fs::path tempPath(const std::string& tag) {
  static std::atomic<int> counter{0};
  return fs::temp_directory_path() / ("pso-stream-test-" + tag + "-" + std::to_string(::getpid()) +
                                      "-" + std::to_string(counter++));
}

std::string streamed(const std::string& format, const std::vector<store::ScenarioRecord>& records,
                     std::size_t* count = nullptr) {
  auto exporter = makeExporter(format);
  EXPECT_TRUE(exporter.ok());
  std::ostringstream out;
  auto written = (*exporter)->writeTo(records, out);
  EXPECT_TRUE(written.ok()) << (written.ok() ? "" : written.error().message);
  if (count && written.ok()) *count = *written;
  return out.str();
}

TEST(ExporterStream, EveryFormatStreamsWithItsMediaType) {
  const auto records = replayedRecords();
  for (const auto& format : exporterFormats()) {
    auto exporter = makeExporter(format);
    ASSERT_TRUE(exporter.ok()) << format;
    EXPECT_FALSE((*exporter)->contentType().empty()) << format;
    std::size_t count = 0;
    const std::string body = streamed(format, records, &count);
    EXPECT_FALSE(body.empty()) << format;
    EXPECT_GT(count, 0u) << format;
  }
  for (const char* format : {"jsonl", "markdown", "html", "gift", "xapi"}) {
    EXPECT_TRUE(makeExporter(format).ok()) << format;
  }
}

TEST(ExporterStream, HtmlIsOnePageWithTheCurriculumLinkingEveryLesson) {
  const auto records = replayedRecords();
  const std::string page = streamed("html", records);
  EXPECT_EQ(page.rfind("<!DOCTYPE html>", 0), 0u);
  EXPECT_EQ(page.find("<!DOCTYPE html>", 1), std::string::npos) << "one page, not many";
  EXPECT_NE(page.find("<h1 id=\"index\">"), std::string::npos);
  for (const auto& r : records) {
    const std::string stem = lessonFileStem(r.id);
    EXPECT_NE(page.find("href=\"#" + stem + "\""), std::string::npos) << stem;
    EXPECT_NE(page.find("<section id=\"" + stem + "\">"), std::string::npos) << stem;
  }
  EXPECT_EQ(page.find("src=\"http"), std::string::npos);
  EXPECT_EQ(page.find("<script"), std::string::npos);
  EXPECT_EQ(page.substr(page.size() - 8), "</html>\n");
}

TEST(ExporterStream, MarkdownIsOneDocumentWithAnchors) {
  const auto records = replayedRecords();
  const std::string doc = streamed("markdown", records);
  EXPECT_EQ(doc.rfind("# PSO-PRIME scenario lessons", 0), 0u);
  for (const auto& r : records) {
    const std::string stem = lessonFileStem(r.id);
    EXPECT_NE(doc.find("](#" + stem + ")"), std::string::npos) << stem;
    EXPECT_NE(doc.find("<a id=\"" + stem + "\"></a>"), std::string::npos) << stem;
  }
}

TEST(ExporterStream, FileFormIsTheStreamWrittenAtomically) {
  const auto records = replayedRecords();
  for (const char* format : {"jsonl", "gift", "xapi"}) {
    const fs::path path = tempPath(format) / "nested" / "export.out";
    auto exporter = makeExporter(format);
    ASSERT_TRUE(exporter.ok());
    auto written = (*exporter)->write(records, path.string());
    ASSERT_TRUE(written.ok()) << format << ": " << written.error().message;
    std::ifstream in(path, std::ios::binary);
    std::ostringstream file;
    file << in.rdbuf();
    EXPECT_EQ(file.str(), streamed(format, records)) << format;
    fs::remove_all(path.parent_path().parent_path());
  }
}

TEST(ExporterStream, XapiActivitiesMatchTheGradedStatementsIds) {
  const auto records = replayedRecords();
  const json activities = json::parse(streamed("xapi", records));
  ASSERT_TRUE(activities.is_array());
  std::set<std::string> ids;
  for (const auto& a : activities) {
    EXPECT_EQ(a["objectType"], "Activity");
    ASSERT_TRUE(a["definition"].is_object());
    ids.insert(a["id"].get<std::string>());
  }
  // Grade one scenario's questions with their keys: every statement's object
  // is one of the exported activities.
  std::map<std::string, json> docs;
  json answers = json::object();
  for (const auto& r : records) {
    const json doc = json::parse(r.json);
    if (doc["questions"].empty()) continue;
    docs[r.id] = doc;
    for (const auto& q : doc["questions"]) answers[q["id"].get<std::string>()] = q["answer"];
    break;
  }
  ASSERT_FALSE(docs.empty());
  auto report = gradeAnswers(docs, answers);
  ASSERT_TRUE(report.ok());
  XapiContext ctx;
  ctx.learner = "lms-user-1";
  for (const auto& s : buildStatements(*report, docs, ctx)) {
    EXPECT_TRUE(ids.count(s["object"]["id"].get<std::string>())) << s["object"]["id"];
  }
}

TEST(ExporterStream, SchemaOneDocumentsStillRender) {
  const auto records = replayedRecords();
  // A schema-1 document: no facts, no provenance, no claims, the old key.
  json doc = json::parse(records.back().json);
  doc["schema_version"] = 1;
  for (auto& [name, r] : doc["rationale"].items()) r.erase("facts");
  for (auto& [name, r] : doc["reactive_baseline"].items()) {
    r.erase("facts");
    r["why"] = "The reactive rule reaches the same count.";
  }
  for (auto& [name, f] : doc["forecasts"].items()) {
    f.erase("provenance");
    f.erase("planning_quantile");
    f.erase("planned_steps");
  }
  doc["questions"] = json::array({{{"id", doc["id"].get<std::string>() + "-q1"},
                                   {"type", "short_answer"},
                                   {"topic", "forecast_model"},
                                   {"system", "web"},
                                   {"prompt", "web: which forecasting model?"},
                                   {"answer", "auto: holt"},
                                   {"feedback", "The auto: holt model."}}});
  const Lesson lesson = buildLesson(doc);
  EXPECT_EQ(lesson.schema_version, 1);
  ASSERT_EQ(lesson.systems.size(), 1u);
  EXPECT_EQ(lesson.systems[0].reactive->comparison, "The reactive rule reaches the same count.");
  const std::string md = renderMarkdownLesson(doc);
  EXPECT_NE(md.find(lesson.systems[0].decision->rationale), std::string::npos);
  EXPECT_NE(md.find("**auto: holt**"), std::string::npos);
  EXPECT_NE(renderHtmlLesson(doc).find("auto: holt"), std::string::npos);
  EXPECT_NE(renderGiftQuestions(doc).find("{=auto\\: holt"), std::string::npos);
}

TEST(ExporterStream, ABrokenStoredDocumentIsRefusedByName) {
  std::vector<store::ScenarioRecord> records(1);
  records[0].id = "s-broken";
  records[0].json = "{not json";
  for (const auto& format : exporterFormats()) {
    auto exporter = makeExporter(format);
    std::ostringstream out;
    auto written = (*exporter)->writeTo(records, out);
    ASSERT_FALSE(written.ok()) << format;
    EXPECT_NE(written.error().message.find("s-broken"), std::string::npos) << format;
  }
}

}  // namespace
}  // namespace pso::controller::scenarios
