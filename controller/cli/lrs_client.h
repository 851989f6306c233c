#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "common/result.h"

namespace pso::cli {

/// Where and how to reach a learning record store (xAPI 1.0.3).
struct LrsOptions {
  /// The LRS endpoint, e.g. "https://lrs.example.org/xapi"; statements go to
  /// <endpoint>/statements (an endpoint already ending in /statements is used as is).
  std::string endpoint;
  std::string user;  ///< basic auth; empty = no Authorization header
  std::string password;
  long timeout_ms = 30000;
  std::size_t batch = 100;  ///< statements per POST
};

/// Posts statements to an LRS (libcurl): JSON arrays of at most
/// options.batch statements, with the X-Experience-API-Version header and
/// basic auth. Returns the statement ids the LRS answered (its 200 body), in
/// order. A connection failure, an HTTP status >= 300 (with the start of the
/// LRS's answer) or a body that is not a JSON array of ids is an Error naming
/// the endpoint; statements of earlier batches stay stored in the LRS.
[[nodiscard]] Result<std::vector<std::string>> postStatements(const LrsOptions& options,
                                                              const nlohmann::json& statements);

}  // namespace pso::cli
