// The course's rules on scenarios replayed through the real engine
// (engine::simulate and buildScenario, as psoctl simulate --record does):
// quiet cycles summarised, near-duplicates merged, limits per level and per
// question topic, prerequisites. tests/controller/cli/course_test.cpp builds
// one from a recorded development trace and a fleet with the binaries.

#include "controller/scenarios/course.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <vector>

#include "controller/engine/replay.h"
#include "controller/scenarios/scenario.h"

namespace pso::controller::scenarios {
namespace {

using nlohmann::json;

constexpr int64_t kCourseStart = 1700000000000;

// A day-shaped demand with a few bursts, one value per 60 s step.
std::vector<double> dayTrace(std::size_t steps) {
  std::vector<double> out;
  for (std::size_t t = 0; t < steps; ++t) {
    double v = 200 + 150 * std::sin(2 * M_PI * static_cast<double>(t) / 96.0);
    if (t % 97 > 90) v *= 2.5;
    out.push_back(v);
  }
  return out;
}

std::vector<store::ScenarioRecord> replay(std::size_t steps) {
  engine::SystemSpec spec;
  spec.name = "web";
  spec.capacity_per_replica = 40;
  spec.max_replicas = 40;
  spec.warmup_s = 120;
  engine::EngineSettings settings;
  settings.step_s = 60;
  const auto trace = dayTrace(steps);
  std::vector<store::ScenarioRecord> records;
  std::size_t t = 0;
  engine::simulate(
      trace, settings.step_s, spec, settings, 1,
      [&](const engine::SimulationRow& row, const engine::SystemDecision& decision) {
        CycleContext ctx;
        ctx.cycle_id = "u-" + std::to_string(t);
        ctx.ts_ms = row.now_ms;
        ctx.mode = "replay";
        ctx.step_s = settings.step_s;
        ctx.decisions.now_ms = row.now_ms;
        ctx.decisions.systems = {decision};
        ctx.specs["web"] = spec;
        for (std::size_t i = t >= 48 ? t - 48 : 0; i <= t; ++i) {
          ctx.history["web"].push_back({kCourseStart + static_cast<int64_t>(i) * 60000, trace[i]});
        }
        records.push_back(toRecord(buildScenario(ctx)));
        ++t;
      },
      kCourseStart);
  return records;
}

TEST(Course, SummarisesQuietCyclesAndMergesNearDuplicates) {
  const auto records = replay(400);
  std::size_t quiet = 0;
  for (const auto& r : records) quiet += json::parse(r.json).value("quiet", false) ? 1 : 0;
  ASSERT_GT(quiet, 0u);
  auto course = buildCourse(records);
  ASSERT_TRUE(course.ok()) << course.error().message;
  EXPECT_EQ(course->quiet.cycles, quiet);
  EXPECT_EQ(course->quiet.systems, std::vector<std::string>{"web"});
  EXPECT_NE(quietSentence(course->quiet).find(std::to_string(quiet) + " quiet cycles"),
            std::string::npos);
  std::set<std::string> taught;
  std::size_t lessons = 0;
  for (const auto& level : course->levels) {
    for (const auto& l : level.lessons) {
      ++lessons;
      EXPECT_FALSE(l.lesson.quiet) << l.lesson.id;
      EXPECT_TRUE(taught.insert(l.lesson.id).second);
      for (const auto& id : l.merged) EXPECT_TRUE(taught.insert(id).second) << id;
    }
  }
  EXPECT_GT(course->merged, 0u);
  EXPECT_EQ(lessons, course->lessonCount());
  EXPECT_EQ(lessons + course->merged + course->not_selected + quiet, records.size());
}

TEST(Course, KeepsTheLimitsPerLevelAndPerQuestionTopic) {
  const auto records = replay(400);
  CourseOptions options;
  options.max_lessons_per_level = 3;
  options.max_question_kind_share = 0.25;
  auto course = buildCourse(records, options);
  ASSERT_TRUE(course.ok());
  ASSERT_FALSE(course->levels.empty());
  std::map<std::string, std::size_t> topics;
  for (const auto& level : course->levels) {
    EXPECT_LE(level.lessons.size(), 3u);
    for (const auto& l : level.lessons) {
      for (const auto& q : l.lesson.questions) ++topics[q.topic];
    }
  }
  const std::size_t total = course->questionCount();
  ASSERT_GT(total, 0u);
  for (const auto& [topic, n] : topics) {
    EXPECT_LE(static_cast<double>(n), 0.25 * static_cast<double>(total)) << topic;
  }
  EXPECT_EQ(topics, course->questions_by_kind);
  EXPECT_TRUE(course->question_mix_within_share);

  // With fewer topics than the share allows the mix cannot be within it:
  // the course says so and keeps an even mix instead of dropping every question.
  ASSERT_LT(course->questions_by_kind.size(), 10u);
  options.max_question_kind_share = 0.1;
  auto strict = buildCourse(records, options);
  ASSERT_TRUE(strict.ok());
  EXPECT_FALSE(strict->question_mix_within_share);
  ASSERT_GT(strict->questionCount(), 0u);
  std::set<std::size_t> per_topic;
  for (const auto& [topic, n] : strict->questions_by_kind) per_topic.insert(n);
  EXPECT_LE(*per_topic.rbegin(), 2 * *per_topic.begin() + 1);
}

TEST(Course, LevelsFollowTeachingOrderEachRequiringThePrevious) {
  auto course = buildCourse(replay(400));
  ASSERT_TRUE(course.ok());
  ASSERT_GE(course->levels.size(), 2u);
  const auto& order = scenarioLevels();
  std::size_t last = 0;
  for (std::size_t i = 0; i < course->levels.size(); ++i) {
    const auto& level = course->levels[i];
    const auto rank = static_cast<std::size_t>(std::find(order.begin(), order.end(), level.level) -
                                               order.begin());
    ASSERT_LT(rank, order.size()) << level.level;
    if (i > 0) {
      EXPECT_GT(rank, last);
      EXPECT_EQ(level.prerequisites, std::vector<std::string>{course->levels[i - 1].level});
    } else {
      EXPECT_TRUE(level.prerequisites.empty());
    }
    last = rank;
    EXPECT_FALSE(kindTitle(level.lessons.front().kind).empty());
  }
}

TEST(Course, AStoredDocumentThatIsNotAnObjectIsRefusedByName) {
  auto records = replay(20);
  records[3].json = "[1, 2";
  auto course = buildCourse(records);
  ASSERT_FALSE(course.ok());
  EXPECT_EQ(course.error().code, "invalid");
  EXPECT_NE(course.error().message.find(records[3].id), std::string::npos);
}

TEST(Course, NoScenariosMakeAnEmptyCourse) {
  auto course = buildCourse({});
  ASSERT_TRUE(course.ok());
  EXPECT_TRUE(course->levels.empty());
  EXPECT_EQ(course->quiet.cycles, 0u);
  EXPECT_EQ(course->questionCount(), 0u);
}

}  // namespace
}  // namespace pso::controller::scenarios
