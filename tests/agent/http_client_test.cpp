// HttpClient against real loopback sockets: the built-in plain-HTTP client
// with a server that answers canned bytes (chunked and close-delimited
// bodies, interim answers, oversize bodies, silence and refusal), and the
// libcurl path for https://.

#include <gtest/gtest.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <string>
#include <thread>

#include "agent/http_client.h"
#include "http_loopback_port.h"
#include "http_test_server.h"

namespace pso::agent {
namespace {

using namespace std::chrono_literals;
using testing::HttpTestServer;
using testing::LoopbackPort;

// Accepts one connection on 127.0.0.1, reads the request head, writes
// `answer` (unless empty) and closes; keeps the request for the test.
class CannedServer {
 public:
  explicit CannedServer(std::string answer, bool close_after = true)
      : answer_(std::move(answer)), close_after_(close_after) {
    thread_ = std::thread([this] { serve(); });
  }
  ~CannedServer() { thread_.join(); }
  std::string url(const std::string& path) const { return port_.url("http", path); }
  const std::string& request() const { return request_; }

 private:
  void serve() {
    pollfd p{port_.fd(), POLLIN, 0};
    if (::poll(&p, 1, 5000) <= 0) return;
    int fd = ::accept(port_.fd(), nullptr, nullptr);
    char buffer[4096];
    while (request_.find("\r\n\r\n") == std::string::npos) {
      pollfd q{fd, POLLIN, 0};
      if (::poll(&q, 1, 5000) <= 0) break;
      ssize_t n = ::recv(fd, buffer, sizeof buffer, 0);
      if (n <= 0) break;
      request_.append(buffer, static_cast<std::size_t>(n));
    }
    if (!answer_.empty()) ::send(fd, answer_.data(), answer_.size(), MSG_NOSIGNAL);
    if (!close_after_) {
      // Hold the connection open until the client gives up.
      pollfd q{fd, POLLIN, 0};
      ::poll(&q, 1, 5000);
    }
    ::close(fd);
  }

  std::string answer_;
  bool close_after_;
  LoopbackPort port_{/*listening=*/true};
  std::string request_;
  std::thread thread_;
};

HttpRequest get(const std::string& url) {
  HttpRequest request;
  request.url = url;
  request.timeout = 2s;
  return request;
}

TEST(HttpClient, ReadsAChunkedBodyWithTrailers) {
  CannedServer server(
      "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
      "5;ext=1\r\nhello\r\n7\r\n, world\r\n0\r\nX-Trailer: 1\r\n\r\n");
  HttpClient client;
  HttpResponse response;
  Status status = client.perform(get(server.url("/metrics?x=1")), response);
  ASSERT_TRUE(status.ok()) << status.error().message;
  EXPECT_EQ(response.status, 200);
  EXPECT_EQ(response.body, "hello, world");
  EXPECT_EQ(server.request().rfind("GET /metrics?x=1 HTTP/1.1\r\n", 0), 0u) << server.request();
  EXPECT_NE(server.request().find("Host: 127.0.0.1:"), std::string::npos);
}

TEST(HttpClient, ReadsABodyDelimitedByCloseAfterAnInterimAnswer) {
  CannedServer server("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.0 503 Busy\r\n\r\noverloaded\n");
  HttpClient client;
  HttpResponse response;
  ASSERT_TRUE(client.perform(get(server.url("/")), response).ok());
  EXPECT_EQ(response.status, 503);
  EXPECT_EQ(response.body, "overloaded\n");
}

TEST(HttpClient, SendsTheBodyWithItsLength) {
  HttpTestServer server([](const HttpTestServer::Request& request) {
    return HttpTestServer::Response{201, request.method + " " + request.body};
  });
  HttpRequest request = get(server.url("/things"));
  request.method = "PATCH";
  request.body = R"({"spec":{"replicas":3}})";
  request.headers = {"Content-Type: application/merge-patch+json"};
  HttpClient client;
  HttpResponse response;
  ASSERT_TRUE(client.perform(request, response).ok());
  EXPECT_EQ(response.status, 201);
  EXPECT_EQ(response.body, std::string("PATCH ") + request.body);
  ASSERT_EQ(server.requests().size(), 1u);
  EXPECT_EQ(server.requests()[0].headers.at("content-type"), "application/merge-patch+json");
}

TEST(HttpClient, RefusesAnOversizeBodyAndAMalformedAnswer) {
  {
    CannedServer server("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n" + std::string(100, 'x'));
    HttpRequest request = get(server.url("/big"));
    request.max_body = 10;
    HttpClient client;
    HttpResponse response;
    Status status = client.perform(request, response);
    ASSERT_FALSE(status.ok());
    EXPECT_EQ(status.error().code, "too_large");
    EXPECT_NE(status.error().message.find("GET " + request.url), std::string::npos);
  }
  {
    CannedServer server("SSH-2.0-OpenSSH_9.2\r\n\r\n");
    HttpClient client;
    HttpResponse response;
    Status status = client.perform(get(server.url("/")), response);
    ASSERT_FALSE(status.ok());
    EXPECT_EQ(status.error().code, "malformed");
    EXPECT_NE(status.error().message.find("bad status line 'SSH-2.0"), std::string::npos)
        << status.error().message;
  }
  {
    CannedServer server("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort");
    HttpClient client;
    HttpResponse response;
    Status status = client.perform(get(server.url("/")), response);
    ASSERT_FALSE(status.ok());
    EXPECT_NE(status.error().message.find("closed before the response was complete"),
              std::string::npos)
        << status.error().message;
  }
}

TEST(HttpClient, SilenceTimesOutAndBadUrlsAreRefused) {
  CannedServer server("", /*close_after=*/false);
  HttpRequest request = get(server.url("/slow"));
  request.timeout = 200ms;
  HttpClient client;
  HttpResponse response;
  Status status = client.perform(request, response);
  ASSERT_FALSE(status.ok());
  EXPECT_EQ(status.error().code, "timeout");
  EXPECT_NE(status.error().message.find("Timeout was reached"), std::string::npos);

  EXPECT_EQ(checkHttpSupport("ftp://127.0.0.1/").error().code, "invalid");
  EXPECT_EQ(checkHttpSupport("http://127.0.0.1:99999/").error().code, "invalid");
  EXPECT_TRUE(checkHttpSupport("http://[::1]:8080/healthz").ok());
  Status bad = client.perform(get("gopher://127.0.0.1/"), response);
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().message.find("only http:// and https://"), std::string::npos);
}

TEST(HttpClient, HttpsGoesThroughLibcurlAndReportsItsReason) {
  const LoopbackPort refusing(/*listening=*/false);
  const std::string url = refusing.url("https", "/healthz");

  ASSERT_TRUE(checkHttpSupport(url).ok());
  HttpClient client;
  HttpResponse response;
  Status status = client.perform(get(url), response);
  ASSERT_FALSE(status.ok());
  EXPECT_EQ(status.error().code, "http");
  EXPECT_EQ(status.error().message.rfind("GET " + url + ": Couldn't connect to server", 0), 0u)
      << status.error().message;
}

}  // namespace
}  // namespace pso::agent
