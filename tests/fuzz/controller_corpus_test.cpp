// Runs every seed of the controller's fuzz corpora (tests/fuzz/corpus/
// alert_condition, controller_config and engine_state) through the same checks as the
// libFuzzer harnesses, so every build exercises them without libFuzzer.

#include <gtest/gtest.h>

#include <algorithm>

#include "controller/engine/decision_engine.h"
#include "controller/engine/state_codec.h"
#include "tests/fuzz/controller_fuzz_targets.h"
#include "tests/support/fuzz_corpus.h"

namespace pso::controller::fuzz {
namespace {

TEST(ControllerFuzzCorpus, EveryAlertConditionSeedKeepsTheParserContract) {
  const auto seeds = pso::testing::readFuzzCorpus(PSO_SOURCE_DIR, "alert_condition");
  ASSERT_TRUE(seeds.has_value()) << "no tests/fuzz/corpus/alert_condition";
  for (const auto& seed : *seeds) EXPECT_TRUE(checkAlertCondition(seed.bytes)) << seed.name;
  EXPECT_GE(seeds->size(), 10u);
}

TEST(ControllerFuzzCorpus, EveryControllerConfigSeedKeepsTheReaderContract) {
  const auto seeds = pso::testing::readFuzzCorpus(PSO_SOURCE_DIR, "controller_config");
  ASSERT_TRUE(seeds.has_value()) << "no tests/fuzz/corpus/controller_config";
  for (const auto& seed : *seeds) EXPECT_TRUE(checkControllerConfig(seed.bytes)) << seed.name;
  EXPECT_GE(seeds->size(), 10u);
}

TEST(ControllerFuzzCorpus, EveryEngineStateSeedKeepsTheLoaderContract) {
  const auto seeds = pso::testing::readFuzzCorpus(PSO_SOURCE_DIR, "engine_state");
  ASSERT_TRUE(seeds.has_value()) << "no tests/fuzz/corpus/engine_state";
  for (const auto& seed : *seeds) EXPECT_TRUE(checkEngineState(seed.bytes)) << seed.name;
  EXPECT_GE(seeds->size(), 10u);
}

// seed-12 was saved by the text-form writer of an earlier version (two
// systems, 160 cycles): a controller upgraded over it keeps its models.
TEST(ControllerFuzzCorpus, AnEngineStateInTheEarlierTextFormStillLoads) {
  const auto seeds = pso::testing::readFuzzCorpus(PSO_SOURCE_DIR, "engine_state");
  ASSERT_TRUE(seeds.has_value());
  const auto text = std::find_if(seeds->begin(), seeds->end(),
                                 [](const auto& seed) { return seed.name == "seed-12"; });
  ASSERT_NE(text, seeds->end());
  ASSERT_TRUE(text->bytes.starts_with("10:pso-engine "));
  engine::EngineSettings settings;
  settings.step_s = 15.0;
  engine::DecisionEngine engine(settings);
  Status loaded = engine.loadState(text->bytes);
  ASSERT_TRUE(loaded.ok()) << loaded.error().message;
  ASSERT_EQ(engine.systems().size(), 2u);
  for (const char* system : {"api", "web"}) {
    auto forecast = engine.forecast(system, 4);
    ASSERT_TRUE(forecast.has_value()) << system;
    // 160 cycles, every 37th without a value.
    EXPECT_EQ(forecast->observations, 155) << system;
  }
  // Saved again, it is the binary form, and it loads to the same state.
  const std::string binary = engine.saveState();
  EXPECT_EQ(binary.front(), engine::kBinaryStateMarker);
  engine::DecisionEngine again(settings);
  ASSERT_TRUE(again.loadState(binary).ok());
  EXPECT_EQ(again.saveState(), binary);
  EXPECT_EQ(again.forecast("web", 4)->point, engine.forecast("web", 4)->point);
}

}  // namespace
}  // namespace pso::controller::fuzz
