// The metrics listener's request-head parser (agent/http/request_parser.h).

#include "agent/http/request_parser.h"

#include <gtest/gtest.h>

#include <string>

namespace pso::agent::http {
namespace {

RequestHead parsed(const std::string& bytes) {
  auto result = parseRequestHead(bytes);
  EXPECT_TRUE(result.ok()) << result.error().message;
  if (!result.ok() || !result->has_value()) {
    ADD_FAILURE() << "incomplete: " << bytes;
    return {};
  }
  return **result;
}

Error refused(const std::string& bytes, RequestLimits limits = {}) {
  auto result = parseRequestHead(bytes, limits);
  if (result.ok()) {
    ADD_FAILURE() << "accepted: " << bytes;
    return {};
  }
  return result.error();
}

TEST(RequestParser, ReadsMethodTargetPathVersionAndHeaders) {
  const std::string bytes =
      "GET /metrics?name=x HTTP/1.1\r\nHost: 127.0.0.1:9465\r\nUser-Agent:  curl/7.88 \r\n"
      "Accept: */*\r\n\r\nbody";
  RequestHead head = parsed(bytes);
  EXPECT_EQ(head.method, "GET");
  EXPECT_EQ(head.target, "/metrics?name=x");
  EXPECT_EQ(head.path, "/metrics");
  EXPECT_EQ(head.minor_version, 1);
  EXPECT_EQ(head.head_bytes, bytes.size() - 4);
  ASSERT_EQ(head.headers.size(), 3u);
  EXPECT_EQ(head.header("user-agent").value_or(""), "curl/7.88");
  EXPECT_EQ(head.header("host").value_or(""), "127.0.0.1:9465");
  EXPECT_FALSE(head.header("cookie").has_value());
}

TEST(RequestParser, AcceptsBareLineFeedsAndHttp10WithoutHost) {
  RequestHead head = parsed("GET /healthz HTTP/1.0\n\n");
  EXPECT_EQ(head.path, "/healthz");
  EXPECT_EQ(head.minor_version, 0);
  EXPECT_EQ(head.head_bytes, 23u);
}

TEST(RequestParser, IncompleteUntilTheEmptyLineWhateverTheSplit) {
  const std::string bytes = "GET / HTTP/1.1\r\nHost: x\r\n\r\n";
  for (std::size_t n = 0; n < bytes.size(); ++n) {
    auto result = parseRequestHead(bytes.substr(0, n));
    ASSERT_TRUE(result.ok()) << n << ": " << result.error().message;
    EXPECT_FALSE(result->has_value()) << n;
  }
  EXPECT_EQ(parsed(bytes).head_bytes, bytes.size());
}

TEST(RequestParser, RefusesMalformedRequestLines) {
  for (const char* bytes :
       {"GET\r\n\r\n", "GET  / HTTP/1.1\r\nHost: x\r\n\r\n",
        "GET / HTTP/1.1 extra\r\nHost: x\r\n\r\n", "G(T / HTTP/1.1\r\nHost: x\r\n\r\n",
        "GET metrics HTTP/1.1\r\nHost: x\r\n\r\n",
        "GET http://x/metrics HTTP/1.1\r\nHost: x\r\n\r\n",
        "GET /a\x01 HTTP/1.1\r\nHost: x\r\n\r\n", "GET / HTTP/2.0\r\nHost: x\r\n\r\n",
        "GET / http/1.1\r\nHost: x\r\n\r\n", "\r\nGET / HTTP/1.1\r\n\r\n"}) {
    Error error = refused(bytes);
    EXPECT_EQ(error.code, "malformed") << bytes;
    EXPECT_EQ(error.message.rfind("malformed HTTP request: ", 0), 0u) << error.message;
    EXPECT_EQ(error.message.find_first_of("\r\n"), std::string::npos) << error.message;
  }
}

TEST(RequestParser, RefusesBadHeadersAndAMissingOrRepeatedHost) {
  EXPECT_EQ(refused("GET / HTTP/1.1\r\n\r\n").message, "malformed HTTP request: no Host header");
  EXPECT_EQ(refused("GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n").message,
            "malformed HTTP request: more than one Host header");
  EXPECT_EQ(refused("GET / HTTP/1.1\r\nHost : a\r\n\r\n").code, "malformed");
  EXPECT_EQ(refused("GET / HTTP/1.1\r\nHost: a\r\nX: 1\r\n folded\r\n\r\n").message,
            "malformed HTTP request: obsolete line folding in ' folded'");
  EXPECT_EQ(refused("GET / HTTP/1.1\r\nHost: a\r\nX: a\rb\r\n\r\n").message,
            "malformed HTTP request: control byte in header 'X: a\\x0db'");
  EXPECT_EQ(refused("GET / HTTP/1.1\r\nHost: a\r\nno colon\r\n\r\n").code, "malformed");
}

TEST(RequestParser, RefusesAHeadPastTheLimitsAsTooLarge) {
  const RequestLimits limits{.max_head_bytes = 64, .max_headers = 2};
  // The bound is known as soon as the limit is reached without an empty line.
  Error error = refused("GET /" + std::string(80, 'a'), limits);
  EXPECT_EQ(error.code, "too_large");
  EXPECT_EQ(error.message, "request head longer than 64 bytes");
  EXPECT_EQ(refused("GET / HTTP/1.1\r\nHost: a\r\nA: 1\r\nB: 2\r\n\r\n", limits).code, "too_large");
  // A head that fits is read even when more bytes follow it.
  auto fits = parseRequestHead("GET / HTTP/1.1\r\nHost: a\r\n\r\n" + std::string(100, 'x'), limits);
  ASSERT_TRUE(fits.ok());
  EXPECT_TRUE(fits->has_value());
  // The default: 8 KB of headers.
  EXPECT_EQ(refused("GET / HTTP/1.1\r\nHost: a\r\nX: " + std::string(9000, 'v') + "\r\n\r\n").code,
            "too_large");
}

}  // namespace
}  // namespace pso::agent::http
