// The HTTP API over TLS: a real HttpServer and a real pso-controller serving
// HTTPS on loopback with a certificate made at run time, called through
// psoctl's libcurl transfer and psoctl itself; plain HTTP, broken and silent
// handshakes are refused, counted and never stop the server.

#include <gtest/gtest.h>

#include <openssl/bio.h>
#include <openssl/ssl.h>
#include <atomic>
#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <fstream>
#include <nlohmann/json.hpp>

#include "common/metrics.h"
#include "common/http_transfer.h"
#include "controller/service/http_server.h"
#include "tests/controller/service/service_test_support.h"
#include "tests/controller/service/tls_test_support.h"

namespace pso::controller::service::testing {
namespace {

using pso::testing::runCommand;

// An HTTPS server whose handler answers "hello <target>" and counts its calls.
class HttpsServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    writeSelfSignedCertificate(cert(), key());
    options_.tls_cert_file = cert();
    options_.tls_key_file = key();
  }
  void TearDown() override { server_.reset(); }

  void startServer() {
    server_ = std::make_unique<HttpServer>(
        [this](const HttpRequest& request) {
          ++handled_;
          return HttpResponse{200, "text/plain", "hello " + request.target, {}};
        },
        metrics_, options_);
    auto status = server_->start("127.0.0.1:0");
    ASSERT_TRUE(status.ok()) << status.error().message;
    ASSERT_TRUE(server_->tls());
  }

  std::string url(const std::string& path) const {
    return "https://127.0.0.1:" + std::to_string(server_->port()) + path;
  }
  Result<common::HttpReply> get(const std::string& path, const std::string& ca_file) const {
    common::HttpTransfer transfer;
    transfer.url = url(path);
    transfer.ca_file = ca_file;
    return common::performTransfer(transfer);
  }
  double failures(const std::string& reason) const {
    return metrics_.value("pso_http_tls_handshake_failures_total", {{"reason", reason}});
  }
  // The server still answers HTTPS (after something it refused).
  void expectServing() {
    auto reply = get("/again", cert());
    ASSERT_TRUE(reply.ok()) << reply.error().message;
    EXPECT_EQ(reply->status, 200);
    EXPECT_EQ(reply->body, "hello /again");
  }

  std::string cert() const { return dir_.file("server.crt"); }
  std::string key() const { return dir_.file("server.key"); }

  TempDir dir_;
  common::MetricsRegistry metrics_;
  HttpServerOptions options_;
  std::atomic<int> handled_{0};
  std::unique_ptr<HttpServer> server_;
};

TEST_F(HttpsServerTest, ServesAClientThatTrustsTheCertificate) {
  startServer();
  auto reply = get("/api/v1/status?x=1", cert());
  ASSERT_TRUE(reply.ok()) << reply.error().message;
  EXPECT_EQ(reply->status, 200);
  EXPECT_EQ(reply->body, "hello /api/v1/status?x=1");

  common::HttpTransfer post;
  post.method = "POST";
  post.url = url("/api/v1/directives");
  post.body = R"({"system":"web"})";
  post.ca_file = cert();
  auto posted = common::performTransfer(post);
  ASSERT_TRUE(posted.ok()) << posted.error().message;
  EXPECT_EQ(posted->status, 200);
  EXPECT_EQ(handled_.load(), 2);
  EXPECT_EQ(metrics_.value("pso_http_requests_total", {{"code", "200"}}), 2);
}

TEST_F(HttpsServerTest, AClientThatDoesNotTrustTheCertificateStopsAndIsCounted) {
  startServer();
  auto reply = get("/status", "");
  ASSERT_FALSE(reply.ok());
  EXPECT_EQ(reply.error().code, "unreachable");
  EXPECT_NE(reply.error().message.find("certificate"), std::string::npos) << reply.error().message;
  EXPECT_TRUE(waitFor([&] { return failures("handshake") >= 1; }, std::chrono::seconds(20)));
  EXPECT_EQ(handled_.load(), 0);
  expectServing();
}

TEST_F(HttpsServerTest, PlainHttpIsAnsweredWith400AndDisconnected) {
  startServer();
  const RawReply reply = plainRequest(server_->port(), "GET", "/api/v1/status");
  EXPECT_EQ(reply.status, 400) << reply.head;
  EXPECT_NE(reply.body.find("HTTPS only"), std::string::npos) << reply.body;
  EXPECT_NE(reply.body.find("https://"), std::string::npos) << reply.body;
  EXPECT_EQ(failures("not_tls"), 1);
  EXPECT_EQ(handled_.load(), 0);
  expectServing();
}

TEST_F(HttpsServerTest, ABrokenHandshakeIsCountedAndNeverReachesTheHandler) {
  startServer();
  // A TLS record with the start of a ClientHello, then bytes that are not one.
  const std::string garbage =
      std::string("\x16\x03\x01\x00\x40\x01\x00\x00\x3c", 9) + std::string(60, '\x7f');
  EXPECT_TRUE(serverClosesAfter(server_->port(), garbage, std::chrono::seconds(30)));
  EXPECT_TRUE(waitFor([&] { return failures("handshake") >= 1; }, std::chrono::seconds(20)));
  EXPECT_EQ(handled_.load(), 0);
  expectServing();
}

// The first flight of a TLS client: a ClientHello, from OpenSSL on memory
// buffers.
std::string clientHello() {
  SSL_CTX* context = SSL_CTX_new(TLS_client_method());
  SSL* ssl = SSL_new(context);
  BIO* in = BIO_new(BIO_s_mem());
  BIO* out = BIO_new(BIO_s_mem());
  SSL_set_bio(ssl, in, out);  // the SSL owns both now
  SSL_set_connect_state(ssl);
  (void)SSL_do_handshake(ssl);  // wants to read the ServerHello
  char* data = nullptr;
  const long size = BIO_get_mem_data(out, &data);
  std::string hello(data, static_cast<std::size_t>(size));
  SSL_free(ssl);
  SSL_CTX_free(context);
  return hello;
}

TEST_F(HttpsServerTest, AClientThatStallsIsDisconnectedAtTheHandshakeTimeout) {
  options_.tls_handshake_timeout = std::chrono::milliseconds(300);
  startServer();
  // Nothing at all, and the first bytes of a record that never completes:
  // either way the server lets go instead of waiting for ever.
  EXPECT_TRUE(serverClosesAfter(server_->port(), "", std::chrono::seconds(30)));
  EXPECT_TRUE(
      serverClosesAfter(server_->port(), std::string("\x16\x03\x01", 3), std::chrono::seconds(30)));
  // A whole ClientHello, then silence where the client's Finished should be.
  EXPECT_TRUE(serverClosesAfter(server_->port(), clientHello(), std::chrono::seconds(30)));
  EXPECT_TRUE(waitFor([&] { return failures("timeout") >= 3; }, std::chrono::seconds(20)));
  EXPECT_EQ(handled_.load(), 0);
  expectServing();
}

// A client limited to `max_version` (0: no limit) completes a handshake?
bool handshakes(uint16_t port, const std::string& ca_file, int max_version) {
  namespace asio = boost::asio;
  asio::io_context io;
  asio::ssl::context context(asio::ssl::context::tls_client);
  // Security level 0 lets this client offer TLS 1.0 and 1.1 at all, so the
  // refusal below is the server's.
  SSL_CTX_set_security_level(context.native_handle(), 0);
  SSL_CTX_set_min_proto_version(context.native_handle(), TLS1_VERSION);
  if (max_version != 0) SSL_CTX_set_max_proto_version(context.native_handle(), max_version);
  context.load_verify_file(ca_file);
  context.set_verify_mode(asio::ssl::verify_peer);
  asio::ssl::stream<asio::ip::tcp::socket> stream(io, context);
  boost::system::error_code ec;
  stream.next_layer().connect(asio::ip::tcp::endpoint(asio::ip::make_address("127.0.0.1"), port),
                              ec);
  if (ec) return false;
  stream.handshake(asio::ssl::stream_base::client, ec);
  return !ec;
}

TEST_F(HttpsServerTest, RefusesTls11AndAcceptsTls12AndLater) {
  startServer();
  EXPECT_FALSE(handshakes(server_->port(), cert(), TLS1_1_VERSION));
  EXPECT_TRUE(waitFor([&] { return failures("handshake") >= 1; }, std::chrono::seconds(20)));
  EXPECT_TRUE(handshakes(server_->port(), cert(), TLS1_2_VERSION));
  EXPECT_TRUE(handshakes(server_->port(), cert(), 0));
}

TEST_F(HttpsServerTest, StartRefusesUnusableFilesInOneLineNamingTheFile) {
  const auto refusal = [&](const std::string& cert_file, const std::string& key_file) {
    common::MetricsRegistry metrics;
    HttpServerOptions options;
    options.tls_cert_file = cert_file;
    options.tls_key_file = key_file;
    HttpServer server([](const HttpRequest&) { return HttpResponse{}; }, metrics, options);
    auto status = server.start("127.0.0.1:0");
    EXPECT_FALSE(status.ok());
    if (status.ok()) return std::string();
    EXPECT_EQ(status.error().code, "tls");
    EXPECT_EQ(status.error().message.find('\n'), std::string::npos) << status.error().message;
    return status.error().message;
  };
  const std::string missing = dir_.file("missing.crt");
  EXPECT_NE(refusal(missing, key()).find("http_tls.cert_file " + missing + ": cannot read"),
            std::string::npos);
  EXPECT_NE(refusal(cert(), dir_.file("missing.key")).find("http_tls.key_file"), std::string::npos);

  std::ofstream(dir_.file("garbage.crt")) << "not a certificate\n";
  const std::string garbage = refusal(dir_.file("garbage.crt"), key());
  EXPECT_NE(garbage.find("http_tls.cert_file " + dir_.file("garbage.crt")), std::string::npos)
      << garbage;
  EXPECT_NE(garbage.find("not a usable PEM certificate"), std::string::npos) << garbage;

  // The key is a certificate: not a key at all.
  const std::string not_key = refusal(cert(), cert());
  EXPECT_NE(not_key.find("http_tls.key_file " + cert()), std::string::npos) << not_key;

  // A key, but of another certificate.
  writeSelfSignedCertificate(dir_.file("other.crt"), dir_.file("other.key"));
  const std::string mismatch = refusal(cert(), dir_.file("other.key"));
  EXPECT_NE(mismatch.find("does not belong to the certificate in " + cert()), std::string::npos)
      << mismatch;

  EXPECT_NE(refusal(cert(), "").find("both"), std::string::npos);
}

// The real controller and psoctl, as an operator runs them.
class ControllerOverHttpsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    writeSelfSignedCertificate(dir_.file("server.crt"), dir_.file("server.key"));
    std::ofstream(dir_.file("api-tokens")) << "op-token operate\nviewer-token read\n";
  }

  std::string yaml(const std::string& cert_file, const std::string& key_file) const {
    return "controller:\n"
           "  cycle_interval: 1h\n"
           "  api_tokens_file: " +
           dir_.file("api-tokens") +
           "\n"
           "  http_tls:\n"
           "    cert_file: " +
           cert_file + "\n    key_file: " + key_file + "\n";
  }

  pso::testing::CommandOutput psoctl(const std::string& api, const std::vector<std::string>& args,
                                     const std::vector<std::string>& env = {}) const {
    std::vector<std::string> argv{PSO_PSOCTL_BIN, "--api", api};
    argv.insert(argv.end(), args.begin(), args.end());
    return runCommand(argv, env);
  }

  TempDir dir_;
};

TEST_F(ControllerOverHttpsTest, PsoctlTalksHttpsWithCaFileOrEnvironment) {
  ControllerChild controller(dir_, yaml(dir_.file("server.crt"), dir_.file("server.key")));
  ASSERT_FALSE(controller.address().empty()) << controller.log();
  const std::string https = "https://" + controller.address();

  auto status = psoctl(https, {"--ca-file", dir_.file("server.crt"), "--json", "status"});
  ASSERT_EQ(status.exit_code, 0) << status.err;
  EXPECT_EQ(nlohmann::json::parse(status.out, nullptr, false).value("controller_id", ""),
            "pso-controller")
      << status.out;

  auto from_env = psoctl(https, {"systems"}, {"PSO_CA_FILE=" + dir_.file("server.crt")});
  EXPECT_EQ(from_env.exit_code, 0) << from_env.err;

  // Tokens travel as before, now inside TLS: a read token may not operate.
  auto scale = psoctl(https, {"--ca-file", dir_.file("server.crt"), "--token", "viewer-token",
                              "directive", "scale", "web", "--replicas", "3", "--reason", "t"});
  EXPECT_EQ(scale.exit_code, 1);
  EXPECT_NE(scale.err.find("controller answered 403"), std::string::npos) << scale.err;

  auto untrusted = psoctl(https, {"status"});
  EXPECT_EQ(untrusted.exit_code, 1);
  EXPECT_NE(untrusted.err.find("certificate"), std::string::npos) << untrusted.err;

  auto plain = psoctl("http://" + controller.address(), {"status"});
  EXPECT_EQ(plain.exit_code, 1);
  EXPECT_NE(plain.err.find("HTTPS only"), std::string::npos) << plain.err;

  EXPECT_TRUE(controller.process().running()) << controller.log();
  EXPECT_EQ(controller.log().find("HTTP API " + controller.address() + " speaks plain HTTP"),
            std::string::npos);
}

TEST_F(ControllerOverHttpsTest, AnUnreadableKeyStopsTheStartWithOneLineNamingIt) {
  const std::string missing = dir_.file("absent.key");
  ControllerChild controller(dir_, yaml(dir_.file("server.crt"), missing));
  EXPECT_TRUE(controller.address().empty());
  EXPECT_EQ(controller.process().wait(std::chrono::seconds(20)), 2);
  const std::string log = controller.log();
  EXPECT_NE(log.find("pso-controller: http_tls.key_file " + missing + ": cannot read"),
            std::string::npos)
      << log;
}

TEST_F(ControllerOverHttpsTest, OneFileWithoutTheOtherIsAConfigError) {
  std::ofstream(dir_.file("controller.yaml"))
      << "controller:\n  http_tls:\n    cert_file: " << dir_.file("server.crt") << "\n";
  auto run = runCommand({PSO_CONTROLLER_BIN, "--config", dir_.file("controller.yaml"), "--db",
                         dir_.file("c.db"), "--http", "127.0.0.1:0"});
  EXPECT_EQ(run.exit_code, 2);
  EXPECT_NE(run.err.find("controller.http_tls"), std::string::npos) << run.err;
  EXPECT_NE(run.err.find("both cert_file and key_file"), std::string::npos) << run.err;
}

}  // namespace
}  // namespace pso::controller::service::testing
