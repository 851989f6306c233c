#include "common/logging.h"

#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include <memory>

namespace pso::common {

Status setupLogging(const std::string& process_name, const std::string& level) {
  // spdlog::level::from_string maps unknown names to "off"; a typo in the
  // config must not silence the process, so the names are checked here.
  static const std::pair<const char*, spdlog::level::level_enum> kLevels[] = {
      {"trace", spdlog::level::trace},       {"debug", spdlog::level::debug},
      {"info", spdlog::level::info},         {"warn", spdlog::level::warn},
      {"warning", spdlog::level::warn},      {"error", spdlog::level::err},
      {"critical", spdlog::level::critical}, {"off", spdlog::level::off},
  };
  const spdlog::level::level_enum* chosen = nullptr;
  for (const auto& [name, value] : kLevels) {
    if (level == name) chosen = &value;
  }
  if (!chosen) {
    return makeError("invalid", "log level '" + level +
                                    "' is not one of trace|debug|info|warn|error|critical|off");
  }
  try {
    // A plain (color-free) stderr sink: logs usually end up in journald or a
    // container log, where escape codes are noise.
    auto sink = std::make_shared<spdlog::sinks::stderr_sink_mt>();
    auto logger = std::make_shared<spdlog::logger>(process_name, std::move(sink));
    logger->set_pattern("%Y-%m-%dT%H:%M:%S.%e %l [%n] %v", spdlog::pattern_time_type::utc);
    logger->set_level(*chosen);
    logger->flush_on(spdlog::level::warn);
    spdlog::set_default_logger(std::move(logger));
  } catch (const spdlog::spdlog_ex& e) {
    return makeError("io", std::string("cannot set up logging: ") + e.what());
  }
  return {};
}

}  // namespace pso::common
