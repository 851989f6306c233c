#pragma once

// How every API handler answers: JSON bodies that survive invalid UTF-8,
// one-line {"error": ...} bodies, and the null conventions of the API's
// documents (absent times, non-finite numbers and empty strings are null).

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>

#include "common/result.h"
#include "controller/service/http_server.h"

namespace pso::controller::service {

/// `body` as application/json; invalid UTF-8 in its strings is replaced, so a
/// response never fails on what an agent or a file sent.
HttpResponse jsonResponse(int status, const nlohmann::json& body);

/// {"error": message} with control characters turned into spaces, so the
/// message stays one line even when it quotes the client.
HttpResponse errorResponse(int status, std::string message);

/// 500 for a store call that failed: {"error": "store: <message>"}.
HttpResponse storeFailure(const Error& error);

/// ISO 8601 UTC for a positive epoch-ms time, null for 0 (never happened).
nlohmann::json isoOrNull(int64_t ms);
/// The number, or null when it is NaN or infinite.
nlohmann::json numberOrNull(double value);
/// The text, or null when it is empty.
nlohmann::json stringOrNull(const std::string& text);

}  // namespace pso::controller::service
