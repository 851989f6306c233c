#include "common/curve_keys.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <fstream>
#include <string>

#include "tests/common/temp_dir.h"

namespace pso::common {
namespace {

mode_t modeOf(const std::string& path) {
  struct stat st{};
  EXPECT_EQ(::stat(path.c_str(), &st), 0) << path;
  return st.st_mode & 07777;
}

TEST(CurveKeys, KeygenWritesASecretOnlyTheOwnerReadsAndItsPublicKey) {
  testing::TempDir dir;
  auto pair = generateCurveKeyPair();
  ASSERT_TRUE(pair.ok()) << pair.error().message;
  EXPECT_TRUE(isCurveKey(pair->public_key));
  EXPECT_TRUE(isCurveKey(pair->secret_key));
  EXPECT_NE(pair->public_key, pair->secret_key);

  const std::string prefix = dir.file("edge-01");
  ASSERT_TRUE(writeCurveKeyFiles(prefix, *pair).ok());
  EXPECT_EQ(modeOf(prefix + ".key"), 0600u);
  EXPECT_EQ(modeOf(prefix + ".pub"), 0644u);

  auto secret = readCurveSecretKeyFile(prefix + ".key");
  ASSERT_TRUE(secret.ok()) << secret.error().message;
  EXPECT_EQ(secret->secret_key, pair->secret_key);
  EXPECT_EQ(secret->public_key, pair->public_key);  // derived from the secret
  auto pub = readCurvePublicKeyFile(prefix + ".pub");
  ASSERT_TRUE(pub.ok()) << pub.error().message;
  EXPECT_EQ(*pub, pair->public_key);
}

TEST(CurveKeys, AKeyInUseIsNeverOverwritten) {
  testing::TempDir dir;
  const std::string prefix = dir.file("controller");
  ASSERT_TRUE(writeCurveKeyFiles(prefix, *generateCurveKeyPair()).ok());
  const std::string before = *readCurvePublicKeyFile(prefix + ".pub");
  const Status again = writeCurveKeyFiles(prefix, *generateCurveKeyPair());
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.error().code, "exists");
  EXPECT_EQ(*readCurvePublicKeyFile(prefix + ".pub"), before);
}

TEST(CurveKeys, ALooseSecretKeyFileIsRefused) {
  testing::TempDir dir;
  const std::string prefix = dir.file("agent");
  ASSERT_TRUE(writeCurveKeyFiles(prefix, *generateCurveKeyPair()).ok());
  ASSERT_EQ(::chmod((prefix + ".key").c_str(), 0644), 0);
  auto secret = readCurveSecretKeyFile(prefix + ".key");
  ASSERT_FALSE(secret.ok());
  EXPECT_EQ(secret.error().code, "permissions");
  EXPECT_NE(secret.error().message.find("mode 0644"), std::string::npos) << secret.error().message;
}

TEST(CurveKeys, FilesThatDoNotHoldOneKeyAreRefused) {
  testing::TempDir dir;
  const std::string path = dir.file("bad.pub");
  {
    std::ofstream out(path);
    out << "# comment\nnot-a-key\n";
  }
  auto bad = readCurvePublicKeyFile(path);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().code, "invalid");
  EXPECT_NE(bad.error().message.find(path), std::string::npos);
  {
    std::ofstream out(path);
    const std::string key = generateCurveKeyPair()->public_key;
    out << key << "\n" << key << "\n";
  }
  EXPECT_EQ(readCurvePublicKeyFile(path).error().code, "invalid");
  EXPECT_EQ(readCurvePublicKeyFile(dir.file("missing.pub")).error().code, "io");
}

TEST(CurveKeys, Z85RoundTripsAndRejectsOtherLengthsAndCharacters) {
  const std::string key = generateCurveKeyPair()->public_key;
  auto raw = decodeCurveKey(key);
  ASSERT_TRUE(raw.ok());
  EXPECT_EQ(raw->size(), 32u);
  EXPECT_EQ(*encodeCurveKey(*raw), key);
  EXPECT_FALSE(isCurveKey(key.substr(1)));
  EXPECT_FALSE(isCurveKey(std::string(40, '~')));  // '~' is not in the Z85 alphabet
  EXPECT_FALSE(encodeCurveKey("short").ok());
}

}  // namespace
}  // namespace pso::common
