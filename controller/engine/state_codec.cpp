#include "controller/engine/state_codec.h"

#include <bit>
#include <charconv>
#include <system_error>

namespace pso::controller::engine {

namespace {

constexpr char kIntToken = 'i';
constexpr char kDoubleToken = 'd';
constexpr char kFloatToken = 'f';
constexpr char kTextToken = 's';

}  // namespace

StateWriter::StateWriter() {
  out_.push_back(kBinaryStateMarker);
}

void StateWriter::putVarint(uint64_t value) {
  while (value >= 0x80) {
    out_.push_back(static_cast<char>((value & 0x7F) | 0x80));
    value >>= 7;
  }
  out_.push_back(static_cast<char>(value));
}

StateWriter& StateWriter::putInt(int64_t value) {
  out_.push_back(kIntToken);
  // Zigzag: small negative numbers stay short.
  putVarint((static_cast<uint64_t>(value) << 1) ^ static_cast<uint64_t>(value >> 63));
  return *this;
}

void StateWriter::putFixed(char type, uint64_t bits, int bytes) {
  out_.push_back(type);
  for (int i = 0; i < bytes; ++i) out_.push_back(static_cast<char>((bits >> (8 * i)) & 0xFF));
}

StateWriter& StateWriter::putDouble(double value) {
  putFixed(kDoubleToken, std::bit_cast<uint64_t>(value), 8);
  return *this;
}

StateWriter& StateWriter::putFloat(float value) {
  putFixed(kFloatToken, std::bit_cast<uint32_t>(value), 4);
  return *this;
}

StateWriter& StateWriter::putText(std::string_view text) {
  out_.push_back(kTextToken);
  putVarint(text.size());
  out_.append(text);
  return *this;
}

StateReader::StateReader(std::string_view input, std::string what)
    : input_(input), what_(std::move(what)) {
  if (!input_.empty() && input_.front() == kBinaryStateMarker) {
    binary_ = true;
    pos_ = 1;
  }
}

bool StateReader::binaryToken(char type, const char* expected) {
  if (!ok_) return false;
  if (pos_ >= input_.size()) {
    fail("ends early at token " + std::to_string(token_index_));
    return false;
  }
  ++token_index_;
  if (input_[pos_] != type) {
    fail("token " + std::to_string(token_index_) + " is not " + expected);
    return false;
  }
  ++pos_;
  return true;
}

bool StateReader::getVarint(uint64_t& value) {
  value = 0;
  for (int shift = 0; shift < 64; shift += 7) {
    if (pos_ >= input_.size()) {
      fail("token " + std::to_string(token_index_) + " ends early");
      return false;
    }
    const auto byte = static_cast<unsigned char>(input_[pos_++]);
    value |= static_cast<uint64_t>(byte & 0x7F) << shift;
    if ((byte & 0x80) == 0) return true;
  }
  fail("token " + std::to_string(token_index_) + " has an overlong number");
  return false;
}

bool StateReader::getFixed(std::size_t bytes, uint64_t& bits) {
  if (input_.size() - pos_ < bytes) {
    fail("token " + std::to_string(token_index_) + " ends early");
    return false;
  }
  bits = 0;
  for (std::size_t i = 0; i < bytes; ++i) {
    bits |= static_cast<uint64_t>(static_cast<unsigned char>(input_[pos_ + i])) << (8 * i);
  }
  pos_ += bytes;
  return true;
}

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
  if (binary_) {
    uint64_t zigzag = 0;
    if (!binaryToken(kIntToken, "an integer") || !getVarint(zigzag)) return 0;
    return static_cast<int64_t>(zigzag >> 1) ^ -static_cast<int64_t>(zigzag & 1);
  }
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
  if (binary_) {
    uint64_t bits = 0;
    if (!binaryToken(kDoubleToken, "a number") || !getFixed(8, bits)) return 0.0;
    return std::bit_cast<double>(bits);
  }
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

float StateReader::getFloat() {
  if (binary_ && ok_ && pos_ < input_.size() && input_[pos_] == kFloatToken) {
    uint64_t bits = 0;
    if (!binaryToken(kFloatToken, "a float") || !getFixed(4, bits)) return 0.0F;
    return std::bit_cast<float>(static_cast<uint32_t>(bits));
  }
  return nearestFloat(getDouble());
}

std::string StateReader::getText() {
  if (!ok_) return {};
  if (binary_) {
    uint64_t length = 0;
    if (!binaryToken(kTextToken, "a length-prefixed string") || !getVarint(length)) return {};
    if (length > input_.size() - pos_) {
      fail("token " + std::to_string(token_index_) + " has a bad string length");
      return {};
    }
    std::string text(input_.substr(pos_, length));
    pos_ += length;
    return text;
  }
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
  if (binary_) return pos_ >= input_.size();
  std::size_t p = pos_;
  if (p < input_.size() && input_[p] == ' ') ++p;
  return p >= input_.size();
}

Status StateReader::status(bool require_end) const {
  std::string message;
  if (!ok_) {
    message = what_ + ": " + reason_;
  } else if (require_end && !atEnd()) {
    message = what_ + ": unexpected data after token " + std::to_string(token_index_);
  } else {
    return {};
  }
  // Messages quote the input (a token, a system's name): they stay one
  // printable line whatever its bytes.
  for (char& ch : message) {
    if (static_cast<unsigned char>(ch) < 0x20 || ch == 0x7f) ch = '?';
  }
  return makeError("invalid_state", message);
}

}  // namespace pso::controller::engine
