#include "controller/cli/progress.h"
#include "controller/cli/store_argument.h"

#include <filesystem>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>

#include "controller/cli/failure.h"
#include "controller/cli/option_checks.h"
#include "controller/cli/table.h"
#include "controller/scenarios/grading.h"
#include "controller/scenarios/progress.h"
#include "controller/scenarios/scenario_text.h"
#include "controller/store/store.h"

namespace pso::cli {
namespace {

namespace scenarios = controller::scenarios;
namespace store = controller::store;
using nlohmann::json;

std::string percent(double share) {
  return scenarios::formatNumber(share * 100.0) + "%";
}

json levelsJson(const std::vector<scenarios::Competency>& levels) {
  json out = json::array();
  for (const auto& c : levels) {
    out.push_back({{"level", c.level},
                   {"questions", c.questions},
                   {"correct", c.correct},
                   {"score", c.score},
                   {"mastered", c.competent}});
  }
  return out;
}

json teamLevelsJson(const std::vector<scenarios::TeamLevel>& levels) {
  json out = json::array();
  for (const auto& t : levels) {
    out.push_back({{"level", t.level},
                   {"learners", t.learners},
                   {"mastered", t.mastered},
                   {"mean_score", t.mean_score}});
  }
  return out;
}

// The history as one row per day and one column per level (the levels of the
// latest standing, which holds every level ever attempted).
template <typename Point, typename Cell>
void printHistory(const std::vector<std::string>& levels, const std::vector<Point>& history,
                  Cell cell) {
  std::vector<std::string> header{"DATE"};
  header.insert(header.end(), levels.begin(), levels.end());
  Table table(header);
  for (const auto& point : history) {
    std::vector<std::string> row{point.date};
    for (const auto& level : levels) {
      std::string text = "-";
      for (const auto& standing : point.levels) {
        if (standing.level == level) text = cell(standing);
      }
      row.push_back(text);
    }
    table.addRow(std::move(row));
  }
  table.print(std::cout);
}

int learnerReport(store::Store& db, const ProgressArgs& args, bool json_output) {
  auto learner = db.learner(args.learner);
  if (!learner) return fail("--db " + args.db + ": " + learner.error().message);
  if (!learner->has_value())
    return fail("--learner: no learner '" + args.learner + "' in " + args.db);
  auto attempts = db.attempts(args.learner);
  if (!attempts) return fail("--db " + args.db + ": " + attempts.error().message);
  const auto progress = scenarios::learnerProgress(args.learner, *attempts, args.threshold);
  if (json_output) {
    json history = json::array();
    for (const auto& point : progress.history) {
      history.push_back({{"date", point.date}, {"levels", levelsJson(point.levels)}});
    }
    std::cout << json{{"learner", progress.learner},
                      {"team", (*learner)->team},
                      {"threshold", args.threshold},
                      {"levels", levelsJson(progress.levels)},
                      {"history", history}}
                     .dump(2)
              << '\n';
    return 0;
  }
  std::cout << "learner " << progress.learner
            << ((*learner)->team.empty() ? "" : " (team " + (*learner)->team + ")")
            << ": a level is mastered at " << percent(args.threshold)
            << " of its questions correct at their latest attempt\n";
  Table levels({"LEVEL", "QUESTIONS", "CORRECT", "SCORE", "MASTERED"});
  std::vector<std::string> names;
  for (const auto& c : progress.levels) {
    names.push_back(c.level);
    levels.addRow({c.level, std::to_string(c.questions), std::to_string(c.correct),
                   percent(c.score), c.competent ? "yes" : "no"});
  }
  levels.print(std::cout);
  std::cout << "\nscore per level at the end of each day with attempts (* mastered):\n";
  printHistory(names, progress.history, [](const scenarios::Competency& c) {
    return percent(c.score) + (c.competent ? " *" : "");
  });
  return 0;
}

int teamReport(store::Store& db, const ProgressArgs& args, bool json_output) {
  auto members = db.teamLearners(args.team);
  if (!members) return fail("--db " + args.db + ": " + members.error().message);
  if (members->empty())
    return fail("--team: no learners in team '" + args.team + "' in " + args.db);
  std::map<std::string, std::vector<store::AttemptRecord>> attempts;
  for (const auto& member : *members) {
    auto theirs = db.attempts(member.id);
    if (!theirs) return fail("--db " + args.db + ": " + theirs.error().message);
    attempts[member.id] = std::move(*theirs);
  }
  const auto progress = scenarios::teamProgress(args.team, attempts, args.threshold);
  if (json_output) {
    json history = json::array();
    for (const auto& point : progress.history) {
      history.push_back({{"date", point.date}, {"levels", teamLevelsJson(point.levels)}});
    }
    std::cout << json{{"team", progress.team},
                      {"learners", progress.learners},
                      {"threshold", args.threshold},
                      {"levels", teamLevelsJson(progress.levels)},
                      {"history", history}}
                     .dump(2)
              << '\n';
    return 0;
  }
  std::cout << "team " << progress.team << ": " << progress.learners.size()
            << " learners; a level is mastered at " << percent(args.threshold)
            << " of its questions correct at their latest attempt\n";
  Table levels({"LEVEL", "LEARNERS", "MASTERED", "MEAN SCORE"});
  std::vector<std::string> names;
  for (const auto& t : progress.levels) {
    names.push_back(t.level);
    levels.addRow(
        {t.level, std::to_string(t.learners), std::to_string(t.mastered), percent(t.mean_score)});
  }
  levels.print(std::cout);
  std::cout << "\nlearners who mastered each level / who tried it, at the end of each day:\n";
  printHistory(names, progress.history, [](const scenarios::TeamLevel& t) {
    return std::to_string(t.mastered) + "/" + std::to_string(t.learners) + " (mean " +
           percent(t.mean_score) + ")";
  });
  return 0;
}

}  // namespace

void addProgressOptions(CLI::App* cmd, ProgressArgs& args) {
  cmd->add_option("--db", args.db, "Controller database holding the graded attempts")->required();
  auto* learner = cmd->add_option("--learner", args.learner, "One learner's progress (LMS id)");
  auto* team =
      cmd->add_option("--team", args.team, "A team's progress (psoctl scenarios grade --team)");
  learner->excludes(team);
  cmd->add_option("--threshold", args.threshold,
                  "Share of a level's questions correct (latest attempt of each) to master it")
      ->capture_default_str();
}

int runProgressCommand(const ProgressArgs& args, bool json_output) {
  if (args.learner.empty() == args.team.empty()) {
    return fail("progress: give either --learner ID or --team NAME (exactly one)");
  }
  if (auto st = checkBetween("--threshold", args.threshold, 0, 1); !st.ok()) {
    return fail(st.error().message);
  }
  auto opened = openExistingStore(args.db);
  if (!opened) return fail(opened.error().message);
  return args.learner.empty() ? teamReport(**opened, args, json_output)
                              : learnerReport(**opened, args, json_output);
}

}  // namespace pso::cli
