#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "agent/cgroup_sampler.h"
#include "agent/demand_source.h"
#include "agent/host_sampler.h"
#include "agent/replay_demand_source.h"
#include "agent_test_util.h"
#include "common/config.h"

namespace pso::agent {
namespace {

using testing::TempDir;
using testing::writeFile;

constexpr int64_t kStart = 1'700'000'000'000;  // the agent's start, wall ms

// Points every 60 s with one 180 s gap: 10 @0, 20 @60, 30 @120, 40 @300.
const char* kTrace =
    "timestamp,value\n"
    "2024-03-01 00:00:00,10\n"
    "2024-03-01 00:01:00,20\n"
    "2024-03-01 00:02:00,30\n"
    "2024-03-01 00:05:00,40\n";

DemandSourceConfig replayConfig(const std::string& file, double speed, bool loop,
                                        double scale) {
  DemandSourceConfig config;
  config.source = "replay";
  config.file = file;
  config.speed = speed;
  config.loop = loop;
  config.scale = scale;
  return config;
}

TEST(ReplayDemandSource, PlaysTheTraceAtSpeedWithStepHold) {
  TempDir dir;
  writeFile(dir.file("trace.csv"), kTrace);
  // speed 60: one wall second plays one trace minute.
  auto source = makeDemandSource(replayConfig(dir.file("trace.csv"), 60.0, true, 1.0),
                                 DemandSourceContext{"web", nullptr, kStart});
  ASSERT_TRUE(source.ok()) << source.error().message;
  DemandSource& replay = **source;
  EXPECT_STREQ(replay.kind(), "replay");
  EXPECT_DOUBLE_EQ(*replay.read(kStart), 10.0);
  EXPECT_DOUBLE_EQ(*replay.read(kStart + 999), 10.0);  // 59.94 trace seconds: still the first
  EXPECT_DOUBLE_EQ(*replay.read(kStart + 1'000), 20.0);
  EXPECT_DOUBLE_EQ(*replay.read(kStart + 2'500), 30.0);
  // Across the gap the last value holds until the next point.
  EXPECT_DOUBLE_EQ(*replay.read(kStart + 4'900), 30.0);
  EXPECT_DOUBLE_EQ(*replay.read(kStart + 5'000), 40.0);
  // The trace spans 0..360 s (the last point holds one step): 6 wall seconds.
  EXPECT_DOUBLE_EQ(*replay.read(kStart + 5'999), 40.0);
  EXPECT_DOUBLE_EQ(*replay.read(kStart + 6'000), 10.0);  // looped
  EXPECT_DOUBLE_EQ(*replay.read(kStart + 7'500), 20.0);
  // A clock before the start reads the first point, not garbage.
  EXPECT_DOUBLE_EQ(*replay.read(kStart - 10'000), 10.0);
}

TEST(ReplayDemandSource, ScalesAndEndsWithoutLoop) {
  TempDir dir;
  writeFile(dir.file("trace.csv"), kTrace);
  auto source = makeDemandSource(replayConfig(dir.file("trace.csv"), 120.0, false, 2.5),
                                 DemandSourceContext{"web", nullptr, kStart});
  ASSERT_TRUE(source.ok()) << source.error().message;
  EXPECT_DOUBLE_EQ(*(*source)->read(kStart + 500), 50.0);  // 60 trace s -> 20 x 2.5
  EXPECT_DOUBLE_EQ(*(*source)->read(kStart + 2'999), 100.0);
  Result<double> ended = (*source)->read(kStart + 3'000);
  ASSERT_FALSE(ended.ok());
  EXPECT_EQ(ended.error().code, "ended");
  EXPECT_NE(ended.error().message.find("ended"), std::string::npos);
}

TEST(ReplayDemandSource, RefusesBadSettingsAndFiles) {
  TempDir dir;
  writeFile(dir.file("trace.csv"), kTrace);
  auto zero_speed = makeDemandSource(replayConfig(dir.file("trace.csv"), 0.0, true, 1.0),
                                     DemandSourceContext{"web", nullptr, kStart});
  ASSERT_FALSE(zero_speed.ok());
  EXPECT_NE(zero_speed.error().message.find("speed"), std::string::npos);

  auto missing = makeDemandSource(replayConfig(dir.file("nope.csv"), 1.0, true, 1.0),
                                  DemandSourceContext{"web", nullptr, kStart});
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.error().message.find("system web"), std::string::npos);
  EXPECT_NE(missing.error().message.find("nope.csv"), std::string::npos);

  auto no_file = makeDemandSource(replayConfig("", 1.0, true, 1.0),
                                  DemandSourceContext{"web", nullptr, kStart});
  ASSERT_FALSE(no_file.ok());
  EXPECT_NE(no_file.error().message.find("needs 'file'"), std::string::npos);
}

TEST(DemandSourceRegistry, BuildsEverySourceAndRefusesUnknownNamesAndBadSettings) {
  DemandSourceConfig typo;
  typo.source = "replya";
  auto source = makeDemandSource(typo, DemandSourceContext{"web", nullptr, kStart});
  ASSERT_FALSE(source.ok());
  EXPECT_EQ(source.error().code, "invalid");
  EXPECT_NE(source.error().message.find("unknown demand source 'replya'"), std::string::npos);
  EXPECT_EQ(supportedDemandSources(),
            (std::vector<std::string>{"replay", "host", "cgroup", "prometheus", "command"}));

  // cgroup needs the system's cgroup sampler and one of its metrics.
  DemandSourceConfig cgroup;
  cgroup.source = "cgroup";
  cgroup.metric = "cpu.usage";
  auto no_sampler = makeDemandSource(cgroup, DemandSourceContext{"web", nullptr, kStart});
  ASSERT_FALSE(no_sampler.ok());
  EXPECT_NE(no_sampler.error().message.find("needs the system's 'cgroup'"), std::string::npos);
  CgroupSampler sampler("web", "/nonexistent");
  cgroup.metric = "cpu.usge";
  auto bad_metric = makeDemandSource(cgroup, DemandSourceContext{"web", nullptr, kStart, &sampler});
  ASSERT_FALSE(bad_metric.ok());
  EXPECT_NE(bad_metric.error().message.find("unknown metric 'cpu.usge'"), std::string::npos);
  cgroup.metric = "memory.current";
  auto built = makeDemandSource(cgroup, DemandSourceContext{"web", nullptr, kStart, &sampler});
  ASSERT_TRUE(built.ok()) << built.error().message;
  EXPECT_STREQ((*built)->kind(), "cgroup");
  // No sample yet: no value, and a reason.
  auto none = (*built)->read(kStart);
  ASSERT_FALSE(none.ok());
  EXPECT_EQ(none.error().code, "no_data");

  DemandSourceConfig command;
  command.source = "command";
  auto no_command = makeDemandSource(command, DemandSourceContext{"web", nullptr, kStart});
  ASSERT_FALSE(no_command.ok());
  EXPECT_NE(no_command.error().message.find("needs 'command'"), std::string::npos);

  DemandSourceConfig prometheus;
  prometheus.source = "prometheus";
  auto no_url = makeDemandSource(prometheus, DemandSourceContext{"web", nullptr, kStart});
  ASSERT_FALSE(no_url.ok());
  EXPECT_NE(no_url.error().message.find("needs 'url' and 'metric'"), std::string::npos);
}

TEST(HostDemandSource, ReadsTheHostSamplersLatestValue) {
  TempDir dir;
  writeFile(dir.file("proc/loadavg"), "1.25 0.50 0.25 2/100 999\n");
  HostSampler sampler(dir.file("proc"));
  DemandSourceConfig config;
  config.source = "host";
  config.metric = "load.1";
  auto source = makeDemandSource(config, DemandSourceContext{"batch", &sampler, kStart});
  ASSERT_TRUE(source.ok()) << source.error().message;
  Result<double> before = (*source)->read(kStart);
  ASSERT_FALSE(before.ok());
  EXPECT_EQ(before.error().code, "no_data");

  std::vector<SamplePoint> points;
  (void)sampler.sample(kStart, points);  // other files are missing; loadavg is there
  EXPECT_DOUBLE_EQ(*(*source)->read(kStart), 1.25);

  config.metric = "load.7";
  auto unknown = makeDemandSource(config, DemandSourceContext{"batch", &sampler, kStart});
  ASSERT_FALSE(unknown.ok());
  EXPECT_NE(unknown.error().message.find("unknown metric 'load.7'"), std::string::npos);
}

}  // namespace
}  // namespace pso::agent
