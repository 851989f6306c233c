#pragma once

#include <string>

#include "common/result.h"

namespace pso::common {

/// Sets up spdlog's default logger for a process: stderr without colours,
/// lines like "2024-05-01T12:00:00.123 info [pso-agent] message" (UTC time).
/// `level` is trace|debug|info|warn|warning|error|critical|off; anything else
/// is Error code "invalid" and leaves the current logger in place. May be
/// called again to replace the logger.
[[nodiscard]] Status setupLogging(const std::string& process_name, const std::string& level);

}  // namespace pso::common
