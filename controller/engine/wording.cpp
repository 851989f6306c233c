#include "controller/engine/wording.h"

#include <algorithm>
#include <charconv>
#include <cmath>

namespace pso::controller::engine {

namespace {

std::string fixed(double value, int decimals) {
  char buffer[64];
  const auto result =
      std::to_chars(buffer, buffer + sizeof(buffer), value, std::chars_format::fixed, decimals);
  std::string text(buffer, result.ptr);
  if (text.find('.') != std::string::npos) {
    while (text.back() == '0') text.pop_back();
    if (text.back() == '.') text.pop_back();
  }
  if (text == "-0") text = "0";
  return text;
}

}  // namespace

std::string formatQuantity(double value) {
  if (std::isnan(value)) return "unknown";
  if (std::isinf(value)) return value > 0 ? "unbounded" : "-unbounded";
  const double magnitude = std::abs(value);
  if (magnitude >= 100.0) return fixed(value, 0);
  if (magnitude >= 10.0) return fixed(value, 1);
  return fixed(value, 2);
}

std::string formatPercent(double fraction) {
  if (!std::isfinite(fraction)) return formatQuantity(fraction);
  return fixed(fraction * 100.0, 0) + "%";
}

std::string formatSeconds(double seconds) {
  return formatQuantity(seconds) + " s";
}

std::string formatReplicas(int64_t count) {
  return std::to_string(count) + (count == 1 ? " replica" : " replicas");
}

std::string formatSteps(int64_t count) {
  return std::to_string(count) + (count == 1 ? " step" : " steps");
}

int64_t ceilCount(double value) {
  if (!(value > 0.0)) return 0;
  constexpr double kMaxCount = 1e15;
  if (value > kMaxCount) return static_cast<int64_t>(kMaxCount);
  return static_cast<int64_t>(std::ceil(value - 1e-9 * std::max(1.0, value)));
}

}  // namespace pso::controller::engine
