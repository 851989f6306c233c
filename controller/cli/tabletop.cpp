#include "controller/cli/tabletop.h"

#include <cctype>
#include <iostream>
#include <string>

#include "controller/cli/assignment_file.h"
#include "controller/cli/failure.h"
#include "controller/scenarios/exercise.h"
#include "controller/scenarios/scenario_text.h"

namespace pso::cli {
namespace {

namespace scn = controller::scenarios;

std::string trimmed(const std::string& text) {
  std::size_t begin = 0;
  std::size_t end = text.size();
  while (begin < end && std::isspace(static_cast<unsigned char>(text[begin])) != 0) ++begin;
  while (end > begin && std::isspace(static_cast<unsigned char>(text[end - 1])) != 0) --end;
  return text.substr(begin, end - begin);
}

void printStep(std::ostream& out, const scn::Exercise& ex, std::size_t i) {
  out << "\nStep " << (i + 1) << " of " << ex.steps.size() << ": " << ex.steps[i].title << '\n';
  for (const auto& line : ex.steps[i].lines) out << "  " << line << '\n';
}

void printDebrief(std::ostream& out, const scn::Exercise& ex, const scn::ExerciseScore& score) {
  out << "\nDebrief\n";
  for (const auto& line : ex.debrief.lines) out << "  " << line << '\n';
  out << "\nYour score\n";
  for (const auto& line : score.lines) out << "  " << line << '\n';
}

constexpr const char* kDecisionPrompt = "Your decision: replicas? ";
constexpr const char* kEndedEarly =
    "Input ended before a decision: the exercise is over without a debrief. Run it again to "
    "finish.";

}  // namespace

int runTabletop(const nlohmann::json& scenario, const TabletopOptions& options, std::istream& in,
                std::ostream& out) {
  auto built = scn::buildExercise(scenario);
  if (!built) return fail(built.error().message);
  const scn::Exercise& ex = *built;
  if (options.answer) {
    if (auto valid = scn::checkAnswer(ex, *options.answer); !valid) {
      return fail("--answer: " + valid.error().message);
    }
  }
  if (options.json_output) {
    std::optional<scn::ExerciseScore> score;
    if (options.answer) score = scn::scoreDecision(ex, *options.answer);
    out << scn::exerciseJson(ex, score).dump(2) << '\n';
    return 0;
  }

  out << "Tabletop exercise: " << ex.title << '\n'
      << "Scenario " << ex.scenario_id << ", level " << scn::levelTitle(ex.level)
      << "; you decide for " << ex.system << ".\n";
  const bool interactive = !options.answer;
  for (std::size_t i = 0; i < ex.steps.size(); ++i) {
    if (i > 0 && interactive) {
      out << "\nPress Enter for step " << (i + 1) << " of " << ex.steps.size() << "..."
          << std::flush;
      std::string ignored;
      if (!std::getline(in, ignored)) {
        out << '\n' << kEndedEarly << '\n';
        return 0;
      }
    }
    printStep(out, ex, i);
  }
  out << '\n' << ex.prompt << '\n';
  int64_t replicas = 0;
  if (options.answer) {
    replicas = *options.answer;
    out << kDecisionPrompt << replicas << '\n';
  } else {
    while (true) {
      out << kDecisionPrompt << std::flush;
      std::string line;
      if (!std::getline(in, line)) {
        out << '\n' << kEndedEarly << '\n';
        return 0;
      }
      const auto count = parsePrediction(line);
      if (!count) {
        out << "'" << trimmed(line) << "' is not a whole number of replicas.\n";
        continue;
      }
      if (auto valid = scn::checkAnswer(ex, *count); !valid) {
        out << valid.error().message << ".\n";
        continue;
      }
      replicas = *count;
      break;
    }
  }
  printDebrief(out, ex, scn::scoreDecision(ex, replicas));
  return 0;
}

}  // namespace pso::cli
