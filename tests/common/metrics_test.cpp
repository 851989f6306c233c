#include "common/metrics.h"

#include <gtest/gtest.h>

#include <string>
#include <thread>
#include <vector>

namespace pso::common {
namespace {

TEST(MetricsRegistry, RendersPrometheusTextExactly) {
  MetricsRegistry r;
  r.describe("pso_rejected_messages_total", "counter", "Messages refused by the decoder.");
  r.increment("pso_rejected_messages_total", {{"reason", "oversize"}});
  r.increment("pso_rejected_messages_total", {{"reason", "malformed"}}, 2);
  r.describe("pso_agents_connected", "gauge", "Agents with a live session.");
  r.set("pso_agents_connected", {}, 3);
  r.set("pso_cycle_seconds", {{"phase", "forecast"}, {"cycle", "c-1"}}, 0.25);
  EXPECT_EQ(r.renderPrometheus(),
            "# HELP pso_agents_connected Agents with a live session.\n"
            "# TYPE pso_agents_connected gauge\n"
            "pso_agents_connected 3\n"
            "# TYPE pso_cycle_seconds untyped\n"
            "pso_cycle_seconds{cycle=\"c-1\",phase=\"forecast\"} 0.25\n"
            "# HELP pso_rejected_messages_total Messages refused by the decoder.\n"
            "# TYPE pso_rejected_messages_total counter\n"
            "pso_rejected_messages_total{reason=\"malformed\"} 2\n"
            "pso_rejected_messages_total{reason=\"oversize\"} 1\n");
}

TEST(MetricsRegistry, RendersAHistogramWithCumulativeBuckets) {
  MetricsRegistry r;
  r.describeHistogram("pso_cycle_duration_seconds", "Cycle durations.", {0.1, 1});
  for (double v : {0.05, 0.1, 0.5, 3.0}) r.observe("pso_cycle_duration_seconds", {}, v);
  r.observe("pso_not_declared", {}, 1.0);  // ignored
  EXPECT_EQ(r.value("pso_cycle_duration_seconds"), 4.0);
  EXPECT_EQ(r.renderPrometheus(),
            "# HELP pso_cycle_duration_seconds Cycle durations.\n"
            "# TYPE pso_cycle_duration_seconds histogram\n"
            "pso_cycle_duration_seconds_bucket{le=\"0.1\"} 2\n"
            "pso_cycle_duration_seconds_bucket{le=\"1\"} 3\n"
            "pso_cycle_duration_seconds_bucket{le=\"+Inf\"} 4\n"
            "pso_cycle_duration_seconds_sum 3.65\n"
            "pso_cycle_duration_seconds_count 4\n");
}

TEST(MetricsRegistry, RendersOnlyTheNamedFamilies) {
  MetricsRegistry r;
  r.describeHistogram("pso_cycle_duration_seconds", "Cycle durations.", {1});
  r.observe("pso_cycle_duration_seconds", {}, 0.5);
  r.describe("pso_cycles_total", "counter", "Cycles.");
  r.increment("pso_cycles_total");
  r.setGaugeTable("pso_system_demand", "system", {{"web", 12.5}});
  r.set("pso_telemetry_queued_samples", {}, 42);
  // The registry's order, not the request's; a histogram by its family
  // name; a name the registry does not hold is skipped.
  EXPECT_EQ(r.renderPrometheus(
                {"pso_telemetry_queued_samples", "pso_cycle_duration_seconds", "pso_not_kept"}),
            "# HELP pso_cycle_duration_seconds Cycle durations.\n"
            "# TYPE pso_cycle_duration_seconds histogram\n"
            "pso_cycle_duration_seconds_bucket{le=\"1\"} 1\n"
            "pso_cycle_duration_seconds_bucket{le=\"+Inf\"} 1\n"
            "pso_cycle_duration_seconds_sum 0.5\n"
            "pso_cycle_duration_seconds_count 1\n"
            "# TYPE pso_telemetry_queued_samples untyped\n"
            "pso_telemetry_queued_samples 42\n");
  EXPECT_EQ(r.renderPrometheus({"pso_system_demand"}),
            "# TYPE pso_system_demand untyped\npso_system_demand{system=\"web\"} 12.5\n");
  EXPECT_EQ(r.renderPrometheus(std::vector<std::string>{}), "");
}

TEST(MetricsRegistry, EscapesLabelValuesAndHelp) {
  MetricsRegistry r;
  r.describe("m", "counter", "line one\nback\\slash \"quoted\"");
  r.increment("m", {{"path", "C:\\dir\n\"x\""}});
  EXPECT_EQ(r.renderPrometheus(),
            "# HELP m line one\\nback\\\\slash \"quoted\"\n"
            "# TYPE m counter\n"
            "m{path=\"C:\\\\dir\\n\\\"x\\\"\"} 1\n");
}

TEST(MetricsRegistry, ValuesAndTotals) {
  MetricsRegistry r;
  EXPECT_EQ(r.value("absent"), 0.0);
  EXPECT_EQ(r.total("absent"), 0.0);
  r.increment("c", {{"k", "a"}});
  r.increment("c", {{"k", "a"}}, 0.5);
  r.increment("c", {{"k", "b"}}, 4);
  EXPECT_DOUBLE_EQ(r.value("c", {{"k", "a"}}), 1.5);
  EXPECT_DOUBLE_EQ(r.value("c", {{"k", "z"}}), 0.0);
  EXPECT_DOUBLE_EQ(r.total("c"), 5.5);
  r.set("g", {}, 7);
  r.set("g", {}, 2);
  EXPECT_DOUBLE_EQ(r.value("g"), 2.0);
}

TEST(MetricsRegistry, ConcurrentIncrementsAreNotLost) {
  MetricsRegistry r;
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&r] {
      for (int i = 0; i < 10000; ++i) r.increment("n", {{"reason", "x"}});
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_DOUBLE_EQ(r.value("n", {{"reason", "x"}}), 40000.0);
}

TEST(MetricsRegistry, AGaugeTableReplacesTheFamilyAndReadsAsSetValues) {
  MetricsRegistry r;
  r.describe("pso_system_demand", "gauge", "Demand");
  r.set("pso_system_demand", {{"system", "old"}}, 1.0);
  r.setGaugeTable("pso_system_demand", "system",
                  {{"web", 12.5}, {"api", 3.0}, {"db\"x", 7.0}, {"api", 4.0}});
  // Rows come out sorted by label value, the last of a repeated one kept,
  // and the value set before the table is gone.
  EXPECT_EQ(r.renderPrometheus(),
            "# HELP pso_system_demand Demand\n"
            "# TYPE pso_system_demand gauge\n"
            "pso_system_demand{system=\"api\"} 4\n"
            "pso_system_demand{system=\"db\\\"x\"} 7\n"
            "pso_system_demand{system=\"web\"} 12.5\n");
  EXPECT_DOUBLE_EQ(r.value("pso_system_demand", {{"system", "web"}}), 12.5);
  EXPECT_DOUBLE_EQ(r.value("pso_system_demand", {{"system", "old"}}), 0.0);
  EXPECT_DOUBLE_EQ(r.value("pso_system_demand", {{"agent", "web"}}), 0.0);
  EXPECT_DOUBLE_EQ(r.total("pso_system_demand"), 23.5);
  // The next table replaces this one whole.
  r.setGaugeTable("pso_system_demand", "system", {{"web", 2.0}});
  EXPECT_DOUBLE_EQ(r.value("pso_system_demand", {{"system", "api"}}), 0.0);
  EXPECT_DOUBLE_EQ(r.total("pso_system_demand"), 2.0);
}

}  // namespace
}  // namespace pso::common
