#pragma once

// Operator directives as psoctl sends them (POST /api/v1/directives) and
// reports them: shared by `psoctl directive scale|release` and the runbook
// steps scale, hold and release, so both say and check the same things.

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>

#include "common/result.h"

namespace pso::cli {

/// {"system","action":"scale","replicas","reason"[,"hold"]}. Refuses (one
/// line naming the option) a negative count or a hold that is not a duration.
[[nodiscard]] Result<nlohmann::json> scaleDirectiveBody(const std::string& system, int64_t replicas,
                                                        const std::string& reason,
                                                        const std::string& hold);

/// {"system","action":"release"[,"reason"]}.
nlohmann::json releaseDirectiveBody(const std::string& system, const std::string& reason);

/// The one line that reports the API's answer {"directive": {...}}:
/// "directive ID: scale web to 6 (sent), held until ..." or "directive ID:
/// released the hold on web (...)".
std::string directiveSummary(const nlohmann::json& answer);

}  // namespace pso::cli
