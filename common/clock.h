#pragma once

#include <chrono>
#include <cstdint>
#include <string>

namespace pso::common {

/// Wall-clock milliseconds since the Unix epoch (timestamps on the wire and in
/// the store).
inline int64_t wallMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

/// Monotonic milliseconds (timeouts, intervals).
inline int64_t steadyMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

/// Formats epoch milliseconds as "YYYY-MM-DD HH:MM:SS" UTC.
std::string formatTimestamp(int64_t epoch_ms);
/// Formats epoch milliseconds as ISO 8601 UTC "YYYY-MM-DDTHH:MM:SS.mmmZ".
std::string formatIso8601(int64_t epoch_ms);

}  // namespace pso::common
