#include "controller/cli/option_checks.h"

#include <cmath>
#include <cstdio>

namespace pso::cli {
namespace {

Status rangeError(const std::string& option, const std::string& rule, double value) {
  return makeError("invalid", option + " must be " + rule + ", got " + shortNumber(value));
}

}  // namespace

std::string shortNumber(double value) {
  if (std::isnan(value)) return "nan";
  if (std::isinf(value)) return value > 0 ? "inf" : "-inf";
  char buf[32];
  // Whole numbers of an ordinary size read as written (1000000, not 1e+06).
  if (value == std::floor(value) && std::fabs(value) < 1e15) {
    std::snprintf(buf, sizeof buf, "%.0f", value);
  } else {
    std::snprintf(buf, sizeof buf, "%.6g", value);
  }
  return buf;
}

Status checkAbove(const std::string& option, double value, double bound) {
  if (!std::isfinite(value)) return rangeError(option, "a finite number", value);
  if (!(value > bound)) return rangeError(option, "greater than " + shortNumber(bound), value);
  return Status();
}

Status checkAtLeast(const std::string& option, double value, double bound) {
  if (!std::isfinite(value)) return rangeError(option, "a finite number", value);
  if (value < bound) return rangeError(option, "at least " + shortNumber(bound), value);
  return Status();
}

Status checkAboveAtMost(const std::string& option, double value, double low, double high) {
  if (!std::isfinite(value) || !(value > low) || value > high) {
    return rangeError(
        option, "greater than " + shortNumber(low) + " and at most " + shortNumber(high), value);
  }
  return Status();
}

Status checkBetween(const std::string& option, double value, double low, double high) {
  if (!std::isfinite(value) || value < low || value > high) {
    return rangeError(option, "from " + shortNumber(low) + " to " + shortNumber(high), value);
  }
  return Status();
}

Status checkOrdered(const std::string& low_option, double low, const std::string& high_option,
                    double high) {
  if (low > high) {
    return makeError("invalid", low_option + " (" + shortNumber(low) +
                                    ") must not be greater than " + high_option + " (" +
                                    shortNumber(high) + ")");
  }
  return Status();
}

}  // namespace pso::cli
