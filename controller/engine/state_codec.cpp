#include "controller/engine/state_codec.h"

#include <charconv>
#include <system_error>

namespace pso::controller::engine {

void StateWriter::separate() {
  if (!out_.empty()) out_.push_back(' ');
}

StateWriter& StateWriter::putInt(int64_t value) {
  separate();
  char buffer[32];
  const auto result = std::to_chars(buffer, buffer + sizeof(buffer), value);
  out_.append(buffer, result.ptr);
  return *this;
}

StateWriter& StateWriter::putDouble(double value) {
  separate();
  char buffer[64];
  const auto result = std::to_chars(buffer, buffer + sizeof(buffer), value);
  out_.append(buffer, result.ptr);
  return *this;
}

StateWriter& StateWriter::putText(std::string_view text) {
  separate();
  char buffer[32];
  const auto result = std::to_chars(buffer, buffer + sizeof(buffer), text.size());
  out_.append(buffer, result.ptr);
  out_.push_back(':');
  out_.append(text);
  return *this;
}

StateReader::StateReader(std::string_view input, std::string what)
    : input_(input), what_(std::move(what)) {}

void StateReader::fail(const std::string& reason) {
  if (!ok_) return;
  ok_ = false;
  reason_ = reason;
}

std::string_view StateReader::nextToken() {
  if (!ok_) return {};
  if (pos_ < input_.size() && input_[pos_] == ' ' && token_index_ > 0) ++pos_;
  if (pos_ >= input_.size()) {
    fail("ends early at token " + std::to_string(token_index_));
    return {};
  }
  std::size_t end = input_.find(' ', pos_);
  if (end == std::string_view::npos) end = input_.size();
  std::string_view token = input_.substr(pos_, end - pos_);
  pos_ = end;
  ++token_index_;
  return token;
}

int64_t StateReader::getInt() {
  const std::string_view token = nextToken();
  if (!ok_) return 0;
  int64_t value = 0;
  const auto result = std::from_chars(token.data(), token.data() + token.size(), value);
  if (result.ec != std::errc() || result.ptr != token.data() + token.size()) {
    fail("token " + std::to_string(token_index_) + " '" + std::string(token.substr(0, 32)) +
         "' is not an integer");
    return 0;
  }
  return value;
}

int64_t StateReader::getInt(int64_t min, int64_t max) {
  const int64_t value = getInt();
  if (ok_ && (value < min || value > max)) {
    fail("token " + std::to_string(token_index_) + " = " + std::to_string(value) + " is outside [" +
         std::to_string(min) + ", " + std::to_string(max) + "]");
    return 0;
  }
  return value;
}

double StateReader::getDouble() {
  const std::string_view token = nextToken();
  if (!ok_) return 0.0;
  double value = 0.0;
  const auto result = std::from_chars(token.data(), token.data() + token.size(), value);
  if (result.ec != std::errc() || result.ptr != token.data() + token.size()) {
    fail("token " + std::to_string(token_index_) + " '" + std::string(token.substr(0, 32)) +
         "' is not a number");
    return 0.0;
  }
  return value;
}

std::string StateReader::getText() {
  if (!ok_) return {};
  if (pos_ < input_.size() && input_[pos_] == ' ' && token_index_ > 0) ++pos_;
  const std::size_t colon = input_.find(':', pos_);
  if (colon == std::string_view::npos) {
    fail("token " + std::to_string(token_index_ + 1) + " is not a length-prefixed string");
    return {};
  }
  std::size_t length = 0;
  const auto result = std::from_chars(input_.data() + pos_, input_.data() + colon, length);
  if (result.ec != std::errc() || result.ptr != input_.data() + colon ||
      length > input_.size() - colon - 1) {
    fail("token " + std::to_string(token_index_ + 1) + " has a bad string length");
    return {};
  }
  std::string text(input_.substr(colon + 1, length));
  pos_ = colon + 1 + length;
  ++token_index_;
  if (pos_ < input_.size() && input_[pos_] != ' ') {
    fail("token " + std::to_string(token_index_) + " runs into the next token");
    return {};
  }
  return text;
}

void StateReader::expectText(std::string_view expected) {
  const std::string text = getText();
  if (ok_ && text != expected) {
    fail("token " + std::to_string(token_index_) + " is '" + text.substr(0, 32) + "', expected '" +
         std::string(expected) + "'");
  }
}

bool StateReader::atEnd() const {
  std::size_t p = pos_;
  if (p < input_.size() && input_[p] == ' ') ++p;
  return p >= input_.size();
}

Status StateReader::status(bool require_end) const {
  if (!ok_) return makeError("invalid_state", what_ + ": " + reason_);
  if (require_end && !atEnd()) {
    return makeError("invalid_state",
                     what_ + ": unexpected data after token " + std::to_string(token_index_));
  }
  return {};
}

}  // namespace pso::controller::engine
