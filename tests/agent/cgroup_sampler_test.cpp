#include "agent/cgroup_sampler.h"

#include <gtest/gtest.h>

#include <map>
#include <string>
#include <vector>

#include "agent/host_sampler.h"
#include "agent_test_util.h"

namespace pso::agent {
namespace {

using testing::TempDir;
using testing::writeFile;

// The kernel's cgroup v2 formats (Linux 6.x), counters chosen so rates are exact.
std::string cpuStat(uint64_t usage, uint64_t user, uint64_t system, uint64_t periods,
                    uint64_t throttled) {
  return "usage_usec " + std::to_string(usage) + "\nuser_usec " + std::to_string(user) +
         "\nsystem_usec " + std::to_string(system) + "\nnr_periods " + std::to_string(periods) +
         "\nnr_throttled " + std::to_string(throttled) +
         "\nthrottled_usec 12000\nnr_bursts 0\nburst_usec 0\n";
}

std::string memoryEvents(uint64_t oom_kill) {
  return "low 0\nhigh 12\nmax 3\noom 1\noom_kill " + std::to_string(oom_kill) +
         "\noom_group_kill 0\n";
}

std::string ioStat(uint64_t sda_read, uint64_t sda_write, uint64_t nvme_read) {
  return "8:0 rbytes=" + std::to_string(sda_read) + " wbytes=" + std::to_string(sda_write) +
         " rios=10 wios=20 dbytes=0 dios=0\n259:0 rbytes=" + std::to_string(nvme_read) +
         " wbytes=0 rios=1 wios=0 dbytes=0 dios=0\n";
}

const char* kPressure =
    "some avg10=2.50 avg60=1.00 avg300=0.30 total=123456\n"
    "full avg10=0.75 avg60=0.20 avg300=0.05 total=6543\n";

void writeCgroup(const TempDir& dir, uint64_t usage, uint64_t oom_kill, uint64_t sda_read) {
  const std::string cg = dir.file("web.service");
  writeFile(cg + "/cpu.stat", cpuStat(usage, usage * 3 / 4, usage / 4, 100 + usage / 10000, 5));
  writeFile(cg + "/cpu.max", "150000 100000\n");
  writeFile(cg + "/memory.current", "268435456\n");
  writeFile(cg + "/memory.max", "max\n");
  writeFile(cg + "/memory.events", memoryEvents(oom_kill));
  writeFile(cg + "/io.stat", ioStat(sda_read, 4096, 1000));
  writeFile(cg + "/cpu.pressure", kPressure);
  writeFile(cg + "/memory.pressure", kPressure);
  writeFile(cg + "/io.pressure", kPressure);
}

std::map<std::string, double> byMetric(const std::vector<SamplePoint>& points,
                                       const std::string& system) {
  std::map<std::string, double> values;
  for (const SamplePoint& p : points) {
    EXPECT_EQ(p.key.system, system);
    values[p.key.metric] = p.value;
  }
  return values;
}

TEST(CgroupSampler, ReadsEveryFileAndTurnsCountersIntoRates) {
  TempDir dir;
  writeCgroup(dir, 1'000'000, 2, 10'000);
  CgroupSampler sampler("web", dir.file("web.service"));
  std::vector<SamplePoint> points;
  Status status = sampler.sample(1'000, points);
  ASSERT_TRUE(status.ok()) << status.error().message;
  auto first = byMetric(points, "web");
  // Gauges at once; rates and deltas only from the second sample.
  EXPECT_DOUBLE_EQ(first.at("cpu.limit"), 1.5);
  EXPECT_DOUBLE_EQ(first.at("memory.current"), 268435456.0);
  EXPECT_EQ(first.count("memory.max"), 0u);  // "max": no limit, no series
  EXPECT_DOUBLE_EQ(first.at("psi.cpu.some"), 2.5);
  EXPECT_DOUBLE_EQ(first.at("psi.memory.full"), 0.75);
  EXPECT_EQ(first.count("cpu.usage"), 0u);
  EXPECT_EQ(first.count("memory.oom_kills"), 0u);
  EXPECT_EQ(first.count("io.read_bytes_per_s"), 0u);

  // Two seconds later: 3 s of CPU time used (1.5 cores), 1 new OOM kill,
  // 20,000 more bytes read on sda.
  writeCgroup(dir, 4'000'000, 3, 30'000);
  points.clear();
  status = sampler.sample(3'000, points);
  ASSERT_TRUE(status.ok()) << status.error().message;
  auto second = byMetric(points, "web");
  EXPECT_DOUBLE_EQ(second.at("cpu.usage"), 1.5);
  EXPECT_DOUBLE_EQ(second.at("cpu.user"), 1.125);
  EXPECT_DOUBLE_EQ(second.at("cpu.system"), 0.375);
  EXPECT_DOUBLE_EQ(second.at("cpu.throttled_ratio"), 0.0);  // nr_throttled did not move
  EXPECT_DOUBLE_EQ(second.at("memory.oom_kills"), 1.0);
  EXPECT_DOUBLE_EQ(second.at("io.read_bytes_per_s"), 10'000.0);
  EXPECT_DOUBLE_EQ(second.at("io.write_bytes_per_s"), 0.0);
  EXPECT_EQ(sampler.latest("cpu.usage"), 1.5);
  EXPECT_TRUE(CgroupSampler::isKnownMetric("psi.io.full"));
  EXPECT_FALSE(CgroupSampler::isKnownMetric("cpu.usage_usec"));
}

TEST(CgroupSampler, ControllersThatAreNotEnabledAreSkippedSilently) {
  TempDir dir;
  // A cgroup with only the core files: no cpu, memory or io controller.
  writeFile(dir.file("bare/cpu.stat"), "usage_usec 100\nuser_usec 60\nsystem_usec 40\n");
  CgroupSampler sampler("bare", dir.file("bare"));
  std::vector<SamplePoint> points;
  ASSERT_TRUE(sampler.sample(1'000, points).ok());
  EXPECT_TRUE(points.empty());
  writeFile(dir.file("bare/cpu.stat"), "usage_usec 500100\nuser_usec 60\nsystem_usec 40\n");
  ASSERT_TRUE(sampler.sample(2'000, points).ok());
  auto values = byMetric(points, "bare");
  EXPECT_DOUBLE_EQ(values.at("cpu.usage"), 0.5);
  EXPECT_EQ(values.count("cpu.throttled_ratio"), 0u);
}

TEST(CgroupSampler, MalformedFilesAreReportedWithPathAndLineAndTheRestIsSampled) {
  TempDir dir;
  writeCgroup(dir, 1'000'000, 0, 0);
  const std::string cg = dir.file("web.service");
  writeFile(cg + "/cpu.max", "lots 100000\n");
  writeFile(cg + "/io.stat", "8:0 rbytes=1 wbytes=2\n8:16 rbytes=oops\n");
  writeFile(cg + "/memory.pressure", "some avg10=1.0\nsometimes avg10=2\n");
  common::MetricsRegistry metrics;
  CgroupSampler sampler("web", cg, &metrics);
  std::vector<SamplePoint> points;
  Status status = sampler.sample(1'000, points);
  ASSERT_FALSE(status.ok());
  const std::string& message = status.error().message;
  EXPECT_NE(message.find("system web: "), std::string::npos) << message;
  EXPECT_NE(message.find(cg + "/cpu.max:1: expected 'max <period>' or '<quota> <period>', got "
                              "'lots 100000'"),
            std::string::npos)
      << message;
  EXPECT_NE(message.find(cg + "/io.stat:2: "), std::string::npos) << message;
  EXPECT_NE(message.find(cg + "/memory.pressure:2: "), std::string::npos) << message;
  auto values = byMetric(points, "web");
  EXPECT_DOUBLE_EQ(values.at("memory.current"), 268435456.0);
  EXPECT_DOUBLE_EQ(values.at("psi.io.some"), 2.5);
  EXPECT_EQ(sampler.errorCount(), 3u);
  EXPECT_EQ(
      metrics.value("pso_agent_sampler_errors_total", {{"sampler", "cgroup"}, {"file", "io.stat"}}),
      1.0);
}

TEST(CgroupSampler, AMissingCgroupIsAnErrorNotACrash) {
  TempDir dir;
  CgroupSampler sampler("gone", dir.file("gone.service"));
  std::vector<SamplePoint> points;
  Status status = sampler.sample(1'000, points);
  ASSERT_FALSE(status.ok());
  EXPECT_NE(status.error().message.find(dir.file("gone.service") + "/cpu.stat"), std::string::npos);
  EXPECT_TRUE(points.empty());
  // Garbage in cpu.stat is reported the same way.
  writeFile(dir.file("gone.service/cpu.stat"), "\x01\x02 binary\n");
  status = sampler.sample(2'000, points);
  ASSERT_FALSE(status.ok());
  EXPECT_NE(status.error().message.find("cpu.stat:1: expected '<key> <counter>'"),
            std::string::npos)
      << status.error().message;
}

TEST(HostSampler, ReadsHostPressureAndFilesystemUsage) {
  TempDir dir;
  writeFile(dir.file("proc/pressure/cpu"),
            "some avg10=81.66 avg60=28.16 avg300=9.19 total=1441993167\n"
            "full avg10=0.00 avg60=0.00 avg300=0.00 total=0\n");
  writeFile(dir.file("proc/pressure/memory"),
            "some avg10=0.50 avg60=0.00 avg300=0.00 total=10\n"
            "full avg10=0.25 avg60=0.00 avg300=0.00 total=5\n");
  writeFile(dir.file("proc/pressure/io"),
            "some avg10=0.91 avg60=0.44 avg300=0.15 total=14046871\n"
            "full avg10=0.10 avg60=0.05 avg300=0.03 total=6953645\n");
  HostSampler sampler(dir.file("proc"), nullptr, {dir.path().string()});
  std::vector<SamplePoint> points;
  (void)sampler.sample(1'000, points);  // stat, meminfo... are missing: reported, not fatal
  std::map<std::string, double> values;
  for (const SamplePoint& p : points) values[p.key.metric] = p.value;
  EXPECT_DOUBLE_EQ(values.at("psi.cpu.some"), 81.66);
  EXPECT_EQ(values.count("psi.cpu.full"), 0u);  // not a host metric
  EXPECT_DOUBLE_EQ(values.at("psi.memory.full"), 0.25);
  EXPECT_DOUBLE_EQ(values.at("psi.io.some"), 0.91);
  EXPECT_EQ(sampler.latest("psi.io.full"), 0.10);
  const std::string fs = ":" + dir.path().string();
  ASSERT_EQ(values.count("fs.size_bytes" + fs), 1u);
  EXPECT_GT(values.at("fs.size_bytes" + fs), 0.0);
  EXPECT_LE(values.at("fs.used_bytes" + fs), values.at("fs.size_bytes" + fs));
  EXPECT_GE(values.at("fs.used_ratio" + fs), 0.0);
  EXPECT_LE(values.at("fs.used_ratio" + fs), 1.0);
}

TEST(HostSampler, MalformedPressureAndAMissingFilesystemAreReported) {
  TempDir dir;
  writeFile(dir.file("proc/pressure/cpu"), "some avg10=lots\n");
  HostSampler sampler(dir.file("proc"), nullptr, {dir.file("no-such-mount")});
  std::vector<SamplePoint> points;
  Status status = sampler.sample(1'000, points);
  ASSERT_FALSE(status.ok());
  EXPECT_NE(status.error().message.find(dir.file("proc/pressure/cpu") + ":1: expected"),
            std::string::npos)
      << status.error().message;
  EXPECT_NE(status.error().message.find("cannot stat filesystem " + dir.file("no-such-mount")),
            std::string::npos);
}

}  // namespace
}  // namespace pso::agent
