// Splitting http:// URLs for the built-in client, and refusing the ones that
// could not be sent as a request line and Host header.

#include "agent/http/url.h"

#include <gtest/gtest.h>

#include <string>

namespace pso::agent::http {
namespace {

TEST(PlainUrl, SplitsHostPortAndTargetAndDropsTheFragment) {
  Result<PlainUrl> url = parsePlainUrl("http://127.0.0.1:8080/metrics?x=1#top");
  ASSERT_TRUE(url.ok()) << url.error().message;
  EXPECT_EQ(url->host, "127.0.0.1");
  EXPECT_EQ(url->port, 8080);
  EXPECT_EQ(url->authority, "127.0.0.1:8080");
  EXPECT_EQ(url->target, "/metrics?x=1");
}

TEST(PlainUrl, DefaultsToPort80AndTheRootPath) {
  Result<PlainUrl> bare = parsePlainUrl("http://localhost");
  ASSERT_TRUE(bare.ok());
  EXPECT_EQ(bare->host, "localhost");
  EXPECT_EQ(bare->port, 80);
  EXPECT_EQ(bare->authority, "localhost");
  EXPECT_EQ(bare->target, "/");
  Result<PlainUrl> query = parsePlainUrl("http://localhost?a=1");
  ASSERT_TRUE(query.ok());
  EXPECT_EQ(query->target, "/?a=1");
}

TEST(PlainUrl, ReadsBracketedIpv6Addresses) {
  Result<PlainUrl> with_port = parsePlainUrl("http://[::1]:9090/healthz");
  ASSERT_TRUE(with_port.ok()) << with_port.error().message;
  EXPECT_EQ(with_port->host, "::1");
  EXPECT_EQ(with_port->port, 9090);
  EXPECT_EQ(with_port->authority, "[::1]:9090");
  Result<PlainUrl> without = parsePlainUrl("http://[fe80::1]/");
  ASSERT_TRUE(without.ok()) << without.error().message;
  EXPECT_EQ(without->host, "fe80::1");
  EXPECT_EQ(without->port, 80);
}

TEST(PlainUrl, RefusesWhatCannotBeSentWithAOneLineReason) {
  const std::pair<std::string, std::string> refused[] = {
      {"https://127.0.0.1/", "expected http://"},
      {"http://", "expected http://host[:port]/path"},
      {"http:///path", "expected http://host[:port]/path"},
      {"http://user:pw@host/", "expected http://host[:port]/path"},
      {"http://host:0/", "port must be a number from 1 to 65535"},
      {"http://host:99999/", "port must be a number from 1 to 65535"},
      {"http://host:/", "port must be a number from 1 to 65535"},
      {"http://host:80x/", "port must be a number from 1 to 65535"},
      {"http://[::1/", "unclosed '['"},
      {"http://[::1]x/", "expected [v6-address]:port"},
      {"http://[]/", "missing host"},
      {"http://:80/", "missing host"},
      {"http://host/a b", "space or control character"},
      {"http://host/\r\nX-Injected: 1", "space or control character"},
  };
  for (const auto& [url, reason] : refused) {
    Result<PlainUrl> parsed = parsePlainUrl(url);
    ASSERT_FALSE(parsed.ok()) << url;
    EXPECT_EQ(parsed.error().code, "invalid");
    EXPECT_EQ(parsed.error().message.rfind("URL ", 0), 0u) << parsed.error().message;
    EXPECT_NE(parsed.error().message.find(reason), std::string::npos) << parsed.error().message;
    EXPECT_EQ(parsed.error().message.find_first_of("\r\n"), std::string::npos);
  }
}

TEST(PlainUrl, PrintableEscapesControlBytesAndClips) {
  EXPECT_EQ(printable("a\r\nb\x7f"), "a\\x0d\\x0ab\\x7f");
  EXPECT_EQ(printable(std::string(100, 'x'), 10), std::string(10, 'x') + "...");
}

}  // namespace
}  // namespace pso::agent::http
