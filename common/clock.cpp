#include "common/clock.h"

#include <ctime>
#include <string>

namespace pso::common {
namespace {

// Splits epoch ms into a UTC calendar time and the millisecond remainder,
// rounding towards negative infinity so times before 1970 format correctly.
std::tm toUtc(int64_t epoch_ms, int& millis) {
  int64_t seconds = epoch_ms / 1000;
  int64_t rem = epoch_ms % 1000;
  if (rem < 0) {
    rem += 1000;
    seconds -= 1;
  }
  millis = static_cast<int>(rem);
  const std::time_t t = static_cast<std::time_t>(seconds);
  std::tm tm{};
  gmtime_r(&t, &tm);
  return tm;
}

}  // namespace

std::string formatTimestamp(int64_t epoch_ms) {
  int millis = 0;
  const std::tm tm = toUtc(epoch_ms, millis);
  char buf[32];
  std::strftime(buf, sizeof(buf), "%Y-%m-%d %H:%M:%S", &tm);
  return buf;
}

std::string formatIso8601(int64_t epoch_ms) {
  int millis = 0;
  const std::tm tm = toUtc(epoch_ms, millis);
  char date[32];
  std::strftime(date, sizeof(date), "%Y-%m-%dT%H:%M:%S", &tm);
  char buf[48];
  std::snprintf(buf, sizeof(buf), "%s.%03dZ", date, millis);
  return buf;
}

}  // namespace pso::common
