// psoctl keygen, run as the real binary.

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "common/curve_keys.h"
#include "tests/support/process.h"

namespace pso::testing {
namespace {

CommandOutput psoctl(const std::vector<std::string>& args) {
  std::vector<std::string> argv{PSOCTL_BIN};
  argv.insert(argv.end(), args.begin(), args.end());
  return runCommand(argv);
}

TEST(PsoctlKeygen, WritesAKeyPairTheControllerAndAgentCanRead) {
  TempDir dir;
  const std::string prefix = dir.file("edge-01");
  auto r = psoctl({"--json", "keygen", "--out", prefix});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto doc = nlohmann::json::parse(r.out);
  auto secret = common::readCurveSecretKeyFile(prefix + ".key");
  ASSERT_TRUE(secret.ok()) << secret.error().message;
  auto pub = common::readCurvePublicKeyFile(prefix + ".pub");
  ASSERT_TRUE(pub.ok()) << pub.error().message;
  EXPECT_EQ(secret->public_key, *pub);
  EXPECT_EQ(doc["public_key"], *pub);
  struct stat st{};
  ASSERT_EQ(::stat((prefix + ".key").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
}

TEST(PsoctlKeygen, RefusesToOverwriteAKeyInUse) {
  TempDir dir;
  const std::string prefix = dir.file("controller");
  ASSERT_EQ(psoctl({"keygen", "--out", prefix}).exit_code, 0);
  const std::string before = *common::readCurvePublicKeyFile(prefix + ".pub");
  auto again = psoctl({"keygen", "--out", prefix});
  EXPECT_NE(again.exit_code, 0);
  EXPECT_EQ(again.err, "psoctl: " + prefix + ".key: already exists; not overwritten\n");
  EXPECT_EQ(*common::readCurvePublicKeyFile(prefix + ".pub"), before);
}

}  // namespace
}  // namespace pso::testing
