#include "agent/batch_builder.h"

#include <gtest/gtest.h>

#include <cmath>

namespace pso::agent {
namespace {

TEST(BatchBuilder, BuildsColumnsAndPadsMissingPointsWithNaN) {
  BatchBuilder builder;
  EXPECT_TRUE(builder.empty());
  builder.add(1000, {{{"", "cpu.usage"}, 0.5}, {{"web", "demand"}, 10.0}});
  builder.add(2000, {{{"web", "demand"}, 12.0}, {{"web", "replicas"}, 2.0}});
  EXPECT_EQ(builder.pointCount(), 4u);

  protocol::TelemetryBatch batch;
  batch.agent_id = "edge-1";
  builder.takeInto(batch);
  EXPECT_EQ(batch.agent_id, "edge-1");
  EXPECT_EQ(batch.timestamps_ms, (std::vector<int64_t>{1000, 2000}));
  ASSERT_EQ(batch.series.size(), 3u);
  EXPECT_EQ(batch.series[0], (protocol::SeriesKey{"", "cpu.usage"}));
  EXPECT_EQ(batch.series[1], (protocol::SeriesKey{"web", "demand"}));
  EXPECT_EQ(batch.series[2], (protocol::SeriesKey{"web", "replicas"}));
  ASSERT_EQ(batch.values.size(), 3u);
  EXPECT_DOUBLE_EQ(batch.values[0][0], 0.5);
  EXPECT_TRUE(std::isnan(batch.values[0][1]));  // cpu not sampled at 2000
  EXPECT_EQ(batch.values[1], (std::vector<double>{10.0, 12.0}));
  EXPECT_TRUE(std::isnan(batch.values[2][0]));  // replicas first seen at 2000
  EXPECT_DOUBLE_EQ(batch.values[2][1], 2.0);

  EXPECT_TRUE(builder.empty());
  EXPECT_EQ(builder.pointCount(), 0u);
  builder.add(3000, {{{"web", "demand"}, 1.0}, {{"web", "demand"}, 3.0}});
  protocol::TelemetryBatch next;
  builder.takeInto(next);
  ASSERT_EQ(next.series.size(), 1u);
  EXPECT_EQ(next.values[0], (std::vector<double>{3.0}));  // the last value of a repeated key
}

}  // namespace
}  // namespace pso::agent
