// Who may call what, and what reaches a response header: read and operate
// tokens, api_read_requires_token, and data with CR/LF echoed into headers,
// all over real sockets against a real Controller or HttpServer.

#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "common/metrics.h"
#include "controller/config/controller_config.h"
#include "controller/service/api/access.h"
#include "controller/service/controller.h"
#include "controller/service/http_server.h"
#include "tests/controller/service/service_test_support.h"
#include "tests/controller/service/tls_test_support.h"

namespace pso::controller::service::testing {
namespace {

constexpr const char* kOperateToken = "operate-token-0123";
constexpr const char* kReadToken = "read-token-4567";
constexpr const char* kBareToken = "bare-token-89ab";

TEST(ApiTokensFile, EachLineGrantsItsRoleAndABareTokenOperates) {
  TempDir dir;
  std::ofstream(dir.file("tokens")) << "# operators\n"
                                    << kOperateToken << " operate\n\n"
                                    << "  " << kReadToken << "\tread  \n"
                                    << kBareToken << "\n";
  auto tokens = loadApiTokens(dir.file("tokens"));
  ASSERT_TRUE(tokens.ok()) << tokens.error().message;
  EXPECT_EQ(tokens.value(), (std::vector<ApiToken>{{kOperateToken, Role::kOperate},
                                                   {kReadToken, Role::kRead},
                                                   {kBareToken, Role::kOperate}}));
}

TEST(ApiTokensFile, ABadLineNamesFileAndLineButNeverTheToken) {
  TempDir dir;
  std::ofstream(dir.file("tokens")) << kOperateToken << " operate\n# c\nsecret-abc admin\n";
  auto bad_role = loadApiTokens(dir.file("tokens"));
  ASSERT_FALSE(bad_role.ok());
  EXPECT_EQ(bad_role.error().code, "config");
  EXPECT_NE(bad_role.error().message.find("api_tokens_file " + dir.file("tokens") + ":3: "),
            std::string::npos)
      << bad_role.error().message;
  EXPECT_NE(bad_role.error().message.find("expected read or operate"), std::string::npos);
  EXPECT_EQ(bad_role.error().message.find("secret-abc"), std::string::npos);

  std::ofstream(dir.file("three")) << "secret-abc read extra\n";
  auto extra = loadApiTokens(dir.file("three"));
  ASSERT_FALSE(extra.ok());
  EXPECT_NE(extra.error().message.find(":1: "), std::string::npos) << extra.error().message;
  EXPECT_EQ(extra.error().message.find("secret-abc"), std::string::npos);

  auto missing = loadApiTokens(dir.file("absent"));
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().code, "io");
}

// A real Controller on loopback with read, operate and bare tokens.
class HttpAccessTest : public ::testing::Test {
 protected:
  void TearDown() override { controller_.reset(); }

  Status start(bool read_requires_token, const std::string& tokens_text = "") {
    controller_.reset();
    ControllerConfig config;
    config.bind = "tcp://127.0.0.1:0";
    config.http = "127.0.0.1:0";
    config.db = dir_.file("controller.db");
    config.cycle_interval = std::chrono::hours(1);
    config.api_tokens_file = dir_.file("api-tokens");
    config.api_read_requires_token = read_requires_token;
    std::ofstream(config.api_tokens_file)
        << (tokens_text.empty() ? std::string(kOperateToken) + " operate\n" + kReadToken +
                                      " read\n" + kBareToken + "\n"
                                : tokens_text);
    controller_ = std::make_unique<Controller>(config, common::wallMs);
    return controller_->start();
  }
  uint16_t port() const { return controller_->httpPort(); }
  RawReply get(const std::string& target, const std::string& token = "") {
    return plainRequest(port(), "GET", target, token);
  }
  RawReply scale(const std::string& token, const std::string& system = "web") {
    const nlohmann::json body = {
        {"action", "scale"}, {"system", system}, {"replicas", 3}, {"reason", "test"}};
    return plainRequest(port(), "POST", "/api/v1/directives", token, body.dump());
  }

  TempDir dir_;
  std::unique_ptr<Controller> controller_;
};

TEST_F(HttpAccessTest, AReadTokenReadsButGets403OnOperateRoutes) {
  ASSERT_TRUE(start(false).ok());
  EXPECT_EQ(get("/api/v1/systems", kReadToken).status, 200);
  EXPECT_EQ(get("/api/v1/directives", kReadToken).status, 200);

  const RawReply refused = scale(kReadToken);
  EXPECT_EQ(refused.status, 403) << refused.body;
  EXPECT_EQ(refused.headers.at("www-authenticate"), "Bearer error=\"insufficient_scope\"");
  EXPECT_NE(refused.body.find("a read token may not use the mutating API"), std::string::npos)
      << refused.body;

  // Operate and bare tokens pass the policy: the unknown system is the
  // handler's 422, not an auth refusal.
  EXPECT_EQ(scale(kOperateToken).status, 422);
  EXPECT_EQ(scale(kBareToken).status, 422);

  const RawReply unknown = scale("not-a-token");
  EXPECT_EQ(unknown.status, 401);
  EXPECT_EQ(unknown.headers.at("www-authenticate"), "Bearer");
  EXPECT_EQ(scale("").status, 401);
}

TEST_F(HttpAccessTest, AnonymousCallersReadByDefault) {
  ASSERT_TRUE(start(false).ok());
  EXPECT_EQ(get("/api/v1/systems").status, 200);
  EXPECT_EQ(get("/api/v1/scenarios").status, 200);
}

TEST_F(HttpAccessTest, ReadRequiresTokenLeavesOnlyStatusAndMetricsOpen) {
  ASSERT_TRUE(start(true).ok());
  for (const char* target :
       {"/api/v1/agents", "/api/v1/systems", "/api/v1/systems/web", "/api/v1/cycles",
        "/api/v1/directives", "/api/v1/scenarios", "/api/v1/scenarios/export?format=jsonl"}) {
    const RawReply anonymous = get(target);
    EXPECT_EQ(anonymous.status, 401) << target;
    EXPECT_EQ(anonymous.headers.count("www-authenticate"), 1u) << target;
    EXPECT_EQ(get(target, "wrong-token").status, 401) << target;
    EXPECT_NE(get(target, kReadToken).status, 401) << target;
    EXPECT_NE(get(target, kReadToken).status, 403) << target;
    EXPECT_NE(get(target, kOperateToken).status, 401) << target;
  }
  EXPECT_EQ(get("/api/v1/systems", kReadToken).status, 200);
  EXPECT_EQ(get("/api/v1/systems", kBareToken).status, 200);
  EXPECT_EQ(get("/metrics").status, 200);
  EXPECT_EQ(get("/api/v1/status").status, 200);
  EXPECT_EQ(scale(kReadToken).status, 403);
  EXPECT_EQ(scale(kOperateToken).status, 422);
}

TEST_F(HttpAccessTest, ABadRoleStopsTheStartNamingFileAndLine) {
  auto status = start(false, std::string(kOperateToken) + " operate\nsecret-x reader\n");
  ASSERT_FALSE(status.ok());
  EXPECT_NE(status.error().message.find(dir_.file("api-tokens") + ":2: "), std::string::npos)
      << status.error().message;
  EXPECT_EQ(status.error().message.find("secret-x"), std::string::npos);
}

TEST(ControllerConfigSecurity, ReadRequiresTokenNeedsATokensFile) {
  auto refused =
      parseControllerConfig("controller:\n  api_read_requires_token: true\n", "test.yaml");
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.error().message.find("api_read_requires_token"), std::string::npos)
      << refused.error().message;
  auto accepted = parseControllerConfig(
      "controller:\n  api_read_requires_token: true\n  api_tokens_file: /etc/pso/api-tokens\n",
      "test.yaml");
  ASSERT_TRUE(accepted.ok()) << accepted.error().message;
  EXPECT_TRUE(accepted->api_read_requires_token);
  EXPECT_FALSE(parseControllerConfig("", "empty.yaml")->api_read_requires_token);
}

TEST(ControllerConfigSecurity, HttpTlsTakesBothFilesRelativeToTheConfigFile) {
  auto both = parseControllerConfig(
      "controller:\n  http_tls:\n    cert_file: tls/api.crt\n    key_file: /k/api.key\n",
      "/etc/pso/controller.yaml");
  ASSERT_TRUE(both.ok()) << both.error().message;
  EXPECT_EQ(both->http_tls.cert_file, "/etc/pso/tls/api.crt");
  EXPECT_EQ(both->http_tls.key_file, "/k/api.key");
  EXPECT_TRUE(both->http_tls.enabled());
  EXPECT_FALSE(parseControllerConfig("", "empty.yaml")->http_tls.enabled());

  auto one =
      parseControllerConfig("controller:\n  http_tls:\n    key_file: /k/api.key\n", "test.yaml");
  ASSERT_FALSE(one.ok());
  EXPECT_NE(one.error().message.find("controller.http_tls"), std::string::npos)
      << one.error().message;
  EXPECT_NE(one.error().message.find("give both cert_file and key_file, or neither"),
            std::string::npos)
      << one.error().message;
}

TEST(HeaderValue, ControlCharactersBecomeSpacesAndNamesMustBeTokens) {
  EXPECT_EQ(headerValue(std::string("a\r\nSet-Cookie: x\0y\x7fz\tw", 22)),
            "a  Set-Cookie: x y z\tw");
  EXPECT_EQ(headerValue("/api/v1/directives?system=web"), "/api/v1/directives?system=web");
  EXPECT_TRUE(isHeaderName("X-Scenario-Count"));
  EXPECT_TRUE(isHeaderName("WWW-Authenticate"));
  EXPECT_FALSE(isHeaderName(""));
  EXPECT_FALSE(isHeaderName("Bad Name"));
  EXPECT_FALSE(isHeaderName("Bad:Name"));
  EXPECT_FALSE(isHeaderName("X\r\nInjected"));
}

std::string percentDecoded(const std::string& text) {
  std::string out;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '%' && i + 2 < text.size()) {
      out.push_back(static_cast<char>(std::stoi(text.substr(i + 1, 2), nullptr, 16)));
      i += 2;
    } else {
      out.push_back(text[i]);
    }
  }
  return out;
}

// Nothing a handler copies from the request can start a header of its own.
void expectNoInjectedHeader(const RawReply& reply) {
  ASSERT_NE(reply.status, 0);
  EXPECT_EQ(reply.head.find("\r\nSet-Cookie"), std::string::npos) << reply.head;
  EXPECT_EQ(reply.head.find("\r\nX-Injected"), std::string::npos) << reply.head;
  for (const std::string& name : reply.names) {
    EXPECT_NE(name, "set-cookie") << reply.head;
    EXPECT_NE(name, "x-injected") << reply.head;
  }
  // Exactly one CR LF ends each line: none is left bare inside a value.
  for (std::size_t i = 0; i < reply.head.size(); ++i) {
    if (reply.head[i] == '\n') {
      EXPECT_TRUE(i > 0 && reply.head[i - 1] == '\r') << reply.head;
    }
    if (reply.head[i] == '\r') {
      EXPECT_TRUE(i + 1 < reply.head.size() && reply.head[i + 1] == '\n') << reply.head;
    }
  }
}

TEST(HttpHeaders, DataWithCrLfEchoedIntoHeadersStaysInItsLine) {
  common::MetricsRegistry metrics;
  // A handler that does what a careless one might: the decoded path in a
  // Location, a Content-Disposition file name, its content type and a header
  // name.
  HttpServer server(
      [](const HttpRequest& request) {
        const std::string path = percentDecoded(request.target);
        HttpResponse response{201, "text/plain; name=" + path, "ok", {}};
        response.headers.emplace_back("Location", path);
        response.headers.emplace_back("Content-Disposition",
                                      "attachment; filename=\"" + path + ".jsonl\"");
        response.headers.emplace_back("X-Injected\r\nSet-Cookie", "a=1");
        return response;
      },
      metrics);
  ASSERT_TRUE(server.start("127.0.0.1:0").ok());
  const RawReply reply =
      plainRequest(server.port(), "GET", "/web%0d%0aSet-Cookie:%20a=1%0aX-Injected:%201%00");
  EXPECT_EQ(reply.status, 201) << reply.head;
  expectNoInjectedHeader(reply);
  // (Beast drops the blank the NUL became at the end of the value.)
  EXPECT_EQ(reply.headers.at("location"), "/web  Set-Cookie: a=1 X-Injected: 1");
  EXPECT_EQ(reply.headers.at("content-disposition"),
            "attachment; filename=\"/web  Set-Cookie: a=1 X-Injected: 1 .jsonl\"");
  EXPECT_EQ(reply.body, "ok");
}

TEST_F(HttpAccessTest, CrLfInThePathOrBodyOfRealApiRequestsReachesNoHeader) {
  ASSERT_TRUE(start(false).ok());
  expectNoInjectedHeader(get("/api/v1/systems/web%0d%0aSet-Cookie:%20a=1"));
  expectNoInjectedHeader(get("/api/v1/systems/web%0d%0aX-Injected:%201/forecast"));
  expectNoInjectedHeader(get("/api/v1/scenarios/x%0d%0aSet-Cookie:%20a=1"));
  expectNoInjectedHeader(
      get("/api/v1/scenarios/export?format=jsonl%0d%0aSet-Cookie:%20a=1&system=a%0d%0ab"));
  expectNoInjectedHeader(scale(kOperateToken, "web\r\nSet-Cookie: a=1"));
  expectNoInjectedHeader(
      plainRequest(port(), "DELETE", "/api/v1/directives%0d%0aSet-Cookie:%20a=1"));
  expectNoInjectedHeader(plainRequest(port(), "PUT", "/api/v1/directives"));
}

}  // namespace
}  // namespace pso::controller::service::testing
