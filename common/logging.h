#pragma once

#include <string>

#include "common/result.h"

namespace pso::common {

/// Sets up spdlog's default logger for a process: stderr, pattern with time,
/// level and process name. `level` is trace|debug|info|warn|error|off.
[[nodiscard]] Status setupLogging(const std::string& process_name, const std::string& level);

}  // namespace pso::common
