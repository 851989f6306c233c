#pragma once

// The compact text form of the engine's saved state: space-separated tokens,
// numbers in shortest round-trip form (so a loaded model forecasts bit for bit
// like the saved one) and strings length-prefixed ("5:hello"), so one
// component's state can nest inside another's.

#include <cstdint>
#include <limits>
#include <string>
#include <string_view>

#include "common/result.h"

namespace pso::controller::engine {

/// The upper bound StateReader::getInt(min, max) reads a step or a count with
/// that has no smaller limit.
inline constexpr int64_t kMaxInt = std::numeric_limits<int64_t>::max();

class StateWriter {
 public:
  StateWriter& putInt(int64_t value);
  /// Exact: reading it back gives the same bits (NaN and infinities included).
  StateWriter& putDouble(double value);
  /// Any bytes, spaces included.
  StateWriter& putText(std::string_view text);
  const std::string& str() const { return out_; }

 private:
  void separate();
  std::string out_;
};

/// Reads what StateWriter wrote. The first malformed token makes the reader
/// fail for good; the getters then return zero values, and status() names
/// the component, the token position and what was expected.
class StateReader {
 public:
  /// `what` names the component in error messages, e.g. "holt model state".
  StateReader(std::string_view input, std::string what);

  int64_t getInt();
  /// An integer that must lie in [min, max] (sizes, counts: a corrupt state
  /// must not make the loader allocate without bound).
  int64_t getInt(int64_t min, int64_t max);
  double getDouble();
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
  std::string_view input_;
  std::size_t pos_ = 0;
  int64_t token_index_ = 0;
  std::string what_;
  bool ok_ = true;
  std::string reason_;
};

}  // namespace pso::controller::engine
