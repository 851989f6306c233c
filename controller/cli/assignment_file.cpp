#include "controller/cli/assignment_file.h"

#include <charconv>
#include <limits>

namespace pso::cli {

Result<AssignmentKey> parseAssignmentKey(std::string_view text, const std::string& source) {
  const nlohmann::json doc = nlohmann::json::parse(text, nullptr, false);
  const auto refused = [&] {
    return makeError("invalid", source +
                                    " is not an assignment written by psoctl scenarios "
                                    "assignments (no integer key.answer)");
  };
  if (!doc.is_object()) return refused();
  const auto key = doc.find("key");
  if (key == doc.end() || !key->is_object()) return refused();
  const auto answer = key->find("answer");
  if (answer == key->end() || !answer->is_number_integer()) return refused();
  // A count beyond int64 is no count the replay could give.
  if (answer->is_number_unsigned() &&
      answer->get<uint64_t>() > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
    return refused();
  }
  AssignmentKey out;
  out.answer = answer->get<int64_t>();
  const auto command = doc.find("command");
  if (command != doc.end() && command->is_string()) out.command = command->get<std::string>();
  const auto question = doc.find("question");
  if (question != doc.end() && question->is_object()) out.question = *question;
  return out;
}

std::optional<int64_t> parsePrediction(std::string_view text) {
  const auto blank = [](char ch) { return ch == ' ' || ch == '\t' || ch == '\n' || ch == '\r'; };
  while (!text.empty() && blank(text.front())) text.remove_prefix(1);
  while (!text.empty() && blank(text.back())) text.remove_suffix(1);
  int64_t value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || ec != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return value;
}

}  // namespace pso::cli
