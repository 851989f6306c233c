#include "common/clock.h"

#include <gtest/gtest.h>

#include "common/logging.h"

namespace pso::common {
namespace {

TEST(Clock, FormatsUtcTimestamps) {
  EXPECT_EQ(formatTimestamp(0), "1970-01-01 00:00:00");
  EXPECT_EQ(formatTimestamp(1404172800123), "2014-07-01 00:00:00");
  EXPECT_EQ(formatIso8601(1404172800123), "2014-07-01T00:00:00.123Z");
  EXPECT_EQ(formatIso8601(951825600000), "2000-02-29T12:00:00.000Z");
  // Before the epoch the milliseconds still count forward within the second.
  EXPECT_EQ(formatIso8601(-1), "1969-12-31T23:59:59.999Z");
}

TEST(Clock, WallClockIsEpochMilliseconds) {
  // After 2020-01-01 and before 2200-01-01: catches seconds-vs-ms mistakes.
  EXPECT_GT(wallMs(), 1577836800000);
  EXPECT_LT(wallMs(), 7258118400000);
  const int64_t a = steadyMs();
  EXPECT_GE(steadyMs(), a);
}

TEST(Logging, AcceptsKnownLevelsAndRefusesOthers) {
  EXPECT_TRUE(setupLogging("pso-test", "debug").ok());
  EXPECT_TRUE(setupLogging("pso-test", "info").ok());  // twice is fine
  auto bad = setupLogging("pso-test", "loud");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().code, "invalid");
  EXPECT_NE(bad.error().message.find("'loud'"), std::string::npos);
}

}  // namespace
}  // namespace pso::common
