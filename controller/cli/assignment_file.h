#pragma once

// Reading an assignment file (written by `psoctl scenarios assignments`) for
// `psoctl scenarios check-assignment`: the file comes back from a learner or
// a trainer's share and may be edited, so every read is checked and nothing
// throws. Fuzzed by tests/fuzz/assignment_file_fuzz.cpp.

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "common/result.h"

namespace pso::cli {

/// What grading a prediction needs of an assignment.
struct AssignmentKey {
  int64_t answer = 0;       ///< key.answer: what the replay gives
  std::string command;      ///< the replay's command line ("" when absent)
  nlohmann::json question;  ///< the question object (null when absent)
};

/// Parses an assignment file's text. Code "invalid", one line starting with
/// `source`, when the text is not a JSON object whose key.answer is an
/// integer; a command or question of the wrong type reads as absent.
[[nodiscard]] Result<AssignmentKey> parseAssignmentKey(std::string_view text,
                                                       const std::string& source);

/// A count as a learner types it (a prediction, an exercise's replica count):
/// a whole number, surrounding blanks ignored;
/// nullopt for anything else.
std::optional<int64_t> parsePrediction(std::string_view text);

}  // namespace pso::cli
