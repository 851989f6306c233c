#include "agent/host_sampler.h"

#include <gtest/gtest.h>

#include <cmath>
#include <map>
#include <string>
#include <vector>

#include "agent/sample_resolution.h"
#include "agent_test_util.h"

namespace pso::agent {
namespace {

using testing::TempDir;
using testing::writeFile;

// Real /proc formats, with counters chosen so the expected rates are exact.
std::string statText(const std::string& cpu_line) {
  return cpu_line +
         "\n"
         "cpu0 500 0 250 4000 250 0 0 0 0 0\n"
         "cpu1 500 0 250 4000 250 0 0 0 0 0\n"
         "intr 123456 0 0 0\n"
         "ctxt 987654\n"
         "btime 1700000000\n"
         "processes 4242\n"
         "procs_running 2\n"
         "procs_blocked 0\n";
}

const char* kMeminfo =
    "MemTotal:       16384000 kB\n"
    "MemFree:         2048000 kB\n"
    "MemAvailable:    4096000 kB\n"
    "Buffers:          512000 kB\n"
    "Cached:          1024000 kB\n"
    "HugePages_Total:       0\n"
    "Hugepagesize:       2048 kB\n";

std::string netDevText(uint64_t eth_rx, uint64_t eth_tx, uint64_t wlan_rx, uint64_t wlan_tx,
                       uint64_t lo_bytes) {
  auto line = [](const std::string& name, uint64_t rx, uint64_t tx) {
    return name + ": " + std::to_string(rx) + " 100 0 0 0 0 0 0 " + std::to_string(tx) +
           " 90 0 0 0 0 0 0\n";
  };
  return "Inter-|   Receive                                                |  Transmit\n"
         " face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets "
         "errs drop fifo colls carrier compressed\n" +
         line("    lo", lo_bytes, lo_bytes) + line("  eth0", eth_rx, eth_tx) +
         line(" wlan0", wlan_rx, wlan_tx);
}

// Fields: major minor name reads merged sectors_read ms writes merged sectors_written ...
std::string diskLine(int major, int minor, const std::string& name, uint64_t read_sectors,
                     uint64_t write_sectors) {
  return "   " + std::to_string(major) + "       " + std::to_string(minor) + " " + name +
         " 100 5 " + std::to_string(read_sectors) + " 40 200 7 " + std::to_string(write_sectors) +
         " 80 0 120 130 0 0 0 0 0 0\n";
}

std::string diskstatsText(uint64_t offset) {
  // Whole disks sda and nvme0n1 move by known amounts; partitions, loop and
  // device-mapper move too and must not be counted.
  return diskLine(7, 0, "loop0", 1000 + offset * 50, 0) +
         diskLine(8, 0, "sda", 1000 + offset * 400, 2000 + offset * 800) +
         diskLine(8, 1, "sda1", 900 + offset * 400, 1900 + offset * 800) +
         diskLine(259, 0, "nvme0n1", 5000 + offset * 200, 6000 + offset * 100) +
         diskLine(259, 1, "nvme0n1p1", 4000 + offset * 200, 5000 + offset * 100) +
         diskLine(253, 0, "dm-0", 4000 + offset * 200, 5000 + offset * 100);
}

class HostSamplerTest : public ::testing::Test {
 protected:
  void writeTree(const std::string& cpu_line, uint64_t step) {
    writeFile(dir_.file("proc/stat"), statText(cpu_line));
    writeFile(dir_.file("proc/meminfo"), kMeminfo);
    writeFile(dir_.file("proc/loadavg"), "0.52 0.58 0.59 1/389 12345\n");
    writeFile(dir_.file("proc/net/dev"),
              netDevText(1000 + step * 2000, 500 + step * 1000, 7000 + step * 1000,
                         100 + step * 600, 99999 + step * 1000000));
    writeFile(dir_.file("proc/diskstats"), diskstatsText(step));
  }

  static std::map<std::string, double> byMetric(const std::vector<SamplePoint>& points) {
    std::map<std::string, double> values;
    for (const SamplePoint& point : points) {
      EXPECT_TRUE(point.key.system.empty()) << point.key.metric;
      values[point.key.metric] = point.value;
    }
    return values;
  }

  TempDir dir_;
};

TEST_F(HostSamplerTest, TwoSamplesGiveRatesAndGauges) {
  common::MetricsRegistry metrics;
  HostSampler sampler(dir_.file("proc"), &metrics);
  writeTree("cpu  1000 0 500 8000 500 0 0 0 0 0", 0);
  std::vector<SamplePoint> first;
  ASSERT_TRUE(sampler.sample(10'000, first).ok());
  auto gauges = byMetric(first);
  // Rates need two samples: the first has gauges only.
  EXPECT_EQ(gauges.count("cpu.usage"), 0u);
  EXPECT_EQ(gauges.count("net.rx_bytes_per_s"), 0u);
  EXPECT_EQ(gauges.count("disk.read_bytes_per_s"), 0u);
  EXPECT_DOUBLE_EQ(gauges.at("memory.total"), 16384000.0 * 1024);
  EXPECT_DOUBLE_EQ(gauges.at("memory.available"), 4096000.0 * 1024);
  EXPECT_DOUBLE_EQ(gauges.at("memory.used_ratio"), 0.75);
  EXPECT_DOUBLE_EQ(gauges.at("load.1"), 0.52);
  EXPECT_DOUBLE_EQ(gauges.at("load.5"), 0.58);
  EXPECT_DOUBLE_EQ(gauges.at("load.15"), 0.59);

  // Two seconds later: user +600, system +200 (+50 irq +50 softirq), idle +400,
  // iowait +200 jiffies; 1500 in all.
  writeTree("cpu  1600 0 700 8400 700 50 50 0 0 0", 1);
  std::vector<SamplePoint> second;
  ASSERT_TRUE(sampler.sample(12'000, second).ok());
  auto values = byMetric(second);
  EXPECT_NEAR(values.at("cpu.usage"), 0.6, 1e-12);
  EXPECT_NEAR(values.at("cpu.user"), 0.4, 1e-12);
  EXPECT_NEAR(values.at("cpu.system"), 0.2, 1e-12);
  // 200 / 1500 goes out at four decimals, the double nearest 0.1333
  // (agent/sample_resolution.h), not as 0.13333333333333333.
  EXPECT_EQ(values.at("cpu.iowait"), 0.1333);
  // eth0 +2000 and wlan0 +1000 bytes received, +1000 and +600 sent, over 2 s;
  // lo's million bytes are not counted.
  EXPECT_DOUBLE_EQ(values.at("net.rx_bytes_per_s"), 1500.0);
  EXPECT_DOUBLE_EQ(values.at("net.tx_bytes_per_s"), 800.0);
  // sda +400 and nvme0n1 +200 sectors read, +800 and +100 written, 512 bytes each.
  EXPECT_DOUBLE_EQ(values.at("disk.read_bytes_per_s"), 600.0 * 512 / 2);
  EXPECT_DOUBLE_EQ(values.at("disk.write_bytes_per_s"), 900.0 * 512 / 2);
  EXPECT_EQ(values.size(), 14u);

  EXPECT_DOUBLE_EQ(*sampler.latest("cpu.usage"), values.at("cpu.usage"));
  EXPECT_FALSE(sampler.latest("no.such.metric").has_value());
  EXPECT_EQ(sampler.errorCount(), 0u);
  EXPECT_EQ(metrics.total("pso_agent_sampler_errors_total"), 0.0);
}

TEST_F(HostSamplerTest, MalformedLineIsReportedWithFileAndLineAndOthersStillSampled) {
  common::MetricsRegistry metrics;
  HostSampler sampler(dir_.file("proc"), &metrics);
  writeTree("cpu  1000 0 500 8000 500 0 0 0 0 0", 0);
  std::vector<SamplePoint> points;
  ASSERT_TRUE(sampler.sample(1'000, points).ok());

  writeTree("cpu  1600 0 700 8400 700 50 50 0 0 0", 1);
  writeFile(dir_.file("proc/meminfo"),
            "MemTotal:       16384000 kB\n"
            "MemFree:        lots kB\n"
            "MemAvailable:    4096000 kB\n");
  writeFile(dir_.file("proc/net/dev"), "Inter-| header\n face | header\n  eth0 garbage\n");
  points.clear();
  Status status = sampler.sample(3'000, points);
  ASSERT_FALSE(status.ok());
  const std::string& message = status.error().message;
  EXPECT_NE(message.find(dir_.file("proc/meminfo") + ":2:"), std::string::npos) << message;
  EXPECT_NE(message.find("'MemFree:        lots kB'"), std::string::npos) << message;
  EXPECT_NE(message.find(dir_.file("proc/net/dev") + ":3:"), std::string::npos) << message;

  auto values = byMetric(points);
  EXPECT_NEAR(values.at("cpu.usage"), 0.6, 1e-12);
  EXPECT_DOUBLE_EQ(values.at("load.1"), 0.52);
  EXPECT_DOUBLE_EQ(values.at("disk.read_bytes_per_s"), 600.0 * 512 / 2);
  // The good meminfo lines still give memory; the broken net/dev gives no rate.
  EXPECT_DOUBLE_EQ(values.at("memory.used_ratio"), 0.75);
  EXPECT_EQ(values.count("net.rx_bytes_per_s"), 0u);
  EXPECT_EQ(sampler.errorCount(), 2u);
  EXPECT_EQ(
      metrics.value("pso_agent_sampler_errors_total", {{"sampler", "host"}, {"file", "meminfo"}}),
      1.0);
  EXPECT_EQ(
      metrics.value("pso_agent_sampler_errors_total", {{"sampler", "host"}, {"file", "net/dev"}}),
      1.0);
}

TEST_F(HostSamplerTest, MissingFileAndBadCpuLineAreErrorsNotCrashes) {
  HostSampler sampler(dir_.file("proc"));
  writeTree("cpu  1000 0 500 8000 500 0 0 0 0 0", 0);
  std::filesystem::remove(dir_.file("proc/diskstats"));
  writeFile(dir_.file("proc/stat"), "cpu  12 x 5\n");
  std::vector<SamplePoint> points;
  Status status = sampler.sample(1'000, points);
  ASSERT_FALSE(status.ok());
  EXPECT_NE(status.error().message.find("cannot read " + dir_.file("proc/diskstats")),
            std::string::npos)
      << status.error().message;
  EXPECT_NE(status.error().message.find(dir_.file("proc/stat") + ":1:"), std::string::npos)
      << status.error().message;
  auto values = byMetric(points);
  EXPECT_DOUBLE_EQ(values.at("load.15"), 0.59);
  EXPECT_DOUBLE_EQ(values.at("memory.total"), 16384000.0 * 1024);
  EXPECT_EQ(sampler.errorCount(), 2u);
}

TEST_F(HostSamplerTest, CounterGoingBackwardsSkipsTheRateInsteadOfGoingNegative) {
  HostSampler sampler(dir_.file("proc"));
  writeTree("cpu  1000 0 500 8000 500 0 0 0 0 0", 5);
  std::vector<SamplePoint> points;
  ASSERT_TRUE(sampler.sample(1'000, points).ok());
  writeTree("cpu  10 0 5 80 5 0 0 0 0 0", 0);  // counters reset (e.g. a restored VM)
  points.clear();
  ASSERT_TRUE(sampler.sample(2'000, points).ok());
  auto values = byMetric(points);
  EXPECT_EQ(values.count("cpu.usage"), 0u);
  EXPECT_EQ(values.count("net.rx_bytes_per_s"), 0u);
  EXPECT_EQ(values.count("disk.write_bytes_per_s"), 0u);
  // And the next interval is measured from the reset values.
  writeTree("cpu  20 0 5 90 5 0 0 0 0 0", 1);
  points.clear();
  ASSERT_TRUE(sampler.sample(3'000, points).ok());
  values = byMetric(points);
  EXPECT_NEAR(values.at("cpu.usage"), 0.5, 1e-12);
  EXPECT_DOUBLE_EQ(values.at("net.rx_bytes_per_s"), 3000.0);
}

TEST_F(HostSamplerTest, SamplesTheRealProcTree) {
  // The machine's own /proc, in whatever state it is: every file parses.
  HostSampler sampler("/proc");
  std::vector<SamplePoint> points;
  Status first = sampler.sample(1'000, points);
  EXPECT_TRUE(first.ok()) << first.error().message;
  EXPECT_TRUE(sampler.latest("memory.total").has_value());
  EXPECT_GT(*sampler.latest("memory.total"), 0.0);
}

TEST(SampleResolution, ValuesGoOutAsTheDoubleNearestTheirDecimal) {
  EXPECT_EQ(atDecimals(2.0 / 3.0, kRatioDecimals), 0.6667);
  EXPECT_EQ(atDecimals(1000.0 / 3.0, kRateDecimals), 333.0);
  EXPECT_EQ(atDecimals(0.99995, kRatioDecimals), 1.0);
  EXPECT_EQ(atDecimals(-0.00004, kRatioDecimals), -0.0);
  EXPECT_EQ(atDecimals(0.1 + 0.2, -1), 0.1 + 0.2);  // left as it is
  EXPECT_TRUE(std::isnan(atDecimals(std::nan(""), kRatioDecimals)));
}

}  // namespace
}  // namespace pso::agent
