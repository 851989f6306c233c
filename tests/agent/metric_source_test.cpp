// The prometheus and command demand sources, and the exposition parser.

#include <gtest/gtest.h>

#include <atomic>
#include <cmath>
#include <string>
#include <vector>

#include "agent/command_demand_source.h"
#include "agent/demand_source.h"
#include "agent/proc_text.h"
#include "agent/prometheus_text.h"
#include "agent_test_util.h"
#include "http_test_server.h"

namespace pso::agent {
namespace {

using namespace std::chrono_literals;
using testing::HttpTestServer;
using testing::TempDir;

// Real node_exporter / client_golang output, trimmed.
const char* kExposition =
    "# HELP http_requests_total Requests served.\n"
    "# TYPE http_requests_total counter\n"
    "http_requests_total{code=\"200\",handler=\"/api\",method=\"get\"} 1200\n"
    "http_requests_total{code=\"500\",handler=\"/api\",method=\"get\"} 30\n"
    "http_requests_total{code=\"200\",handler=\"/health\",method=\"get\"} 77\n"
    "# HELP queue_depth Jobs waiting.\n"
    "# TYPE queue_depth gauge\n"
    "queue_depth{queue=\"emails\"} 12.5\n"
    "queue_depth{queue=\"say \\\"hi\\\"\"} 3\n"
    "queue_depth_max 100\n"
    "go_goroutines 42 1700000000000\n"
    "temperature_celsius -Inf\n";

TEST(PrometheusText, SumsTheSamplesWhoseLabelsMatch) {
  auto all = selectMetric(kExposition, "http_requests_total", {}, "test");
  ASSERT_TRUE(all.ok()) << all.error().message;
  EXPECT_DOUBLE_EQ(all->sum, 1307.0);
  EXPECT_EQ(all->matched, 3u);
  EXPECT_EQ(all->type, "counter");

  auto api = selectMetric(kExposition, "http_requests_total", {{"handler", "/api"}}, "test");
  EXPECT_DOUBLE_EQ(api->sum, 1230.0);
  auto ok_api = selectMetric(kExposition, "http_requests_total",
                             {{"handler", "/api"}, {"code", "200"}}, "test");
  EXPECT_DOUBLE_EQ(ok_api->sum, 1200.0);
  EXPECT_EQ(ok_api->matched, 1u);

  // Escaped quotes in a label value; a name that is a prefix of another.
  auto quoted = selectMetric(kExposition, "queue_depth", {{"queue", "say \"hi\""}}, "test");
  EXPECT_DOUBLE_EQ(quoted->sum, 3.0);
  EXPECT_EQ(quoted->type, "gauge");
  auto depth = selectMetric(kExposition, "queue_depth", {}, "test");
  EXPECT_DOUBLE_EQ(depth->sum, 15.5);
  EXPECT_EQ(depth->matched, 2u);

  // A timestamp after the value; no TYPE line; +/-Inf.
  EXPECT_DOUBLE_EQ(selectMetric(kExposition, "go_goroutines", {}, "test")->sum, 42.0);
  EXPECT_EQ(selectMetric(kExposition, "go_goroutines", {}, "test")->type, "");
  EXPECT_TRUE(std::isinf(selectMetric(kExposition, "temperature_celsius", {}, "test")->sum));
  EXPECT_EQ(selectMetric(kExposition, "absent", {}, "test")->matched, 0u);
}

TEST(PrometheusText, AMalformedLineOfTheMetricIsAnErrorWithItsLine) {
  const char* text =
      "ok_metric 1\n"
      "broken_other{a=\"x\" 5\n"  // another metric's damage is not ours to judge
      "wanted{a=\"x\" 5\n";
  EXPECT_TRUE(selectMetric(text, "ok_metric", {}, "http://h/metrics").ok());
  auto wanted = selectMetric(text, "wanted", {}, "http://h/metrics");
  ASSERT_FALSE(wanted.ok());
  EXPECT_EQ(wanted.error().code, "malformed");
  EXPECT_NE(wanted.error().message.find("http://h/metrics:3: expected"), std::string::npos)
      << wanted.error().message;
  auto no_value = selectMetric("wanted{a=\"x\"}\n", "wanted", {}, "o");
  ASSERT_FALSE(no_value.ok());
  EXPECT_NE(no_value.error().message.find("o:1: expected a sample value"), std::string::npos);
}

TEST(CounterRate, NeedsTwoReadingsAndSkipsResets) {
  CounterRate rate;
  EXPECT_EQ(rate.update(100, 1'000, "c").error().code, "no_data");
  EXPECT_DOUBLE_EQ(*rate.update(300, 3'000, "c"), 100.0);
  auto reset = rate.update(10, 4'000, "c");
  ASSERT_FALSE(reset.ok());
  EXPECT_NE(reset.error().message.find("went backwards"), std::string::npos);
  EXPECT_DOUBLE_EQ(*rate.update(20, 5'000, "c"), 10.0);
  EXPECT_TRUE(useRate("auto", "counter", "x"));
  EXPECT_FALSE(useRate("auto", "gauge", "x_total"));
  EXPECT_TRUE(useRate("auto", "", "x_total"));
  EXPECT_FALSE(useRate("false", "counter", "x_total"));
  EXPECT_TRUE(useRate("true", "gauge", "x"));
}

DemandSourceConfig prometheusConfig(const std::string& url, const std::string& metric) {
  DemandSourceConfig config;
  config.source = "prometheus";
  config.url = url;
  config.metric = metric;
  config.timeout = 2s;
  return config;
}

TEST(PrometheusDemandSource, ScrapesAGaugeAndTurnsACounterIntoARate) {
  std::atomic<int> requests_total{1000};
  HttpTestServer exporter([&](const HttpTestServer::Request& request) {
    if (request.target != "/metrics") return HttpTestServer::Response{404, "not found"};
    std::string body =
        "# TYPE app_requests_total counter\n"
        "app_requests_total{job=\"web\"} " +
        std::to_string(requests_total.load()) +
        "\n"
        "app_requests_total{job=\"batch\"} 5\n"
        "# TYPE app_inflight gauge\n"
        "app_inflight{job=\"web\"} 17\n";
    return HttpTestServer::Response{200, body, "text/plain; version=0.0.4"};
  });

  auto gauge = makeDemandSource(prometheusConfig(exporter.url("/metrics"), "app_inflight"),
                                DemandSourceContext{"web", nullptr, 0});
  ASSERT_TRUE(gauge.ok()) << gauge.error().message;
  EXPECT_STREQ((*gauge)->kind(), "prometheus");
  auto value = (*gauge)->read(1'000);
  ASSERT_TRUE(value.ok()) << value.error().message;
  EXPECT_DOUBLE_EQ(*value, 17.0);
  ASSERT_FALSE(exporter.requests().empty());
  EXPECT_EQ(exporter.requests()[0].method, "GET");
  EXPECT_NE(exporter.requests()[0].headers["accept"].find("text/plain"), std::string::npos);

  DemandSourceConfig counter = prometheusConfig(exporter.url("/metrics"), "app_requests_total");
  counter.labels = {{"job", "web"}};
  auto rate = makeDemandSource(counter, DemandSourceContext{"web", nullptr, 0});
  ASSERT_TRUE(rate.ok());
  auto first = (*rate)->read(10'000);
  ASSERT_FALSE(first.ok());
  EXPECT_EQ(first.error().code, "no_data");
  requests_total = 1600;  // 600 requests in 5 s
  auto second = (*rate)->read(15'000);
  ASSERT_TRUE(second.ok()) << second.error().message;
  EXPECT_DOUBLE_EQ(*second, 120.0);

  counter.rate = "false";
  auto raw = makeDemandSource(counter, DemandSourceContext{"web", nullptr, 0});
  EXPECT_DOUBLE_EQ(*(*raw)->read(20'000), 1600.0);
}

TEST(PrometheusDemandSource, ReportsStatusMissingMetricAndUnreachableEndpoint) {
  HttpTestServer exporter([](const HttpTestServer::Request& request) {
    if (request.target == "/metrics") return HttpTestServer::Response{200, "up 1\n"};
    return HttpTestServer::Response{404, "not found"};
  });
  auto wrong_path = makeDemandSource(prometheusConfig(exporter.url("/metricz"), "up"),
                                     DemandSourceContext{"web", nullptr, 0});
  auto status = (*wrong_path)->read(1'000);
  ASSERT_FALSE(status.ok());
  EXPECT_NE(status.error().message.find("HTTP status 404"), std::string::npos);

  DemandSourceConfig missing = prometheusConfig(exporter.url("/metrics"), "down");
  missing.labels = {{"job", "web"}};
  auto none = (*makeDemandSource(missing, DemandSourceContext{"web", nullptr, 0}))->read(1'000);
  ASSERT_FALSE(none.ok());
  EXPECT_EQ(none.error().code, "no_match");
  EXPECT_NE(none.error().message.find("has no sample down{job=\"web\"}"), std::string::npos)
      << none.error().message;

  const std::string url = exporter.url("/metrics");
  exporter.close();
  auto gone =
      (*makeDemandSource(prometheusConfig(url, "up"), DemandSourceContext{"web", nullptr, 0}))
          ->read(1'000);
  ASSERT_FALSE(gone.ok());
  EXPECT_NE(gone.error().message.find("GET " + url), std::string::npos) << gone.error().message;
}

DemandSourceConfig commandSourceConfig(std::vector<std::string> argv) {
  DemandSourceConfig config;
  config.source = "command";
  config.command = std::move(argv);
  config.timeout = 2s;
  return config;
}

TEST(CommandDemandSource, ReadsANumberOrNamedLines) {
  CommandDemandSource bare("web", commandSourceConfig({"sh", "-c", "echo 42.5"}));
  EXPECT_DOUBLE_EQ(*bare.read(1'000), 42.5);

  DemandSourceConfig lines =
      commandSourceConfig({"sh", "-c", "printf 'queue_depth 7\\nworkers_busy 3\\ndemand 99\\n'"});
  lines.metric = "queue_depth";
  CommandDemandSource named("web", lines);
  EXPECT_DOUBLE_EQ(*named.read(1'000), 7.0);
  std::vector<SamplePoint> extra;
  named.appendMetrics(extra);
  // Every line is a series of the system, except names the agent owns.
  ASSERT_EQ(extra.size(), 2u);
  EXPECT_EQ(extra[0].key, (protocol::SeriesKey{"web", "queue_depth"}));
  EXPECT_EQ(extra[1].key, (protocol::SeriesKey{"web", "workers_busy"}));
  EXPECT_DOUBLE_EQ(extra[1].value, 3.0);

  lines.metric.clear();
  auto ambiguous = CommandDemandSource("web", lines).read(1'000);
  ASSERT_FALSE(ambiguous.ok());
  EXPECT_NE(ambiguous.error().message.find("set 'metric'"), std::string::npos);
}

TEST(CommandDemandSource, CounterLinesBecomeRates) {
  TempDir dir;
  const std::string file = dir.file("count");
  testing::writeFile(file, "jobs_done_total 100\n");
  CommandDemandSource source("batch", commandSourceConfig({"cat", file}));
  EXPECT_EQ(source.read(1'000).error().code, "no_data");
  testing::writeFile(file, "jobs_done_total 160\n");
  EXPECT_DOUBLE_EQ(*source.read(4'000), 20.0);
}

TEST(CommandDemandSource, FailuresTimeoutsAndGarbageAreReported) {
  auto failed = CommandDemandSource("web", commandSourceConfig({"sh", "-c", "echo boom; exit 3"}))
                    .read(1'000);
  ASSERT_FALSE(failed.ok());
  EXPECT_NE(failed.error().message.find("command 'sh -c echo boom; exit 3': exit 3: boom"),
            std::string::npos)
      << failed.error().message;

  DemandSourceConfig slow = commandSourceConfig({"sleep", "10"});
  slow.timeout = 200ms;
  auto timed_out = CommandDemandSource("web", slow).read(1'000);
  ASSERT_FALSE(timed_out.ok());
  EXPECT_EQ(timed_out.error().code, "timeout");

  auto garbage =
      CommandDemandSource("web", commandSourceConfig({"sh", "-c", "echo 'load is high'"}))
          .read(1'000);
  ASSERT_FALSE(garbage.ok());
  EXPECT_EQ(garbage.error().code, "malformed");
  EXPECT_NE(garbage.error().message.find("output line 1"), std::string::npos);
}

TEST(CommandDemandSource, NonFiniteNumbersAreRefusedNotSent) {
  // A NaN or infinity in a series would make the controller refuse the whole
  // batch, again on every resend.
  DemandSourceConfig lines =
      commandSourceConfig({"sh", "-c", "printf 'queue_depth nan\ndemand 4\n'"});
  lines.metric = "demand";
  auto nan_line = CommandDemandSource("web", lines).read(1'000);
  ASSERT_FALSE(nan_line.ok());
  EXPECT_EQ(nan_line.error().code, "malformed");
  EXPECT_NE(nan_line.error().message.find("'queue_depth nan'"), std::string::npos)
      << nan_line.error().message;
  auto infinite =
      CommandDemandSource("web", commandSourceConfig({"sh", "-c", "echo inf"})).read(1'000);
  ASSERT_FALSE(infinite.ok());
  EXPECT_EQ(infinite.error().code, "malformed");
  double value = 0.0;
  EXPECT_FALSE(parseDouble("-infinity", value));
  EXPECT_TRUE(parseDouble("1e3", value));
  EXPECT_DOUBLE_EQ(value, 1000.0);
}

}  // namespace
}  // namespace pso::agent
