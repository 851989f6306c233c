#include "controller/scenarios/zip_writer.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace pso::controller::scenarios {
namespace {

uint32_t read32(const std::string& s, std::size_t at) {
  uint32_t v = 0;
  for (int i = 3; i >= 0; --i) v = (v << 8) | static_cast<unsigned char>(s[at + i]);
  return v;
}
uint16_t read16(const std::string& s, std::size_t at) {
  return static_cast<uint16_t>(static_cast<unsigned char>(s[at]) |
                               (static_cast<unsigned char>(s[at + 1]) << 8));
}

// Reads an archive back the way an unzip tool does: from the end record to
// the central directory to each local header, checking every CRC.
std::map<std::string, std::string> readBack(const std::string& zip) {
  std::map<std::string, std::string> files;
  const std::size_t end = zip.size() - 22;
  EXPECT_EQ(read32(zip, end), 0x06054b50u);
  const uint16_t count = read16(zip, end + 10);
  std::size_t at = read32(zip, end + 16);
  EXPECT_EQ(at + read32(zip, end + 12), end);
  for (uint16_t i = 0; i < count; ++i) {
    EXPECT_EQ(read32(zip, at), 0x02014b50u);
    EXPECT_EQ(read16(zip, at + 10), 0);  // stored
    const uint32_t crc = read32(zip, at + 16);
    const uint32_t size = read32(zip, at + 24);
    const uint16_t name_len = read16(zip, at + 28);
    const uint32_t local = read32(zip, at + 42);
    const std::string name = zip.substr(at + 46, name_len);
    EXPECT_EQ(read32(zip, local), 0x04034b50u);
    EXPECT_EQ(zip.substr(local + 30, read16(zip, local + 26)), name);
    const std::string data = zip.substr(local + 30 + name_len + read16(zip, local + 28), size);
    EXPECT_EQ(crc32(data), crc) << name;
    files[name] = data;
    at += 46 + name_len + read16(zip, at + 30) + read16(zip, at + 32);
  }
  return files;
}

TEST(Crc32, MatchesTheStandardCheckValue) {
  EXPECT_EQ(crc32("123456789"), 0xCBF43926u);
  EXPECT_EQ(crc32(""), 0u);
  EXPECT_NE(crc32("123456788"), crc32("123456789"));
}

TEST(ZipWriter, WritesStoredEntriesThatReadBack) {
  ZipWriter zip;
  const std::string binary("\x00\x01\xff PK\x03\x04", 9);
  ASSERT_TRUE(zip.add("cmi5.xml", "<courseStructure/>").ok());
  ASSERT_TRUE(zip.add("au/lesson one.html", binary).ok());
  ASSERT_TRUE(zip.add("au/empty.js", "").ok());
  const std::string bytes = zip.finish();
  const auto files = readBack(bytes);
  ASSERT_EQ(files.size(), 3u);
  EXPECT_EQ(files.at("cmi5.xml"), "<courseStructure/>");
  EXPECT_EQ(files.at("au/lesson one.html"), binary);
  EXPECT_EQ(files.at("au/empty.js"), "");
  // The same content gives the same bytes (fixed entry times).
  ZipWriter again;
  ASSERT_TRUE(again.add("cmi5.xml", "<courseStructure/>").ok());
  ASSERT_TRUE(again.add("au/lesson one.html", binary).ok());
  ASSERT_TRUE(again.add("au/empty.js", "").ok());
  EXPECT_EQ(again.finish(), bytes);
}

TEST(ZipWriter, RefusesNamesThatCouldEscapeOrRepeat) {
  ZipWriter zip;
  ASSERT_TRUE(zip.add("a/b.txt", "x").ok());
  for (const std::string& bad : std::vector<std::string>{
           "", "/etc/passwd", "a/../../b", "../b", "./a", "a//b", "a\\b", "a\nb", "a/b.txt"}) {
    const Status st = zip.add(bad, "y");
    ASSERT_FALSE(st.ok()) << bad;
    EXPECT_EQ(st.error().code, "invalid") << bad;
  }
  EXPECT_EQ(zip.entries(), 1u);
  EXPECT_EQ(readBack(zip.finish()).size(), 1u);
}

}  // namespace
}  // namespace pso::controller::scenarios
