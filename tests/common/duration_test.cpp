#include <gtest/gtest.h>

#include "common/config.h"

namespace pso::common {
namespace {

using std::chrono::milliseconds;

milliseconds parsed(const std::string& text) {
  auto d = parseDuration(text);
  EXPECT_TRUE(d.ok()) << text << ": " << (d.ok() ? "" : d.error().message);
  return d.ok() ? *d : milliseconds(-1);
}

TEST(Duration, ParsesEveryUnit) {
  EXPECT_EQ(parsed("500ms"), milliseconds(500));
  EXPECT_EQ(parsed("5s"), milliseconds(5000));
  EXPECT_EQ(parsed("2m"), milliseconds(120000));
  EXPECT_EQ(parsed("1h"), milliseconds(3600000));
  EXPECT_EQ(parsed("1d"), milliseconds(86400000));
  EXPECT_EQ(parsed("0s"), milliseconds(0));
}

TEST(Duration, BareNumbersAreSecondsAndDecimalsWork) {
  EXPECT_EQ(parsed("30"), milliseconds(30000));
  EXPECT_EQ(parsed("1.5s"), milliseconds(1500));
  EXPECT_EQ(parsed("0.25m"), milliseconds(15000));
  EXPECT_EQ(parsed("2.5"), milliseconds(2500));
}

TEST(Duration, RefusesMalformedText) {
  for (const char* bad : {"", "s", "5x", "five seconds", "-5s", "5 s", "1.2.3s", "ms5", "1e3s",
                          "99999999999999999d"}) {
    auto d = parseDuration(bad);
    ASSERT_FALSE(d.ok()) << "'" << bad << "' was accepted";
    EXPECT_EQ(d.error().code, "invalid");
    EXPECT_NE(d.error().message.find(std::string("'") + bad + "'"), std::string::npos);
  }
}

TEST(Duration, FormatsWithTheLargestExactUnit) {
  EXPECT_EQ(formatDuration(milliseconds(1500)), "1.5s");
  EXPECT_EQ(formatDuration(milliseconds(1250)), "1.25s");
  EXPECT_EQ(formatDuration(milliseconds(500)), "500ms");
  EXPECT_EQ(formatDuration(milliseconds(5000)), "5s");
  EXPECT_EQ(formatDuration(milliseconds(120000)), "2m");
  EXPECT_EQ(formatDuration(milliseconds(90000)), "90s");
  EXPECT_EQ(formatDuration(milliseconds(3600000)), "1h");
  EXPECT_EQ(formatDuration(milliseconds(86400000 * 14LL)), "14d");
  EXPECT_EQ(formatDuration(milliseconds(0)), "0s");
  EXPECT_EQ(formatDuration(milliseconds(-2000)), "-2s");
}

TEST(Duration, FormatReadsBack) {
  for (int64_t ms : {1LL, 999LL, 1001LL, 61500LL, 3600001LL, 86400000LL * 3 + 7}) {
    EXPECT_EQ(parsed(formatDuration(milliseconds(ms))), milliseconds(ms)) << ms;
  }
}

}  // namespace
}  // namespace pso::common
