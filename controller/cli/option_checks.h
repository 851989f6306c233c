#pragma once

// Range checks of psoctl's numeric options, made after parsing so the refusal
// is one sentence that names the option, the bound and the value given
// ("--capacity must be greater than 0, got 0"), whatever the number's size.

#include <cstdint>
#include <string>

#include "common/result.h"

namespace pso::cli {

/// A finite number above `bound` (strictly).
[[nodiscard]] Status checkAbove(const std::string& option, double value, double bound);
/// A finite number of at least `bound`.
[[nodiscard]] Status checkAtLeast(const std::string& option, double value, double bound);
/// A finite number in (low, high]: above `low`, at most `high`.
[[nodiscard]] Status checkAboveAtMost(const std::string& option, double value, double low,
                                      double high);
/// A finite number in [low, high].
[[nodiscard]] Status checkBetween(const std::string& option, double value, double low, double high);
/// `low` is not above `high`: "--min (5) must not be greater than --max (3)".
[[nodiscard]] Status checkOrdered(const std::string& low_option, double low,
                                  const std::string& high_option, double high);

/// A number for a message: a whole number as written, others with at most 6
/// significant digits; never hundreds of digits.
std::string shortNumber(double value);

}  // namespace pso::cli
