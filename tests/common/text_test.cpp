#include "common/text.h"

#include <gtest/gtest.h>

namespace pso::common {
namespace {

TEST(Text, PercentEncodingKeepsOnlyUnreservedCharacters) {
  EXPECT_EQ(percentEncode("AZaz09-._~"), "AZaz09-._~");
  EXPECT_EQ(percentEncode("a b/c?d=e&f"), "a%20b%2Fc%3Fd%3De%26f");
  EXPECT_EQ(percentEncode("{\"label\":[\"x\"]}"), "%7B%22label%22%3A%5B%22x%22%5D%7D");
  // Bytes above 0x7F (UTF-8) and control bytes, in upper-case hex.
  EXPECT_EQ(percentEncode("\xc3\xa9\r\n"), "%C3%A9%0D%0A");
  EXPECT_EQ(percentEncode(std::string("\0", 1)), "%00");
  EXPECT_EQ(percentEncode(""), "");
}

TEST(Text, TrimRemovesAsciiWhiteSpaceOnBothEnds) {
  EXPECT_EQ(trim("  a b \r\n"), "a b");
  EXPECT_EQ(trim("\t\v\f"), "");
  EXPECT_EQ(trim(""), "");
  EXPECT_EQ(trim("x"), "x");
}

TEST(Text, IntegersMustBeTheWholeString) {
  EXPECT_EQ(parseInt64("-42"), -42);
  EXPECT_EQ(parseInt64("9223372036854775807"), INT64_MAX);
  EXPECT_FALSE(parseInt64("9223372036854775808"));
  EXPECT_FALSE(parseInt64(""));
  EXPECT_FALSE(parseInt64(" 1"));
  EXPECT_FALSE(parseInt64("1s"));
  EXPECT_FALSE(parseInt64("+1"));
  EXPECT_EQ(parseUint64("18446744073709551615"), UINT64_MAX);
  EXPECT_FALSE(parseUint64("-1"));
}

TEST(Text, DoublesMustBeFiniteAndWhole) {
  EXPECT_EQ(parseDouble("2.5"), 2.5);
  EXPECT_EQ(parseDouble("-1e3"), -1000.0);
  EXPECT_FALSE(parseDouble("nan"));
  EXPECT_FALSE(parseDouble("inf"));
  EXPECT_FALSE(parseDouble("1e999"));
  EXPECT_FALSE(parseDouble("2.5x"));
  EXPECT_FALSE(parseDouble(""));
}

TEST(Text, PortsAreOneTo65535UnlessZeroIsAllowed) {
  EXPECT_EQ(parsePort("80"), 80);
  EXPECT_EQ(parsePort("65535"), 65535);
  EXPECT_FALSE(parsePort("65536"));
  EXPECT_FALSE(parsePort("0"));
  EXPECT_EQ(parsePort("0", true), 0);
  EXPECT_FALSE(parsePort("-1", true));
}

TEST(Text, SplitsHostPortAndBracketedV6) {
  auto v4 = splitHostPort("127.0.0.1:7460");
  ASSERT_TRUE(v4);
  EXPECT_EQ(v4->host, "127.0.0.1");
  EXPECT_EQ(v4->port, 7460);
  auto v6 = splitHostPort("[::1]:80");
  ASSERT_TRUE(v6);
  EXPECT_EQ(v6->host, "::1");
  EXPECT_EQ(v6->port, 80);
  auto name = splitHostPort("localhost:0", /*allow_zero=*/true);
  ASSERT_TRUE(name);
  EXPECT_EQ(name->port, 0);
}

TEST(Text, SplitHostPortSaysWhatIsWrong) {
  std::string why;
  EXPECT_FALSE(splitHostPort("localhost", false, &why));
  EXPECT_EQ(why, "expected host:port");
  EXPECT_FALSE(splitHostPort(":80", false, &why));
  EXPECT_EQ(why, "missing host");
  EXPECT_FALSE(splitHostPort("[::1:80", false, &why));
  EXPECT_EQ(why, "unclosed '['");
  EXPECT_FALSE(splitHostPort("[::1]80", false, &why));
  EXPECT_EQ(why, "expected [v6-address]:port");
  EXPECT_FALSE(splitHostPort("h:0", false, &why));
  EXPECT_EQ(why, "port must be a number from 1 to 65535");
  EXPECT_FALSE(splitHostPort("h:99999", true, &why));
  EXPECT_EQ(why, "port must be a number from 0 to 65535");
}

}  // namespace
}  // namespace pso::common
