#include "common/config.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "common/config_schema.h"
#include "common/registry.h"
#include "tests/common/temp_dir.h"

namespace pso::common {
namespace {

using std::chrono::seconds;
using testing::TempDir;

// A small section of each kind of key, standing in for a product's schema.
struct Pump {
  std::string kind = "piston";
  std::string name;
  int64_t low = 1;
  int64_t high = 10;
  double rate = 0.5;
  bool primed = true;
  Duration every{seconds(5)};
  std::vector<std::string> argv;
  std::map<std::string, std::string> tags;
  std::string log;
  std::string valve;  // read by kind "valve" only
  std::string hose;   // read by kind "hose" only
};

Finding checkHigh(int64_t high, const Pump& pump) {
  if (high >= pump.low) return std::nullopt;
  return Problem::invalid("must not be less than low");
}

const KeyList<Pump>& pumpKeys() {
  static const KeyList<Pump> keys = {
      {"name", &Pump::name, "the pump's name", checks::required()},
      {"low", &Pump::low, "least flow", checks::notNegative()},
      {"high", &Pump::high, "most flow", &checkHigh},
      {"rate", &Pump::rate, "flow per second", checks::positive()},
      {"primed", &Pump::primed, "primed at start"},
      {"every", &Pump::every, "how often", checks::positive()},
      {"argv", &Pump::argv, "command"},
      {"tags", &Pump::tags, "labels"},
      ConfigKey<Pump>::path("log", &Pump::log, "log file"),
  };
  return keys;
}

Result<Pump> readPump(const std::string& yaml, const std::string& origin = "pump.yaml") {
  Pump pump;
  Status read = readConfigDocument(yaml, origin, [&](ConfigReader& r, const YAML::Node& root) {
    readSection(r, root, "pump", pumpKeys(), pump);
  });
  if (!read) return read.error();
  return pump;
}

std::string pumpError(const std::string& yaml) {
  auto pump = readPump(yaml);
  EXPECT_FALSE(pump.ok()) << "accepted";
  return pump.ok() ? "" : pump.error().message;
}

TEST(ConfigReader, ReadsEveryTypeAndKeepsDefaultsForAbsentKeys) {
  auto pump = readPump(
      "name: p1\nhigh: 12\nrate: 1.5\nprimed: off\nevery: 2m\nargv: [a, b]\ntags: {x: y}\n"
      "low: ~\n");
  ASSERT_TRUE(pump.ok()) << pump.error().message;
  EXPECT_EQ(pump->name, "p1");
  EXPECT_EQ(pump->low, 1);  // null keeps the default
  EXPECT_EQ(pump->high, 12);
  EXPECT_DOUBLE_EQ(pump->rate, 1.5);
  EXPECT_FALSE(pump->primed);
  EXPECT_EQ(pump->every, std::chrono::minutes(2));
  EXPECT_EQ(pump->argv, (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(pump->tags, (std::map<std::string, std::string>{{"x", "y"}}));
}

TEST(ConfigReader, NamesFileLineAndKeyOfEveryProblem) {
  EXPECT_EQ(pumpError("name: p\nhihg: 3\n"), "pump.yaml:2: pump.hihg: unknown key");
  EXPECT_EQ(pumpError("name: p\nname: q\n"), "pump.yaml:2: pump.name: duplicate key");
  EXPECT_EQ(pumpError("name: p\nhigh: ten\n"),
            "pump.yaml:2: pump.high: expected an integer, got 'ten'");
  EXPECT_EQ(pumpError("name: p\nrate: fast\n"),
            "pump.yaml:2: pump.rate: expected a number, got 'fast'");
  EXPECT_EQ(pumpError("name: p\nprimed: maybe\n"),
            "pump.yaml:2: pump.primed: expected true or false, got 'maybe'");
  EXPECT_EQ(pumpError("name: p\nargv: a\n"), "pump.yaml:2: pump.argv: expected a list, got 'a'");
  EXPECT_EQ(pumpError("name: p\nargv: [a, ~]\n"),
            "pump.yaml:2: pump.argv[1]: expected a string, got null");
  EXPECT_EQ(pumpError("name: [p]\n"), "pump.yaml:1: pump.name: expected a string, got a list");
  EXPECT_EQ(pumpError("name: p\nevery: soon\n"),
            "pump.yaml:2: pump.every: bad duration 'soon' (expected e.g. 500ms, 5s, 2m, 1h, 1d)");
  EXPECT_EQ(pumpError("- a\n"), "pump.yaml:1: pump: expected a mapping, got a list");
}

TEST(ConfigReader, RunsDeclaredChecksInOrderAfterReading) {
  EXPECT_EQ(pumpError("low: 3\n"), "pump.yaml:1: pump.name: required");
  EXPECT_EQ(pumpError("name: p\nlow: 5\nhigh: 2\n"),
            "pump.yaml:3: pump.high: must not be less than low");
  EXPECT_EQ(pumpError("name: p\nlow: -1\n"), "pump.yaml:2: pump.low: must not be negative");
  EXPECT_EQ(pumpError("name: p\nevery: 0s\n"), "pump.yaml:2: pump.every: must be positive");
}

TEST(ConfigReader, ReportsYamlSyntaxErrorsWithTheirLine) {
  auto pump = readPump("name: p\nargv: [unclosed\n");
  ASSERT_FALSE(pump.ok());
  EXPECT_EQ(pump.error().code, "invalid");
  EXPECT_EQ(pump.error().message.rfind("pump.yaml:", 0), 0u) << pump.error().message;
  EXPECT_NE(pump.error().message.find("YAML syntax error"), std::string::npos);
}

TEST(ConfigReader, ResolvesRelativePathsAgainstTheConfigDirectory) {
  auto pump = readPump("name: p\nlog: logs/pump.log\n", "/etc/pso/pump.yaml");
  ASSERT_TRUE(pump.ok()) << pump.error().message;
  EXPECT_EQ(pump->log, "/etc/pso/logs/pump.log");
  auto absolute = readPump("name: p\nlog: /var/log/pump.log\n", "/etc/pso/pump.yaml");
  EXPECT_EQ(absolute->log, "/var/log/pump.log");
}

TEST(ConfigReader, MissingOrDirectoryFileIsIo) {
  TempDir dir;
  auto missing = readConfigFile(dir.file("absent.yaml"));
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().code, "io");
  EXPECT_NE(missing.error().message.find("absent.yaml"), std::string::npos);
  auto directory = readConfigFile(dir.path().string());
  ASSERT_FALSE(directory.ok());
  EXPECT_EQ(directory.error().code, "io");
  EXPECT_EQ(*readConfigFile(dir.write("a.yaml", "name: p\n")), "name: p\n");
}

TEST(ConfigKey, DerivesTypeAndDefaultFromTheMember) {
  const KeyList<Pump>& keys = pumpKeys();
  std::map<std::string, std::pair<std::string, std::string>> seen;
  for (const auto& key : keys) seen[key.name()] = {valueTypeName(key.type()), key.defaultText()};
  EXPECT_EQ(seen["name"], (std::pair<std::string, std::string>{"string", ""}));
  EXPECT_EQ(seen["low"], (std::pair<std::string, std::string>{"integer", "1"}));
  EXPECT_EQ(seen["rate"], (std::pair<std::string, std::string>{"number", "0.5"}));
  EXPECT_EQ(seen["primed"], (std::pair<std::string, std::string>{"boolean", "true"}));
  EXPECT_EQ(seen["every"], (std::pair<std::string, std::string>{"duration", "5s"}));
  EXPECT_EQ(seen["argv"], (std::pair<std::string, std::string>{"list", ""}));
  EXPECT_EQ(seen["tags"], (std::pair<std::string, std::string>{"mapping", ""}));
  EXPECT_EQ(seen["log"], (std::pair<std::string, std::string>{"path", ""}));
  const ConfigKey<Pump> named =
      ConfigKey<Pump>("name", &Pump::name, "the pump's name").emptyMeans("the host name");
  EXPECT_EQ(named.defaultText(), "the host name");
  EXPECT_EQ(formatConfigValue(std::vector<std::string>{"/"}), "[/]");
  EXPECT_EQ(formatConfigValue(Duration(90'000)), "90s");
}

TEST(ConfigKey, RefusalSaysWhatAConfigBuiltInCodeLacks) {
  Pump pump;
  EXPECT_EQ(refusal(pump, {&pumpKeys()}, "pump p"), "pump p needs 'name'");
  const KeyList<Pump> two = {{"name", &Pump::name, "", checks::required()},
                             {"valve", &Pump::valve, "", checks::required("the valve's id")}};
  EXPECT_EQ(refusal(pump, {&two}, "pump p"), "pump p needs 'name' and 'valve'");
  pump.name = "p";
  EXPECT_EQ(refusal(pump, {&two}, "pump p"), "pump p needs 'valve', the valve's id");
  pump.valve = "v";
  pump.low = 4;
  pump.high = 3;
  EXPECT_EQ(refusal(pump, {&two, &pumpKeys()}, "pump p"),
            "pump p: high: must not be less than low");
  EXPECT_EQ(refusal(pump, {&pumpKeys()}, "pump p", "high"), "pump p: must not be less than low");
  pump.high = 5;
  EXPECT_FALSE(refusal(pump, {&two, &pumpKeys()}, "pump p").has_value());
}

// Components of a toy seam, registered the way actuators are.
struct PumpKind {
  using Section = Pump;
  std::string name;
  KeyList<Pump> keys;
};

Registry<PumpKind> pumpRegistry() {
  Registry<PumpKind> registry;
  registry.add({"valve", {{"valve", &Pump::valve, "the valve", checks::required()}}});
  registry.add({"hose", {{"hose", &Pump::hose, "the hose", checks::notEmpty()}}});
  registry.add({"piston", {}});
  return registry;
}

TEST(Registry, FindsEntriesByNameInRegistrationOrder) {
  const Registry<PumpKind> registry = pumpRegistry();
  EXPECT_EQ(registry.names(), (std::vector<std::string>{"valve", "hose", "piston"}));
  EXPECT_EQ(registry.nameList(" | "), "valve | hose | piston");
  EXPECT_EQ(registry.nameList(", ", " or "), "valve, hose or piston");
  ASSERT_NE(registry.find("hose"), nullptr);
  EXPECT_EQ(registry.find("hose")->name, "hose");
  EXPECT_EQ(registry.find("pistol"), nullptr);
}

const KeyList<Pump>& sharedPumpKeys() {
  static const KeyList<Pump> keys = {{"kind", &Pump::kind, "which pump"},
                                     {"rate", &Pump::rate, "flow", checks::positive()}};
  return keys;
}

std::string componentError(const ComponentSection<PumpKind>& section, const std::string& yaml) {
  Pump pump;
  Status read = readConfigDocument(yaml, "pump.yaml", [&](ConfigReader& r, const YAML::Node& root) {
    section.read(r, root, "pump", pump);
  });
  return read.ok() ? "accepted" : read.error().message;
}

TEST(ComponentSection, ChecksOnlyTheChosenComponentAndListsTheRegisteredOnes) {
  const Registry<PumpKind> registry = pumpRegistry();
  const ComponentSection<PumpKind> section{&registry, &sharedPumpKeys(), &Pump::kind, "kind",
                                           "kind"};
  EXPECT_EQ(componentError(section, "kind: hose\nhose: h\nvalve: \"\"\n"), "accepted");
  EXPECT_EQ(componentError(section, "kind: valve\n"),
            "pump.yaml:1: pump.valve: required for kind valve");
  EXPECT_EQ(componentError(section, "kind: hose\nhose: \"\"\n"),
            "pump.yaml:2: pump.hose: must not be empty");
  EXPECT_EQ(componentError(section, "kind: piston\nrate: 0\n"),
            "pump.yaml:2: pump.rate: must be positive");
  EXPECT_EQ(componentError(section, "kind: pistol\n"),
            "pump.yaml:1: pump.kind: 'pistol' is not one of valve | hose | piston");
  EXPECT_EQ(componentError(section, "kind: hose\nhoes: h\n"),
            "pump.yaml:2: pump.hoes: unknown key");

  std::vector<std::string> names;
  for (const KeyDoc& key : section.describe()) names.push_back(key.name);
  EXPECT_EQ(names, (std::vector<std::string>{"kind", "rate", "valve", "hose"}));
}

TEST(ComponentSection, CanChooseByWhichNameIsPresentAsAKey) {
  const Registry<PumpKind> registry = pumpRegistry();
  const ComponentSection<PumpKind> section{&registry, &sharedPumpKeys(), &Pump::kind, "", "kind"};
  EXPECT_EQ(componentError(section, "hose: h\n"), "accepted");
  EXPECT_EQ(componentError(section, "rate: 2\n"),
            "pump.yaml:1: pump: exactly one of valve, hose or piston is required");
}

}  // namespace
}  // namespace pso::common
