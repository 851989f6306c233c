#include "controller/store/record_block.h"

#include <gtest/gtest.h>

#include <cmath>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace pso::controller::store {
namespace {

using nlohmann::json;

// A cycle's decisions as the cycle runner dumps them: `systems` systems,
// numbers that move every cycle, strings that repeat.
std::string decisionsOfCycle(int cycle, int systems) {
  json out = json::array();
  for (int s = 0; s < systems; ++s) {
    const double demand = 300 + 150 * std::sin(cycle * 0.01 + s) + 0.1 * std::sin(cycle * 1.7);
    const double point = demand * 1.01;
    const double width = 12.5 + std::sin(cycle * 0.3 + s);
    json bottleneck = nullptr;
    if (s == 1 && cycle % 3 == 0) {
      bottleneck = {{"kind", "capacity"}, {"steps_ahead", 2}, {"capacity", 400.0}};
    }
    json summary = {{"system", "sys-" + std::to_string(s)},
                    {"demand", demand},
                    {"forecast_point", point},
                    {"forecast_hi", point + width},
                    {"forecast_lo", s == 2 ? point - width * 0.9 : point - width},
                    {"forecast_model", "auto: holt"},
                    {"lead_steps", 0},
                    {"current", 4},
                    {"desired", 4 + (cycle / 7) % 2},
                    {"rule", "predictive-upper-quantile"},
                    {"guardrails", json::array()},
                    {"dispatch", false},
                    {"rationale", "Demand " + std::to_string(static_cast<int>(demand)) + "."},
                    {"bottleneck", bottleneck}};
    if (s == 3 && cycle % 2 == 1) summary.erase("forecast_model");
    out.push_back(summary);
  }
  return out.dump();
}

std::vector<std::string> decisionsOfCycles(int cycles, int systems) {
  std::vector<std::string> texts;
  for (int c = 0; c < cycles; ++c) texts.push_back(decisionsOfCycle(c, systems));
  return texts;
}

TEST(RecordBlock, DecisionColumnsGiveBackEveryRecordByteForByte) {
  const auto texts = decisionsOfCycles(60, 8);
  auto blob = encodeRecordBlock(texts, RecordBlockLayout::kDecisionColumns);
  ASSERT_TRUE(blob.ok()) << blob.error().message;
  EXPECT_EQ(readRecordBlockLayout(*blob).value(), RecordBlockLayout::kDecisionColumns);
  auto back = decodeRecordBlock(*blob);
  ASSERT_TRUE(back.ok()) << back.error().message;
  EXPECT_EQ(*back, texts);
}

TEST(RecordBlock, DecisionColumnsAreFarSmallerThanTheTexts) {
  const auto texts = decisionsOfCycles(240, 20);
  std::size_t raw = 0;
  for (const auto& t : texts) raw += t.size();
  auto blob = encodeRecordBlock(texts, RecordBlockLayout::kDecisionColumns);
  ASSERT_TRUE(blob.ok());
  // Two or three doubles a system a cycle move: about 8 bytes each at most.
  EXPECT_LT(blob->size(), raw / 10);
  EXPECT_LT(blob->size(), 240u * 20 * 30);
}

TEST(RecordBlock, KeepsNegativeZeroExtremesAndChangingSystemLists) {
  std::vector<std::string> texts = {
      R"([{"demand":-0.0,"system":"a"},{"demand":1e-300,"system":"b"}])",
      R"([{"demand":0.0,"system":"a"}])",
      R"([])",
      R"([{"system":"b","x":[1,2,{"y":null}]},{"demand":1.7976931348623157e+308,"system":"a"}])",
      R"([{"system":"b","x":[1,2,{"y":null}]},{"demand":5.0,"system":"a"}])",
  };
  auto blob = encodeRecordBlock(texts, RecordBlockLayout::kDecisionColumns);
  ASSERT_TRUE(blob.ok());
  EXPECT_EQ(readRecordBlockLayout(*blob).value(), RecordBlockLayout::kDecisionColumns);
  EXPECT_EQ(decodeRecordBlock(*blob).value(), texts);
}

TEST(RecordBlock, FallsBackToTextsWhenTheColumnsWouldNotGiveTheBytesBack) {
  // Spaces and key order nlohmann would not write, a record without systems,
  // a system named twice: kept as texts, still byte for byte.
  for (const std::vector<std::string>& texts :
       std::vector<std::vector<std::string>>{{R"([ {"system": "a"} ])"},
                                             {R"([{"z":1,"system":"a"}])"},
                                             {R"([{"demand":1}])"},
                                             {R"([{"system":"a"},{"system":"a"}])"},
                                             {R"({"not":"an array"})"},
                                             {"not json at all"},
                                             {""}}) {
    auto blob = encodeRecordBlock(texts, RecordBlockLayout::kDecisionColumns);
    ASSERT_TRUE(blob.ok());
    EXPECT_EQ(readRecordBlockLayout(*blob).value(), RecordBlockLayout::kTexts) << texts[0];
    EXPECT_EQ(decodeRecordBlock(*blob).value(), texts);
  }
}

TEST(RecordBlock, TextsGiveBackDocumentsByteForByte) {
  std::vector<std::string> texts = {"{\"id\":\"s-c-1\"}", "", std::string("a\0b", 3),
                                    std::string(100000, 'x')};
  auto blob = encodeRecordBlock(texts, RecordBlockLayout::kTexts);
  ASSERT_TRUE(blob.ok());
  EXPECT_EQ(decodeRecordBlock(*blob).value(), texts);
  auto none = encodeRecordBlock({}, RecordBlockLayout::kTexts);
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(decodeRecordBlock(*none).value().empty());
}

TEST(RecordBlock, RefusesEveryDamagedByteWithCorrupt) {
  const auto texts = decisionsOfCycles(5, 3);
  auto blob = encodeRecordBlock(texts, RecordBlockLayout::kDecisionColumns);
  ASSERT_TRUE(blob.ok());
  for (std::size_t i = 0; i < blob->size(); ++i) {
    std::string damaged = *blob;
    damaged[i] = static_cast<char>(damaged[i] ^ 0x5a);
    auto back = decodeRecordBlock(damaged);
    if (back.ok()) {
      // A flip the compressed stream absorbs must still give the records back.
      EXPECT_EQ(*back, texts) << "byte " << i;
      continue;
    }
    EXPECT_EQ(back.error().code, "corrupt") << "byte " << i;
    EXPECT_EQ(back.error().message.rfind("record block: ", 0), 0u) << back.error().message;
  }
  for (std::size_t n = 0; n < blob->size(); ++n) {
    auto back = decodeRecordBlock(std::string_view(*blob).substr(0, n));
    ASSERT_FALSE(back.ok()) << "truncated to " << n;
    EXPECT_EQ(back.error().code, "corrupt");
  }
  EXPECT_FALSE(decodeRecordBlock(*blob + "x").ok());
}

TEST(RecordBlock, RefusesColumnPayloadsThatNameWhatIsNotThere) {
  // Dictionary of one string "a"; one record naming system 0; one column of
  // system 0 with key 0 and one cell.
  const std::string good = std::string(
      "\x01\x01"
      "a"
      "\x02\x00"
      "\x01\x00\x00\x02\x00",
      10);
  auto back = decodeDecisionColumns(good, 1);
  ASSERT_FALSE(back.ok());  // "a" is not JSON
  EXPECT_EQ(back.error().code, "corrupt");
  const std::string numbers = std::string(
      "\x01\x01"
      "1"
      "\x02\x00"
      "\x01\x00\x00\x02\x00",
      10);
  ASSERT_TRUE(decodeDecisionColumns(numbers, 1).ok());
  EXPECT_EQ(decodeDecisionColumns(numbers, 1).value()[0], R"([{"1":1}])");
  EXPECT_FALSE(decodeDecisionColumns(numbers, 2).ok());  // a record missing
  EXPECT_FALSE(decodeDecisionColumns(numbers + "x", 1).ok());
  // A repeat before any value, a string id out of range, an unknown tag.
  for (const char* cell : {"\x01", "\x02\x05", "\x07"}) {
    std::string bad = numbers.substr(0, 8) + cell;
    auto refused = decodeDecisionColumns(bad, 1);
    ASSERT_FALSE(refused.ok());
    EXPECT_EQ(refused.error().code, "corrupt");
  }
}

}  // namespace
}  // namespace pso::controller::store
