// The built-in client's HTTP/1.1 response parser over canned bytes: every
// framing, interim answers, limits, and each kind of malformed or truncated
// response refused with a one-line error.

#include "agent/http/response_parser.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace pso::agent::http {
namespace {

struct Parsed {
  Status status;
  std::string body;
  ResponseHead head;
  bool done = false;
};

// Feeds `bytes` in pieces of `piece` bytes (all at once for 0), then the
// server's close when `close` is set.
Parsed parse(const std::string& bytes, bool close = true, std::size_t piece = 0,
             ResponseLimits limits = {}, bool head_request = false) {
  Parsed out;
  ResponseParser parser(out.body, head_request, limits);
  const std::size_t step = piece == 0 ? bytes.size() : piece;
  for (std::size_t at = 0; at < bytes.size() && out.status.ok(); at += step) {
    out.status = parser.feed(std::string_view(bytes).substr(at, step));
  }
  if (out.status.ok() && close) out.status = parser.finish();
  out.head = parser.head();
  out.done = parser.done();
  return out;
}

TEST(ResponseParser, ReadsAContentLengthBodyAndIgnoresWhatFollowsIt) {
  Parsed p = parse("HTTP/1.1 200 OK\r\nContent-Length: 5\r\nX-A: b\r\n\r\nhelloEXTRA", false);
  ASSERT_TRUE(p.status.ok()) << p.status.error().message;
  EXPECT_TRUE(p.done);
  EXPECT_EQ(p.head.status, 200);
  EXPECT_EQ(p.head.framing, BodyFraming::kContentLength);
  EXPECT_EQ(p.head.content_length, 5u);
  EXPECT_EQ(p.body, "hello");
}

TEST(ResponseParser, DecodesAChunkedBodyWithExtensionsAndTrailers) {
  const std::string chunked =
      "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 999\r\n\r\n"
      "5;ext=\"a b\"\r\nhello\r\n7 \r\n, world\r\n0\r\nX-Checksum: 1\r\n\r\n";
  Parsed p = parse(chunked, false);
  ASSERT_TRUE(p.status.ok()) << p.status.error().message;
  EXPECT_TRUE(p.done);
  EXPECT_EQ(p.head.framing, BodyFraming::kChunked);
  EXPECT_EQ(p.body, "hello, world");
}

TEST(ResponseParser, ACloseDelimitedBodyEndsOnlyWhenTheServerCloses) {
  Parsed open = parse("HTTP/1.0 503 Busy\r\n\r\noverloaded\n", false);
  ASSERT_TRUE(open.status.ok());
  EXPECT_FALSE(open.done);
  Parsed closed = parse("HTTP/1.0 503 Busy\r\n\r\noverloaded\n", true);
  ASSERT_TRUE(closed.status.ok());
  EXPECT_TRUE(closed.done);
  EXPECT_EQ(closed.head.framing, BodyFraming::kUntilClose);
  EXPECT_EQ(closed.head.status, 503);
  EXPECT_EQ(closed.body, "overloaded\n");
}

TEST(ResponseParser, SkipsInterimAnswersAndTheirHeaders) {
  Parsed p = parse(
      "HTTP/1.1 100 Continue\r\nX-Interim: 1\r\n\r\n"
      "HTTP/1.1 103 Early Hints\r\nLink: </a.css>\r\n\r\n"
      "HTTP/1.1 201 Created\r\nContent-Length: 2\r\n\r\nok",
      false);
  ASSERT_TRUE(p.status.ok()) << p.status.error().message;
  EXPECT_EQ(p.head.status, 201);
  EXPECT_EQ(p.body, "ok");
}

TEST(ResponseParser, AcceptsBareLineFeedsAndAStatusLineWithoutReason) {
  Parsed p = parse("HTTP/1.1 204\nServer: tiny\n\n", false);
  ASSERT_TRUE(p.status.ok()) << p.status.error().message;
  EXPECT_TRUE(p.done);
  EXPECT_EQ(p.head.status, 204);
}

TEST(ResponseParser, HeadAnswersAnd204And304CarryNoBody) {
  const std::string announced = "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n";
  Parsed head = parse(announced, false, 0, {}, /*head_request=*/true);
  ASSERT_TRUE(head.status.ok());
  EXPECT_TRUE(head.done);
  EXPECT_EQ(head.head.framing, BodyFraming::kNone);
  EXPECT_TRUE(head.body.empty());
  for (const char* status : {"204 No Content", "304 Not Modified"}) {
    Parsed p = parse(std::string("HTTP/1.1 ") + status + "\r\nContent-Length: 3\r\n\r\n", false);
    ASSERT_TRUE(p.status.ok()) << status;
    EXPECT_TRUE(p.done) << status;
    EXPECT_TRUE(p.body.empty()) << status;
  }
}

TEST(ResponseParser, TellsWhetherTheServerKeepsTheConnection) {
  EXPECT_FALSE(parse("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n").head.connection_close);
  EXPECT_TRUE(parse("HTTP/1.1 200 OK\r\nConnection: Close\r\nContent-Length: 0\r\n\r\n")
                  .head.connection_close);
  EXPECT_TRUE(parse("HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n").head.connection_close);
  EXPECT_FALSE(parse("HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 0\r\n\r\n")
                   .head.connection_close);
}

TEST(ResponseParser, GivesTheSameOutcomeHoweverTheBytesAreSplit) {
  const std::vector<std::string> answers = {
      "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n",
      "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 404 Not Found\r\nContent-Length: 4\r\n\r\nnope",
      "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabcX\r\n",
      "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort",
      "HTTP/1.1 200 OK\r\nBad Header\r\n\r\n",
  };
  for (const std::string& answer : answers) {
    const Parsed whole = parse(answer);
    for (std::size_t piece : {1, 2, 7}) {
      const Parsed split = parse(answer, true, piece);
      ASSERT_EQ(split.status.ok(), whole.status.ok()) << answer << " in pieces of " << piece;
      if (!whole.status.ok()) {
        EXPECT_EQ(split.status.error().message, whole.status.error().message);
      } else {
        EXPECT_EQ(split.body, whole.body);
        EXPECT_EQ(split.head.status, whole.head.status);
      }
    }
  }
}

using namespace std::string_literals;

struct Refusal {
  std::string answer;
  std::string code;
  std::string reason;  ///< expected in the message
};

TEST(ResponseParser, RefusesMalformedAndOversizeAnswersWithOneLineReasons) {
  const std::string ok = "HTTP/1.1 200 OK\r\n";
  const std::string chunked = ok + "Transfer-Encoding: chunked\r\n\r\n";
  const std::vector<Refusal> refusals = {
      {"SSH-2.0-OpenSSH_9.2\r\n\r\n", "malformed", "bad status line 'SSH-2.0-OpenSSH_9.2'"},
      {"HTTP/1.1 20 OK\r\n\r\n", "malformed", "bad status line"},
      {"HTTP/1.1 600 Odd\r\n\r\n", "malformed", "bad status line"},
      {"HTTP/1.1 -12 OK\r\n\r\n", "malformed", "bad status line"},
      {"HTTP/2 200 OK\r\n\r\n", "malformed", "bad status line"},
      {"HTTP/1.1 200OK\r\n\r\n", "malformed", "bad status line"},
      {"HTTP/1.1 200 O\rK\r\n\r\n", "malformed", "bad status line 'HTTP/1.1 200 O\\x0dK'"},
      {ok + "no colon here\r\n\r\n", "malformed", "header line without ':' 'no colon here'"},
      {ok + "Bad Name: x\r\n\r\n", "malformed", "bad header name 'Bad Name'"},
      {ok + "X-A: 1\r\n folded\r\n\r\n", "malformed", "obsolete line folding"},
      {ok + "X-A: a\0b\r\n\r\n"s, "malformed", "control character in header 'X-A'"},
      {ok + "Content-Length: 12abc\r\n\r\n", "malformed", "bad Content-Length '12abc'"},
      {ok + "Content-Length: -1\r\n\r\n", "malformed", "bad Content-Length '-1'"},
      {ok + "Content-Length: 99999999999999999999999\r\n\r\n", "malformed",
       "bad Content-Length '99999999999999999999999'"},
      {ok + "Content-Length: 3\r\nContent-Length: 4\r\n\r\nabcd", "malformed",
       "conflicting Content-Length headers"},
      {ok + "Transfer-Encoding: gzip, chunked\r\n\r\n", "malformed",
       "unsupported Transfer-Encoding 'gzip, chunked'"},
      {chunked + "xyz\r\n", "malformed", "bad chunk size 'xyz'"},
      {chunked + "-1\r\n", "malformed", "bad chunk size '-1'"},
      {chunked + "0x10\r\n", "malformed", "bad chunk size '0x10'"},
      {chunked + std::string(5000, 'a'), "malformed", "chunk size line longer than 4096 bytes"},
      {chunked + "3\r\nabcdef\r\n", "malformed", "chunk data not followed by CRLF"},
      {chunked + "ffffffffffffffffffffff\r\n", "too_large", "response body larger than 4194304"},
      {chunked + "400001\r\n", "too_large", "response body larger than 4194304 bytes"},
      {ok + "Content-Length: 18446744073709551615\r\n\r\n", "too_large",
       "larger than 4194304 bytes (Content-Length: 18446744073709551615)"},
      {ok + "X-Big: " + std::string(70000, 'x') + "\r\n\r\n", "too_large",
       "response headers longer than 65536 bytes"},
      {chunked + "0\r\nX-Big: " + std::string(70000, 'x'), "too_large",
       "response trailers longer than 65536 bytes"},
      {ok + "Content-Length: 3\r\n\r\nab", "http",
       "connection closed before the response was complete (got 2 of 3 body bytes)"},
      {chunked + "5\r\nab", "http",
       "connection closed before the response was complete (in the chunked body, after 2 bytes)"},
      {ok + "Content-Type: text/plain\r\n", "http",
       "connection closed before the response was complete (in the headers)"},
      {"", "http", "Empty reply from server"},
  };
  for (const Refusal& refusal : refusals) {
    // Each is refused the same whether it arrives at once or byte by byte.
    for (std::size_t piece : {0, 1}) {
      const Parsed p = parse(refusal.answer, true, piece);
      ASSERT_FALSE(p.status.ok()) << refusal.answer.substr(0, 100);
      const Error& error = p.status.error();
      EXPECT_EQ(error.code, refusal.code) << error.message;
      EXPECT_NE(error.message.find(refusal.reason), std::string::npos) << error.message;
      EXPECT_EQ(error.message.find_first_of("\r\n"), std::string::npos) << error.message;
      EXPECT_LT(error.message.size(), 200u) << error.message;
    }
  }
}

TEST(ResponseParser, RefusesABodyPastTheLimitWhateverItsFraming) {
  const ResponseLimits limits{.max_head_bytes = 1024, .max_body = 4};
  for (const std::string& answer :
       {std::string("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello"),
        std::string("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n"),
        std::string("HTTP/1.1 200 OK\r\n\r\nhello")}) {
    const Parsed p = parse(answer, true, 0, limits);
    ASSERT_FALSE(p.status.ok()) << answer;
    EXPECT_EQ(p.status.error().code, "too_large");
    EXPECT_NE(p.status.error().message.find("response body larger than 4 bytes"), std::string::npos)
        << p.status.error().message;
  }
  const Parsed exact = parse("HTTP/1.1 200 OK\r\n\r\nhell", true, 0, limits);
  ASSERT_TRUE(exact.status.ok());
  EXPECT_EQ(exact.body, "hell");
}

TEST(ResponseParser, KeepsRefusingAfterTheFirstRefusal) {
  std::string body;
  ResponseParser parser(body, false);
  Status first = parser.feed("HTTP/9.9 200 OK\r\n");
  ASSERT_FALSE(first.ok());
  Status again = parser.feed("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.error().message, first.error().message);
  EXPECT_FALSE(parser.finish().ok());
  EXPECT_FALSE(parser.done());
}

}  // namespace
}  // namespace pso::agent::http
