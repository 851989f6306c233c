#include "protocol/names.h"

#include <gtest/gtest.h>

#include <string>

#include "protocol/codec.h"
#include "tests/protocol/message_samples.h"

namespace pso::protocol {
namespace {

TEST(Names, IdsAndSystemsTakeHostNameCharacters) {
  for (const char* name : {"web", "edge-01", "db-01.eu", "A_b.c-9", "7"}) {
    EXPECT_TRUE(isValidName(name, NameKind::kAgentId)) << name;
    EXPECT_TRUE(isValidName(name, NameKind::kSystem)) << name;
  }
  EXPECT_TRUE(isValidName(std::string(64, 'a'), NameKind::kSystem));
  EXPECT_FALSE(isValidName(std::string(65, 'a'), NameKind::kSystem));
  EXPECT_FALSE(isValidName("", NameKind::kAgentId));
  EXPECT_FALSE(isValidName("-web", NameKind::kSystem));
  EXPECT_FALSE(isValidName(".hidden", NameKind::kAgentId));
  EXPECT_FALSE(isValidName("web app", NameKind::kSystem));
  EXPECT_FALSE(isValidName("web/../etc", NameKind::kAgentId));
  EXPECT_FALSE(isValidName("a:b", NameKind::kSystem));
}

TEST(Names, MetricsAlsoTakeColonsSlashesAndALeadingUnderscore) {
  for (const char* name :
       {"cpu.usage", "http_requests_total", "job:rate5m", "_private", "fs.used_bytes:/var/lib"}) {
    EXPECT_TRUE(isValidName(name, NameKind::kMetric)) << name;
  }
  EXPECT_TRUE(isValidName(std::string(128, 'm'), NameKind::kMetric));
  EXPECT_FALSE(isValidName(std::string(129, 'm'), NameKind::kMetric));
  EXPECT_FALSE(isValidName("/abs", NameKind::kMetric));
  EXPECT_FALSE(isValidName("a b", NameKind::kMetric));
}

TEST(Names, TheProblemNamesTheCharacterAndWhere) {
  EXPECT_EQ(nameProblem("web\r\nX-Injected: 1", NameKind::kSystem),
            "character 0x0d at 3 is not allowed (letters, digits, '.', '_', '-')");
  EXPECT_EQ(nameProblem("", NameKind::kAgentId), "must be 1-64 characters, got 0");
  EXPECT_EQ(nameProblem("-x", NameKind::kSystem), "must start with a letter or digit, got 0x2d");
  EXPECT_EQ(nameProblem("ok", NameKind::kSystem), "");
}

// The codec applies the rules to every name an agent sends.
Error refusalOf(const Message& message) {
  auto decoded = decode(encode(message));
  EXPECT_FALSE(decoded.ok());
  return decoded.ok() ? Error{} : decoded.error();
}

TEST(Names, CodecRefusesACrLfSystemNameInHello) {
  Hello hello = testing::sampleHello();
  hello.systems[1].name = "api\r\nSet-Cookie: x";
  const Error e = refusalOf(hello);
  EXPECT_EQ(e.code, "invalid_name");
  EXPECT_EQ(e.message,
            "hello: field 'systems[1].name' is not a valid name: character 0x0d at 3 is not "
            "allowed (letters, digits, '.', '_', '-')");
  hello = testing::sampleHello();
  hello.systems[0].depends_on = {"api", "d b"};
  EXPECT_EQ(refusalOf(hello).message,
            "hello: field 'systems[0].depends_on[1]' is not a valid name: character 0x20 at 1 is "
            "not allowed (letters, digits, '.', '_', '-')");
}

TEST(Names, CodecRefusesBadIdsAndSeriesNamesInEveryAgentMessage) {
  TelemetryBatch batch = testing::sampleTelemetry();
  batch.agent_id = "edge\n01";
  EXPECT_EQ(refusalOf(batch).code, "invalid_name");
  batch = testing::sampleTelemetry();
  batch.series[0].metric = "demand rate";
  EXPECT_NE(refusalOf(batch).message.find("field 'series[0][1]'"), std::string::npos);
  batch = testing::sampleTelemetry();
  batch.series[1].system = std::string(65, 'w');
  EXPECT_NE(refusalOf(batch).message.find("field 'series[1][0]'"), std::string::npos);

  Health health = testing::sampleHealth();
  health.checks[0].system = "w\teb";
  EXPECT_EQ(refusalOf(health).code, "invalid_name");
  DirectiveResult result = testing::sampleResult();
  result.system = "../web";
  EXPECT_EQ(refusalOf(result).code, "invalid_name");
  Heartbeat heartbeat = testing::sampleHeartbeat();
  heartbeat.agent_id = "x y";
  EXPECT_EQ(refusalOf(heartbeat).code, "invalid_name");
  Directive directive = testing::sampleScaleDirective();
  directive.system = "web\r";
  EXPECT_EQ(refusalOf(directive).code, "invalid_name");
}

TEST(Names, HostSeriesKeepTheirEmptySystem) {
  TelemetryBatch batch = testing::sampleTelemetry();
  ASSERT_EQ(batch.series[2].system, "");
  EXPECT_TRUE(decode(encode(batch)).ok());
}

}  // namespace
}  // namespace pso::protocol
