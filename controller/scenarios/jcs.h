#pragma once

// The JSON Canonicalization Scheme (RFC 8785) for the documents psoctl signs
// and verifies (Open Badges credentials): one byte string per JSON value, so
// a signature over it holds whatever whitespace or key order a file has.

#include <nlohmann/json.hpp>
#include <string>

#include "common/result.h"

namespace pso::controller::scenarios {

/// The canonical form of `value`: object members sorted by the UTF-16 code
/// units of their names, no whitespace, strings escaped as ECMAScript's
/// JSON.stringify does (\b \t \n \f \r \" \\, other controls as \u00xx,
/// everything else as UTF-8), literals as true/false/null.
/// Numbers are limited to integers (and floating values that are whole
/// numbers of magnitude below 2^53), which print exactly; any other number is
/// refused with code "invalid", as is a string that is not valid UTF-8, so a
/// canonical form is never ambiguous.
[[nodiscard]] Result<std::string> canonicalJson(const nlohmann::json& value);

}  // namespace pso::controller::scenarios
