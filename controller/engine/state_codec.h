#pragma once

// The engine's saved state: a sequence of typed tokens (integers, doubles,
// length-prefixed byte strings), so one component's state nests inside
// another's as a string token.
//
// StateWriter writes the binary form: a marker byte (kBinaryStateMarker),
// then per token a type byte ('i', 'd', 'f' or 's') and its value: an integer
// as a zigzag LEB128 varint, a double as its 8 bytes little-endian (bit for
// bit, so a loaded model forecasts exactly like the saved one), a float (a
// value the model itself keeps as a float, such as the auto model's history)
// as its 4 bytes little-endian, a string as a varint length and its bytes.
// A system's state whose "auto" model holds its full 4,096-step history is
// 28 KB this way (44 KB while the history was saved as doubles, 90 KB in the
// text form; docs/design-notes.md, "Engine state by system").
//
// StateReader also reads the text form states were saved in before
// (space-separated tokens, numbers in shortest round-trip form, strings as
// "5:hello"), so a controller upgraded over a saved state keeps its models.

#include <cstdint>
#include <limits>
#include <string>
#include <string_view>

#include "common/result.h"

namespace pso::controller::engine {

/// The upper bound StateReader::getInt(min, max) reads a step or a count with
/// that has no smaller limit.
inline constexpr int64_t kMaxInt = std::numeric_limits<int64_t>::max();

/// The first byte of every state StateWriter writes; a text-form state starts
/// with a digit.
inline constexpr char kBinaryStateMarker = '\xB5';

/// The float nearest `value`. A finite value beyond a float's range becomes
/// the largest float of its sign rather than an infinity (which would read as
/// a missing value); NaN and infinities stay what they are.
inline float nearestFloat(double value) {
  constexpr double kMax = std::numeric_limits<float>::max();
  if (value > kMax && value <= std::numeric_limits<double>::max()) return static_cast<float>(kMax);
  if (value < -kMax && value >= -std::numeric_limits<double>::max()) {
    return static_cast<float>(-kMax);
  }
  return static_cast<float>(value);
}

class StateWriter {
 public:
  StateWriter();
  StateWriter& putInt(int64_t value);
  /// Exact: reading it back gives the same bits (NaN and infinities included).
  StateWriter& putDouble(double value);
  /// Exact for a float, in half a double's bytes; read with getFloat().
  StateWriter& putFloat(float value);
  /// Any bytes, spaces included.
  StateWriter& putText(std::string_view text);
  const std::string& str() const { return out_; }
  /// The state written, moved out; the writer is empty afterwards.
  std::string take() { return std::move(out_); }

 private:
  void putVarint(uint64_t value);
  /// The type byte, then the low `bytes` bytes of `bits`, little-endian.
  void putFixed(char type, uint64_t bits, int bytes);
  std::string out_;
};

/// Reads what StateWriter wrote, in either form. The first malformed token
/// makes the reader fail for good; the getters then return zero values, and
/// status() names the component, the token position and what was expected.
class StateReader {
 public:
  /// `what` names the component in error messages, e.g. "holt model state".
  StateReader(std::string_view input, std::string what);

  int64_t getInt();
  /// An integer that must lie in [min, max] (sizes, counts: a corrupt state
  /// must not make the loader allocate without bound).
  int64_t getInt(int64_t min, int64_t max);
  double getDouble();
  /// A float token; a double token is also read (a state written while the
  /// value was kept as a double), rounded to the nearest float.
  float getFloat();
  std::string getText();
  /// Reads a text token and fails unless it equals `expected`.
  void expectText(std::string_view expected);

  bool ok() const { return ok_; }
  bool atEnd() const;
  /// Ok when every token was well formed and, if `require_end`, nothing is left.
  [[nodiscard]] Status status(bool require_end = true) const;
  /// Marks the input as invalid with a reason (for checks the caller makes).
  void fail(const std::string& reason);

 private:
  std::string_view nextToken();
  /// Binary form: consumes the type byte of the next token, failing unless
  /// it is `type` (`expected` names it in the error).
  bool binaryToken(char type, const char* expected);
  bool getVarint(uint64_t& value);
  /// Binary form: the next `bytes` bytes, little-endian (a double's or a
  /// float's bits); fails when the input ends before them.
  bool getFixed(std::size_t bytes, uint64_t& bits);
  std::string_view input_;
  bool binary_ = false;
  std::size_t pos_ = 0;
  int64_t token_index_ = 0;
  std::string what_;
  bool ok_ = true;
  std::string reason_;
};

}  // namespace pso::controller::engine
