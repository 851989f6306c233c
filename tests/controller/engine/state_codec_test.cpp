#include "controller/engine/state_codec.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>

namespace pso::controller::engine {
namespace {

TEST(StateCodec, RoundTripsNumbersExactlyAndTextWithSpaces) {
  StateWriter w;
  w.putInt(-42).putDouble(0.1).putDouble(1.0 / 3.0).putDouble(-0.0);
  w.putDouble(std::numeric_limits<double>::infinity()).putDouble(std::nan(""));
  w.putText("web front: eu 1").putText("").putInt(7);
  StateReader r(w.str(), "test state");
  EXPECT_EQ(r.getInt(), -42);
  EXPECT_EQ(r.getDouble(), 0.1);
  EXPECT_EQ(r.getDouble(), 1.0 / 3.0);
  EXPECT_TRUE(std::signbit(r.getDouble()));
  EXPECT_EQ(r.getDouble(), std::numeric_limits<double>::infinity());
  EXPECT_TRUE(std::isnan(r.getDouble()));
  EXPECT_EQ(r.getText(), "web front: eu 1");
  EXPECT_EQ(r.getText(), "");
  EXPECT_EQ(r.getInt(), 7);
  EXPECT_TRUE(r.status().ok());
}

TEST(StateCodec, MalformedInputNamesTheComponentAndToken) {
  StateReader r("1 x 3", "holt model state");
  EXPECT_EQ(r.getInt(), 1);
  EXPECT_EQ(r.getInt(), 0);
  EXPECT_FALSE(r.ok());
  Status status = r.status();
  ASSERT_FALSE(status.ok());
  EXPECT_EQ(status.error().code, "invalid_state");
  EXPECT_NE(status.error().message.find("holt model state"), std::string::npos);
  EXPECT_NE(status.error().message.find("token 2"), std::string::npos);
}

TEST(StateCodec, RefusesOutOfRangeSizesShortInputAndTrailingData) {
  StateReader sizes("99999999999", "s");
  sizes.getInt(0, 1000);
  EXPECT_FALSE(sizes.status().ok());

  StateReader text("10:short", "s");
  text.getText();
  EXPECT_FALSE(text.status().ok());

  StateReader ends("1", "s");
  ends.getInt();
  ends.getInt();
  EXPECT_FALSE(ends.status().ok());

  StateReader extra("1 2", "s");
  extra.getInt();
  EXPECT_FALSE(extra.status().ok());
  EXPECT_TRUE(extra.status(false).ok());
}

}  // namespace
}  // namespace pso::controller::engine
