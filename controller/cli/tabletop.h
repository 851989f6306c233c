#pragma once

// `psoctl scenarios exercise ID`: a tabletop exercise in the terminal
// (scenarios/exercise.h). Prints the four steps, waiting for Enter between
// them, asks for the learner's replica count (again after a line that is not
// a count within the bounds), then prints the debrief and the score. End of
// input before the decision ends the exercise with a message. --answer N
// answers without waiting (scripts, tests); -o json prints the exercise model.

#include <cstdint>
#include <istream>
#include <nlohmann/json.hpp>
#include <optional>
#include <ostream>

namespace pso::cli {

struct TabletopOptions {
  std::optional<int64_t> answer;  ///< --answer: no prompts, this count
  bool json_output = false;       ///< print exerciseJson() (with the score when answered)
};

/// Runs the exercise of one scenario document reading `in` and writing `out`;
/// returns the exit code: 0 (also when input ends before the decision), or 1
/// with a one-line reason on stderr (a quiet cycle, --answer outside the bounds).
int runTabletop(const nlohmann::json& scenario, const TabletopOptions& options, std::istream& in,
                std::ostream& out);

}  // namespace pso::cli
