// Remote write against a real Prometheus (Debian's prometheus, started on
// loopback with its remote-write receiver): what arrives, with which labels,
// what a receiver refuses, a receiver that is down, the queue bound, and the
// controller forwarding what its agents send.

#include "controller/service/remote_write.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <cctype>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <memory>

#include "common/http_transfer.h"
#include "tests/controller/service/service_test_support.h"
#include "tests/support/process.h"

namespace pso::controller::service::testing {
namespace {

using nlohmann::json;
using pso::testing::ChildProcess;
using pso::testing::TempDir;

constexpr int64_t kSampleT0 = 1'800'000'000'000;  // 2027-01-15, fixed: no wall clock in the samples
constexpr auto kPrometheusDeadline = std::chrono::seconds(30);

/// Prometheus on a loopback port with the remote-write receiver on.
class PrometheusServer {
 public:
  explicit PrometheusServer(int port) : port_(port) {
    std::ofstream(dir_.file("prometheus.yml")) << "global:\n  scrape_interval: 1h\n";
    process_ = std::make_unique<ChildProcess>(
        std::vector<std::string>{"/usr/bin/prometheus",
                                 "--config.file=" + dir_.file("prometheus.yml"),
                                 "--storage.tsdb.path=" + dir_.file("data"),
                                 "--web.listen-address=127.0.0.1:" + std::to_string(port),
                                 "--web.enable-remote-write-receiver", "--log.level=warn"},
        dir_.file("stdout"), dir_.file("stderr"));
  }
  int port() const { return port_; }
  std::string writeUrl() const {
    return "http://127.0.0.1:" + std::to_string(port_) + "/api/v1/write";
  }
  bool ready() {
    return pso::testing::waitFor(
        [&] { return get("/-/ready").value_or(common::HttpReply{}).status == 200; },
        kPrometheusDeadline);
  }
  std::string log() { return pso::testing::readFile(dir_.file("stderr")); }

  /// The raw samples of `selector` over the hour before `at_ms`: labels and
  /// (ms, value) of each series.
  std::vector<std::pair<json, std::vector<store::Sample>>> rawSamples(const std::string& selector,
                                                                      int64_t at_ms) {
    std::vector<std::pair<json, std::vector<store::Sample>>> out;
    auto reply = get("/api/v1/query?query=" + encode(selector + "[1h]") +
                     "&time=" + std::to_string(at_ms / 1000.0));
    if (!reply || reply->status != 200) return out;
    const json answer = json::parse(reply->body, nullptr, false);
    if (answer.is_discarded()) return out;
    for (const auto& series : answer["data"]["result"]) {
      std::vector<store::Sample> samples;
      for (const auto& point : series["values"]) {
        samples.push_back({std::llround(point[0].get<double>() * 1000.0),
                           std::stod(point[1].get<std::string>())});
      }
      out.emplace_back(series["metric"], std::move(samples));
    }
    return out;
  }

 private:
  std::optional<common::HttpReply> get(const std::string& target) {
    common::HttpTransfer transfer;
    transfer.url = "http://127.0.0.1:" + std::to_string(port_) + target;
    transfer.timeout_ms = 2000;
    auto reply = common::performTransfer(transfer);
    if (!reply) return std::nullopt;
    return reply.value();
  }
  static std::string encode(const std::string& text) {
    std::string out;
    for (unsigned char c : text) {
      if (std::isalnum(c) || c == '_' || c == '.') {
        out.push_back(static_cast<char>(c));
      } else {
        char buf[4];
        std::snprintf(buf, sizeof buf, "%%%02X", c);
        out += buf;
      }
    }
    return out;
  }

  int port_;
  TempDir dir_;
  std::unique_ptr<ChildProcess> process_;
};

store::StoredSeries storedSeries(const std::string& agent, const std::string& system,
                                 const std::string& metric, std::vector<store::Sample> samples) {
  return {agent, {system, metric}, std::move(samples)};
}

RemoteWriteSettings remoteSettings(const std::string& url) {
  RemoteWriteSettings settings;
  settings.url = url;
  settings.timeout_ms = 2000;
  settings.first_backoff_ms = 50;
  settings.max_backoff_ms = 200;
  return settings;
}

TEST(RemoteWriteEncoding, ARequestIsTheProtobufOfRemoteProto) {
  RemoteSeries series;
  series.labels = {{"__name__", "a"}};
  series.samples = {{5, 1.0}, {-1, -2.5}};
  const std::string label = std::string("\x0a\x08__name__\x12\x01", 12) + "a";
  // Sample {value = 1 (fixed64, 1.0), timestamp = 2 (varint)}.
  const std::string first = std::string("\x09\x00\x00\x00\x00\x00\x00\xf0\x3f\x10\x05", 11);
  // -2.5 is 0xC004000000000000; -1 as int64 is ten varint bytes.
  const std::string second = std::string("\x09\x00\x00\x00\x00\x00\x00\x04\xc0\x10", 10) +
                             std::string(9, '\xff') + std::string("\x01", 1);
  const std::string timeseries = std::string("\x0a", 1) + char(label.size()) + label + "\x12" +
                                 char(first.size()) + first + "\x12" + char(second.size()) + second;
  const std::string expected = std::string("\x0a", 1) + char(timeseries.size()) + timeseries;
  EXPECT_EQ(encodeWriteRequest({series}), expected);
}

TEST(RemoteWriteEncoding, LabelsNameTheSeriesAndSortByName) {
  using Labels = std::vector<std::pair<std::string, std::string>>;
  EXPECT_EQ(
      remoteLabels(storedSeries("edge-01", "web", "demand", {})),
      (Labels{
          {"__name__", "pso_demand"}, {"agent", "edge-01"}, {"job", "pso"}, {"system", "web"}}));
  // An agent's host series: no system label; a dotted metric becomes a valid name.
  EXPECT_EQ(
      remoteLabels(storedSeries("edge-01", store::hostSeriesSystem("edge-01"), "cpu.usage", {})),
      (Labels{{"__name__", "pso_cpu_usage"}, {"agent", "edge-01"}, {"job", "pso"}}));
}

class RemoteWriteTest : public ::testing::Test {
 protected:
  common::MetricsRegistry metrics_;
};

TEST_F(RemoteWriteTest, StoredSamplesArriveInARealPrometheusWithTheirLabels) {
  PrometheusServer prometheus(pso::testing::unusedLoopbackPort());
  ASSERT_TRUE(prometheus.ready()) << prometheus.log();
  RemoteWriter writer(remoteSettings(prometheus.writeUrl()), metrics_);
  writer.start();
  // Two transactions' worth; the second repeats 3 s with a new value, as a
  // re-stored sample replaces the first in the store.
  writer.enqueue(
      {storedSeries("edge-01", "web", "demand", {{kSampleT0, 10}, {kSampleT0 + 1000, 11.5}}),
       storedSeries("edge-01", store::hostSeriesSystem("edge-01"), "cpu.usage",
                    {{kSampleT0, 0.25}})});
  writer.enqueue(
      {storedSeries("edge-01", "web", "demand",
                    {{kSampleT0 + 2000, 12}, {kSampleT0 + 3000, 13}, {kSampleT0 + 3000, 14}})});

  std::vector<std::pair<json, std::vector<store::Sample>>> demand;
  ASSERT_TRUE(pso::testing::waitFor(
      [&] {
        demand = prometheus.rawSamples("pso_demand", kSampleT0 + 10'000);
        return !demand.empty() && demand.front().second.size() == 4;
      },
      kPrometheusDeadline))
      << prometheus.log();
  ASSERT_EQ(demand.size(), 1u);
  EXPECT_EQ(
      demand.front().first,
      json({{"__name__", "pso_demand"}, {"agent", "edge-01"}, {"job", "pso"}, {"system", "web"}}));
  const std::vector<store::Sample> expected = {
      {kSampleT0, 10}, {kSampleT0 + 1000, 11.5}, {kSampleT0 + 2000, 12}, {kSampleT0 + 3000, 14}};
  for (std::size_t i = 0; i < expected.size(); ++i) {
    EXPECT_EQ(demand.front().second[i].ts_ms, expected[i].ts_ms);
    EXPECT_EQ(demand.front().second[i].value, expected[i].value);
  }
  auto host = prometheus.rawSamples("pso_cpu_usage", kSampleT0 + 10'000);
  ASSERT_EQ(host.size(), 1u);
  EXPECT_FALSE(host.front().first.contains("system"));
  EXPECT_EQ(host.front().second.front().value, 0.25);
  ASSERT_TRUE(pso::testing::waitFor(
      [&] {
        return metrics_.value("pso_remote_write_samples_total", {{"outcome", "sent"}}) == 6;
      },
      kPrometheusDeadline));
  EXPECT_EQ(metrics_.value("pso_remote_write_queued_samples"), 0.0);
}

TEST_F(RemoteWriteTest, ARequestTheReceiverRefusesIsDroppedAndTheNextOnesStillArrive) {
  PrometheusServer prometheus(pso::testing::unusedLoopbackPort());
  ASSERT_TRUE(prometheus.ready()) << prometheus.log();
  RemoteWriter writer(remoteSettings(prometheus.writeUrl()), metrics_);
  writer.start();
  writer.enqueue({storedSeries("edge-01", "web", "demand", {{kSampleT0 + 10'000, 1}})});
  ASSERT_TRUE(pso::testing::waitFor(
      [&] {
        return metrics_.value("pso_remote_write_samples_total", {{"outcome", "sent"}}) == 1;
      },
      kPrometheusDeadline));
  // Older than what Prometheus holds for the series: out of order, refused.
  writer.enqueue({storedSeries("edge-01", "web", "demand", {{kSampleT0 + 5'000, 2}})});
  ASSERT_TRUE(pso::testing::waitFor(
      [&] {
        return metrics_.value("pso_remote_write_samples_total", {{"outcome", "refused"}}) == 1;
      },
      kPrometheusDeadline));
  writer.enqueue({storedSeries("edge-01", "web", "demand", {{kSampleT0 + 20'000, 3}})});
  ASSERT_TRUE(pso::testing::waitFor(
      [&] {
        return metrics_.value("pso_remote_write_samples_total", {{"outcome", "sent"}}) == 2;
      },
      kPrometheusDeadline));
  auto demand = prometheus.rawSamples("pso_demand", kSampleT0 + 30'000);
  ASSERT_EQ(demand.size(), 1u);
  ASSERT_EQ(demand.front().second.size(), 2u);
  EXPECT_EQ(demand.front().second.back().value, 3.0);
}

TEST_F(RemoteWriteTest, AReceiverThatIsDownGetsTheSamplesOnceItIsUp) {
  const int port = pso::testing::unusedLoopbackPort();
  RemoteWriter writer(remoteSettings("http://127.0.0.1:" + std::to_string(port) + "/api/v1/write"),
                      metrics_);
  writer.start();
  writer.enqueue(
      {storedSeries("edge-01", "web", "demand", {{kSampleT0, 7}, {kSampleT0 + 1000, 8}})});
  ASSERT_TRUE(pso::testing::waitFor(
      [&] {
        return metrics_.value("pso_remote_write_requests_total", {{"outcome", "retried"}}) >= 2;
      },
      kPrometheusDeadline));
  EXPECT_EQ(metrics_.value("pso_remote_write_samples_total", {{"outcome", "sent"}}), 0.0);

  PrometheusServer prometheus(port);
  ASSERT_TRUE(prometheus.ready()) << prometheus.log();
  ASSERT_TRUE(pso::testing::waitFor(
      [&] { return prometheus.rawSamples("pso_demand", kSampleT0 + 5000).size() == 1; },
      kPrometheusDeadline));
  // Counted once the receiver has answered, so awaited rather than read.
  EXPECT_TRUE(pso::testing::waitFor(
      [&] {
        return metrics_.value("pso_remote_write_samples_total", {{"outcome", "sent"}}) == 2.0;
      },
      kPrometheusDeadline));
}

TEST_F(RemoteWriteTest, AFullQueueDropsTheOldestSamplesAndCountsThem) {
  PrometheusServer prometheus(pso::testing::unusedLoopbackPort());
  ASSERT_TRUE(prometheus.ready()) << prometheus.log();
  RemoteWriteSettings settings = remoteSettings(prometheus.writeUrl());
  settings.max_queued_samples = 10;
  RemoteWriter writer(settings, metrics_);
  // Queued before the thread starts: five series rows of five samples each.
  for (int row = 0; row < 5; ++row) {
    std::vector<store::Sample> samples;
    for (int i = 0; i < 5; ++i) {
      const int64_t n = row * 5 + i;
      samples.push_back({kSampleT0 + n * 1000, static_cast<double>(n)});
    }
    writer.enqueue({storedSeries("edge-01", "web", "demand", samples)});
  }
  EXPECT_EQ(metrics_.value("pso_remote_write_samples_total", {{"outcome", "dropped"}}), 15.0);
  EXPECT_EQ(metrics_.value("pso_remote_write_queued_samples"), 10.0);
  writer.start();
  std::vector<std::pair<json, std::vector<store::Sample>>> demand;
  ASSERT_TRUE(pso::testing::waitFor(
      [&] {
        demand = prometheus.rawSamples("pso_demand", kSampleT0 + 60'000);
        return !demand.empty() && demand.front().second.size() == 10;
      },
      kPrometheusDeadline));
  EXPECT_EQ(demand.front().second.front().value, 15.0) << "the newest ten are kept";
  EXPECT_EQ(demand.front().second.back().value, 24.0);
}

class ControllerRemoteWriteTest : public ServiceTest {};

TEST_F(ControllerRemoteWriteTest, WhatAnAgentSendsIsStoredAndForwarded) {
  PrometheusServer prometheus(pso::testing::unusedLoopbackPort());
  ASSERT_TRUE(prometheus.ready()) << prometheus.log();
  HarnessOptions options;
  options.remote_write.url = prometheus.writeUrl();
  ASSERT_NO_FATAL_FAILURE(startController(options));
  TestAgent agent(endpoint(), "agent-1");
  ASSERT_TRUE(agent.sayHello({webSystem()}));
  const int64_t end = common::wallMs();
  agent.send(telemetry("agent-1", 1, {10, 11, 12}, 2, end));
  ASSERT_TRUE(agent.receiveA<protocol::Ack>());

  std::vector<std::pair<json, std::vector<store::Sample>>> demand;
  ASSERT_TRUE(pso::testing::waitFor(
      [&] {
        demand = prometheus.rawSamples("pso_demand", end + 1000);
        return !demand.empty() && demand.front().second.size() == 3;
      },
      kPrometheusDeadline))
      << prometheus.log();
  EXPECT_EQ(demand.front().first["system"], "web");
  EXPECT_EQ(demand.front().first["agent"], "agent-1");
  EXPECT_EQ(demand.front().second.back().ts_ms, end);
  EXPECT_EQ(demand.front().second.back().value, 12.0);
  auto replicas = prometheus.rawSamples("pso_replicas", end + 1000);
  ASSERT_EQ(replicas.size(), 1u);
  EXPECT_EQ(replicas.front().second.size(), 3u);
}

}  // namespace
}  // namespace pso::controller::service::testing
