#include "common/trace.h"

#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "tests/common/temp_dir.h"

namespace pso::common {
namespace {

using testing::TempDir;

constexpr int64_t k2014July1 = 1404172800;  // 2014-07-01T00:00:00Z

int64_t ts(const std::string& text) {
  auto parsed = parseTimestamp(text);
  EXPECT_TRUE(parsed.ok()) << text << ": " << (parsed.ok() ? "" : parsed.error().message);
  return parsed.ok() ? *parsed : -1;
}

TEST(Trace, ParsesTheThreeTimestampForms) {
  EXPECT_EQ(ts("2014-07-01 00:00:00"), k2014July1);
  EXPECT_EQ(ts("2014-07-01T00:00:00Z"), k2014July1);
  EXPECT_EQ(ts("2014-07-01T00:00:00"), k2014July1);
  EXPECT_EQ(ts("1404172800"), k2014July1);
}

TEST(Trace, IsoFractionsAndOffsets) {
  EXPECT_EQ(ts("2014-07-01T00:00:00.750Z"), k2014July1);
  EXPECT_EQ(ts("2014-07-01T02:00:00+02:00"), k2014July1);
  EXPECT_EQ(ts("2014-06-30T19:30:00-0430"), k2014July1);
  EXPECT_EQ(ts("1404172800.9"), k2014July1);
  EXPECT_EQ(ts("2000-02-29 12:00:00"), 951825600);
  EXPECT_EQ(ts("1969-12-31 23:59:59"), -1);
}

TEST(Trace, RefusesBadTimestamps) {
  for (const char* bad : {"", "yesterday", "2014-13-01 00:00:00", "2014-02-30 00:00:00",
                          "2014-07-01", "2014-07-01 24:00:00", "2014-07-01T00:00:00Q",
                          "2014/07/01 00:00:00", "12ab", "1.", "2001-02-29 00:00:00"}) {
    auto parsed = parseTimestamp(bad);
    EXPECT_FALSE(parsed.ok()) << "'" << bad << "' was accepted";
    if (!parsed.ok()) {
      EXPECT_EQ(parsed.error().code, "invalid");
    }
  }
}

// Epoch seconds reach only as far as the calendar forms can write, so a
// timestamp in milliseconds never nears int64's limits.
TEST(Trace, EpochSecondsOutsideTheCalendarAreRefused) {
  EXPECT_EQ(ts("253402300799"), kMaxTimestampS);  // 9999-12-31 23:59:59
  EXPECT_EQ(ts("9999-12-31 23:59:59"), kMaxTimestampS);
  EXPECT_EQ(ts("-62167219200"), kMinTimestampS);  // 0000-01-01 00:00:00
  EXPECT_EQ(ts("0000-01-01 00:00:00"), kMinTimestampS);
  for (const char* absurd : {"253402300800", "-62167219201", "99999999999999999",
                             "-9223372036854775808", "9223372036854775807"}) {
    auto parsed = parseTimestamp(absurd);
    ASSERT_FALSE(parsed.ok()) << absurd;
    EXPECT_EQ(parsed.error().message,
              std::string("timestamp '") + absurd + "' is outside 0000-01-01 .. 9999-12-31");
  }
}

TEST(Trace, ReadsMixedFormatsInFileOrder) {
  auto trace = parseTrace(
      "timestamp,value\n"
      "2014-07-01 00:00:00,10\n"
      "2014-07-01T00:05:00Z,11.5\n"
      "1404173400,-2\n",
      "t.csv");
  ASSERT_TRUE(trace.ok()) << trace.error().message;
  ASSERT_EQ(trace->points.size(), 3u);
  EXPECT_EQ(trace->points[0].ts_s, k2014July1);
  EXPECT_DOUBLE_EQ(trace->points[0].value, 10);
  EXPECT_EQ(trace->points[1].ts_s, k2014July1 + 300);
  EXPECT_DOUBLE_EQ(trace->points[1].value, 11.5);
  EXPECT_EQ(trace->points[2].ts_s, k2014July1 + 600);
  EXPECT_DOUBLE_EQ(trace->points[2].value, -2);
  EXPECT_EQ(trace->step_s, 300);
}

TEST(Trace, GapsKeepTimestampsAndStepIsTheMostCommonGap) {
  // 60 s cadence with one 10-minute gap and one 2-minute gap.
  auto trace = parseTrace(
      "timestamp,value\r\n"
      "1000,1\r\n"
      "1060,2\r\n"
      "1120,3\r\n"
      "1720,4\r\n"
      "1780,5\r\n"
      "1900,6\r\n"
      "1960,7\r\n",
      "gaps.csv");
  ASSERT_TRUE(trace.ok()) << trace.error().message;
  ASSERT_EQ(trace->points.size(), 7u);
  const std::vector<int64_t> expected = {1000, 1060, 1120, 1720, 1780, 1900, 1960};
  for (std::size_t i = 0; i < expected.size(); ++i) {
    EXPECT_EQ(trace->points[i].ts_s, expected[i]) << i;
  }
  EXPECT_EQ(trace->step_s, 60);
}

TEST(Trace, BadLineNamesFileAndLine) {
  auto trace =
      parseTrace("timestamp,value\n2014-07-01 00:00:00,1\n2014-07-01 00:05:00,abc\n", "load.csv");
  ASSERT_FALSE(trace.ok());
  EXPECT_EQ(trace.error().code, "invalid");
  EXPECT_EQ(trace.error().message, "load.csv:3: bad value 'abc' (expected a finite number)");

  auto bad_ts = parseTrace("timestamp,value\nnoon,1\n", "load.csv");
  ASSERT_FALSE(bad_ts.ok());
  EXPECT_EQ(bad_ts.error().message.rfind("load.csv:2: bad timestamp 'noon'", 0), 0u)
      << bad_ts.error().message;

  auto fields = parseTrace("timestamp,value\n1,2,3\n", "load.csv");
  ASSERT_FALSE(fields.ok());
  EXPECT_EQ(fields.error().message.rfind("load.csv:2: expected two fields", 0), 0u);
}

TEST(Trace, RefusesBadHeaderAndTimeGoingBackwards) {
  auto header = parseTrace("time,val\n1,2\n", "h.csv");
  ASSERT_FALSE(header.ok());
  EXPECT_EQ(header.error().message, "h.csv:1: expected header 'timestamp,value', got 'time,val'");

  auto backwards = parseTrace("timestamp,value\n100,1\n200,1\n150,1\n", "b.csv");
  ASSERT_FALSE(backwards.ok());
  EXPECT_EQ(backwards.error().message, "b.csv:4: time goes backwards (150 after 200)");

  auto empty = parseTrace("timestamp,value\n", "e.csv");
  ASSERT_FALSE(empty.ok());
  EXPECT_EQ(empty.error().code, "invalid");
}

TEST(Trace, ReadsAFileAndReportsAMissingOne) {
  TempDir dir;
  const std::string path = dir.write("t.csv", "timestamp,value\n0,1\n10,2\n");
  auto trace = readTrace(path);
  ASSERT_TRUE(trace.ok()) << trace.error().message;
  EXPECT_EQ(trace->points.size(), 2u);
  EXPECT_EQ(trace->step_s, 10);

  auto missing = readTrace(dir.file("absent.csv"));
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().code, "io");
  EXPECT_NE(missing.error().message.find("absent.csv"), std::string::npos);

  const std::string broken = dir.write("broken.csv", "timestamp,value\n0,1\nx,2\n");
  auto bad = readTrace(broken);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().message.rfind(broken + ":3: ", 0), 0u) << bad.error().message;
}

// Equal value for value, a NaN matching only a NaN.
void expectSameValues(const std::vector<double>& out, const std::vector<double>& expected) {
  ASSERT_EQ(out.size(), expected.size());
  for (std::size_t i = 0; i < out.size(); ++i) {
    if (std::isnan(expected[i])) {
      EXPECT_TRUE(std::isnan(out[i])) << i;
    } else {
      EXPECT_DOUBLE_EQ(out[i], expected[i]) << i;
    }
  }
}

TEST(Trace, ResamplesLinearBetweenValuesAndNeverAcrossAGap) {
  const double nan = std::nan("");
  const std::vector<double> values = {10.0, 20.0, nan, 40.0, 0.0};
  const auto out = resampleLinear(values, 4);
  ASSERT_EQ(out.size(), 17u);
  const std::vector<double> expected = {10.0, 12.5, 15.0, 17.5, 20.0, nan,  nan,  nan, nan,
                                        nan,  nan,  nan,  40.0, 30.0, 20.0, 10.0, 0.0};
  expectSameValues(out, expected);
  EXPECT_EQ(resampleLinear(values, 1).size(), values.size());
  EXPECT_TRUE(resampleLinear({}, 20).empty());
}

TEST(Trace, ResamplesByHoldingEachValueForItsStep) {
  const double nan = std::nan("");
  const std::vector<double> values = {10.0, 20.0, nan, 40.0};
  const auto out = resampleHold(values, 3);
  ASSERT_EQ(out.size(), 12u);
  const std::vector<double> expected = {10.0, 10.0, 10.0, 20.0, 20.0, 20.0,
                                        nan,  nan,  nan,  40.0, 40.0, 40.0};
  expectSameValues(out, expected);
  expectSameValues(resample(values, 3, Resampling::kHold), expected);
  expectSameValues(resample(values, 3, Resampling::kLinear), resampleLinear(values, 3));
  EXPECT_EQ(resampleHold(values, 1).size(), values.size());
  EXPECT_TRUE(resampleHold({}, 20).empty());
}

}  // namespace
}  // namespace pso::common
