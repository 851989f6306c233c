#include "controller/engine/state_codec.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <string>

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

TEST(StateCodec, WritesTheBinaryFormAndRoundTripsIntegersAtTheirLimits) {
  StateWriter w;
  const int64_t values[] = {0,
                            1,
                            -1,
                            63,
                            -64,
                            64,
                            1LL << 40,
                            std::numeric_limits<int64_t>::max(),
                            std::numeric_limits<int64_t>::min()};
  for (int64_t v : values) w.putInt(v);
  w.putText(std::string("a\0b c", 5));
  ASSERT_FALSE(w.str().empty());
  EXPECT_EQ(w.str().front(), kBinaryStateMarker);
  // A small integer takes its type byte and one byte; a double nine bytes.
  EXPECT_EQ(StateWriter().putInt(-64).str().size(), 3u);
  EXPECT_EQ(StateWriter().putDouble(0.1).str().size(), 10u);
  StateReader r(w.str(), "test state");
  for (int64_t v : values) EXPECT_EQ(r.getInt(), v);
  EXPECT_EQ(r.getText(), std::string("a\0b c", 5));
  EXPECT_TRUE(r.status().ok());
}

// A float token is half a double's, exact for a float, and a double token
// (a value saved before it was kept as a float) reads as the nearest float.
TEST(StateCodec, FloatsRoundTripExactlyAndADoubleTokenReadsAsTheNearestFloat) {
  EXPECT_EQ(StateWriter().putFloat(0.1F).str().size(), 6u);
  StateWriter w;
  w.putFloat(0.1F).putFloat(-0.0F).putFloat(std::numeric_limits<float>::quiet_NaN());
  w.putFloat(std::numeric_limits<float>::max()).putDouble(0.1).putDouble(1e300).putDouble(-1e300);
  w.putDouble(std::numeric_limits<double>::infinity());
  StateReader r(w.str(), "test state");
  EXPECT_EQ(r.getFloat(), 0.1F);
  EXPECT_TRUE(std::signbit(r.getFloat()));
  EXPECT_TRUE(std::isnan(r.getFloat()));
  EXPECT_EQ(r.getFloat(), std::numeric_limits<float>::max());
  EXPECT_EQ(r.getFloat(), 0.1F);
  // Beyond a float's range: the largest float of that sign, still a value.
  EXPECT_EQ(r.getFloat(), std::numeric_limits<float>::max());
  EXPECT_EQ(r.getFloat(), -std::numeric_limits<float>::max());
  EXPECT_EQ(r.getFloat(), std::numeric_limits<float>::infinity());
  EXPECT_TRUE(r.status().ok());

  // A float is not a double: getDouble() refuses it, and a cut float is refused.
  const std::string state = StateWriter().putFloat(2.5F).str();
  StateReader as_double(state, "s");
  as_double.getDouble();
  EXPECT_FALSE(as_double.status().ok());
  for (std::size_t cut = 1; cut < state.size(); ++cut) {
    const std::string truncated = state.substr(0, cut);
    StateReader cut_reader(truncated, "s");
    cut_reader.getFloat();
    EXPECT_FALSE(cut_reader.status().ok()) << cut;
  }
}

// Every cut of a binary state, and a token of the wrong type, is refused
// with the token's position; nothing reads past the input.
TEST(StateCodec, RefusesATruncatedBinaryStateAndATokenOfTheWrongType) {
  StateWriter w;
  w.putInt(300).putDouble(2.5).putText("web");
  const std::string state = w.str();
  for (std::size_t cut = 1; cut < state.size(); ++cut) {
    const std::string truncated = state.substr(0, cut);
    StateReader r(truncated, "s");
    r.getInt();
    r.getDouble();
    r.getText();
    EXPECT_FALSE(r.status().ok()) << cut;
  }
  StateReader wrong(state, "holt model state");
  wrong.getInt();
  wrong.getInt();
  Status status = wrong.status(false);
  ASSERT_FALSE(status.ok());
  EXPECT_NE(status.error().message.find("holt model state: token 2 is not an integer"),
            std::string::npos)
      << status.error().message;
  // A length beyond the input.
  std::string long_text = StateWriter().putText("abc").str();
  long_text[2] = 100;
  StateReader text(long_text, "s");
  text.getText();
  EXPECT_FALSE(text.status().ok());
  // An integer that never ends its varint.
  const std::string overlong = std::string(1, kBinaryStateMarker) + "i" + std::string(11, '\xFF');
  StateReader endless(overlong, "s");
  endless.getInt();
  EXPECT_FALSE(endless.status().ok());
}

// States saved before the binary form are text; they still read.
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
